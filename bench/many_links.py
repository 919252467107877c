"""Many small companies on one store, synced one after another as the daemon does.

    .venv/bin/python bench/many_links.py                       # 500 links x ~50 open invoices
    .venv/bin/python bench/many_links.py --links 200 --open 50 --db sqlite

Every link has its own generated mock world (its own file under a temporary state folder)
and all links share one store: a fresh PostgreSQL schema (dropped afterwards) or SQLite.
Each round is one round of the daemon (``connector.daemon.sync_round``): the links' leases
taken many at once, each link's pass recorded as a run (``connector runs``), its adapters
opened and closed, ``engine.sync``, the leases given back. Three rounds:

1. ``first``: every link's first sync (pull and classification);
2. ``idle``: each world's clock moved 10 minutes, nothing changed;
3. ``transfer``: every draft approved, clocks past the grace window, synced again (agency
   cases through the durable job path, then their status written back).

For each round: links/s, statements and transactions per link, and the share of the time
the mock adapters spent saving their world file (``close``: the ERP and the agency adapter
of a link each save the same world), which a real adapter does not have.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import (
    PG_URL,
    START,
    Meter,
    StatementCounter,
    code_under_test,
    pg_reachable,
    pg_store,
    rate,
    sqlite_store,
)
from sync_big_company import OPEN_PER_CUSTOMER, spread_change_times

from connector import actions, daemon, engine
from connector.config import Settings
from connector.runtime import Runtime
from connector.store.db import Store
from connector_adapters.mock import plugin as mock_plugin
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.generate import generate_world
from connector_adapters.mock.world import World


def settings_for(names: list[str], state_dir: Path) -> Settings:
    return Settings(state_dir=state_dir, links=[
        {"name": name, "erp": {"adapter": "mock", "world": f"worlds/{name}"},
         "agency": {"adapter": "mock", "world": f"worlds/{name}"}, "call_backoff": "0s"}
        for name in names])


def build_worlds(names: list[str], open_per_link: int, state_dir: Path) -> dict[str, World]:
    customers = max(1, math.ceil(open_per_link / OPEN_PER_CUSTOMER))
    worlds: dict[str, World] = {}
    for i, name in enumerate(names):
        world = generate_world(1000 + i, customers=customers, start=START)
        spread_change_times(world)
        worlds[name] = mock_plugin.reset_world(state_dir / "worlds" / name, world)
    return worlds


def held_after_dropping(worlds: dict[str, World]) -> tuple[float, float]:
    """MB traced since the round began and still held: with the mock worlds, and after
    closing and dropping them (the agency's new cases and the ERP's statuses are theirs,
    though the connector built some of those objects). Stops the tracing."""
    gc.collect()
    with_worlds = tracemalloc.get_traced_memory()[0] / 2**20
    worlds.clear()
    mock_plugin.close_worlds()
    gc.collect()
    without = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    return with_worlds, without


def run(store: Store, args: argparse.Namespace, state_dir: Path) -> dict[str, Any]:
    names = [f"co{i:04d}" for i in range(args.links)]
    t0 = time.perf_counter()
    worlds = build_worlds(names, args.open, state_dir)
    open_total = sum(sum(1 for inv in w.erp.invoices.values() if inv.is_open
                         and inv.changed_at <= w.now) for w in worlds.values())
    print(f"{len(names)} worlds, {open_total:,} open invoices in all "
          f"({open_total / len(names):.0f} per link), built in {time.perf_counter() - t0:.1f}s")
    rt = Runtime(settings_for(names, state_dir), store=store)
    counter = StatementCounter(store.engine)
    meter = Meter(counter, profile=args.profile)
    meter.wrap(MockErp, "close", "mock world save (erp.close)")
    meter.wrap(MockAgency, "close", "mock world save (agency.close)")
    pulled: dict[str, int] = {}
    sync = engine.sync

    def counted(ctx: Any) -> Any:
        report = sync(ctx)
        if meter.current is not None and meter.current.name == "first":
            for k, v in report.pulled.items():
                pulled[k] = pulled.get(k, 0) + v
        return report

    engine.sync = counted  # type: ignore[assignment]
    meter.wrap(engine, "sync", "engine.sync")
    try:
        for round_ in ("first", "idle", "transfer"):
            if round_ == "idle":
                for world in worlds.values():
                    world.advance(timedelta(minutes=10))
            if round_ == "transfer":
                for name in names:
                    with rt.link(name) as ctx:
                        actions.approve(ctx, None)
                for world in worlds.values():
                    world.advance(timedelta(hours=2, minutes=1))
            cases = sum(w.agency.registrations for w in worlds.values())
            if args.heap and round_ == "transfer":
                tracemalloc.start()
            with meter.phase(round_) as phase:
                summary = daemon.Summary()
                daemon.sync_round(rt, timedelta(0), daemon.DEFAULT_LEASE, daemon.Stop(),
                                  summary)
                assert summary.passes == len(names) and not summary.failed, summary.lines()
            phase.extra["cases"] = sum(w.agency.registrations for w in worlds.values()) - cases
    finally:
        for owner, name in ((MockErp, "close"), (MockAgency, "close")):
            fn = getattr(owner, name)
            setattr(owner, name, getattr(fn, "__wrapped__", fn))
        engine.sync = sync  # type: ignore[assignment]
    n = len(names)
    print(f"\n== {args.links} links x ~{args.open} open invoices, {store.dialect} ==")
    print(f"first round pulled: {pulled}")
    print(f"{'round':<10}{'seconds':>9}{'links/s':>9}{'stmts/link':>11}{'tx/link':>9}"
          f"{'world saves':>13}{'w/o saves':>11}{'peak RSS+':>11}  cases")
    for phase in meter.phases:
        saves = sum(v[0] for k, v in phase.steps.items() if k.startswith("mock world save"))
        print(f"{phase.name:<10}{phase.seconds:>9.2f}{n / phase.seconds:>9.1f}"
              f"{phase.statements / n:>11.1f}{phase.transactions / n:>9.1f}"
              f"{saves:>12.2f}s{n / (phase.seconds - saves):>11.1f}"
              f"{phase.peak_extra_mb:>8.0f} MB  {phase.extra['cases']:,}"
              + (f" ({rate(phase.extra['cases'], phase.seconds)})"
                 if phase.extra["cases"] else ""))
    if args.heap:
        with_worlds, without = held_after_dropping(worlds)
        print("\nPython memory the transfer round allocated and still holds (tracemalloc, "
              f"which slowed the round): {with_worlds:.2f} MB with the mock worlds, "
              f"{without:.2f} MB once they are closed and dropped: what the connector "
              "keeps (flat if it does not grow with --links)")
    for name, text in meter.profiles.items():
        print(f"\n-- cProfile of round {name!r} --\n{text}")
    return {"phases": [p.name for p in meter.phases]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=500)
    parser.add_argument("--open", type=int, default=50, help="about how many open invoices "
                        "each company has (default 50)")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--profile", choices=("first", "idle", "transfer"),
                        help="cProfile one round and print its top functions")
    parser.add_argument("--heap", action="store_true", help="trace the Python memory the "
                        "transfer round leaves allocated, with the mock worlds and without "
                        "them (tracing slows the round several times)")
    args = parser.parse_args()
    print(code_under_test())
    if args.db == "postgresql" and not pg_reachable(args.pg_url):
        print(f"PostgreSQL not reachable at {args.pg_url}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        store_cm = pg_store(args.pg_url) if args.db == "postgresql" else sqlite_store(state_dir)
        with store_cm as store:
            run(store, args, state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
