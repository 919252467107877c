"""The mock ERP adapter: paging, change-time cursors, hidden future invoices, bad records."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from connector.domain import DunningSetup, InvoiceKind, NextAction
from connector.errors import TransientError
from connector.ports import ErpAdapter
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.world import World

if TYPE_CHECKING:
    from tests.mock.conftest import Day, MakeWorld


def test_it_offers_the_erp_reads_with_the_worlds_clock(world: World) -> None:
    erp = MockErp(world)
    assert isinstance(erp, ErpAdapter)
    for name in ("company", "customers", "customers_by_number", "invoices", "letters",
                 "ledger", "write_status", "find_voucher", "post_voucher", "close"):
        assert callable(getattr(erp, name)) and hasattr(ErpAdapter, name), name
    assert erp.clock.now() == world.now
    world.advance(timedelta(days=2))
    assert erp.clock.now() == world.now
    assert erp.company() == world.erp.company


def test_pages_are_ordered_by_change_time_and_bounded(world: World, day: Day) -> None:
    for n in range(2, 13):
        world.add_customer(str(10000 + n), f"Kunde {n} AS", organization_number="923456783")
    erp = MockErp(world, page_size=5)

    pages = list(erp.customers(None))

    assert [len(page.items) for page in pages] == [5, 5, 2]
    stamps = [c.changed_at for page in pages for c in page.items]
    assert stamps == sorted(stamps)
    assert [c.number for c in pages[0].items][:2] == ["10001", "10002"]


def test_changed_since_is_strictly_after(world: World, day: Day) -> None:
    erp = MockErp(world)
    first = world.erp.add_invoice("10001", 100, due_date=day(10))
    cursor = first.changed_at
    second = world.erp.add_invoice("10001", 200, due_date=day(10))

    changed = [i.invoice_no for page in erp.invoices(cursor) for i in page.items]

    assert changed == [second.invoice_no]
    world.erp.pay(first.invoice_no, 50)
    changed = [i.invoice_no for page in erp.invoices(second.changed_at) for i in page.items]
    assert changed == [first.invoice_no]


def test_an_address_edit_is_invisible_to_the_cursor_but_not_by_number(world: World) -> None:
    erp = MockErp(world)
    cursor = world.now
    world.erp.set_address("10001", postal_code=None)

    assert [c for page in erp.customers(cursor) for c in page.items] == []
    (fresh,) = erp.customers_by_number(["10001", "404"])
    assert fresh.address.postal_code is None


def test_customers_map_to_the_domain_model(world: World) -> None:
    world.update_customer("10001", dunning=DunningSetup(reminder=True), email="post@x.no")
    world.erp.exclude_customer("10001")
    (page,) = MockErp(world).customers(None)
    (customer,) = page.items
    assert customer.number == "10001" and customer.name == "Fjordkraft Rør AS"
    assert customer.dunning == DunningSetup(reminder=True)
    assert customer.transfer_to_agency is False
    assert customer.address.city == "Oslo" and customer.organization_number == "923456783"


def test_invoices_and_credit_notes_map_to_the_domain_model(make_world: MakeWorld,
                                                           day: Day) -> None:
    world = make_world(DunningSetup(reminder=True))
    invoice = world.erp.add_invoice("10001", "1250.00", due_date=day(-2))
    world.erp.credit(invoice.invoice_no, "250.00")

    (page,) = MockErp(world).invoices(None)
    by_no = {i.invoice_no: i for i in page.items}

    got = by_no[invoice.invoice_no]
    assert got.id == invoice.id and got.balance == 1000 and got.amount == 1250
    assert got.next_action is NextAction.REMINDER and got.kid
    note = next(i for i in page.items if i.kind is InvoiceKind.CREDIT_NOTE)
    assert note.amount == -250 and note.customer_no == "10001"


def test_future_invoices_stay_hidden_until_their_invoice_date(world: World, day: Day) -> None:
    erp = MockErp(world)
    cursor = world.now
    future = world.erp.add_invoice("10001", 100, invoice_date=day(3), due_date=day(17))
    assert [i for page in erp.invoices(None) for i in page.items] == []

    world.advance(timedelta(days=2))
    assert [i for page in erp.invoices(cursor) for i in page.items] == []
    world.advance(timedelta(days=1))
    assert [i.invoice_no for page in erp.invoices(cursor) for i in page.items] == [
        future.invoice_no
    ]
    assert future.changed_at == world.midnight(day(3))


def test_a_malformed_date_is_rejected_per_item_and_unknown_customers_pass(
    world: World, day: Day
) -> None:
    good = world.erp.add_invoice("10001", 100, due_date=day(-1))
    world.erp.add_invoice("10001", 100, invoice_no="66", invoice_date="2025-13-45",
                      due_date=day(-1))
    orphan = world.erp.add_invoice("19999", 100, due_date=day(-1))

    (page,) = MockErp(world).invoices(None)

    assert [i.invoice_no for i in page.items] == [good.invoice_no, orphan.invoice_no]
    (rejected,) = page.rejected
    assert rejected.resource == "invoice" and rejected.raw["invoice_no"] == "66"
    assert "invoice_date" in rejected.reason


def test_letters_are_read_by_cursor(make_world: MakeWorld, day: Day) -> None:
    world = make_world(DunningSetup(reminder=True))
    invoice = world.erp.add_invoice("10001", 100, due_date=day(-6))
    erp = MockErp(world)
    cursor = world.now
    assert [letter for page in erp.letters(cursor) for letter in page.items] == []
    world.advance(timedelta(days=1))
    (letter,) = [letter for page in erp.letters(cursor) for letter in page.items]
    assert letter.invoice_id == invoice.id and letter.sent_on == day(1)


@pytest.mark.parametrize("operation", ["company", "customers", "invoices", "letters"])
def test_injected_faults_fail_reads_then_clear(world: World, operation: str) -> None:
    erp = MockErp(world)
    world.inject(f"erp.{operation}", 1)
    call = getattr(erp, operation)
    args = () if operation == "company" else (None,)
    with pytest.raises(TransientError):
        call(*args)
    call(*args)
