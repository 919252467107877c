"""Typed claim events, told to plugins only after the transaction that made them committed.

``connector.lifecycle`` writes one outbox row per move in the move's own transaction (only
while some plugin implements ``connector_claim_event``). Once that transaction commits,
``deliver`` hands the link's outbox rows to every such plugin in id order, which is commit
order within a process, and deletes them. So a move that rolls back (a failure, a dry run)
tells nobody, and a plugin that raises never undoes a move: its error is reported and the
other plugins and events go on. A process that dies between the commit and the delivery
leaves the rows behind; the next pass delivers them first. A plugin may thus, rarely, see an
event twice: ``event.id`` tells it so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import pluggy
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.claims import view
from connector.domain import ClaimList, ClaimState
from connector.store.schema import ClaimOutboxRow

if TYPE_CHECKING:
    from connector.store.db import Store
    from connector.store.schema import ClaimRow

PAGE = 500
_WRITTEN = "connector.events.written"


@dataclass(frozen=True)
class ClaimMoved:
    """A claim changed state (``old`` is None when it was just created)."""

    name: ClassVar[str] = "claim_moved"
    id: int
    """Increasing in commit order per link; a repeat delivery has the same id."""
    link: str
    claim_id: int
    old: ClaimState | None
    new: ClaimState
    at: datetime
    source: str
    """Who moved it: ``connector``, ``user``, ``agency`` or ``erp``."""
    reason: str
    """The history line of the move."""
    claim: Mapping[str, Any]
    """The claim right after the move, as ``connector case ID --json`` shows it (without
    its history)."""

    @property
    def old_list(self) -> ClaimList | None:
        return self.old.list if self.old is not None else None

    @property
    def new_list(self) -> ClaimList:
        return self.new.list


@dataclass(frozen=True)
class ClaimEntered(ClaimMoved):
    """A claim entered a list for the first time, or again after it was dropped."""

    name: ClassVar[str] = "claim_entered"


@dataclass(frozen=True)
class TransferFailed(ClaimMoved):
    """A try to send the claim failed; ``claim["status"]`` says whether it is retried or
    dead, and the command that retries it."""

    name: ClassVar[str] = "transfer_failed"


@dataclass(frozen=True)
class CaseTransferred(ClaimMoved):
    """The agency has the claim as case ``claim["agency_case_id"]``; it is in Open."""

    name: ClassVar[str] = "case_transferred"


@dataclass(frozen=True)
class CaseClosed(ClaimMoved):
    """The agency closed the case; ``claim["outcome"]`` says how (R9)."""

    name: ClassVar[str] = "case_closed"


EVENT_TYPES: dict[str, type[ClaimMoved]] = {
    t.name: t for t in (ClaimMoved, ClaimEntered, TransferFailed, CaseTransferred, CaseClosed)}


def event_type(old: ClaimState | None, new: ClaimState) -> type[ClaimMoved]:
    """The most telling type of a move."""
    if old in (None, ClaimState.DROPPED):
        return ClaimEntered
    if new is ClaimState.TRANSFER_FAILED:
        return TransferFailed
    if new is ClaimState.OPEN:
        return CaseTransferred
    if new is ClaimState.ARCHIVED:
        return CaseClosed
    return ClaimMoved


def listening(pm: pluggy.PluginManager | None) -> bool:
    return pm is not None and bool(pm.hook.connector_claim_event.get_hookimpls())


def payload(row: ClaimRow, old: ClaimState | None, reason: str, source: str,
            at: datetime) -> dict[str, Any]:
    """An outbox row's content: the event without its id and link."""
    new = ClaimState(row.state)
    return {"type": event_type(old, new).name, "old": old.value if old else None,
            "new": new.value, "at": at.isoformat(), "source": source, "reason": reason,
            "claim": view(row)}


def mark_written(session: Session) -> None:
    """Note that this transaction wrote outbox rows: deliver them once it commits."""
    session.info[_WRITTEN] = True


def written(session: Session) -> bool:
    return bool(session.info.get(_WRITTEN))


def _event(row: ClaimOutboxRow) -> ClaimMoved:
    data = row.payload
    return EVENT_TYPES[data["type"]](
        id=row.id, link=row.link, claim_id=row.claim_id,
        old=ClaimState(data["old"]) if data["old"] else None, new=ClaimState(data["new"]),
        at=datetime.fromisoformat(data["at"]), source=data["source"], reason=data["reason"],
        claim=data["claim"])


OnError = Callable[[str, ClaimMoved, Exception], None]


def deliver(store: Store, link: str, pm: pluggy.PluginManager | None,
            on_error: OnError) -> int:
    """Tell every listening plugin the link's committed events, oldest first; returns how
    many events were delivered. ``on_error(plugin, event, exc)`` hears of a plugin that
    raised; the event still counts as delivered to it."""
    if not listening(pm):
        return 0
    assert pm is not None
    impls = pm.hook.connector_claim_event.get_hookimpls()
    delivered = 0
    while True:
        with store.session() as session:
            rows = list(session.scalars(
                select(ClaimOutboxRow).where(ClaimOutboxRow.link == link)
                .order_by(ClaimOutboxRow.id).limit(PAGE).with_for_update(skip_locked=True)))
            if not rows:
                return delivered
            for row in rows:
                event = _event(row)
                for impl in reversed(impls):  # registration order, as pluggy would call them
                    try:
                        impl.function(event=event)
                    except Exception as exc:  # one plugin's failure must not stop the others
                        on_error(impl.plugin_name, event, exc)
            session.execute(delete(ClaimOutboxRow).where(
                ClaimOutboxRow.id.in_([row.id for row in rows])))
        delivered += len(rows)


__all__ = ["EVENT_TYPES", "CaseClosed", "CaseTransferred", "ClaimEntered", "ClaimMoved",
           "TransferFailed", "deliver", "event_type"]
