"""Writing a page of mirrored ERP records in one statement, each value encoded once.

``connector.store.db.upsert`` lets SQLAlchemy process every parameter of every row (the
JSON encoding of ``data``, the money and time types): most of a first sync's write time
(docs/performance.md). Here the caller hands ``data`` already encoded (pydantic's
``model_dump_json``), the other columns go through their type's own bind processor only
where the dialect has one, and the page reaches the driver as one statement: an
executemany on SQLite, one ``INSERT … SELECT FROM unnest(<one array per column>)`` on
PostgreSQL, where an executemany is one execution per row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Dialect, Table
from sqlalchemy.orm import Session

from connector.store.schema import Base


@dataclass(frozen=True)
class _Plan:
    sql: str
    processors: tuple[Callable[[Any], Any] | None, ...]
    key_at: tuple[int, ...]


def write_page(session: Session, table: type[Base], columns: Sequence[str],
               rows: Sequence[Sequence[Any]], keys: Sequence[str]) -> None:
    """Upsert ``rows`` (values in ``columns`` order; a JSON column's value already encoded
    as text) in one statement; on a key clash every other named column is overwritten.
    A key twice in the page keeps its last row, as writing the rows in turn would."""
    if not rows:
        return
    connection = session.connection()
    plan = _plan(connection.dialect, table.__table__, tuple(columns), tuple(keys))
    unique = list({tuple(row[i] for i in plan.key_at): row for row in rows}.values())
    if connection.dialect.name == "postgresql":
        params: Any = tuple(
            [value if proc is None or value is None else proc(value) for value in values]
            for proc, values in zip(plan.processors, zip(*unique, strict=True), strict=True))
    elif any(plan.processors):
        params = [tuple(value if proc is None or value is None else proc(value)
                        for proc, value in zip(plan.processors, row, strict=True))
                  for row in unique]
    else:
        params = [tuple(row) for row in unique]
    connection.exec_driver_sql(plan.sql, params)


@functools.cache
def _plan(dialect: Dialect, table: Table, columns: tuple[str, ...],
          keys: tuple[str, ...]) -> _Plan:
    """The statement and each column's bind processor (None for JSON: encoded already)."""
    cols = [table.c[name] for name in columns]
    processors = tuple(None if isinstance(col.type, JSON)
                       else col.type.dialect_impl(dialect).bind_processor(dialect)
                       for col in cols)
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    if dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(%b AS {col.type.compile(dialect)}[])" for col in cols)
        source = f"SELECT * FROM unnest({arrays})"
    else:
        source = f"VALUES ({', '.join('?' for _ in cols)})"
    sql = (f"INSERT INTO {table.name} ({names}) {source} "
           f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")
    return _Plan(sql, processors, tuple(columns.index(k) for k in keys))
