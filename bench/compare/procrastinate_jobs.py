"""For comparison only: procrastinate's jobs/s on the same PostgreSQL (the ``bench`` extra).

    .venv/bin/python bench/compare/procrastinate_jobs.py [--jobs 10000]

A no-op async task in a fresh schema (dropped afterwards). Measures deferring one job at a
time and in batches of 200 (``batch_defer_async``; the connector enqueues a page of jobs in
one statement), then a worker draining the queue (``run_worker_async(wait=False)``) with
concurrency 1 (the connector's worker runs one job at a time) and 10. The connector's
counterpart is bench/jobs_noop.py.
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


async def bench(n: int, schema: str) -> None:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=DSN, kwargs={"options": f"-c search_path={schema}"}))

    @app.task(name="noop")
    async def noop(i: int) -> None:
        return None

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        start = time.perf_counter()
        for i in range(n):
            await noop.defer_async(i=i)
        defer_s = time.perf_counter() - start
        print(f"  defer one at a time      {n / defer_s:>9,.0f} jobs/s")
        start = time.perf_counter()
        await app.run_worker_async(wait=False, concurrency=1, install_signal_handlers=False)
        run_s = time.perf_counter() - start
        print(f"  worker, concurrency 1    {n / run_s:>9,.0f} jobs/s")

        start = time.perf_counter()
        for i in range(0, n, PAGE):
            await noop.batch_defer_async(*({"i": k} for k in range(i, min(n, i + PAGE))))
        batch_s = time.perf_counter() - start
        print(f"  batch defer ({PAGE} a call) {n / batch_s:>9,.0f} jobs/s")
        start = time.perf_counter()
        await app.run_worker_async(wait=False, concurrency=10, install_signal_handlers=False)
        run10_s = time.perf_counter() - start
        print(f"  worker, concurrency 10   {n / run10_s:>9,.0f} jobs/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("procrastinate.blueprints").setLevel(logging.ERROR)  # app in __main__
    schema = f"bench_procr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    version = importlib.metadata.version("procrastinate")
    print(f"procrastinate {version}: {args.jobs:,} no-op jobs on {DSN}; {os.cpu_count()} CPUs; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    try:
        asyncio.run(bench(args.jobs, schema))
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
