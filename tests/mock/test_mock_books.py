"""The mock ERP's books: the customer ledger, vouchers and proposals with unique external
references, write-offs (R12) and the status shown per case (R8)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from connector.domain import (
    CaseStatus,
    LedgerKind,
    Voucher,
    VoucherKind,
    VoucherLine,
)
from connector.errors import TransientError, UserError
from connector.ports import Capability, ErpAdapter
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.erp_world import MockInvoice
from connector_adapters.mock.world import World

if TYPE_CHECKING:
    from tests.mock.conftest import Day


@pytest.fixture
def invoice(world: World, day: Day) -> MockInvoice:
    return world.erp.add_invoice("10001", "1000.00", due_date=day(-30))


def payout_voucher(invoice: MockInvoice, reference: str = "payout:S1",
                   kind: VoucherKind = VoucherKind.POSTED, principal: str = "600.00",
                   extra: list[VoucherLine] | None = None) -> Voucher:
    """Bank in, principal against the customer ledger (matched to the invoice)."""
    amount = Decimal(principal)
    lines = [
        VoucherLine(account="1920", amount=amount, description="Bank"),
        VoucherLine(account="1500", amount=-amount, customer_no=invoice.customer_no,
                    invoice_no=invoice.invoice_no, description="Principal"),
        *(extra or []),
    ]
    return Voucher(reference=reference, kind=kind, date=date(2025, 3, 3),
                   description="Payout S1", lines=lines)


def entries(erp: MockErp, since: Any = None) -> list[Any]:
    return [e for page in erp.ledger(since) for e in page.items]


def test_it_offers_the_books_and_conforms(world: World) -> None:
    erp: ErpAdapter = MockErp(world)
    assert isinstance(erp, ErpAdapter)
    assert erp.capabilities == {Capability.STATUS_WRITEBACK, Capability.VOUCHERS,
                                Capability.PROPOSALS, Capability.WRITE_OFFS}


# -- the ledger ----------------------------------------------------------------------------


def test_payments_and_credit_notes_show_on_the_ledger(world: World,
                                                      invoice: MockInvoice) -> None:
    erp = MockErp(world)
    world.erp.pay(invoice.invoice_no, "100.00")
    cursor = world.now
    world.erp.credit(invoice.invoice_no, "250.00")

    payment, credit = entries(erp)
    assert (payment.kind, payment.amount, payment.invoice_id) == (
        LedgerKind.PAYMENT, Decimal("100.00"), invoice.id)
    assert payment.external_reference is None and payment.on == world.today
    assert (credit.kind, credit.amount) == (LedgerKind.CREDIT_NOTE, Decimal("250.00"))
    assert [e.id for e in entries(erp, cursor)] == [credit.id]
    assert entries(erp, credit.changed_at) == []


# -- vouchers ------------------------------------------------------------------------------


def test_a_posted_voucher_pays_the_invoice_with_its_reference(world: World,
                                                              invoice: MockInvoice) -> None:
    erp = MockErp(world)
    receipt = erp.post_voucher(payout_voucher(invoice))
    assert receipt.kind is VoucherKind.POSTED and receipt.reference == "payout:S1"
    assert erp.find_voucher("payout:S1") == receipt
    assert erp.find_voucher("payout:S2") is None
    assert invoice.balance == Decimal("400.00")
    (entry,) = entries(erp)
    assert (entry.kind, entry.amount, entry.external_reference, entry.invoice_id) == (
        LedgerKind.PAYMENT, Decimal("600.00"), "payout:S1", invoice.id)


def test_a_second_voucher_with_a_reference_is_refused_and_counted(
    world: World, invoice: MockInvoice
) -> None:
    erp = MockErp(world)
    erp.post_voucher(payout_voucher(invoice, kind=VoucherKind.PROPOSAL))
    for kind in (VoucherKind.PROPOSAL, VoucherKind.POSTED):
        with pytest.raises(UserError, match="'payout:S1' exists already"):
            erp.post_voucher(payout_voucher(invoice, kind=kind))
    assert world.erp.duplicate_vouchers == 2 and len(world.erp.vouchers) == 1
    assert invoice.balance == Decimal("1000.00") and entries(erp) == []


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ([VoucherLine(account="1920", amount=Decimal("10"))], "does not balance"),
        ([], "has no lines"),
        ([VoucherLine(account="1920", amount=Decimal("10")),
          VoucherLine(account="1500", amount=Decimal("-10"))], "needs a customer number"),
        ([VoucherLine(account="1920", amount=Decimal("10")),
          VoucherLine(account="1500", amount=Decimal("-10"), customer_no="10001",
                      invoice_no="404")], "no invoice 404"),
        ([VoucherLine(account="1920", amount=Decimal("10")),
          VoucherLine(account="1500", amount=Decimal("-10"), customer_no="10002",
                      invoice_no="10001")], "customer 10001's, not 10002's"),
    ],
)
def test_bad_vouchers_are_refused(world: World, invoice: MockInvoice,
                                  lines: list[VoucherLine], words: str) -> None:
    voucher = Voucher(reference="payout:S1", kind=VoucherKind.POSTED, date=date(2025, 3, 3),
                      description="x", lines=lines)
    with pytest.raises(UserError, match=words):
        MockErp(world).post_voucher(voucher)
    assert world.erp.vouchers == {} and world.erp.duplicate_vouchers == 0


def test_a_proposal_reaches_the_ledger_only_when_approved(world: World,
                                                          invoice: MockInvoice) -> None:
    erp = MockErp(world)
    receipt = erp.post_voucher(payout_voucher(invoice, kind=VoucherKind.PROPOSAL))
    assert receipt.kind is VoucherKind.PROPOSAL
    assert entries(erp) == [] and invoice.balance == Decimal("1000.00")

    world.erp.approve_proposal(receipt.id)

    assert erp.find_voucher("payout:S1") == receipt.model_copy(update={"kind":
                                                                        VoucherKind.POSTED})
    (entry,) = entries(erp)
    assert entry.external_reference == "payout:S1" and invoice.balance == Decimal("400.00")
    with pytest.raises(UserError, match="posted already"):
        world.erp.approve_proposal(receipt.id)


def test_a_discarded_proposal_frees_its_reference(world: World, invoice: MockInvoice) -> None:
    erp = MockErp(world)
    receipt = erp.post_voucher(payout_voucher(invoice, kind=VoucherKind.PROPOSAL))
    world.erp.discard_proposal(receipt.id)
    assert erp.find_voucher("payout:S1") is None
    erp.post_voucher(payout_voucher(invoice))
    assert world.erp.duplicate_vouchers == 0


def test_a_debit_on_the_customer_ledger_reverses_a_write_off(world: World,
                                                             invoice: MockInvoice) -> None:
    erp = MockErp(world)
    world.erp.write_off([invoice.invoice_no], world.today, "7830")
    reversal = VoucherLine(account="7830", amount=Decimal("-600.00"), description="Reversal")
    back = VoucherLine(account="1500", amount=Decimal("600.00"), customer_no="10001",
                       invoice_no=invoice.invoice_no, flag="write-off reversed")
    erp.post_voucher(payout_voucher(invoice, extra=[reversal, back]))

    assert invoice.balance == 0
    kinds = [(e.kind, e.amount, e.external_reference) for e in entries(erp)]
    assert kinds == [
        (LedgerKind.WRITE_OFF, Decimal("1000.00"), None),
        (LedgerKind.PAYMENT, Decimal("600.00"), "payout:S1"),
        (LedgerKind.WRITE_OFF, Decimal("-600.00"), "payout:S1"),
    ]


def test_a_lost_reply_leaves_the_voucher_for_find_voucher(world: World,
                                                          invoice: MockInvoice) -> None:
    erp = MockErp(world)
    world.inject("erp.post_voucher.lost_reply")
    with pytest.raises(TransientError):
        erp.post_voucher(payout_voucher(invoice))
    found = erp.find_voucher("payout:S1")
    assert found is not None and found.kind is VoucherKind.POSTED
    world.inject("erp.find_voucher")
    with pytest.raises(TransientError):
        erp.find_voucher("payout:S1")


# -- write-offs (R12) ----------------------------------------------------------------------


def test_a_write_off_clears_the_open_balances_of_one_customer(world: World, day: Day) -> None:
    first = world.erp.add_invoice("10001", "1000.00", due_date=day(-30))
    second = world.erp.add_invoice("10001", "500.00", due_date=day(-20))
    world.erp.pay(second.invoice_no, "200.00")

    voucher = world.erp.write_off([first.invoice_no, second.invoice_no], day(2), "7830",
                              vat_code="0", department="10", project="P1",
                              description="Tap på fordringer", attachment="avskrivning.pdf")

    assert first.balance == second.balance == 0
    assert voucher.posted and voucher.origin == "write_off" and voucher.reference is None
    assert (voucher.department, voucher.project, voucher.attachment) == (
        "10", "P1", "avskrivning.pdf")
    assert sum(line.amount for line in voucher.lines) == 0
    assert [(ln.account, ln.amount) for ln in voucher.lines] == [
        ("7830", Decimal("1000.00")), ("1500", Decimal("-1000.00")),
        ("7830", Decimal("300.00")), ("1500", Decimal("-300.00"))]
    assert voucher.lines[0].vat_code == "0"
    offs = [e for e in world.erp.ledger if e.kind is LedgerKind.WRITE_OFF]
    assert [(e.invoice_no, e.amount, e.on) for e in offs] == [
        (first.invoice_no, Decimal("1000.00"), day(2)),
        (second.invoice_no, Decimal("300.00"), day(2))]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"invoice_nos": []}, "at least one invoice"),
        ({"invoice_nos": ["A", "B"]}, "one customer ledger: invoice A is customer 10001's, "
                                      "invoice B is customer 10002's"),
        ({"invoice_nos": ["A", "A"]}, "listed twice"),
        ({"invoice_nos": ["PAID"]}, "no open balance"),
        ({"invoice_nos": ["404"]}, "no invoice 404"),
        ({"on": "yesterday"}, "before today"),
        ({"on": "2025-02-30"}, "not a date"),
        ({"account": "78"}, "four-digit account"),
        ({"account": "1500"}, "cannot be the customer ledger"),
    ],
)
def test_write_off_constraints_are_each_refused(world: World, day: Day,
                                                change: dict[str, Any], words: str) -> None:
    world.add_customer("10002", "Kari Nordmann", is_person=True)
    numbers = {
        "A": world.erp.add_invoice("10001", 100, due_date=day(-5)).invoice_no,
        "B": world.erp.add_invoice("10002", 100, due_date=day(-5)).invoice_no,
        "PAID": world.erp.add_invoice("10001", 100, due_date=day(-5), balance=0).invoice_no,
        "404": "404",
    }
    args: dict[str, Any] = {"invoice_nos": ["A"], "on": world.today, "account": "7830"}
    args.update(change)
    args["invoice_nos"] = [numbers[n] for n in args["invoice_nos"]]
    if args["on"] == "yesterday":
        args["on"] = day(-1)
    with pytest.raises(UserError, match=words.replace("A", numbers["A"]).replace(
            "B", numbers["B"])):
        world.erp.write_off(**args)
    assert world.erp.vouchers == {} and world.erp.invoices[numbers["A"]].balance == 100


def test_the_write_off_amount_cannot_be_given(world: World, invoice: MockInvoice) -> None:
    with pytest.raises(TypeError):
        world.erp.write_off([invoice.invoice_no], world.today, "7830",
                        amount=Decimal("10"))  # type: ignore[call-arg]


# -- status per case (R8) ------------------------------------------------------------------


def test_write_status_keeps_the_latest_status_per_invoice(world: World,
                                                          invoice: MockInvoice) -> None:
    erp = MockErp(world)
    first = CaseStatus(invoice_id=invoice.id, case_id="7", status_text="Notice sent",
                       closed=False, balance_at_agency=Decimal("1505.00"))
    last = first.model_copy(update={"status_text": "Case closed in full", "closed": True,
                                    "balance_at_agency": Decimal("0")})
    erp.write_status([first])
    erp.write_status([last])
    assert world.erp.case_status == {invoice.id: last} and world.erp.status_writes == 2

    stray = first.model_copy(update={"invoice_id": "nope"})
    with pytest.raises(UserError, match="no invoice with id nope"):
        erp.write_status([first, stray])
    assert world.erp.case_status == {invoice.id: last} and world.erp.status_writes == 2
    world.inject("erp.write_status")
    with pytest.raises(TransientError):
        erp.write_status([first])


def test_the_ledger_read_can_fail(world: World) -> None:
    world.inject("erp.ledger")
    with pytest.raises(TransientError):
        MockErp(world).ledger(None)
    assert list(MockErp(world).ledger(world.now - timedelta(days=1))) == []
