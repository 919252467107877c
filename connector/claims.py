"""Claims and their history: moving between lists, recording why, telling plugins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pluggy
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from connector.domain import ClaimList
from connector.store.schema import ClaimEventRow, ClaimRow


@dataclass(frozen=True)
class Event:
    """One line of a claim's history."""

    claim_id: int
    at: datetime
    source: str
    kind: str
    text: str
    external_id: str | None = None


def record(session: Session, link: str, events: Sequence[Event]) -> None:
    """Append history lines in one statement."""
    if not events:
        return
    session.execute(
        insert(ClaimEventRow),
        [
            {"claim_id": e.claim_id, "link": link, "at": e.at, "source": e.source,
             "kind": e.kind, "text": e.text, "external_id": e.external_id}
            for e in events
        ],
    )


def view(row: ClaimRow) -> dict[str, Any]:
    """The JSON shape of a claim, for ``--json``, hooks and the CLI tables."""
    return {
        "id": row.id,
        "link": row.link,
        "invoice_id": row.invoice_id,
        "invoice_no": row.invoice_no,
        "customer_no": row.customer_no,
        "list": row.list_name,
        "status": row.status,
        "amount": str(row.amount),
        "balance": str(row.balance),
        "currency": row.currency,
        "due_date": row.due_date.isoformat(),
        "obstacles": list(row.obstacles or []),
        "entered_at": row.entered_at.isoformat(),
        "approved_at": row.approved_at.isoformat() if row.approved_at else None,
        "transferred_at": row.transferred_at.isoformat() if row.transferred_at else None,
        "agency_case_id": row.agency_case_id,
    }


def history(session: Session, claim_id: int) -> list[ClaimEventRow]:
    return list(
        session.scalars(
            select(ClaimEventRow)
            .where(ClaimEventRow.claim_id == claim_id)
            .order_by(ClaimEventRow.at, ClaimEventRow.id)
        )
    )


class Mover:
    """Moves claims between lists with one history line each, and tells the plugins."""

    def __init__(self, link: str, pm: pluggy.PluginManager | None) -> None:
        self.link = link
        self.pm = pm

    def _notify(self, rows: Iterable[ClaimRow], old: Mapping[int, str | None]) -> None:
        if self.pm is None or not self.pm.hook.connector_claim_moved.get_hookimpls():
            return
        for row in rows:
            self.pm.hook.connector_claim_moved(
                link=self.link, claim=view(row), old=old.get(row.id), new=row.list_name
            )

    def move(
        self,
        session: Session,
        rows: Sequence[ClaimRow],
        new: ClaimList,
        now: datetime,
        text: str,
        *,
        source: str = "connector",
        status: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        """Put ``rows`` in list ``new`` and say why in their history."""
        if not rows:
            return
        old = {row.id: row.list_name for row in rows}
        changes = {"list_name": new.value, "updated_at": now, **(values or {})}
        if status is not None:
            changes["status"] = status
        session.execute(
            update(ClaimRow).where(ClaimRow.id.in_([r.id for r in rows])).values(**changes)
            .execution_options(synchronize_session=False)  # the rows are updated just below
        )
        for row in rows:
            for attr, value in changes.items():
                set_committed_value(row, attr, value)
        record(session, self.link, [Event(r.id, now, source, f"moved:{new.value}", text)
                                    for r in rows])
        self._notify(rows, old)

    def move_each(
        self,
        session: Session,
        moves: Sequence[tuple[ClaimRow, str, dict[str, Any]]],
        new: ClaimList,
        now: datetime,
        *,
        source: str = "connector",
    ) -> None:
        """Put claims in list ``new``, each with its own history text and column values, in
        one batched UPDATE and one INSERT of history lines."""
        if not moves:
            return
        old = {row.id: row.list_name for row, _, _ in moves}
        changes = [{"id": row.id, "list_name": new.value, "updated_at": now, **values}
                   for row, _, values in moves]
        session.execute(update(ClaimRow), changes)
        for (row, _, _), change in zip(moves, changes, strict=True):
            for attr, value in change.items():
                set_committed_value(row, attr, value)
        record(session, self.link, [Event(row.id, now, source, f"moved:{new.value}", text)
                                    for row, text, _ in moves])
        self._notify([row for row, _, _ in moves], old)

    def entered(self, rows: Sequence[ClaimRow], old: Mapping[int, str | None]) -> None:
        """Tell plugins about claims that were inserted or re-entered in bulk."""
        self._notify(rows, old)
