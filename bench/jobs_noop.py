"""The connector's durable job path with a no-op handler: the counterpart of procrastinate's
no-op task in bench/compare/procrastinate_jobs.py.

    .venv/bin/python bench/jobs_noop.py                 # 10,000 jobs, PostgreSQL and SQLite
    .venv/bin/python bench/jobs_noop.py --jobs 5000 --db postgresql

Enqueues ``--jobs`` jobs of one link (``jobs.enqueue``, pages of 200 as transfer scheduling
does), then runs them with ``worker.run``: claim a batch under a lease, renew the lease per
job, call the handler, which records "done" (``jobs.finish``) in its own transaction, as
every real handler does after its one external call. No agency, no claims: this is the
job machinery alone. Reports jobs/s for enqueueing and for running, and statements and
transactions per job.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import PG_URL, StatementCounter, code_under_test, pg_reachable, pg_store, sqlite_store

from connector import jobs, worker
from connector.clock import SystemClock
from connector.config import AdapterSettings, LinkSettings
from connector.context import LinkContext
from connector.store.db import Store
from connector.store.schema import JobRow

PAGE = 200


class _Nothing:
    """Stands in for the adapters: the no-op handler calls neither side."""


def run(store: Store, n: int) -> dict[str, Any]:
    counter = StatementCounter(store.engine)
    settings = LinkSettings(name="noop", erp=AdapterSettings(adapter="mock"),
                            agency=AdapterSettings(adapter="mock"))
    ctx = LinkContext(settings=settings, store=store, erp=_Nothing(),  # type: ignore[arg-type]
                      agency=_Nothing(), clock=SystemClock())  # type: ignore[arg-type]
    s0, t0 = counter.statements, counter.transactions
    start = time.perf_counter()
    for i in range(0, n, PAGE):
        with store.session() as session:
            jobs.enqueue(session, ctx.link, [
                jobs.JobSpec("noop", f"noop:{k}", {"n": k}) for k in range(i, min(n, i + PAGE))
            ], ctx.now())
    enqueue_s = time.perf_counter() - start
    enqueue_st, enqueue_tx = counter.statements - s0, counter.transactions - t0

    def handle(job: JobRow) -> None:
        with ctx.tx() as session:
            jobs.finish(session, job.id, jobs.JobState.DONE, ctx.now())

    s0, t0 = counter.statements, counter.transactions
    start = time.perf_counter()
    done = worker.run(ctx, "noop", handle)
    run_s = time.perf_counter() - start
    assert done == n, (done, n)
    return {"enqueue_s": enqueue_s, "enqueue_st": enqueue_st, "enqueue_tx": enqueue_tx,
            "run_s": run_s, "run_st": counter.statements - s0,
            "run_tx": counter.transactions - t0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    print(code_under_test())
    dbs = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    if "postgresql" in dbs and not pg_reachable(args.pg_url):
        print(f"PostgreSQL not reachable at {args.pg_url}; skipping it", file=sys.stderr)
        dbs.remove("postgresql")
    print(f"{args.jobs:,} no-op jobs, one worker (one process, sequential)")
    for db in dbs:
        with tempfile.TemporaryDirectory() as tmp:
            cm = pg_store(args.pg_url) if db == "postgresql" else sqlite_store(Path(tmp))
            with cm as store:
                r = run(store, args.jobs)
        n = args.jobs
        print(f"  {db:<11} enqueue {n / r['enqueue_s']:>9,.0f} jobs/s "
              f"({r['enqueue_st'] / n:.2f} statements, {r['enqueue_tx'] / n:.3f} tx per job)"
              f"   run {n / r['run_s']:>7,.0f} jobs/s "
              f"({r['run_st'] / n:.2f} statements, {r['run_tx'] / n:.2f} tx per job)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
