"""``connector demo``: a fresh mock world run through simulated days, with scripted people.

Every simulated hour the connector syncs. Each weekday at 09:00 (company time) the user
looks at Draft, holds a few claims back (R4) and approves the rest (R3); claims with
obstacles (R7) are approved too, so the demo shows them stuck in Approved, named. At 10:00
the accountant approves the bookkeeping proposals the payouts produced (R13). Now and then
a debtor pays the creditor directly (reported to the agency, docs/rules.md), and once the
creditor writes an invoice at the agency off (R12).

The world starts at 08:00 on the day that makes the run end on a Monday morning: the
weekend's new drafts are then waiting in Draft, as on a real Monday.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connector import actions, engine, queries
from connector.config import LinkSettings
from connector.context import LinkContext
from connector.domain import ClaimList, to_money
from connector.errors import ConfigError, UserError
from connector.lifecycle import Lifecycle
from connector.ports import AdapterContext
from connector.runtime import Runtime
from connector.store.db import forget_link
from connector_adapters.mock.generate import COMPANY, generate_world
from connector_adapters.mock.http_demo import http_link
from connector_adapters.mock.plugin import reset_world, world_path
from connector_adapters.mock.world import World

APPROVAL_HOUR = 9
ACCOUNTANT_HOUR = 10
HOLD_SHARE = 0.06
DIRECT_PAYMENT_WEEKDAY = 2  # Wednesday
WRITE_OFF_DAY = 10


@dataclass
class DemoResult:
    link: str
    days: int
    seed: int
    start: str = ""
    syncs: int = 0
    approved: int = 0
    held: int = 0
    proposals_approved: int = 0
    direct_payments: int = 0
    write_offs: int = 0
    failures: int = 0
    """Items that could not be handled at the end (see `connector errors`)."""
    lists: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    payouts: dict[str, Any] = field(default_factory=dict)
    world: dict[str, Any] = field(default_factory=dict)
    http: dict[str, Any] = field(default_factory=dict)
    """With ``--http``: each service's traffic and what it would hold twice."""


def _check_mock(link: LinkSettings) -> None:
    if link.erp.adapter != "mock" or link.agency.adapter != "mock":
        raise ConfigError(
            f"the demo runs on mock adapters only; link {link.name!r} uses "
            f"{link.erp.adapter} and {link.agency.adapter}")


def demo_start(days: int, first: date | None = None) -> datetime:
    """08:00 company time on ``first`` (default: the day that ends the run on a Monday)."""
    zone = ZoneInfo(COMPANY.timezone)
    if first is None:
        today = datetime.now(zone).date()
        first = today + timedelta(days=(-(today.weekday() + days)) % 7)
    return datetime.combine(first, time(8), tzinfo=zone).astimezone(UTC)


def run_demo(rt: Runtime, link_name: str | None, days: int, seed: int, customers: int = 60,
             first: date | None = None, tick: Callable[[], None] | None = None,
             http: bool = False) -> DemoResult:
    """Start a fresh world and link state, then run ``days`` simulated days; with ``http``
    through the real PowerOffice Go and Kravia adapters over their emulators
    (``connector_adapters.mock.http_demo``)."""
    link = rt.settings.link(link_name)
    _check_mock(link)
    path = world_path(link.erp.options, AdapterContext(link.name, rt.settings.state_dir))
    start = demo_start(days, first)
    world = reset_world(path, generate_world(seed, customers=customers, start=start))
    with rt.store.session() as session:
        Lifecycle(link.name).forget(session)
        forget_link(session, link.name)
    result = DemoResult(link=link.name, days=days, seed=seed, start=start.isoformat())
    people = random.Random(seed)
    zone = ZoneInfo(world.erp.company.timezone)
    with ExitStack() as stack:
        if http:
            ctx, traffic = stack.enter_context(http_link(rt, link, world))
        else:
            ctx = stack.enter_context(rt.link(link.name))
        for _hour in range(days * 24):
            world.advance(timedelta(hours=1))
            report = engine.sync(ctx)
            result.syncs += 1
            result.failures = len(report.failures)
            moment = world.now.astimezone(zone)
            if moment.weekday() < 5 and moment.hour == APPROVAL_HOUR:
                _user_round(ctx, people, result)
            if moment.weekday() < 5 and moment.hour == ACCOUNTANT_HOUR:
                _accountant_round(world, result)
            if moment.hour == 12:
                _creditor_round(ctx, world, people, result,
                                (moment.date() - start.astimezone(zone).date()).days)
            if tick:
                tick()
        _tally(ctx, result)
        if http:
            result.http = traffic()
    result.world = world.summary()
    return result


def _user_round(ctx: LinkContext, people: random.Random, result: DemoResult) -> None:
    drafts = _ids(ctx, ClaimList.DRAFT)
    hold = [i for i in drafts if people.random() < HOLD_SHARE]
    approve = [i for i in drafts if i not in set(hold)]
    result.held += len(actions.hold(ctx, hold).done)
    result.approved += len(actions.approve(ctx, approve).done)


def _accountant_round(world: World, result: DemoResult) -> None:
    for voucher in world.erp.proposals():
        world.erp.approve_proposal(voucher.id)
        result.proposals_approved += 1


def _creditor_round(ctx: LinkContext, world: World, people: random.Random,
                    result: DemoResult, day: int) -> None:
    """A debtor pays the creditor directly on Wednesdays; one write-off on day 10."""
    weekday = world.now.astimezone(ZoneInfo(world.erp.company.timezone)).weekday()
    wanted = day == WRITE_OFF_DAY or weekday == DIRECT_PAYMENT_WEEKDAY
    open_ids = _ids(ctx, ClaimList.OPEN) if wanted else []
    if not open_ids:
        return
    claim = queries.claim(ctx.store, ctx.link, people.choice(open_ids))
    assert claim is not None
    invoice = world.erp.invoice(claim["invoice_no"])
    try:
        if day == WRITE_OFF_DAY:
            world.erp.write_off([invoice.invoice_no], world.today, account="7830",
                            description="Debtor unlikely to pay; the agency keeps collecting")
            result.write_offs += 1
        else:
            world.erp.pay(invoice.invoice_no, to_money(invoice.balance * Decimal("0.3")))
            result.direct_payments += 1
    except UserError:
        return  # that invoice had nothing left to pay or write off in the ERP


def _ids(ctx: LinkContext, which: ClaimList) -> list[int]:
    return queries.claim_ids(ctx.store, ctx.link, which)


def _tally(ctx: LinkContext, result: DemoResult) -> None:
    result.lists = queries.list_counts(ctx.store, ctx.link)
    result.outcomes = queries.outcome_counts(ctx.store, ctx.link)
    result.payouts = queries.payout_totals(ctx.store, ctx.link)
