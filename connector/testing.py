"""The adapter contract as pytest tests: run them on your adapter before the engine does.

``connector/ports.py`` says what an adapter offers; these classes check that an adapter
keeps it, through the port only, so the same tests run on an in-memory fake, on a real
HTTP adapter against a sandbox, or on one replaying recorded cassettes. Subclass one, name
the subclass ``Test…`` so pytest collects it, and give it the fixtures it needs:

- ``ErpAdapterContract``: ``erp_adapter``, a fresh ERP adapter whose company has at least
  two customers changed at different times;
- ``AgencyAdapterContract``: ``agency_adapter``, a fresh agency adapter, and
  ``case_request``, a ``CaseRequest`` that agency accepts now (against a sandbox that keeps
  its cases, give it a new reference and invoice number each time).

Or let the connector's pytest plugin (``connector.pytest_plugin``) collect them: one line,
``connector_contract = ["erp", "agency"]``, in the project's pytest configuration.
Tests of a capability the adapter does not declare check that it says so (``Unsupported``)
or are skipped. ``docs/plugins.md`` ("Testing your adapter") has a complete example.
This module imports pytest: import it from tests only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from connector.domain import (
    AgencyCase,
    CaseRequest,
    CaseUpdate,
    ClaimReduction,
    Company,
    Customer,
    Invoice,
    InvoiceKind,
    LedgerEntry,
    LedgerKind,
    Payout,
    ReminderLetter,
    Voucher,
    VoucherKind,
    VoucherLine,
    VoucherReceipt,
)
from connector.errors import CaseRejected, ConnectorError, Unsupported
from connector.ports import (
    AGENCY_CAPABILITIES,
    ERP_CAPABILITIES,
    AgencyAdapter,
    Capability,
    ErpAdapter,
    Page,
)
from connector.ports import REDUCTION_CAPABILITY as REDUCTIONS
from connector.ports import VOUCHER_CAPABILITY as BOOKS
from connector.rules import AgencyRequirements

ERP_STREAMS: dict[str, type[BaseModel]] = {
    "customers": Customer,
    "invoices": Invoice,
    "letters": ReminderLetter,
    "ledger": LedgerEntry,
}
"""The ERP's cursor reads, each a method ``name(changed_since)`` yielding pages of a model."""
CASE_ACTIONS = {"pause": Capability.PAUSE, "resume": Capability.RESUME,
                "withdraw": Capability.WITHDRAW}

PAYOUT_MARK = (
    "payout mark (echo prevention): a ledger payment booked from an agency payout must "
    "carry the payout voucher's reference {reference!r} as its external_reference; {found}. "
    "Without the mark the connector takes the agency's own payout for a payment the debtor "
    "made to the creditor and reports it back to the agency as a direct payment "
    "(docs/plugins.md, \"The payout mark\")")
"""The rule ``test_payout_payment_carries_the_payout_mark`` checks, as its failure says it."""


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def read_pages(pages: Iterator[Any], model: type[BaseModel], what: str) -> list[Any]:
    """Every item of a paged read, checking each page is a ``Page`` of ``model`` items with
    timezone-aware change times (a naive time cannot be compared with the cursor)."""
    items: list[Any] = []
    for page in pages:
        assert isinstance(page, Page), f"{what} yielded a {type(page).__name__}, not a Page"
        strays = sorted({type(i).__name__ for i in page.items if not isinstance(i, model)})
        assert not strays, f"{what} yielded {', '.join(strays)}, not {model.__name__}"
        naive = [str(i.changed_at) for i in page.items if not _is_aware(i.changed_at)]
        assert not naive, f"{what} yielded {model.__name__}s with naive change times {naive}"
        items.extend(page.items)
    return items


