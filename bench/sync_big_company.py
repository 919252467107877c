"""One big company through the connector: first sync, an idle sync, approvals, transfers.

    .venv/bin/python bench/sync_big_company.py                 # ~100,000 open invoices, both DBs
    .venv/bin/python bench/sync_big_company.py --open 25000 --db sqlite --approve-all
    .venv/bin/python bench/sync_big_company.py --open 100000 --db postgresql --profile transfer

Builds a generated mock world (connector_adapters.mock.generate) with enough customers for about
``--open`` open invoices, then on each database:

a. first sync: the ERP pull (customers, invoices, letters, ledger) and the classification
   into lists, timed as invoices read per second;
b. a second sync with nothing changed (the world's clock moved 10 minutes, past the cursor
   overlap), which the cursors should make cheap;
c. approve the first --approve-max drafts (5,000 by default; --approve-all approves every
   one, about 20,000 on a 100,000-invoice world, which takes several minutes per database
   today because approving is quadratic, see bench/README.md), move the clock past the
   grace window and sync: the transfer jobs go through the durable job path (schedule ->
   job -> agency call -> Open), timed as agency cases created per second; the same pass
   also reads the new cases back and writes their status to the ERP (status jobs);
d. one more idle sync with the cases open.

For each phase: wall time, SQL statements (round trips) and statements per 1,000 invoices,
transactions, the peak RSS above the RSS before the phase (and with --heap the tracemalloc
peak of Python allocations, which slows the run down), and a breakdown by engine step.
Timing is for this benchmark only; the tests never assert on time.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _common import (
    PG_URL,
    START,
    Meter,
    Phase,
    StatementCounter,
    code_under_test,
    pg_reachable,
    pg_store,
    rate,
    sqlite_store,
)
from sqlalchemy import select

from connector import (
    actions,
    agency_pull,
    classify,
    engine,
    item_errors,
    ledger,
    payouts,
    pull,
    transfer,
    worker,
)
from connector.config import AdapterSettings, LinkSettings
from connector.context import LinkContext
from connector.domain import ClaimList
from connector.registry import plugin_manager
from connector.store.db import Store
from connector.store.schema import ClaimRow
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.generate import generate_world
from connector_adapters.mock.state import parse_date
from connector_adapters.mock.world import World

OPEN_PER_CUSTOMER = 1.31
"""Open (issued, unpaid) invoices per generated customer, measured on generate_world."""
STEPS = [
    (pull, "pull_company"), (pull, "pull_erp"), (ledger, "pull_ledger"),
    (classify, "reconcile"), (classify, "classify"), (transfer, "schedule"),
    (transfer, "run_transfers"), (agency_pull, "pull_agency"), (payouts, "fetch_payouts"),
    (agency_pull, "write_statuses"), (payouts, "book_payouts"), (ledger, "report_reductions"),
    (item_errors, "open_errors"),
]


def _moved(record: Any, moment: datetime) -> Any:
    """``record`` with ``changed_at = moment``: set in place, or a copy if it is frozen."""
    try:
        record.changed_at = moment
        return record
    except (ValueError, TypeError, AttributeError):  # pydantic's frozen_instance error
        return record.model_copy(update={"changed_at": moment})


def spread_change_times(world: World) -> None:
    """Give records the change times a company built up over months would have.

    ``generate_world`` builds everything in the first fraction of a second of world time
    (every write ticks one microsecond), so every record is within the ERP cursor's 2-minute
    overlap of the newest one and each later pass re-reads the whole world. Here customers
    changed months ago, invoices when issued or when their last letter or payment came,
    letters on their night, ledger entries on their day; nothing after 5 minutes ago.
    Future (not yet issued) invoices keep their issue midnight.
    """
    horizon = world.now - timedelta(minutes=5)

    def clamp(moment: datetime, i: int) -> datetime:
        return moment if moment <= horizon else horizon - timedelta(seconds=i % 20_000)

    for i, customer in enumerate(list(world.erp.customers.values())):
        world.erp.touch("customer", _moved(
            customer, clamp(START - timedelta(days=30 + i % 700, seconds=i % 86_400), i)))
    last: dict[str, datetime] = {}
    for i, letter in enumerate(world.erp.letters):
        moment = clamp(world.midnight(letter.sent_on) + timedelta(microseconds=i), i)
        world.erp.touch("letter", _moved(letter, moment))
        last[letter.invoice_id] = max(last.get(letter.invoice_id, moment), moment)
    for i, entry in enumerate(world.erp.ledger):
        moment = clamp(world.midnight(entry.on) + timedelta(hours=12, seconds=i), i)
        world.erp.touch("ledger", _moved(entry, moment))
        last[entry.invoice_id] = max(last.get(entry.invoice_id, moment), moment)
    for i, invoice in enumerate(list(world.erp.invoices.values())):
        issued = parse_date(invoice.invoice_date)
        if issued is None or invoice.changed_at > world.now:
            continue
        moment = world.midnight(issued) + timedelta(hours=9, seconds=i % 3600)
        moment = clamp(max(moment, last.get(invoice.id, moment)), i)
        world.erp.touch("invoice", _moved(invoice, moment))


def build_world(open_target: int, seed: int = 1,
                spread: bool = True) -> tuple[World, dict[str, int]]:
    customers = max(1, math.ceil(open_target / OPEN_PER_CUSTOMER))
    world = generate_world(seed, customers=customers, start=START)
    if spread:
        spread_change_times(world)
    today = world.today
    issued = [i for i in world.erp.invoices.values()
              if (d := parse_date(i.invoice_date)) is None or d <= today]
    open_ = [i for i in issued if i.is_open]
    overdue = [i for i in open_ if (d := parse_date(i.due_date)) is not None and d < today]
    return world, {"customers": customers, "invoices_in_world": len(world.erp.invoices),
                   "invoices_issued": len(issued), "open_invoices": len(open_),
                   "open_overdue": len(overdue), "letters": len(world.erp.letters)}


class Link:
    """One link over a world and a store, as tests/support.py's Harness builds it."""

    def __init__(self, store: Store, world: World) -> None:
        self.store, self.world = store, world
        self.erp, self.agency = MockErp(world), MockAgency(world)
        self.pm = plugin_manager()
        self.settings = LinkSettings(name="big", erp=AdapterSettings(adapter="mock"),
                                     agency=AdapterSettings(adapter="mock"), call_backoff="0s")

    def ctx(self) -> LinkContext:
        return LinkContext(settings=self.settings, store=self.store, erp=self.erp,
                           agency=self.agency, clock=self.world.clock, pm=self.pm)


