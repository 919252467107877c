"""The generated world: repeatable per seed, and every kind of trouble is in the mix."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from connector.domain import DunningSetup, InvoiceKind, NextAction
from connector_adapters.mock.collection import Behaviour
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.generate import generate_world
from connector_adapters.mock.norway import valid_org_number
from connector_adapters.mock.world import World


def world_42() -> World:
    return generate_world(42, customers=200, start=datetime.fromisoformat("2025-03-03T08:00Z"))


@pytest.fixture(scope="module")
def generated() -> World:
    return world_42()


def test_same_seed_same_world(start: datetime) -> None:
    one = generate_world(3, customers=40, start=start)
    two = generate_world(3, customers=40, start=start)
    assert one.snapshot() == two.snapshot()
    assert generate_world(4, customers=40, start=start).snapshot() != one.snapshot()


def test_every_dunning_setup_is_present(generated: World) -> None:
    setups = {generated.erp.dunning_for(c) for c in generated.erp.customers.values()}
    assert {
        DunningSetup(),
        DunningSetup(reminder=True),
        DunningSetup(dunning_letter=True),
        DunningSetup(collection_notice=True),
        DunningSetup(dunning_letter=True, collection_notice=True),
        DunningSetup(reminder=True, collection_notice=True),
    } <= setups
    assert any(c.dunning is None for c in generated.erp.customers.values())


def test_the_troublesome_customers_are_there(generated: World) -> None:
    customers = list(generated.erp.customers.values())
    excluded = [c for c in customers if not c.transfer_to_agency]
    assert 0.03 <= len(excluded) / len(customers) <= 0.07
    for part in ("line1", "postal_code", "city"):
        assert any(getattr(c.address, part) is None for c in customers), part
    businesses = [c for c in customers if not c.is_person]
    persons = [c for c in customers if c.is_person]
    assert persons and businesses
    assert any(not c.organization_number for c in businesses)
    assert all(valid_org_number(c.organization_number)
               for c in businesses if c.organization_number)
    assert any(not c.send_reminders for c in customers)
    assert all(c.address.country == "NO" for c in customers)


def test_invoices_are_spread_over_time_and_states(generated: World) -> None:
    invoices = [i for i in generated.erp.invoices.values() if i.kind is InvoiceKind.INVOICE]
    today = generated.today
    issued = [datetime.fromisoformat(i.invoice_date).date() for i in invoices]
    assert min(issued) <= today - timedelta(days=55)
    assert max(issued) >= today + timedelta(days=25)
    assert any(i.balance == 0 for i in invoices)
    assert any(0 < i.balance < i.amount for i in invoices)
    assert any(i.currency == "EUR" for i in invoices)
    assert any(i.kind is InvoiceKind.CREDIT_NOTE for i in generated.erp.invoices.values())
    actions = {i.next_action for i in invoices if i.is_open}
    assert {NextAction.NONE, NextAction.WAIT, NextAction.COLLECTION} <= actions
    assert generated.erp.letters


def test_new_invoices_fall_due_as_days_pass() -> None:
    world = world_42()
    erp = MockErp(world)
    cursor = world.now
    world.advance(timedelta(days=7))
    new = [i for page in erp.invoices(cursor) for i in page.items]
    assert new
    assert all(page.rejected == [] for page in erp.invoices(None))


def test_it_scales(start: datetime) -> None:
    world = generate_world(1, customers=5000, start=start)
    assert len(world.erp.invoices) > 15000


def test_debtors_behave_in_a_mix_and_some_claims_are_old(generated: World) -> None:
    behaviours = Counter(d.behaviour for d in generated.agency.debtors.values())
    assert set(behaviours) == set(Behaviour)
    assert behaviours[Behaviour.FULL] > behaviours[Behaviour.PARTIAL] > 0
    today = generated.today
    old = [i for i in generated.erp.invoices.values() if i.is_open
           and (today - date.fromisoformat(i.due_date)).days >= 100]
    assert old  # sent to collection, they carry commission (> 90 days after due)
