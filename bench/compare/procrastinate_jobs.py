"""For comparison only: procrastinate's no-op jobs/s on the same PostgreSQL (``bench`` extra).

    .venv/bin/python bench/compare/procrastinate_jobs.py [--jobs 10000] [--concurrency 1]

bench/jobs_noop.py runs this side by side with the connector's job path in the same run.
Each measurement gets a fresh schema (dropped afterwards): the jobs are deferred in batches
of 200 (``batch_defer_async``; the connector enqueues a page of jobs in one statement),
the table is analyzed, then a worker drains the queue (``run_worker_async(wait=False)``)
and only that is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import os
import sys
import time
import uuid

import procrastinate
import psycopg

DSN = os.environ.get("CONNECTOR_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PAGE = 200


def version() -> str:
    return importlib.metadata.version("procrastinate")


async def _bench(n: int, schema: str, concurrency: int, dsn: str) -> float:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=dsn, kwargs={"options": f"-c search_path={schema}"}))

    @app.task(name="noop")
    async def noop(i: int) -> None:
        return None

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for i in range(0, n, PAGE):
            await noop.batch_defer_async(*({"i": k} for k in range(i, min(n, i + PAGE))))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"ANALYZE {schema}.procrastinate_jobs")
        start = time.perf_counter()
        await app.run_worker_async(wait=False, concurrency=concurrency,
                                   install_signal_handlers=False)
        return time.perf_counter() - start


def run(n: int, concurrency: int = 1, dsn: str = DSN) -> float:
    """Seconds procrastinate's worker takes to run ``n`` no-op jobs from a fresh table."""
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    schema = f"bench_procr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        return asyncio.run(_bench(n, schema, concurrency, dsn))
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"procrastinate {version()}: {args.jobs:,} no-op jobs; {os.cpu_count()} CPUs, "
          f"load average {load:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")
    seconds = run(args.jobs, args.concurrency)
    print(f"  worker, concurrency {args.concurrency}: {args.jobs / seconds:,.0f} jobs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