def run_db(db: str, store: Store, world: World, args: argparse.Namespace) -> dict[str, Any]:
    counter = StatementCounter(store.engine)
    meter = Meter(counter, heap=args.heap, profile=args.profile)
    for module, name in STEPS:
        meter.wrap(module, name)
    if args.analyze_after_pull and db == "postgresql":
        _analyze_after_pull(store)
    meter.wrap(transfer._Batch, "start", "  transfer intents (each batch)")
    meter.wrap(transfer._Batch, "handle", "  transfer call (each)")
    meter.wrap(worker.Batch, "flush", "  job results (each batch)")
    meter.wrap(worker, "call", "  agency/ERP call (each)")
    for resource in ("customers", "invoices", "letters", "ledger"):
        meter.wrap_iter(MockErp, resource, f"  mock ERP pages: {resource}")
    meter.wrap(pull, "write_customers", "  write pages: customers")
    meter.wrap(pull, "_write_invoices", "  write pages: invoices")
    meter.wrap(pull, "_write_letters", "  write pages: letters")
    link = Link(store, world)
    results: dict[str, Any] = {"db": db, "phases": {}}
    try:
        with meter.phase("first") as ph:
            report = engine.sync(link.ctx())
        ph.extra.update(pulled=dict(report.pulled), moved=dict(report.moved),
                        failures=len(report.failures))

        world.advance(timedelta(minutes=10))
        with meter.phase("second") as ph:
            report = engine.sync(link.ctx())
        ph.extra.update(pulled=dict(report.pulled), moved=dict(report.moved))

        ctx = link.ctx()
        ids = None
        if args.approve_max is not None:
            with store.session() as session:
                ids = list(session.scalars(
                    select(ClaimRow.id).where(ClaimRow.link == link.settings.name,
                                              ClaimRow.list_name == ClaimList.DRAFT.value)
                    .order_by(ClaimRow.id).limit(args.approve_max)))
        with meter.phase("approve") as ph:
            outcome = actions.approve(ctx, ids)
        ph.extra.update(approved=len(outcome.done))

        world.advance(link.settings.grace + timedelta(minutes=1))
        registrations = world.agency.registrations
        with meter.phase("transfer") as ph:
            report = engine.sync(link.ctx())
        ph.extra.update(cases=world.agency.registrations - registrations,
                        duplicates=world.agency.duplicates, moved=dict(report.moved),
                        blocked=len(report.blocked), status_writes=world.erp.status_writes,
                        pulled=dict(report.pulled))

        world.advance(timedelta(minutes=10))
        with meter.phase("idle_after") as ph:
            report = engine.sync(link.ctx())
        ph.extra.update(pulled=dict(report.pulled), moved=dict(report.moved))
    finally:
        # Unwrap, so the next database starts clean.
        for module, name in [*STEPS, (transfer._Batch, "start"), (transfer._Batch, "handle"),
                             (worker.Batch, "flush"), (worker, "call"),
                             (MockErp, "customers"), (MockErp, "invoices"),
                             (MockErp, "letters"), (MockErp, "ledger"),
                             (pull, "write_customers"), (pull, "_write_invoices"),
                             (pull, "_write_letters")]:
            fn = getattr(module, name)
            while hasattr(fn, "__wrapped__"):
                fn = fn.__wrapped__
            setattr(module, name, fn)
    for phase in meter.phases:
        results["phases"][phase.name] = phase_dict(phase)
    results["profiles"] = meter.profiles
    return results


