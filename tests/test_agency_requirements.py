"""The agency's acceptance checks come from its adapter: an agency in these tests that needs
an e-mail address and takes euros changes the obstacles (R7) without a line of the core."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connector import actions
from connector.domain import Address, Customer, Invoice
from connector.rules import AgencyRequirements, obstacles
from connector.store.db import Store
from connector_adapters.mock.agency import MockAgency
from tests.support import FULL_ADDRESS, Harness, new_world

MOCK = MockAgency.requirements


class MailAndEuroAgency(MockAgency):
    """Like the mock agency, but every debtor needs an e-mail address, euros are taken, and
    a name may have at most 30 characters."""

    requirements = AgencyRequirements(required=MOCK.required | {"email"},
                                       currencies=frozenset({"NOK", "EUR"}),
                                       max_lengths={"name": 30})


def _customer(**fields: object) -> Customer:
    data: dict[str, object] = {"id": "c1", "number": "10", "name": "Nordlys AS",
                               "organization_number": "923609016", "address": FULL_ADDRESS,
                               "changed_at": "2026-03-01T08:00:00+00:00"}
    return Customer.model_validate({**data, **fields})


def _invoice(currency: str) -> Invoice:
    return Invoice(id="i1", invoice_no="4711", customer_id="c10", customer_no="10",
                   invoice_date=date(2026, 2, 1),
                   due_date=date(2026, 2, 15), amount=Decimal("100.00"),
                   balance=Decimal("100.00"), currency=currency,
                   changed_at=datetime(2026, 3, 1, 8, tzinfo=UTC))


def _codes(invoice: Invoice, customer: Customer, requirements: AgencyRequirements) -> list[
        tuple[str, str | None]]:
    return [(o.code, o.field) for o in obstacles(invoice, customer, requirements)]


def test_what_the_adapter_declares_is_what_blocks() -> None:
    invoice, customer = _invoice("EUR"), _customer()
    assert _codes(invoice, customer, MOCK) == [("currency", "currency")]
    assert _codes(invoice, customer, MailAndEuroAgency.requirements) == [
        ("missing_field", "email")]
    with_mail = _customer(email="post@nordlys.no")
    assert _codes(invoice, with_mail, MailAndEuroAgency.requirements) == []
    assert _codes(_invoice("SEK"), with_mail, MailAndEuroAgency.requirements) == [
        ("currency", "currency")]


def test_a_name_longer_than_declared_is_an_obstacle() -> None:
    requirements = MailAndEuroAgency.requirements
    fits = _customer(name="N" * 30, email="a@b.no")
    too_long = _customer(name="N" * 31, email="a@b.no")
    assert obstacles(_invoice("NOK"), fits, requirements) == []
    [found] = obstacles(_invoice("NOK"), too_long, requirements)
    assert (found.code, found.field) == ("too_long", "name")
    assert "has 31 characters; the agency takes at most 30" in found.message
    assert obstacles(_invoice("NOK"), too_long, MOCK) == []  # the mock takes 100


def test_kravias_and_the_mocks_name_limits_block_before_sending() -> None:
    from connector_adapters.kravia.adapter import KraviaAgency

    fits, too_long = _customer(name="N" * 100), _customer(name="N" * 101)
    for requirements in (KraviaAgency.requirements, MOCK):
        assert obstacles(_invoice("NOK"), fits, requirements) == []
        [found] = obstacles(_invoice("NOK"), too_long, requirements)
        assert (found.code, found.field) == ("too_long", "name")
        assert "has 101 characters; the agency takes at most 100" in found.message


def test_an_agency_may_drop_a_requirement() -> None:
    relaxed = AgencyRequirements(required=frozenset({"name"}), business_needs_org_number=False)
    bare = _customer(address=Address(), organization_number=None)
    assert obstacles(_invoice("NOK"), bare, relaxed) == []
    assert {o.field for o in obstacles(_invoice("NOK"), bare, MOCK)} == {
        "address.line1", "address.postal_code", "address.city", "address.country",
        "organization_number"}


def test_a_field_the_core_does_not_know_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="unknown debtor fields"):
        AgencyRequirements(required=frozenset({"shoe_size"}))


def test_the_engine_applies_the_agency_adapters_requirements(store: Store) -> None:
    world = new_world()
    h = Harness(store, world, agency=MailAndEuroAgency(world))
    h.customer("10")
    no = h.invoice(due_in_days=-5, currency="EUR")
    h.sync()
    claim = h.claim(no)
    assert [o["field"] for o in claim["obstacles"]] == ["email"]
    assert "e-mail address is missing" in claim["status"]
    h.world.update_customer("10", email="post@kunde10.no")
    h.advance(minutes=5)
    h.sync()
    assert h.claim(no)["obstacles"] == []
    assert actions.approve(h.ctx(), None).ok
    h.advance(hours=2)
    h.sync()
    claim = h.claim(no)
    assert claim["list"] == "open" and claim["currency"] == "EUR" and h.cases_for(no) == 1
