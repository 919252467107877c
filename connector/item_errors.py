"""Per-item errors: a record that could not be handled is kept whole with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.domain import fitted
from connector.store.db import upsert
from connector.store.schema import ERROR_KEY_LENGTH, ItemErrorRow


def _jsonable(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | bool | None) else str(v) for k, v in raw.items()}


def item_of(resource: str, key: str, raw: dict[str, Any]) -> str:
    """A record's name as its users know it (an invoice or customer number), for failures."""
    for field, name in (("invoice_no", "invoice"), ("invoiceNo", "invoice"),
                        ("number", resource)):
        value = raw.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return f"{name} {value}"
    return f"{resource} {key}"


def store(
    session: Session, link: str, resource: str,
    errors: Sequence[tuple[str, str, dict[str, Any]]], now: datetime,
) -> None:
    """Keep ``(key, reason, raw)`` errors of one resource in one statement; repeats refresh.
    A key too long for its column (a record set aside for that very reason) is fitted."""
    if not errors:
        return
    rows: dict[str, dict[str, Any]] = {}
    for key, reason, raw in errors:
        kept = fitted(key, ERROR_KEY_LENGTH)
        rows[kept] = {"link": link, "resource": resource, "key": kept, "reason": reason,
                      "raw": _jsonable(raw), "first_seen": now, "last_seen": now,
                      "resolved_at": None}
    upsert(session, ItemErrorRow, list(rows.values()), keys=("link", "resource", "key"),
           update=("reason", "raw", "last_seen", "resolved_at"))
    session.info.setdefault(_STORED, set()).add(resource)


_STORED = "item_errors_stored"


def stored(session: Session) -> set[str]:
    """The resources this session stored item errors of: a pass that started with none open
    reads its open errors at its end only if it stored some."""
    return set(session.info.get(_STORED, ()))


def resolve(session: Session, link: str, resource: str, keys: Sequence[str],
            now: datetime) -> None:
    """Mark the errors of records that now came through cleanly as resolved: under their
    keys as ``store`` fits them, or whole (as a store before fitting kept them)."""
    if not keys:
        return
    session.execute(
        update(ItemErrorRow)
        .where(ItemErrorRow.link == link, ItemErrorRow.resource == resource,
               ItemErrorRow.key.in_(sorted({*keys, *(fitted(k, ERROR_KEY_LENGTH)
                                                     for k in keys)})),
               ItemErrorRow.resolved_at.is_(None))
        .values(resolved_at=now)
    )


def any_open(session: Session, link: str, resource: str) -> bool:
    """Whether anything of the resource waits to be resolved: else a pass need not look."""
    return session.scalar(select(ItemErrorRow.id).where(
        ItemErrorRow.link == link, ItemErrorRow.resource == resource,
        ItemErrorRow.resolved_at.is_(None)).limit(1)) is not None


def open_errors(session: Session, link: str) -> list[ItemErrorRow]:
    return list(
        session.scalars(
            select(ItemErrorRow)
            .where(ItemErrorRow.link == link, ItemErrorRow.resolved_at.is_(None))
            .order_by(ItemErrorRow.resource, ItemErrorRow.key)
        )
    )
