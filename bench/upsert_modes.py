"""How a page upsert reaches PostgreSQL: three ways to write the same invoice pages.

    .venv/bin/python bench/upsert_modes.py [--rows 50000] [--page 500]

``connector.store.db.upsert`` runs ``session.execute(insert(...).on_conflict_do_update(...),
rows)``. SQLAlchemy counts that as one statement, but with the psycopg (3) driver it is an
executemany, which psycopg pipelines as one INSERT execution per row in one round trip:
SQLAlchemy's multi-row "insertmanyvalues" batching applies to an INSERT without RETURNING
only on some dialects, and never with ON CONFLICT (sqlalchemy/sql/crud.py). This writes
the same rows to the invoices table of a fresh schema, first as inserts and then again
(every row a conflict), three ways:

- ``executemany``: what the store does;
- ``returning``: the same statement plus ``.returning(<key>)``, which makes SQLAlchemy send
  multi-row ``VALUES (...), (...)`` batches;
- ``unnest``: one ``INSERT ... SELECT FROM unnest(array, ...) ON CONFLICT`` per page, every
  column bound as one array.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from _common import PG_URL, START, StatementCounter, code_under_test, pg_reachable, pg_store
from sqlalchemy.dialects import postgresql

from connector.store.schema import InvoiceRow

UPDATE = ("invoice_no", "customer_no", "due_date", "balance", "is_open", "data", "changed_at")
COLUMNS = ("link", "erp_id", *UPDATE)


def rows(n: int, run: int) -> list[dict[str, Any]]:
    return [{"link": "bench", "erp_id": f"inv-{i:08d}", "invoice_no": str(100000 + i),
             "customer_no": str(10001 + i // 3),
             "due_date": (START - timedelta(days=i % 90)).date(),
             "balance": Decimal(f"{1000 + i % 5000}.50"), "is_open": i % 2 == 0,
             "data": {"id": f"inv-{i:08d}", "invoice_no": str(100000 + i), "run": run,
                      "amount": "1250.00", "currency": "NOK", "kid": "1000120001"},
             "changed_at": START + timedelta(seconds=i + run)} for i in range(n)]


def _upsert() -> Any:
    stmt = postgresql.insert(InvoiceRow.__table__)
    return stmt.on_conflict_do_update(index_elements=["link", "erp_id"],
                                      set_={c: stmt.excluded[c] for c in UPDATE})


def executemany(session: Any, page: list[dict[str, Any]]) -> None:
    session.execute(_upsert(), page)


def returning(session: Any, page: list[dict[str, Any]]) -> None:
    session.execute(_upsert().returning(InvoiceRow.__table__.c.erp_id), page).all()


UNNEST = sa.text("""
INSERT INTO invoices (link, erp_id, invoice_no, customer_no, due_date, balance, is_open, data,
                      changed_at)
SELECT * FROM unnest(CAST(:link AS varchar[]), CAST(:erp_id AS varchar[]),
                     CAST(:invoice_no AS varchar[]), CAST(:customer_no AS varchar[]),
                     CAST(:due_date AS date[]), CAST(:balance AS numeric[]),
                     CAST(:is_open AS boolean[]), CAST(:data AS json[]),
                     CAST(:changed_at AS timestamptz[]))
ON CONFLICT (link, erp_id) DO UPDATE SET invoice_no = excluded.invoice_no,
  customer_no = excluded.customer_no, due_date = excluded.due_date,
  balance = excluded.balance, is_open = excluded.is_open, data = excluded.data,
  changed_at = excluded.changed_at
""")


def unnest(session: Any, page: list[dict[str, Any]]) -> None:
    params = {c: [r[c] for r in page] for c in COLUMNS}
    params["data"] = [json.dumps(d) for d in params["data"]]
    session.execute(UNNEST, params)


MODES = {"executemany": executemany, "returning": returning, "unnest": unnest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    print(code_under_test())
    if not pg_reachable(args.pg_url):
        print(f"PostgreSQL not reachable at {args.pg_url}", file=sys.stderr)
        return 1
    print(f"{args.rows:,} invoice rows in pages of {args.page}, PostgreSQL")
    for name, write in MODES.items():
        with pg_store(args.pg_url) as store:
            counter = StatementCounter(store.engine)
            for run, label in ((0, "insert"), (1, "re-write")):
                data = rows(args.rows, run)
                s0 = counter.statements
                start = time.perf_counter()
                for i in range(0, len(data), args.page):
                    with store.session() as session:
                        write(session, data[i:i + args.page])
                seconds = time.perf_counter() - start
                print(f"  {name:<12}{label:<9}{seconds:7.2f}s {args.rows / seconds:>9,.0f} "
                      f"rows/s  {counter.statements - s0:>5,} statements (SQLAlchemy's count)")
            with store.session() as session:
                count = session.scalar(sa.select(sa.func.count()).select_from(InvoiceRow))
                assert count == args.rows, count
    return 0


if __name__ == "__main__":
    sys.exit(main())
