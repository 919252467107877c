"""The wire and the guesses, one rule at a time: no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connector.domain import Address, ClaimReduction, LedgerKind, Payout
from connector.errors import CaseRejected
from connector_adapters.kravia import guesses, mapping
from connector_adapters.kravia.adapter import translate_page
from tests.kravia.conftest import Creditor


def test_timestamps_without_a_zone_are_read_in_the_server_zone_to_the_microsecond() -> None:
    moment = guesses.parse_wire_time("2021-06-01T15:13:14.4044853")
    assert moment == datetime(2021, 6, 1, 15, 13, 14, 404485, tzinfo=UTC)
    assert guesses.parse_wire_time("2021-06-01T15:13:14") == datetime(2021, 6, 1, 15, 13, 14,
                                                                      tzinfo=UTC)
    assert guesses.parse_wire_time("2021-06-01T17:13:14+02:00") == datetime(
        2021, 6, 1, 15, 13, 14, tzinfo=UTC)
    assert guesses.wire_time(moment) == "2021-06-01T15:13:14.404485"
    with pytest.raises(ValueError):
        guesses.parse_wire_time("yesterday")


def test_a_second_address_line_is_appended_to_the_only_documented_one(
        kravia: Creditor) -> None:
    address = Address(line1="Storgata 12", line2=" Bakgården ", postal_code="0155",
                      city="Oslo", country="no")
    body = mapping.register_body(kravia.request(address=address), 10759)
    assert body.postalAddress.addressAddressLine1 == "Storgata 12, Bakgården"
    assert body.postalAddress.addressCountryCode == "NO"
    person = mapping.register_body(kravia.request(is_person=True), 10759)
    assert (person.isPrivateIndividual, person.organizationNumber) == ("true", None)


def test_a_field_longer_than_kravia_stores_is_refused_before_sending(kravia: Creditor) -> None:
    long_city = Address(line1="Storgata 12", postal_code="0155", city="O" * 51, country="NO")
    with pytest.raises(CaseRejected) as refused:
        kravia.agency.register_case(kravia.request(address=long_city))
    assert refused.value.field == "address.city"
    assert kravia.emulator.requests == []


def test_kravias_field_errors_name_the_claims_field(kravia: Creditor) -> None:
    refused_org = kravia.request(organization_number=None)
    with pytest.raises(CaseRejected) as refused:
        kravia.agency.register_case(refused_org)
    assert refused.value.field == "organization_number"
    assert "OrganizationNumber" in refused.value.reason
    assert guesses.refusal({"title": "Bad", "errors": {"postaladdress.addresscity": ["x"]}}
                           ) == ("postaladdress.addresscity: x", "address.city")
    assert guesses.refusal({"title": "Refused"}) == ("Refused", None)


def test_payments_are_positive_camel_case_and_credit_notes_negative_pascal_case() -> None:
    payment = ClaimReduction(reference="payment:1", kind=LedgerKind.PAYMENT, case_id="42",
                             invoice_reference="inv-1", on=datetime(2026, 3, 2).date(),
                             amount=Decimal("10.50"), description="Paid directly")
    body = mapping.reduction_body(payment).model_dump()
    assert body["amount"] == Decimal("10.50") and body["invoices"] == [
        {"invoiceId": 42, "amount": Decimal("10.50")}]
    credit = mapping.reduction_body(payment.model_copy(update={"kind": LedgerKind.CREDIT_NOTE}))
    assert credit.model_dump()["Amount"] == Decimal("-10.50")
    assert credit.model_dump()["Date"] == "2026-03-02T00:00:00"
    with pytest.raises(ValueError):
        mapping.reduction_body(payment.model_copy(update={"kind": LedgerKind.WRITE_OFF}))


def test_an_unreadable_record_is_set_aside_not_fatal() -> None:
    bonus = {"id": 1, "paymentDate": "2026-03-02", "amount": 1,
             "lastUpdatedTime": "2026-03-02T10:00:00", "lines": [{"type": "Bonus", "amount": 1}]}
    with pytest.raises(ValueError, match="unknown line type"):
        mapping.payout(bonus)
    page = translate_page(Payout, "payout", [bonus, {"id": 7, "lines": "nonsense"}], mapping.payout)
    assert page.items == [] and [r.key for r in page.rejected] == ["1", "7"]
