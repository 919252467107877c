"""``connector demo``: a fresh mock world run through simulated days, with a scripted user.

Every simulated hour the connector syncs; every weekday at 09:00 (company time) the user
looks at Draft, holds a few claims back (R4) and approves the rest (R3). Claims with
obstacles (R7) are approved too, so the demo shows them stuck in Approved, named.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from adapters.mock.generate import generate_world
from adapters.mock.plugin import reset_world, world_path
from connector import actions, engine
from connector.config import LinkSettings
from connector.domain import ClaimList
from connector.errors import ConfigError
from connector.ports import AdapterContext
from connector.runtime import Runtime
from connector.store.db import forget_link
from connector.store.schema import ClaimRow

APPROVAL_HOUR = 9
HOLD_SHARE = 0.06


@dataclass
class DemoResult:
    link: str
    days: int
    seed: int
    syncs: int = 0
    approved: int = 0
    held: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    lists: dict[str, int] = field(default_factory=dict)
    world: dict[str, Any] = field(default_factory=dict)


def _check_mock(link: LinkSettings) -> None:
    if link.erp.adapter != "mock" or link.agency.adapter != "mock":
        raise ConfigError(
            f"the demo runs on mock adapters only; link {link.name!r} uses "
            f"{link.erp.adapter} and {link.agency.adapter}")


def run_demo(rt: Runtime, link_name: str | None, days: int, seed: int,
             customers: int = 60, tick: Callable[[], None] | None = None) -> DemoResult:
    """Start a fresh world and link state, then run ``days`` simulated days."""
    link = rt.settings.link(link_name)
    _check_mock(link)
    path = world_path(link.erp.options, AdapterContext(link.name, rt.settings.state_dir))
    world = reset_world(path, generate_world(seed, customers=customers))
    with rt.store.session() as session:
        forget_link(session, link.name)
    result = DemoResult(link=link.name, days=days, seed=seed)
    user = random.Random(seed)
    with rt.link(link.name) as ctx:
        for _hour in range(days * 24):
            world.advance(timedelta(hours=1))
            report = engine.sync(ctx)
            result.syncs += 1
            result.failures.update(f.resource for f in report.failures)
            moment = world.now.astimezone(ZoneInfo(world.company.timezone))
            if moment.hour == APPROVAL_HOUR and moment.weekday() < 5:
                _user_round(ctx, user, result)
            if tick:
                tick()
        with ctx.tx() as session:
            counted = session.execute(
                select(ClaimRow.list_name, func.count()).where(ClaimRow.link == ctx.link)
                .group_by(ClaimRow.list_name))
            result.lists = {name: count for name, count in counted}
    result.world = world.summary()
    return result


def _user_round(ctx: Any, user: random.Random, result: DemoResult) -> None:
    with ctx.tx() as session:
        drafts = list(session.scalars(select(ClaimRow.id).where(
            ClaimRow.link == ctx.link, ClaimRow.list_name == ClaimList.DRAFT.value)
            .order_by(ClaimRow.id)))
    hold = [i for i in drafts if user.random() < HOLD_SHARE]
    approve = [i for i in drafts if i not in set(hold)]
    result.held += len(actions.hold(ctx, hold).done)
    result.approved += len(actions.approve(ctx, approve).done)
