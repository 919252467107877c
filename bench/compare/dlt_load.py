"""For comparison only: dlt loading the same invoice rows (rows/s), from the ``bench`` extra.

    .venv/bin/python bench/compare/export_invoices.py --open 100000     # the rows, as JSONL
    .venv/bin/python bench/compare/dlt_load.py [--rows FILE] [--dest sqlite|postgres|duckdb|both]

Loads the invoices the mock ERP serves for the big-company world (one JSON object per
line) with a dlt resource (primary key ``id``), timing extract, normalize and load
separately, for two write dispositions: ``merge`` (an upsert, what the connector does),
first into an empty table and then the same rows again, and ``append``; in dlt's default
loader file format for the destination, or ``--format`` (``parquet``, after
``pip install pyarrow``, is dlt's fast path). PostgreSQL gets a fresh dataset (schema),
dropped afterwards; SQLite (through dlt's sqlalchemy destination) and duckdb a file in a
temporary folder. The rows are read into memory
before timing starts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt

PG = os.environ.get("CONNECTOR_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
# dlt insists on a password; the local server trusts its users, so any will do.
os.environ.setdefault("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", "unused")


def run(rows: list[dict[str, Any]], dest: str, disposition: str, tmp: Path,
        dataset: str, name: str, fmt: str | None) -> tuple[float, dict[str, float]]:
    destination: Any
    if dest == "duckdb":
        destination = dlt.destinations.duckdb(str(tmp / "bench.duckdb"))
    elif dest == "sqlite":  # dlt's sqlalchemy destination, the store the connector uses
        destination = dlt.destinations.sqlalchemy(credentials=f"sqlite:///{tmp / 'bench.db'}")
    else:
        destination = dlt.destinations.postgres(credentials=PG)
    pipeline = dlt.pipeline(pipeline_name=name, destination=destination, dataset_name=dataset,
                            pipelines_dir=str(tmp / "pipelines"))

    @dlt.resource(name="invoices", primary_key="id", write_disposition=disposition)
    def invoices() -> Any:
        for i in range(0, len(rows), 500):  # pages, as an ERP serves them
            yield rows[i:i + 500]

    steps: dict[str, float] = {}
    start = time.perf_counter()
    pipeline.extract(invoices(), loader_file_format=fmt)  # type: ignore[arg-type]
    steps["extract"] = time.perf_counter() - start
    t = time.perf_counter()
    pipeline.normalize()
    steps["normalize"] = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.load()
    steps["load"] = time.perf_counter() - t
    return time.perf_counter() - start, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=Path,
                        default=Path(tempfile.gettempdir()) / "connector-bench-invoices.jsonl")
    parser.add_argument("--dest", choices=("duckdb", "sqlite", "postgres", "both"),
                        default="both", help="both: sqlite and postgres, the connector's stores")
    parser.add_argument("--format", dest="fmt", choices=("insert_values", "parquet", "jsonl",
                                                         "csv"),
                        help="dlt's loader file format (default: the destination's preferred "
                             "one; parquet needs pyarrow)")
    parser.add_argument("--first-only", action="store_true",
                        help="only the merge into an empty table (what a first sync does)")
    args = parser.parse_args()
    if not args.rows.exists():
        print(f"{args.rows} is missing: run bench/compare/export_invoices.py first",
              file=sys.stderr)
        return 1
    rows = [json.loads(line) for line in args.rows.read_text().splitlines()]
    # Kept out of the garbage collector's scans, as sync_big_company.py keeps its world.
    gc.collect()
    gc.freeze()
    print(f"dlt {dlt.__version__}: {len(rows):,} invoice rows from {args.rows}; "
          f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}")
    dests = ["sqlite", "postgres"] if args.dest == "both" else [args.dest]
    for dest in dests:
        dataset = f"bench_dlt_{uuid.uuid4().hex[:10]}"
        with tempfile.TemporaryDirectory() as tmp:
            try:
                runs = [("merge, empty table", "merge", "m"),
                        ("merge, same rows again", "merge", "m"),
                        ("append", "append", "a")]
                for label, disposition, name in runs[:1] if args.first_only else runs:
                    ds = dataset if disposition == "merge" else dataset + "_a"
                    seconds, steps = run(rows, dest, disposition, Path(tmp), ds,
                                         f"bench_{name}_{dataset}", args.fmt)
                    parts = ", ".join(f"{k} {v:.2f}s" for k, v in steps.items())
                    print(f"  {dest:<9}{args.fmt or 'default':<14}{label:<24}{seconds:7.2f}s "
                          f"{len(rows) / seconds:>9,.0f} rows/s  ({parts})")
            finally:
                if dest == "postgres":
                    import psycopg2  # dlt's own postgres driver

                    with psycopg2.connect(PG) as conn, conn.cursor() as cur:
                        for ds in (dataset, dataset + "_a", dataset + "_staging",
                                   dataset + "_a_staging"):
                            cur.execute(f"DROP SCHEMA IF EXISTS {ds} CASCADE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
