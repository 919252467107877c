"""The connector's durable job path with a no-op handler, side by side with procrastinate.

    .venv/bin/python bench/jobs_noop.py                        # 10,000 jobs, PostgreSQL
    .venv/bin/python bench/jobs_noop.py --jobs 20000 --workers 1 2 4 --db both

For each database and each worker count: a fresh store, ``--jobs`` jobs of one link
enqueued (``jobs.enqueue``, pages of 200 as transfer scheduling does), ``ANALYZE`` on
PostgreSQL, then that many worker processes start at once, each running ``worker.run``
with a no-op handler until the queue is empty: claim a batch under one lease, call the
handler, end the batch in one statement. Only the draining is timed. No agency, no claims:
this is the job machinery alone. With one worker it also counts statements and
transactions per job; on PostgreSQL it reports the share of the jobs table's row updates
(a claim and an end per job) made in place, without new index entries (HOT).

On PostgreSQL, procrastinate (the ``bench`` extra) then runs the same no-op jobs in the
same run, from a fresh table after ``ANALYZE``, at concurrency 1, when it is installed
(``--peer-jobs``, fewer by default: it takes a round trip or more per job).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import PG_URL, StatementCounter, code_under_test, pg_reachable, pg_store, sqlite_store
from sqlalchemy import text

from connector import jobs, worker
from connector.clock import SystemClock
from connector.config import AdapterSettings, LinkSettings
from connector.context import LinkContext
from connector.store.db import Store

PAGE = 200
LINK = "noop"


class _Nothing:
    """Stands in for the adapters: the no-op handler calls neither side."""


def context(store: Store) -> LinkContext:
    settings = LinkSettings(name=LINK, erp=AdapterSettings(adapter="mock"),
                            agency=AdapterSettings(adapter="mock"))
    return LinkContext(settings=settings, store=store, erp=_Nothing(),  # type: ignore[arg-type]
                       agency=_Nothing(), clock=SystemClock())  # type: ignore[arg-type]


def enqueue(store: Store, n: int) -> float:
    ctx = context(store)
    start = time.perf_counter()
    for i in range(0, n, PAGE):
        with store.session() as session:
            jobs.enqueue(session, LINK, [
                jobs.JobSpec("noop", f"noop:{k}", {"n": k}) for k in range(i, min(n, i + PAGE))
            ], ctx.now())
    seconds = time.perf_counter() - start
    if store.dialect == "postgresql":
        with store.session() as session:
            session.execute(text("ANALYZE jobs"))
    return seconds


def drain(url: str, go: Any, out: Any) -> None:
    """One worker process: its own store connection, then ``worker.run`` until empty."""
    store = Store(url)
    counter = StatementCounter(store.engine)
    ctx = context(store)
    go.wait()
    start = time.perf_counter()
    done = worker.run(ctx, "noop", lambda job: None)
    out.put({"done": done, "seconds": time.perf_counter() - start,
             "statements": counter.statements, "transactions": counter.transactions})
    store.dispose()


def run_workers(store: Store, workers: int) -> dict[str, Any]:
    url = store.engine.url.render_as_string(hide_password=False)
    spawn = mp.get_context("fork")
    go, out = spawn.Event(), spawn.Queue()
    procs = [spawn.Process(target=drain, args=(url, go, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # every worker connected and migrated (a no-op) before the start
    start = time.perf_counter()
    go.set()
    results = [out.get() for _ in procs]
    seconds = time.perf_counter() - start
    for p in procs:
        p.join()
    return {"done": sum(r["done"] for r in results), "seconds": seconds,
            "statements": sum(r["statements"] for r in results),
            "transactions": sum(r["transactions"] for r in results)}


def hot_share(store: Store, updates: int) -> float | None:
    """The share of the jobs table's row updates PostgreSQL made in place (HOT: no new
    index entries), from its statistics, which each worker's connection reports as it
    closes; None when they have not all arrived within two seconds."""
    query = text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                 "WHERE relname = 'jobs' AND schemaname = current_schema()")
    for _ in range(20):
        with store.statement() as session:
            session.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = session.execute(query).one_or_none()
        if row is not None and row[0] >= updates:
            return float(row[1]) / row[0]
        time.sleep(0.1)
    return None


def peer(n: int, pg_url: str) -> float | None:
    try:
        sys.path.insert(0, str(Path(__file__).parent / "compare"))
        import procrastinate_jobs
    except ImportError:
        print("  procrastinate is not installed (pip install -e '.[bench]'); no peer figure")
        return None
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    seconds = procrastinate_jobs.run(n, concurrency=1, dsn=dsn)
    print(f"  procrastinate {procrastinate_jobs.version()}, concurrency 1:"
          f" {n / seconds:>8,.0f} jobs/s   load average {os.getloadavg()[0]:.2f}")
    return n / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="postgresql")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--no-peer", action="store_true", help="skip procrastinate")
    parser.add_argument("--peer-jobs", type=int, default=2_000,
                        help="jobs for procrastinate, which runs them one at a time")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    print(code_under_test())
    dbs = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    if "postgresql" in dbs and not pg_reachable(args.pg_url):
        print(f"PostgreSQL not reachable at {args.pg_url}; skipping it", file=sys.stderr)
        dbs.remove("postgresql")
    n = args.jobs
    print(f"{n:,} no-op jobs of one link, drained by 1..n worker processes")
    figures: dict[str, Any] = {"jobs": n, "cpus": os.cpu_count(), "runs": []}
    for db in dbs:
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as tmp:
                cm = pg_store(args.pg_url) if db == "postgresql" else sqlite_store(Path(tmp))
                with cm as store:
                    enqueue_s = enqueue(store, n)
                    r = run_workers(store, workers)
                    hot = hot_share(store, 2 * n) if db == "postgresql" else None
            assert r["done"] == n, (r["done"], n)
            load = os.getloadavg()[0]
            hot_text = "" if hot is None else f", {hot:.0%} of row updates in place (HOT)"
            print(f"  {db:<11} {workers} worker(s): run {n / r['seconds']:>8,.0f} jobs/s "
                  f"({r['statements'] / n:.3f} statements, {r['transactions'] / n:.3f} tx "
                  f"per job{hot_text}); enqueue {n / enqueue_s:,.0f} jobs/s   "
                  f"load average {load:.2f}")
            figures["runs"].append({"db": db, "workers": workers, "jobs_per_s": n / r["seconds"],
                                    "statements_per_job": r["statements"] / n,
                                    "tx_per_job": r["transactions"] / n,
                                    "enqueue_per_s": n / enqueue_s, "hot_share": hot,
                                    "load": load})
        if db == "postgresql" and not args.no_peer:
            figures["procrastinate_per_s"] = peer(args.peer_jobs, args.pg_url)
            figures["peer_load"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