def check_capabilities(capabilities: Any, allowed: frozenset[Capability], side: str) -> None:
    """A frozenset of ``Capability`` of the adapter's own side: the engine tests membership
    with enum members, and an ERP declaring ``pause`` would only mislead the CLI."""
    assert isinstance(capabilities, frozenset), (
        f"capabilities is a {type(capabilities).__name__}, not a frozenset")
    strays = [c for c in capabilities if not isinstance(c, Capability)]
    assert not strays, f"capabilities holds {strays!r}: use connector.ports.Capability members"
    foreign = sorted(c.value for c in capabilities - allowed)
    assert not foreign, f"an {side} adapter cannot declare {', '.join(foreign)}"


class AdapterContract:
    """What both contracts share."""

    def reference(self, prefix: str) -> str:
        """An idempotency reference no earlier run used, as a sandbox keeps what the last run
        wrote. Replaying cassettes, override it to return the references recorded."""
        return f"{prefix}:conformance-{uuid.uuid4().hex}"


class ErpAdapterContract(AdapterContract):
    """The ``ErpAdapter`` contract. Needs an ``erp_adapter`` fixture (see the module doc).

    Override ``unknown_customer_number`` if the ERP has that customer, ``voucher`` and
    ``payout_voucher`` (or the two account numbers) if the ERP refuses the defaults, and
    ``approve_proposal`` to check the payout mark on bookkeeping proposals too.
    """

    unknown_customer_number: ClassVar[str] = "999999999"
    """A customer number the ERP does not have."""
    customer_ledger_account: ClassVar[str] = "1500"
    """Where the principal of a payout is credited (NS 4102 1500, the connector's default)."""
    bank_account: ClassVar[str] = "1920"

    def voucher(self, reference: str, kind: VoucherKind) -> Voucher:
        """A small balanced voucher the ERP accepts: a bank charge of 1.00 (NS 4102 accounts
        7770 and 1920), away from the customer ledger so it touches no invoice."""
        return Voucher(reference=reference, kind=kind, date=datetime.now(UTC).date(),
                       description="Connector conformance test", lines=[
                           VoucherLine(account="7770", amount=Decimal("1.00")),
                           VoucherLine(account="1920", amount=Decimal("-1.00"))])

    def payout_voucher(self, reference: str, kind: VoucherKind, invoice: Invoice) -> Voucher:
        """What the connector books for a payout of 1.00 collected on ``invoice``: the bank
        debited, the invoice credited on the customer ledger."""
        return Voucher(reference=reference, kind=kind, date=datetime.now(UTC).date(),
                       description="Connector conformance test: payout", lines=[
                           VoucherLine(account=self.bank_account, amount=Decimal("1.00")),
                           VoucherLine(account=self.customer_ledger_account,
                                       amount=Decimal("-1.00"), customer_no=invoice.customer_no,
                                       invoice_no=invoice.invoice_no)])

    def approve_proposal(self, erp_adapter: ErpAdapter, receipt: VoucherReceipt) -> None:
        """Post a proposal as the ERP's accountant would; the port has no way to. Override
        it with your sandbox's way, or the proposal case of the payout mark is skipped."""
        pytest.skip("override approve_proposal to post a bookkeeping proposal in your ERP")

    def test_is_an_erp_adapter(self, erp_adapter: ErpAdapter) -> None:
        assert isinstance(erp_adapter, ErpAdapter), (
            "the adapter lacks members of connector.ports.ErpAdapter")

    def test_capabilities_are_erp_capabilities(self, erp_adapter: ErpAdapter) -> None:
        check_capabilities(erp_adapter.capabilities, ERP_CAPABILITIES, "ERP")

    def test_company_has_a_known_time_zone(self, erp_adapter: ErpAdapter) -> None:
        """The rules count days in this zone (R1); an unknown name would fail every sync."""
        company = erp_adapter.company()
        assert isinstance(company, Company)
        ZoneInfo(company.timezone)

    @pytest.mark.parametrize("stream", ERP_STREAMS)
    def test_read_from_the_start_yields_pages_of_domain_models(
            self, erp_adapter: ErpAdapter, stream: str) -> None:
        self._read(erp_adapter, stream, None)

    @pytest.mark.parametrize("stream", ERP_STREAMS)
    def test_read_after_a_cursor_yields_only_later_changes(
            self, erp_adapter: ErpAdapter, stream: str) -> None:
        """The engine keeps the newest change time it saw and reads after it next pass: a
        record at or before the cursor comes back forever, one missed is lost forever."""
        everything = self._read(erp_adapter, stream, None)
        times = sorted({item.changed_at for item in everything})
        if len(times) < 2:
            if stream == "customers":
                pytest.fail("erp_adapter must have customers changed at two times or more")
            pytest.skip(f"{stream}: fewer than two change times to put a cursor between")
        cursor = times[(len(times) - 1) // 2]
        later = self._read(erp_adapter, stream, cursor)
        early = [f"{item.id} ({item.changed_at})" for item in later if item.changed_at <= cursor]
        assert not early, f"{stream}({cursor}) returned records not changed after it: {early}"
        missed = ({item.id for item in everything if item.changed_at > cursor}
                  - {item.id for item in later})
        assert not missed, f"{stream}({cursor}) missed records changed after it: {missed}"

    def test_customers_by_number_returns_only_those_asked(self, erp_adapter: ErpAdapter) -> None:
        customers = self._read(erp_adapter, "customers", None)
        numbers = {c.number for c in customers}
        assert self.unknown_customer_number not in numbers, (
            "unknown_customer_number is a real customer: override it")
        asked = sorted(numbers)[: max(1, len(numbers) // 2)]
        found = erp_adapter.customers_by_number([*asked, self.unknown_customer_number])
        assert all(isinstance(c, Customer) for c in found)
        assert sorted(c.number for c in found) == asked

    def test_invoices_name_their_customer_by_its_erp_id(self, erp_adapter: ErpAdapter) -> None:
        """The engine joins an invoice to its customer by ``customer_id``, the id the ERP
        gives the customer card (``Customer.id``); the number is only shown."""
        customers = {c.id: c for c in self._read(erp_adapter, "customers", None)}
        stray = [f"invoice {i.invoice_no}: customer_id {i.customer_id!r}"
                 for i in self._read(erp_adapter, "invoices", None)
                 if i.customer_id not in customers
                 or customers[i.customer_id].number != i.customer_no]
        assert not stray, ("invoices whose customer_id is not the id of a customer with their "
                           f"customer_no: {stray[:5]}")

    def test_unknown_voucher_reference_finds_nothing(self, erp_adapter: ErpAdapter) -> None:
        """Before posting, a retry asks for the voucher by reference (docs/guarantees.md)."""
        self._books(erp_adapter)
        assert erp_adapter.find_voucher(self.reference("payout")) is None

    @pytest.mark.parametrize("kind", BOOKS)
    def test_posted_voucher_is_found_by_its_reference(
            self, erp_adapter: ErpAdapter, kind: VoucherKind) -> None:
        self._books(erp_adapter, kind)
        voucher = self.voucher(self.reference("payout"), kind)
        receipt = erp_adapter.post_voucher(voucher)
        assert (receipt.reference, receipt.kind) == (voucher.reference, kind)
        assert erp_adapter.find_voucher(voucher.reference) == receipt

    @pytest.mark.parametrize("kind", BOOKS)
    def test_repeated_voucher_reference_is_refused(
            self, erp_adapter: ErpAdapter, kind: VoucherKind) -> None:
        """The reference is the idempotency key of a payout's booking: a second voucher
        under it would book the payout twice."""
        self._books(erp_adapter, kind)
        voucher = self.voucher(self.reference("payout"), kind)
        first = erp_adapter.post_voucher(voucher)
        with pytest.raises(ConnectorError):
            erp_adapter.post_voucher(voucher)
        assert erp_adapter.find_voucher(voucher.reference) == first

    @pytest.mark.parametrize("kind", BOOKS)
    def test_payout_payment_carries_the_payout_mark(
            self, erp_adapter: ErpAdapter, kind: VoucherKind) -> None:
        """Echo prevention: the payment a payout voucher puts on the ledger carries the
        voucher's reference (``payout:<id>``), which is how the engine tells the agency's
        own payouts from the debtor's direct payments (see ``PAYOUT_MARK``)."""
        self._books(erp_adapter, kind)
        invoice = next((i for i in self._read(erp_adapter, "invoices", None)
                        if i.kind is InvoiceKind.INVOICE and i.balance >= Decimal("1.00")
                        and not i.deleted), None)
        if invoice is None:
            pytest.skip("erp_adapter has no open invoice to book a payout against")
        seen = {e.id for e in self._read(erp_adapter, "ledger", None)}
        reference = self.reference("payout")
        receipt = erp_adapter.post_voucher(self.payout_voucher(reference, kind, invoice))
        if kind is VoucherKind.PROPOSAL:
            self.approve_proposal(erp_adapter, receipt)
        payments = [e for e in self._read(erp_adapter, "ledger", None)
                    if e.id not in seen and e.invoice_id == invoice.id
                    and e.kind is LedgerKind.PAYMENT]
        assert payments, (f"the payout voucher {reference!r} put no payment on the ledger of "
                          f"invoice {invoice.invoice_no}: ledger() must show it")
        unmarked = [f"{e.id} (external_reference={e.external_reference!r})"
                    for e in payments if e.external_reference != reference]
        assert not unmarked, PAYOUT_MARK.format(
            reference=reference, found=f"ledger() shows {', '.join(unmarked)}")

    @staticmethod
    def _read(erp: ErpAdapter, stream: str, since: datetime | None) -> list[Any]:
        read: Callable[[datetime | None], Iterator[Any]] = getattr(erp, stream)
        return read_pages(read(since), ERP_STREAMS[stream], f"{stream}({since})")

    @staticmethod
    def _books(erp: ErpAdapter, kind: VoucherKind | None = None) -> None:
        """Skip unless the ERP books ``kind`` (any kind when None)."""
        needed = {BOOKS[kind]} if kind else set(BOOKS.values())
        if not needed & erp.capabilities:
            pytest.skip(f"the adapter does not declare {' or '.join(sorted(needed))}")


class AgencyAdapterContract(AdapterContract):
    """The ``AgencyAdapter`` contract. Needs ``agency_adapter`` and ``case_request``
    fixtures (see the module doc)."""

    def test_is_an_agency_adapter(self, agency_adapter: AgencyAdapter) -> None:
        assert isinstance(agency_adapter, AgencyAdapter), (
            "the adapter lacks members of connector.ports.AgencyAdapter")
        assert isinstance(agency_adapter.requirements, AgencyRequirements)
        assert agency_adapter.portal.strip(), "portal must name where users act (R6)"

    def test_capabilities_are_agency_capabilities(self, agency_adapter: AgencyAdapter) -> None:
        check_capabilities(agency_adapter.capabilities, AGENCY_CAPABILITIES, "agency")

    def test_unknown_reference_finds_no_case(self, agency_adapter: AgencyAdapter) -> None:
        assert agency_adapter.find_case(self.reference("invoice")) is None

    def test_registered_case_is_found_by_its_reference(
            self, agency_adapter: AgencyAdapter, case_request: CaseRequest) -> None:
        """After a crash the engine finds the case by reference instead of sending it again."""
        case = self._register(agency_adapter, case_request)
        found = agency_adapter.find_case(case_request.reference)
        assert found is not None, f"find_case({case_request.reference!r}) found nothing"
        assert (found.id, found.reference) == (case.id, case.reference)

    def test_request_without_postal_code_is_rejected_naming_the_field(
            self, agency_adapter: AgencyAdapter, case_request: CaseRequest) -> None:
        """A refusal must be a ``CaseRejected`` naming the field, which the engine shows as
        the claim's obstacle (R7); anything else is retried as if the agency were down."""
        address = case_request.debtor.address.model_copy(update={"postal_code": None})
        debtor = case_request.debtor.model_copy(update={"address": address})
        request = case_request.model_copy(update={"debtor": debtor})
        with pytest.raises(CaseRejected) as refused:
            agency_adapter.register_case(request)
        assert "postal_code" in (refused.value.field or ""), (
            f"CaseRejected.field is {refused.value.field!r}: name the postal code")
        assert agency_adapter.find_case(request.reference) is None

    def test_changes_yield_case_updates_after_the_cursor(
            self, agency_adapter: AgencyAdapter, case_request: CaseRequest) -> None:
        """A new case shows in the changes, or no status or outcome ever comes back."""
        self._register(agency_adapter, case_request)
        updates = read_pages(agency_adapter.changes(None), CaseUpdate, "changes(None)")
        assert case_request.reference in {u.reference for u in updates}, (
            "changes(None) does not show the case just registered")
        cursor = max(u.changed_at for u in updates)
        again = read_pages(agency_adapter.changes(cursor), CaseUpdate, f"changes({cursor})")
        assert not [u for u in again if u.changed_at <= cursor], (
            f"changes({cursor}) returned cases not changed after it")

    def test_payouts_yield_pages_of_payouts(self, agency_adapter: AgencyAdapter) -> None:
        for page in agency_adapter.payouts():
            assert isinstance(page, Page)
            assert all(isinstance(p, Payout) for p in page.items)

    @pytest.mark.parametrize("action", CASE_ACTIONS)
    def test_case_action_follows_the_capability(
            self, agency_adapter: AgencyAdapter, case_request: CaseRequest,
            action: str) -> None:
        """Declared: the action answers with the case's update. Not declared: it raises
        ``Unsupported``, whose message says where to do it instead (R6)."""
        case = self._register(agency_adapter, case_request)
        act: Callable[[str], CaseUpdate] = getattr(agency_adapter, action)
        if CASE_ACTIONS[action] not in agency_adapter.capabilities:
            with pytest.raises(Unsupported):
                act(case.id)
            return
        update = act(case.id)
        assert isinstance(update, CaseUpdate)
        assert update.case_id == case.id

    def test_reported_reduction_is_known_by_its_reference(
            self, agency_adapter: AgencyAdapter, case_request: CaseRequest) -> None:
        """A retry asks ``reduction_reported`` before reporting a payment again (docs/rules.md).
        An agency that takes neither payments nor credit notes says ``Unsupported``."""
        case = self._register(agency_adapter, case_request)
        capabilities = agency_adapter.capabilities
        kind = (LedgerKind.PAYMENT if Capability.DIRECT_PAYMENTS in capabilities
                else LedgerKind.CREDIT_NOTE)
        reduction = ClaimReduction(
            reference=self.reference(kind.value), kind=kind, case_id=case.id,
            invoice_reference=case_request.reference, on=datetime.now(UTC).date(),
            amount=min(Decimal("1.00"), case_request.balance))
        assert agency_adapter.reduction_reported(reduction.reference, case_id=case.id) is False
        if REDUCTIONS[kind] not in capabilities:
            with pytest.raises(Unsupported):
                agency_adapter.report_reduction(reduction)
            assert agency_adapter.reduction_reported(reduction.reference, case_id=case.id) is False
            return
        agency_adapter.report_reduction(reduction)
        assert agency_adapter.reduction_reported(reduction.reference, case_id=case.id) is True

    @staticmethod
    def _register(agency: AgencyAdapter, request: CaseRequest) -> AgencyCase:
        case = agency.register_case(request)
        assert isinstance(case, AgencyCase)
        assert case.reference == request.reference, (
            f"the case carries reference {case.reference!r}, not {request.reference!r}")
        return case
