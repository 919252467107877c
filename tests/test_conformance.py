"""The conformance kit (connector/testing.py) on the mock adapters, and on broken ones.

The mock adapters are built by their registered factories, the way an adapter author's
tests build theirs, over a seeded world with every ERP stream at two change times or more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.domain import (
    CaseRequest,
    Customer,
    LetterKind,
    Voucher,
    VoucherKind,
    VoucherReceipt,
)
from connector.ports import AdapterContext, ErpAdapter, Page
from connector.registry import Side, load_registry
from connector.testing import AgencyAdapterContract, ErpAdapterContract
from connector.transfer import case_request
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.plugin import reset_world, world_path
from connector_adapters.mock.world import World
from tests.support import FULL_ADDRESS, new_world

REGISTRY = load_registry()


def seeded_world() -> World:
    """Three customers, two overdue invoices, two letters and two payments."""
    world = new_world()
    for number in ("10", "11", "12"):
        world.add_customer(number, f"Kunde {number} AS", organization_number="923609016",
                           address=FULL_ADDRESS)
    today = world.today
    for invoice_no, customer_no in (("40001", "10"), ("40002", "11")):
        world.erp.add_invoice(customer_no, "1000.00", invoice_no=invoice_no,
                          invoice_date=today - timedelta(days=40),
                          due_date=today - timedelta(days=26))
        world.erp.add_letter(invoice_no, LetterKind.REMINDER, today - timedelta(days=12))
        world.erp.pay(invoice_no, "100.00")
    return world


def request_for(world: World) -> CaseRequest:
    """The claim for invoice 40001, built as the engine builds it."""
    erp = MockErp(world)
    (customer,) = erp.customers_by_number(["10"])
    invoices = [i for page in erp.invoices(None) for i in page.items]
    return case_request(next(i for i in invoices if i.invoice_no == "40001"), customer)


def build(side: Side, tmp_path: Path, **settings: Any) -> Any:
    """The registered mock adapter of ``side``, on a seeded world in ``tmp_path``."""
    context = AdapterContext(link="conformance", state_dir=tmp_path)
    reset_world(world_path(settings, context), seeded_world())
    return REGISTRY.get(side, "mock").factory(settings, context)


class TestMockErp(ErpAdapterContract):
    @pytest.fixture
    def erp_adapter(self, tmp_path: Path) -> Iterator[MockErp]:
        erp = build("erp", tmp_path, page_size=2)  # several pages per read
        yield erp
        erp.close()

    def approve_proposal(self, erp_adapter: ErpAdapter, receipt: VoucherReceipt) -> None:
        assert isinstance(erp_adapter, MockErp)
        erp_adapter.world.erp.approve_proposal(receipt.id)


class TestMockAgency(AgencyAdapterContract):
    @pytest.fixture
    def agency_adapter(self, tmp_path: Path) -> Iterator[MockAgency]:
        agency = build("agency", tmp_path)
        yield agency
        agency.close()

    @pytest.fixture
    def case_request(self, agency_adapter: MockAgency) -> CaseRequest:
        return request_for(agency_adapter.world)


class TestMockAgencyWithoutActions(TestMockAgency):
    """An agency like Kravia without pause, resume, withdraw, payments or credit notes."""

    @pytest.fixture
    def agency_adapter(self, tmp_path: Path) -> Iterator[MockAgency]:
        agency = build("agency", tmp_path, capabilities=[])
        yield agency
        agency.close()


# -- the kit catches broken adapters ---------------------------------------------------------


class CursorIgnoringErp(MockErp):
    """Reads every customer whatever the cursor: each pass would re-read the whole ERP."""

    def customers(self, changed_since: datetime | None) -> Iterator[Page[Customer]]:
        return super().customers(None)


class AtOrAfterErp(MockErp):
    """Reads customers changed at or after the cursor: the last one comes back forever."""

    def customers(self, changed_since: datetime | None) -> Iterator[Page[Customer]]:
        before = changed_since - timedelta(microseconds=1) if changed_since else None
        return super().customers(before)


class ForgetfulErp(MockErp):
    """Posts a voucher again under a reference already taken: a payout booked twice."""

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        if self.world.erp.find_voucher(voucher.reference) is not None:
            return VoucherReceipt(id="second", reference=voucher.reference, kind=voucher.kind)
        return super().post_voucher(voucher)


class LenientAgency(MockAgency):
    """Takes a case without a postal code: the agency's letters would never arrive."""

    def problems(self, request: CaseRequest) -> list[tuple[str, str]]:
        return []


def test_kit_fails_an_erp_that_ignores_the_cursor() -> None:
    erp = CursorIgnoringErp(seeded_world())
    with pytest.raises(AssertionError, match="not changed after it"):
        ErpAdapterContract().test_read_after_a_cursor_yields_only_later_changes(erp, "customers")


def test_kit_fails_an_erp_whose_cursor_is_inclusive() -> None:
    erp = AtOrAfterErp(seeded_world())
    with pytest.raises(AssertionError, match="not changed after it"):
        ErpAdapterContract().test_read_after_a_cursor_yields_only_later_changes(erp, "customers")


def test_kit_fails_an_erp_that_books_a_reference_twice() -> None:
    erp = ForgetfulErp(seeded_world())
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        ErpAdapterContract().test_repeated_voucher_reference_is_refused(erp, VoucherKind.POSTED)


def test_kit_fails_an_agency_that_takes_a_case_without_postal_code() -> None:
    world = seeded_world()
    agency = LenientAgency(world)
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        AgencyAdapterContract().test_request_without_postal_code_is_rejected_naming_the_field(
            agency, request_for(world))
