"""Collection policy as settings of the link: a link's own dunning setup and automatic
transfer drive R1 and R2 on their edge days, over what the ERP says; R1 is a replaceable
policy an ERP adapter may bring."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import pytest

from connector import engine
from connector.config import load_settings
from connector.domain import Company, DunningSetup, Invoice, ReminderLetter
from connector.store.db import Store
from connector_adapters.mock.world import World
from tests.support import START, Harness, new_world

REMINDER_AND_AUTO = {"dunning": {"reminder": True}, "auto_transfer": True}


def _entered_on_day(h: Harness, no: str, day: int) -> None:
    """Nothing on the day before ``day`` (counted from the due date), a claim on ``day``."""
    due = date.fromisoformat(str(h.world.erp.invoice(no).due_date))
    while h.world.today < due + timedelta(days=day - 1):
        h.advance(days=1)
    h.sync()
    assert h.claims() == [], f"entered before day {day}"
    h.advance(days=1)
    h.sync()
    assert h.world.today == due + timedelta(days=day)


def silent_erp() -> World:
    """A world whose ERP, like PowerOffice Go, says nothing of dunning or auto-transfer."""
    return World.empty(now=START, company=Company(name="Test AS"))


def test_the_links_reminder_setup_makes_day_14_the_first_day_r1b(store: Store) -> None:
    h = Harness(store, silent_erp(), collection=REMINDER_AND_AUTO)
    h.customer("10")
    no = h.invoice(due_in_days=-1)
    _entered_on_day(h, no, 14)
    claim = h.claim(no)
    assert claim["list"] == "approved"  # R2: straight to Approved, no user approval
    assert "R1b" in h.history(claim["id"])[0] and "R2" in h.history(claim["id"])[0]


def test_by_default_the_same_world_drafts_on_day_1_r1a(store: Store) -> None:
    h = Harness(store, silent_erp())
    h.customer("10")
    no = h.invoice(due_in_days=0)
    _entered_on_day(h, no, 1)
    assert h.claim(no)["list"] == "draft" and "R1a" in h.history(h.claim(no)["id"])[0]


def test_an_erp_that_supplies_them_wins_over_the_links_settings(store: Store) -> None:
    """The ERP says: reminder and automatic transfer; the link says: neither."""
    world = new_world(dunning=DunningSetup(reminder=True), auto=True)
    h = Harness(store, world, collection={"dunning": {}, "auto_transfer": False})
    h.customer("10")
    no = h.invoice(due_in_days=-1)
    _entered_on_day(h, no, 14)
    assert h.claim(no)["list"] == "approved"


def test_a_customers_own_setup_still_wins_over_the_links(store: Store) -> None:
    h = Harness(store, silent_erp(), collection={"dunning": {"reminder": True}})
    h.customer("10", dunning=DunningSetup())
    no = h.invoice(due_in_days=0)
    _entered_on_day(h, no, 1)
    assert h.claim(no)["list"] == "draft"


def test_a_change_of_the_links_settings_is_applied_on_the_next_pass(store: Store) -> None:
    h = Harness(store, silent_erp(), collection=REMINDER_AND_AUTO)
    h.customer("10")
    no = h.invoice(due_in_days=-5)
    h.sync()
    assert h.claims() == []  # R1b: day 5 of 14
    h.settings = h.settings.model_copy(update={"collection": h.settings.collection.model_copy(
        update={"dunning": DunningSetup()})})
    h.advance(minutes=5)
    h.sync()
    assert h.claim(no)["list"] == "approved"  # R1a, still R2


class ThirtyDays:
    """An ERP whose reminder flow hands an invoice over 30 days after its due date."""

    def ready_date(self, invoice: Invoice, setup: DunningSetup,
                   letters: Iterable[ReminderLetter]) -> date | None:
        return invoice.due_date + timedelta(days=30)

    def rule(self, setup: DunningSetup, collect_requested: bool = False) -> str:
        return "the ERP's own flow: day 30 after the due date"


def test_an_erp_may_bring_its_own_ready_policy(store: Store) -> None:
    h = Harness(store, new_world())
    h.customer("10")
    no = h.invoice(due_in_days=-29)

    def sync() -> None:
        ctx = h.ctx()
        ctx.ready_policy = ThirtyDays()
        engine.sync(ctx)

    sync()
    assert h.claims() == []
    h.advance(days=1)
    sync()
    assert "day 30 after the due date" in h.history(h.claim(no)["id"])[0]


def test_the_settings_are_read_from_the_links_table(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text('[[links]]\nname = "acme"\nerp = { adapter = "mock" }\n'
                    'agency = { adapter = "mock" }\n[links.collection]\n'
                    'dunning = { reminder = true, collection_notice = true }\n'
                    'auto_transfer = true\n', encoding="utf-8")
    collection = load_settings(path).link("acme").collection
    assert collection.dunning == DunningSetup(reminder=True, collection_notice=True)
    assert collection.auto_transfer is True
    path.write_text(path.read_text(encoding="utf-8") + "reminder_days = 3\n", encoding="utf-8")
    with pytest.raises(Exception, match="reminder_days"):
        load_settings(path)
