"""A test harness: one link over a mock world and a store, with the world's clock."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from connector import cli, engine
from connector.claims import history, view
from connector.config import AdapterSettings, LinkSettings
from connector.context import LinkContext
from connector.domain import Address, Company, DunningSetup
from connector.registry import plugin_manager
from connector.report import SyncReport
from connector.store.db import Store
from connector.store.schema import ClaimRow
from connector_adapters.mock import plugin
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.world import World

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 08:00 in Oslo
FULL_ADDRESS = Address(line1="Storgata 12", postal_code="0155", city="Oslo", country="NO")


def cli_environment(columns: int) -> Callable[[pytest.MonkeyPatch], Iterator[None]]:
    """An autouse fixture for command tests: no ``CONNECTOR_*`` setting of the machine but
    the test database's URL, a terminal ``columns`` wide, and afterwards the default logging
    back and no mock world left open (each command configures logging onto the stderr of
    its run, which is closed afterwards)."""

    @pytest.fixture(autouse=True)
    def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        for name in list(os.environ):
            if name.startswith("CONNECTOR_") and name != "CONNECTOR_TEST_PG_URL":
                monkeypatch.delenv(name)
        monkeypatch.setenv("COLUMNS", str(columns))
        yield
        structlog.reset_defaults()
        close_worlds()

    return clean_env


close_worlds = plugin.close_worlds


def main(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
         *argv: str) -> tuple[int, str, str]:
    """``connector ARGV`` as a new process would run it, through the console entry point:
    exit status, stdout, stderr, every byte written captured."""
    close_worlds()
    monkeypatch.setattr(sys, "argv", ["connector", *argv])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out, err = capfd.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


def new_world(dunning: DunningSetup | None = None, auto: bool = False,
              start: datetime = START) -> World:
    return World.empty(now=start, company=Company(name="Test AS", dunning=dunning or
                                                  DunningSetup(), auto_transfer=auto))


class Harness:
    """Sync a link, act on claims and look at them, as a user of the CLI would."""

    def __init__(self, store: Store, world: World, agency: Any = None, **link: Any) -> None:
        self.store = store
        self.world = world
        self.erp = MockErp(world)
        self.agency = agency or MockAgency(world)
        self.pm = plugin_manager()
        self.settings = LinkSettings(name="test", erp=AdapterSettings(adapter="mock"),
                                     agency=AdapterSettings(adapter="mock"),
                                     call_backoff="0s", **link)

    def ctx(self, dry_run: bool = False) -> LinkContext:
        return LinkContext(settings=self.settings, store=self.store, erp=self.erp,
                           agency=self.agency, clock=self.world.clock, pm=self.pm,
                           dry_run=dry_run)

    def sync(self, dry_run: bool = False) -> SyncReport:
        return engine.sync(self.ctx(dry_run))

    def advance(self, **delta: float) -> None:
        self.world.advance(timedelta(**delta))

    def customer(self, number: str = "10", **fields: Any) -> None:
        name = fields.pop("name", f"Kunde {number} AS")
        data: dict[str, Any] = {"organization_number": "923609016", "address": FULL_ADDRESS}
        data.update(fields)
        self.world.add_customer(number, name, **data)

    def invoice(self, customer_no: str = "10", amount: str = "1000.00", *,
                due_in_days: int = 0, **kw: Any) -> str:
        today: date = self.world.today
        kw.setdefault("invoice_date", today - timedelta(days=14))
        kw.setdefault("due_date", today + timedelta(days=due_in_days))
        return self.world.erp.add_invoice(customer_no, amount, **kw).invoice_no

    def claims(self, list_name: str | None = None) -> list[dict[str, Any]]:
        with self.store.session() as s:
            query = select(ClaimRow).where(ClaimRow.link == "test").order_by(ClaimRow.id)
            if list_name:
                query = query.where(ClaimRow.list_name == list_name)
            return [view(r) for r in s.scalars(query)]

    def claim(self, invoice_no: str) -> dict[str, Any]:
        found = [c for c in self.claims() if c["invoice_no"] == invoice_no]
        assert len(found) == 1, f"expected one claim for invoice {invoice_no}, got {found}"
        return found[0]

    def claim_by_id(self, claim_id: int) -> dict[str, Any]:
        [found] = [c for c in self.claims() if c["id"] == claim_id]
        return found

    def history(self, claim_id: int) -> list[str]:
        with self.store.session() as s:
            return [e.text for e in history(s, claim_id)]

    def cases_for(self, invoice_no: str) -> int:
        reference = self.world.erp.invoice(invoice_no).id
        return sum(1 for c in self.world.agency.cases.values() if c.reference == reference)
