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

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import JSON, Column, Dialect, String, Table
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from connector.store.schema import Base


@dataclass(frozen=True)
class _Plan:
    """How a page of one table with these columns is written on one dialect."""

    sql: str
    processors: tuple[Callable[[Any], Any] | None, ...]
    key_of: Callable[[Sequence[Any]], Any]


def write_page(session: Session, table: type[Base], columns: Sequence[str],
               rows: Sequence[Sequence[Any]], keys: Sequence[str]) -> None:
    """Upsert ``rows`` (values in ``columns`` order; a JSON column's value already encoded
    as text) in one statement; on a key clash every other named column is overwritten.
    A key twice in the page keeps its last row, as writing the rows in turn would."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    key = (dialect.name, table.__tablename__, tuple(columns), tuple(keys))
    plan = _PLANS.get(key) or _PLANS.setdefault(
        key, _plan(dialect, cast(Table, table.__table__), key[2], key[3]))
    unique = {plan.key_of(row): row for row in rows}
    # Column by column: each column's processor over its values, none where it has none.
    encoded = [list(values) if proc is None else [proc(v) for v in values]
               for proc, values in zip(plan.processors, zip(*unique.values(), strict=True),
                                       strict=True)]
    if dialect.name == "postgresql":
        connection.exec_driver_sql(plan.sql, tuple(encoded))  # one array per column
    else:
        connection.exec_driver_sql(plan.sql, list(zip(*encoded, strict=True)))


_PLANS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], _Plan] = {}
"""Each statement built once per dialect, table, columns and keys."""


def _plan(dialect: Dialect, table: Table, columns: tuple[str, ...],
          keys: tuple[str, ...]) -> _Plan:
    """The statement and each column's bind processor (None for JSON: encoded already, and
    for a type the dialect's driver takes as it is); a processor also takes None."""
    cols = [table.c[name] for name in columns]
    processors = tuple(None if isinstance(col.type, JSON)
                       else col.type.dialect_impl(dialect).bind_processor(dialect)
                       for col in cols)
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    if dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(%b AS {_unbounded(col).compile(dialect)}[])" for col in cols)
        source = f"SELECT * FROM unnest({arrays})"
    else:
        source = f"VALUES ({', '.join('?' for _ in cols)})"
    sql = (f"INSERT INTO {table.name} ({names}) {source} "
           f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")
    return _Plan(sql, processors, operator.itemgetter(*(columns.index(k) for k in keys)))


def _unbounded(column: Column[Any]) -> TypeEngine[Any]:
    """The column's type without its length, for the array the rows arrive in: PostgreSQL
    cuts a value cast to ``VARCHAR(100)[]`` short without a word, where the column itself
    refuses a value too long for it."""
    kind: TypeEngine[Any] = column.type
    return String() if isinstance(kind, String) and kind.length is not None else kind