def _analyze_after_pull(store: Store) -> None:
    """What-if for a suggested fix: refresh PostgreSQL's planner statistics right after the
    ERP pull. On a store just filled the planner believes the tables are nearly empty and
    picks plans that re-scan the mirror for every classification page."""
    from sqlalchemy import text

    original = pull.pull_erp

    def pull_then_analyze(ctx: LinkContext) -> pull.Touched:
        touched = original(ctx)
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE invoices, customers, letters, claims"))
        return touched

    pull_then_analyze.__wrapped__ = original  # type: ignore[attr-defined]
    pull.pull_erp = pull_then_analyze  # type: ignore[assignment]


def phase_dict(phase: Phase) -> dict[str, Any]:
    return {"seconds": round(phase.seconds, 3), "statements": phase.statements,
            "transactions": phase.transactions,
            "peak_rss_above_start_mb": round(phase.peak_extra_mb, 1),
            "rss_before_mb": round(phase.rss_before_mb, 1),
            "heap_peak_mb": None if phase.heap_peak_mb is None else round(phase.heap_peak_mb, 1),
            "steps": {k: {"seconds": round(v[0], 3), "statements": int(v[1]), "calls": int(v[2])}
                      for k, v in phase.steps.items()},
            **phase.extra}


def show(world_info: dict[str, int], res: dict[str, Any]) -> None:
    ph = res["phases"]
    invoices = ph["first"]["pulled"].get("invoices", 0)
    per_k = 1000 / invoices if invoices else 0
    print(f"\n== {res['db']} ==")
    print(f"{'phase':<11}{'seconds':>9}{'stmts':>9}{'stmts/1k inv':>13}{'tx':>8}"
          f"{'peak RSS+':>11}{'heap peak':>11}  throughput")
    for name, p in ph.items():
        through = ""
        if name == "first":
            through = (f"{rate(invoices, p['seconds'])} invoices read, "
                       f"{rate(world_info['open_invoices'], p['seconds'])} open invoices")
        elif name == "approve":
            through = f"{rate(p['approved'], p['seconds'])} drafts approved"
        elif name == "transfer":
            jobs_s = p["steps"].get("transfer.run_transfers", {}).get("seconds", 0)
            through = (f"{p['cases']:,} cases: {rate(p['cases'], jobs_s)} in the transfer "
                       f"job step, {rate(p['cases'], p['seconds'])} over the whole pass")
        heap = "-" if p["heap_peak_mb"] is None else f"{p['heap_peak_mb']:.0f} MB"
        print(f"{name:<11}{p['seconds']:>9.2f}{p['statements']:>9,}"
              f"{p['statements'] * per_k:>13.1f}{p['transactions']:>8,}"
              f"{p['peak_rss_above_start_mb']:>8.0f} MB{heap:>11}  {through}")
    for name, p in ph.items():
        print(f"  {name}: " + ", ".join(
            f"{k} {v['seconds']:.2f}s/{v['statements']:,} st"
            + (f"/{v['calls']:,} calls" if v["calls"] > 1 else "")
            for k, v in sorted(p["steps"].items(), key=lambda kv: -kv[1]["seconds"])
            if v["seconds"] >= 0.01 or v["statements"] > 0))
    extra = {k: v for k, v in ph["transfer"].items()
             if k in ("cases", "duplicates", "blocked", "status_writes", "moved")}
    print(f"  transfer pass: {extra}")
    print(f"  first pass moved: {ph['first']['moved']}, failures {ph['first']['failures']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=100_000,
                        help="about how many open invoices the company has (default 100000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--heap", action="store_true",
                        help="also measure the tracemalloc peak per phase (slower)")
    parser.add_argument("--profile", choices=("first", "second", "approve", "transfer",
                                              "idle_after"),
                        help="cProfile one phase and print its top functions")
    parser.add_argument("--approve-max", type=int, default=5000,
                        help="approve the first N drafts by id (default 5000), to keep the "
                             "transfer phase short on a big world")
    parser.add_argument("--approve-all", action="store_const", const=None,
                        dest="approve_max", help="approve every draft")
    parser.add_argument("--analyze-after-pull", action="store_true",
                        help="what-if: run ANALYZE on PostgreSQL right after the ERP pull "
                             "(a suggested fix, not what the connector does)")
    parser.add_argument("--as-generated", action="store_true",
                        help="keep generate_world's change times (all within one second, so "
                             "the cursor overlap re-reads everything on every pass)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    print(code_under_test())

    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in dbs and not pg_reachable(args.pg_url):
        print(f"PostgreSQL not reachable at {args.pg_url}; skipping it", file=sys.stderr)
        dbs.remove("postgresql")
    out: dict[str, Any] = {"open_target": args.open, "date": time.strftime("%Y-%m-%d"),
                           "results": []}
    for db in dbs:
        t0 = time.perf_counter()
        # A fresh world per database: the syncs change it.
        world, info = build_world(args.open, spread=not args.as_generated)
        info_s = time.perf_counter() - t0
        # The mock ERP's and agency's records live in this process, as a real ERP's do not:
        # kept out of the garbage collector's scans, which would otherwise charge the
        # connector for walking the ERP's memory (about a sixth of a first sync's time).
        # compare/dlt_load.py does the same with the rows it loads.
        gc.collect()
        gc.freeze()
        print(f"world: {info} (built in {info_s:.1f}s, not timed below)")
        out["world"] = info
        with tempfile.TemporaryDirectory() as tmp:
            store_cm = sqlite_store(Path(tmp)) if db == "sqlite" else pg_store(args.pg_url)
            with store_cm as store:
                res = run_db(db, store, world, args)
        show(info, res)
        for name, text in res.pop("profiles").items():
            print(f"\n-- cProfile of phase {name!r} on {db} --\n{text}")
        out["results"].append(res)
        gc.unfreeze()
        del world
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
