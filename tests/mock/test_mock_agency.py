"""The mock agency: Kravia-like validation, duplicates counted, faults, lost replies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.domain import Address, CaseRequest, Debtor
from connector.errors import CaseRejected, TransientError
from connector.ports import AgencyAdapter
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.world import World


def request(reference: str = "case:1", **changes: Any) -> CaseRequest:
    """A complete request for a business debtor; ``changes`` override fields (``debtor.x``)."""
    debtor: dict[str, Any] = {
        "number": "10001", "name": "Fjordkraft Rør AS", "is_person": False,
        "organization_number": "923456783", "email": None, "phone": None,
        "address": {"line1": "Storgata 12", "postal_code": "0155", "city": "Oslo",
                    "country": "NO"},
    }
    data: dict[str, Any] = {
        "reference": reference, "invoice_id": "inv-1", "invoice_no": "20001",
        "invoice_date": date(2025, 1, 28), "due_date": date(2025, 2, 11),
        "amount": Decimal("1250.00"), "balance": Decimal("1250.00"), "currency": "NOK",
    }
    for key, value in changes.items():
        if key.startswith("address."):
            debtor["address"][key.removeprefix("address.")] = value
        elif key in debtor:
            debtor[key] = value
        else:
            data[key] = value
    return CaseRequest(**data, debtor=Debtor(**{**debtor, "address": Address(**debtor["address"])}))


def test_it_is_an_agency_adapter(world: World) -> None:
    agency = MockAgency(world)
    assert isinstance(agency, AgencyAdapter)
    for name in ("find_case", "register_case", "changes", "payouts", "mark_booked",
                 "reduction_reported", "report_reduction", "pause", "resume", "withdraw",
                 "close"):
        assert callable(getattr(agency, name)) and hasattr(AgencyAdapter, name), name
    assert agency.requirements.currencies == frozenset({"NOK"})
    assert agency.portal


def test_a_complete_case_is_registered_and_found(world: World) -> None:
    agency = MockAgency(world)
    case = agency.register_case(request())
    assert agency.find_case("case:1") == case
    assert agency.find_case("case:2") is None
    assert world.agency.registrations == 1 and world.agency.duplicates == 0
    assert world.agency.cases[case.id].request.debtor.name == "Fjordkraft Rør AS"


def test_a_person_needs_no_organisation_number(world: World) -> None:
    MockAgency(world).register_case(request(is_person=True, organization_number=None))


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"invoice_no": " "}, "invoice_no", "invoice number is missing"),
        ({"due_date": date(2025, 1, 1)}, "due_date", "before the invoice date"),
        ({"due_date": date(2025, 3, 3)}, "due_date", "not overdue"),
        ({"amount": Decimal(0)}, "amount", "above 0"),
        ({"currency": "EUR"}, "currency", "EUR is not taken"),
        ({"name": ""}, "name", "name is missing"),
        ({"address.line1": None}, "address.line1", "no address line"),
        ({"address.postal_code": ""}, "address.postal_code", "no postal code"),
        ({"address.postal_code": "155"}, "address.postal_code", "not four digits"),
        ({"address.city": None}, "address.city", "no city"),
        ({"address.country": None}, "address.country", "no country"),
        ({"organization_number": None}, "organization_number", "needs an organisation number"),
        ({"organization_number": "923456784"}, "organization_number", "not a valid"),
    ],
)
def test_each_missing_or_bad_field_is_named(
    world: World, changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(CaseRejected) as rejected:
        MockAgency(world).register_case(request(**changes))
    assert rejected.value.field == field
    assert words in rejected.value.reason
    assert world.agency.registrations == 0 and world.agency.cases == {}


def test_every_problem_is_listed_at_once(world: World) -> None:
    gaps: dict[str, Any] = {"address.postal_code": None, "address.city": None}
    with pytest.raises(CaseRejected) as rejected:
        MockAgency(world).register_case(request(**gaps))
    assert rejected.value.field == "address.postal_code"
    assert "no postal code" in rejected.value.reason and "no city" in rejected.value.reason


def test_a_second_registration_of_a_reference_is_a_duplicate(world: World) -> None:
    agency = MockAgency(world)
    first = agency.register_case(request("case:7"))
    second = agency.register_case(request("case:7"))
    assert first.id != second.id
    assert world.agency.registrations == 2 and world.agency.duplicates == 1
    assert agency.find_case("case:7") == first


def test_register_fails_n_times_then_succeeds(world: World) -> None:
    agency = MockAgency(world)
    world.inject("agency.register", 2)
    for _ in range(2):
        with pytest.raises(TransientError):
            agency.register_case(request())
    assert world.agency.cases == {}
    agency.register_case(request())
    assert world.agency.registrations == 1 and world.agency.duplicates == 0


def test_a_lost_reply_leaves_the_case_registered_for_find_case(world: World) -> None:
    agency = MockAgency(world)
    world.inject("agency.register.lost_reply")
    with pytest.raises(TransientError):
        agency.register_case(request("case:9"))
    found = agency.find_case("case:9")
    assert found is not None and world.agency.registrations == 1
    world.inject("agency.find_case")
    with pytest.raises(TransientError):
        agency.find_case("case:9")
