"""What a pass costs when nothing changed: a bureau runs thousands of links, mostly idle.

Counts, not times (timing goals live in bench/): one call per resource to each side, and a
handful of statements with no transaction, because the pass reads its cursors and open
errors once, writes a cursor only when that changes where the next read starts, and claims
jobs in statements that stand on their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connector import actions
from connector.domain import Payout, PayoutLine, PayoutLineKind
from connector.ports import Page
from connector.store.db import Store
from tests.support import Harness, new_world

ERP_READS = ("company", "customers", "invoices", "letters", "ledger")
AGENCY_READS = ("changes", "payouts")


def count_calls(target: Any, names: tuple[str, ...], calls: Counter[str]) -> None:
    for name in names:
        method = getattr(target, name)

        def counted(*args: Any, _name: str = name, _method: Callable[..., Any] = method,
                    **kwargs: Any) -> Any:
            calls[_name] += 1
            return _method(*args, **kwargs)

        setattr(target, name, counted)


class Meter:
    def __init__(self, store: Store) -> None:
        self.statements: list[str] = []
        self.transactions = 0
        sa.event.listen(store.engine, "before_cursor_execute", self._statement)
        sa.event.listen(store.engine, "begin", self._begin)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(" ".join(statement.split())[:60])

    def _begin(self, conn: sa.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.transactions += 1


def busy_link(store: Store) -> Harness:
    h = Harness(store, new_world())
    h.customer("10")
    for _ in range(5):
        h.invoice(due_in_days=-5)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    h.sync()  # transferred: cases open at the agency, their status written back
    h.advance(hours=1)
    h.sync()
    return h


def test_an_idle_pass_reads_each_resource_once_in_a_few_statements(store: Store) -> None:
    h = busy_link(store)
    assert {c["list"] for c in h.claims()} == {"open"}
    calls: Counter[str] = Counter()
    count_calls(h.erp, ERP_READS, calls)
    count_calls(h.agency, AGENCY_READS, calls)
    meter = Meter(store)
    h.advance(hours=1)
    report = h.sync()
    assert report.ok and not report.pulled
    assert calls == dict.fromkeys(ERP_READS + AGENCY_READS, 1)
    assert meter.transactions <= 5, meter.statements
    assert len(meter.statements) <= 15, meter.statements
    assert not [s for s in meter.statements if s.startswith(("INSERT", "DELETE"))]


def test_an_idle_pass_still_sees_a_change_made_while_it_was_idle(store: Store) -> None:
    """Writing no cursor while idle must not move where the next read starts."""
    h = busy_link(store)
    for _ in range(3):
        h.advance(hours=1)
        h.sync()
    h.advance(minutes=1)
    h.world.erp.pay(h.claims()[0]["invoice_no"], "100.00")
    h.advance(minutes=1)
    report = h.sync()
    assert report.pulled["invoices"] == 1


def test_an_idle_pass_claims_no_job_of_a_kind_it_has_none_of(store: Store) -> None:
    """The pass start reads which kinds of job are unfinished, whether any job is dead or
    any item error open and whether any claim is approved, in one statement: an idle link
    makes no other. A job queued during the pass (a transfer, a status write) is still
    claimed in it, and a claim approved by the user before the pass is scheduled."""
    h = busy_link(store)
    meter = Meter(store)
    h.advance(hours=1)
    h.sync()
    # One statement: the pass start (company, cursors, open errors, unfinished jobs,
    # approved claims). Nothing approved, nothing open: no schedule, no end-of-pass reads.
    assert len(meter.statements) == 1, meter.statements
    assert meter.transactions == 0
    h.invoice(due_in_days=-5)
    h.advance(hours=1)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    report = h.sync()
    assert len(report.transferred) == 1 and h.world.erp.status_writes == 6


def test_a_claim_the_pass_approves_itself_is_sent_in_that_pass(store: Store) -> None:
    """Automatic transfer (R2) approves a claim as the pass enters it: the pass start saw no
    approved claim, yet the pass schedules it (``Lifecycle.entered``)."""
    h = Harness(store, new_world(auto=True), grace="0s")
    h.customer("10")
    no = h.invoice(due_in_days=-1)
    h.sync()
    assert h.claim(no)["list"] == "open" and h.cases_for(no) == 1


def test_a_pass_reports_what_failed_in_it_though_its_start_saw_nothing_open(
        store: Store) -> None:
    """The end of a pass reads open item errors and dead jobs only where there can be any:
    a record the pass itself set aside, and a job it gave up on, are still its failures."""
    h = Harness(store, new_world(), job_attempts=1, call_retries=1)
    h.customer("10")
    h.invoice(due_in_days=-5)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    h.invoice("777", due_in_days=-5)
    h.world.inject("agency.register", 1)
    meter = Meter(store)
    reasons = [f.reason for f in h.sync().failures]
    assert any("customer 777" in r for r in reasons), reasons
    assert any("gave up after 1 attempts" in r for r in reasons), reasons
    assert [s for s in meter.statements if s.startswith("SELECT item_errors")]


def test_payouts_listed_again_cost_no_look_at_item_errors_when_none_is_open(
        store: Store) -> None:
    """With ``booking = "none"`` a skipped payout is never marked at the agency, which lists
    it on every pass: its errors are looked at only when the pass start saw some open."""
    h = Harness(store, new_world(), booking="none")
    h.customer("10")
    payout = Payout(id="S1", paid_on=h.world.today, lines=[
        PayoutLine(kind=PayoutLineKind.PRINCIPAL, amount=Decimal("10.00"))],
        changed_at=h.world.now)
    h.agency.payouts = lambda: iter([Page(items=[payout])])  # type: ignore[method-assign]
    h.sync()
    h.advance(hours=1)
    meter = Meter(store)
    report = h.sync()
    assert report.pulled["payouts"] == 1
    assert not [s for s in meter.statements if "item_errors" in s], meter.statements
