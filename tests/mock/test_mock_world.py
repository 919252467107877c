"""The world's state, persistence, clock and ERP actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from connector.domain import InvoiceKind, NextAction
from connector.errors import TransientError, UserError
from connector_adapters.mock.world import World

if TYPE_CHECKING:
    from tests.mock.conftest import Day


def test_a_stored_world_opens_with_everything_exact(
    world: World, tmp_path: Path, day: Day
) -> None:
    world.erp.add_invoice("10001", "1250.10", due_date=day(-20), balance="0.30")
    world.advance(timedelta(days=3))
    world.inject("agency.register", 2)
    world.bind(tmp_path / "world")

    loaded = World.open(tmp_path / "world")

    assert loaded.snapshot() == world.snapshot()
    invoice = loaded.erp.invoices["10001"]
    assert invoice.amount == Decimal("1250.10") and isinstance(invoice.amount, Decimal)
    assert invoice.balance == Decimal("0.30")
    assert loaded.now.tzinfo is not None and loaded.now == world.now
    assert loaded.erp.letters_of(invoice) == world.erp.letters_of(world.erp.invoices["10001"])
    assert loaded.faults == {"agency.register": 2}
    assert sorted(p.name for p in (tmp_path / "world").iterdir()
                  if p.suffix == ".sqlite") == ["agency.sqlite", "erp.sqlite"]


def test_every_write_is_seen_by_another_opener_of_the_world(world: World,
                                                            tmp_path: Path) -> None:
    world.bind(tmp_path / "world")
    other = World.open(tmp_path / "world")
    world.add_customer("10002", "Kari Nordmann", is_person=True, behaviour="never")
    other.advance(timedelta(hours=2))
    assert "10002" in other.erp.customers and "10002" in other.agency.debtors
    assert world.now == other.now
    with pytest.raises(UserError):
        world.erp.pay("10002", "1")  # no such invoice: nothing written
    assert world.snapshot() == other.snapshot()


def test_a_failed_action_leaves_the_stored_world_as_it_was(world: World, day: Day,
                                                           tmp_path: Path) -> None:
    invoice = world.erp.add_invoice("10001", "100.00", due_date=day(-5))
    world.bind(tmp_path / "world")
    before = World.open(tmp_path / "world").snapshot()
    with pytest.raises(UserError, match="amount"):  # after it took a number and an id
        world.erp.add_invoice("10001", "ten kroner")
    assert World.open(tmp_path / "world").snapshot() == before == world.snapshot()
    assert world.erp.add_invoice("10001", "10.00").invoice_no == "10002"
    assert world.erp.invoice(invoice.invoice_no).balance == Decimal("100.00")


def test_floats_are_refused_as_money(world: World) -> None:
    with pytest.raises(UserError, match="never float"):
        world.erp.add_invoice("10001", 12.5)  # type: ignore[arg-type]


def test_address_edit_does_not_move_changed_at_but_a_name_edit_does(world: World) -> None:
    before = world.erp.customers["10001"].changed_at

    world.erp.set_address("10001", postal_code=None, city="Bergen")
    after_address = world.erp.customers["10001"]
    assert after_address.changed_at == before
    assert after_address.address.city == "Bergen"
    assert after_address.address.postal_code is None
    assert after_address.address.line1 == "Storgata 12"

    world.update_customer("10001", name="Fjordkraft Rør og Varme AS")
    assert world.erp.customers["10001"].changed_at > before


def test_update_customer_refuses_an_address(world: World) -> None:
    with pytest.raises(UserError, match="set_address"):
        world.update_customer("10001", address={"city": "Oslo"})


def test_exclude_and_include_customer(world: World) -> None:
    assert not world.erp.exclude_customer("10001").transfer_to_agency
    assert world.erp.include_customer("10001").transfer_to_agency


def test_every_write_is_strictly_later_than_the_last(world: World, day: Day) -> None:
    seen = world.now
    invoice = world.erp.add_invoice("10001", 100, due_date=day(10))
    assert invoice.changed_at > seen
    world.erp.pay(invoice.invoice_no, 40)
    assert invoice.changed_at > seen and world.now >= invoice.changed_at


def test_pay_and_credit_reduce_the_balance(world: World, day: Day) -> None:
    invoice = world.erp.add_invoice("10001", "1000.00", due_date=day(10))
    world.erp.pay(invoice.invoice_no, "250.00")
    note = world.erp.credit(invoice.invoice_no, "700.00")

    assert invoice.balance == Decimal("50.00")
    assert note.kind is InvoiceKind.CREDIT_NOTE
    assert note.amount == Decimal("-700.00") and note.balance == 0
    assert note.credits == invoice.invoice_no and note.customer_no == "10001"
    with pytest.raises(UserError, match="at most the balance"):
        world.erp.pay(invoice.invoice_no, "50.01")
    world.erp.pay(invoice.invoice_no, "50.00")
    assert invoice.next_action is NextAction.NONE
    with pytest.raises(UserError, match="not an open invoice"):
        world.erp.credit(invoice.invoice_no, 1)


def test_delete_invoice_marks_it_and_moves_changed_at(world: World, day: Day) -> None:
    invoice = world.erp.add_invoice("10001", 300, due_date=day(-3))
    before = invoice.changed_at
    world.erp.delete_invoice(invoice.invoice_no)
    assert invoice.deleted and invoice.changed_at > before


def test_unknown_customer_and_malformed_date_are_kept_as_given(world: World) -> None:
    bad = world.erp.add_invoice("19999", 100, invoice_date="2025-13-45", due_date="2025-02-01")
    assert bad.invoice_date == "2025-13-45" and bad.customer_no == "19999"
    world.advance(timedelta(days=30))
    assert world.erp.letters == []


def test_invoice_ids_are_stable_and_unique(world: World, day: Day) -> None:
    first = world.erp.add_invoice("10001", 100, due_date=day(1))
    second = world.erp.add_invoice("10001", 100, due_date=day(1))
    assert first.id != second.id and len(first.id) == 36
    assert first.invoice_no == "10001" and second.invoice_no == "10002"


def test_advance_only_goes_forward(world: World, start: datetime) -> None:
    with pytest.raises(UserError):
        world.advance(timedelta(seconds=-1))
    before = world.now
    assert before - start < timedelta(milliseconds=1)  # writes take a microsecond each
    assert world.advance(timedelta(hours=5)) == before + timedelta(hours=5)
    assert world.clock.now() == world.now


def test_days_are_counted_in_the_company_zone(world: World, day: Day) -> None:
    # 08:00 UTC is 09:00 in Oslo; 23:30 UTC is already the next day there.
    world.advance(timedelta(hours=15, minutes=30))
    assert world.today == day(1)


def test_faults_raise_n_times_then_pass(world: World) -> None:
    world.inject("erp.invoices", 2)
    for left in (1, 0):
        with pytest.raises(TransientError, match=f"{left} more"):
            world.trip("erp.invoices")
    world.trip("erp.invoices")
    assert world.faults == {}


def test_unknown_fault_operation_is_refused(world: World) -> None:
    with pytest.raises(UserError, match=r"known: agency\.changes, agency\.find_case"):
        world.inject("agency.typo")


def test_set_company_checks_the_time_zone(world: World) -> None:
    with pytest.raises(UserError, match="time zone"):
        world.erp.set_company(timezone="Europe/Atlantis")
    assert world.erp.set_company(auto_transfer=True).auto_transfer
