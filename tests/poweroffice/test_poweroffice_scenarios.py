"""The engine's scenarios with the real PowerOffice adapter over its emulator in place of the
mock ERP, and the way back with both real adapters over both emulators.

The emulator keeps its books in the same mock world as the mock ERP, so the world counts what
a real PowerOffice would hold twice: a second voucher for one reference, a second proposal
for one payout. PowerOffice Go's API has no dunning setup and no automatic transfer, so the
link's ``collection`` settings carry the world company's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

import tests.test_engine_lists as lists
from connector.config import CollectionSettings
from connector.domain import DunningSetup
from connector.store.db import Store
from connector_adapters.mock.world import World
from tests.kravia.conftest import creditor
from tests.poweroffice.conftest import client, writeback
from tests.support import Harness
from tests.test_engine_lists import *  # noqa: F403  (each list test, over PowerOffice)
from tests.test_way_back import check_round_trip

NOT_ON_THE_WIRE = {
    "test_r10_collect_enters_draft_at_once":
        "PowerOffice Go's API shows no invoice's next action in the reminder flow (R10)",
}
"""List tests that read what PowerOffice's API does not show."""


class PowerOfficeHarness(Harness):
    """The harness with the PowerOffice adapter over an emulator of the world's ERP side."""

    def __init__(self, store: Store, world: World, agency: Any = None, **link: Any) -> None:
        company = world.erp.company
        link.setdefault("collection", CollectionSettings(
            dunning=company.dunning or DunningSetup(), auto_transfer=bool(company.auto_transfer)))
        super().__init__(store, world, agency, **link)
        self.po = client(world, status_writeback=writeback())
        self.erp = self.po.erp  # type: ignore[assignment]


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    """The store is not what these tests are about: SQLite only."""
    return sqlite_store


@pytest.fixture(autouse=True)
def over_poweroffice(request: pytest.FixtureRequest,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The list tests build their harness by name: here it is PowerOffice's."""
    reason = NOT_ON_THE_WIRE.get(request.node.originalname)
    if reason:
        pytest.skip(reason)
    monkeypatch.setattr(lists, "Harness", PowerOfficeHarness)
    yield


def over_both(store: Store, world: World) -> Harness:
    return PowerOfficeHarness(store, world, agency=creditor(world).agency)


def over_poweroffice_only(store: Store, world: World) -> Harness:
    return PowerOfficeHarness(store, world)


ROUND_TRIPS: list[tuple[str, Callable[[Store, World], Harness]]] = [
    ("poweroffice", over_poweroffice_only), ("both", over_both)]


def test_120_days_one_sync_a_day_over_both_real_adapters(sqlite_store: Store) -> None:
    """The short form: every outcome, each payout booked and marked once, the direct
    payment reported once, the write-off reversal flagged, the status shown in the ERP,
    with one sync per simulated day; both real adapters over both emulators."""
    check_round_trip(sqlite_store, timedelta(days=1), 1, over_both)


@pytest.mark.slow
def test_120_days_one_sync_a_day_over_poweroffice(sqlite_store: Store) -> None:
    check_round_trip(sqlite_store, timedelta(days=1), 1, over_poweroffice_only)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "make"), ROUND_TRIPS)
def test_120_days_four_syncs_a_day(sqlite_store: Store, name: str,
                                   make: Callable[[Store, World], Harness]) -> None:
    check_round_trip(sqlite_store, timedelta(hours=6), 1, make)
