"""The claim lifecycle: the one module that writes claims, their history and their events.

Every other module asks this one to create or move a claim, to change a fact of it (balance,
obstacles, the agency's status...) or to add a history line; none writes a claim row itself
(``tests/test_claim_owner.py`` fails if one does). A move is allowed only if ``MOVES`` lists
it; the move, its history line and its outbox event are written in the caller's transaction,
so they commit or roll back together. Plugins hear of moves through
``connector.events`` after the commit, in commit order.

How to use it, with ``ctx`` a ``LinkContext``::

    claims = ctx.claims                       # a Lifecycle for ctx's link and plugins
    with ctx.tx() as session:
        # new claims (or dropped ones entered again), in one statement per page
        rows = claims.enter(session, [NewClaim(..., state=ClaimState.DRAFT,
                                               text="Entered Draft; R1a ...")], now)
        # a move: the rows go to APPROVED, each with one history line
        moved = claims.move(session, rows, ClaimState.APPROVED, now,
                            "Approved by the user ...", source="user")
        # facts that do not change the state; lines that are not a move
        claims.update(session, [{"id": rows[0].id, "balance": Decimal("10.00")}], now)
        claims.record(session, [HistoryLine(rows[0].id, now, "connector", "note", "...")])
    # committed: plugins now get one ``ClaimMoved`` (or subclass) per moved claim

A move the table does not allow from the state the caller read raises ``IllegalMove``: a bug.
A claim that another transaction moved meanwhile (a user's cancel racing the transfer) is
left as it is and is missing from what ``move`` returns: the caller says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, insert, literal_column, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from connector import events
from connector.domain import ClaimState
from connector.store.db import upsert
from connector.store.schema import ClaimEventRow, ClaimOutboxRow, ClaimRow

EVENTS = cast(Table, ClaimEventRow.__table__)
"""The history table: lines go in by Core's executemany (``Lifecycle._history``)."""

S = ClaimState

MOVES: dict[tuple[ClaimState | None, ClaimState], str] = {
    (None, S.DRAFT): "a ready invoice enters Draft (R1)",
    (None, S.APPROVED): "a ready invoice enters Approved: automatic transfer (R2)",
    (None, S.OPEN): "a case the agency has is adopted after the store was lost",
    (None, S.ARCHIVED): "a case the agency closed is adopted after the store was lost",
    (S.DROPPED, S.DRAFT): "a dropped invoice is ready again",
    (S.DROPPED, S.APPROVED): "a dropped invoice is ready again, with automatic transfer (R2)",
    (S.DRAFT, S.APPROVED): "the user approves it (R3)",
    (S.DRAFT, S.HELD): "the user holds it back (R4)",
    (S.HELD, S.DRAFT): "the user restores it (R4)",
    (S.APPROVED, S.DRAFT): "the user cancels it inside the grace window (R5)",
    (S.APPROVED, S.TRANSFERRING): "the grace window passed and nothing blocks it (R5, R7)",
    (S.TRANSFERRING, S.OPEN): "the agency accepted the case",
    (S.TRANSFERRING, S.APPROVED): "the agency rejected it; fixed data goes again (R7)",
    (S.TRANSFERRING, S.TRANSFER_FAILED): "a try failed: retried, or dead until retried",
    (S.TRANSFERRING, S.DROPPED): "paid, credited or deleted before it reached the agency",
    (S.TRANSFER_FAILED, S.TRANSFERRING): "the transfer is tried again",
    (S.TRANSFER_FAILED, S.OPEN): "the agency reports the case after all",
    (S.DRAFT, S.OPEN): "the agency has the case: the store lost its transfer (an older copy)",
    (S.HELD, S.OPEN): "the agency has the case: the store lost its transfer (an older copy)",
    (S.APPROVED, S.OPEN): "the agency has the case: the store lost its transfer (an older copy)",
    (S.DROPPED, S.OPEN): "the agency has the case: the store lost its transfer (an older copy)",
    (S.DRAFT, S.DROPPED): "paid, credited, deleted or excluded in the ERP (R11)",
    (S.APPROVED, S.DROPPED): "paid, credited, deleted or excluded in the ERP (R11)",
    (S.HELD, S.DROPPED): "deleted, paid or credited in the ERP",
    (S.OPEN, S.ARCHIVED): "the agency closed the case (R9)",
}
"""Every move a claim can make, and why it makes it. Nothing else moves a claim."""

OWNED = frozenset({"id", "link", "invoice_id", "state", "list_name", "entered_at",
                   "approved_at", "transfer_started_at", "updated_at"})
"""Columns only a move sets: ``update`` refuses them, and so does ``move``'s ``values``."""
LOCK_CHUNK = 500
"""Claims locked per statement: an "approve all" of a large company stays within the
database's limit on bound parameters."""


class IllegalMove(Exception):
    """A move ``MOVES`` does not list: a bug in the caller, never a user's mistake."""


@dataclass(frozen=True)
class HistoryLine:
    """One line of a claim's history that is not a move (a move writes its own)."""

    claim_id: int
    at: datetime
    source: str
    kind: str
    text: str
    external_id: str | None = None
    """The other side's id of the line: a second line with the same id is not added."""


@dataclass(frozen=True)
class NewClaim:
    """A claim to create in ``state`` (a state ``MOVES`` lets a claim enter), with its line."""

    invoice_id: str
    invoice_no: str
    customer_id: str
    customer_no: str
    amount: Decimal
    balance: Decimal
    currency: str
    due_date: date
    state: ClaimState
    text: str
    """The first line of its history: why it entered ``state``."""
    status: str = ""
    obstacles: Sequence[Mapping[str, Any]] = ()
    source: str = "connector"
    agency: Mapping[str, Any] = field(default_factory=dict)
    """For a claim adopted in Open or Archived: ``agency_case_id``, ``transferred_at``,
    ``balance_at_agency``, ``remaining_principal``, ``outcome``, ``closed_at``, ``paused``."""


def _state_columns(old: ClaimState | None, new: ClaimState, now: datetime,
                   started: datetime | None) -> dict[str, Any]:
    """What a move into ``new`` sets besides the state: the times the rules read."""
    values: dict[str, Any] = {"state": new.value, "list_name": new.list.value,
                              "updated_at": now}
    if new is S.APPROVED and old in (None, S.DRAFT, S.DROPPED):
        values["approved_at"] = now  # the grace window starts (R5)
    if new in (S.DRAFT, S.HELD, S.DROPPED) and old is not None:
        values["approved_at"] = None
    if new is S.TRANSFERRING:
        values["transfer_started_at"] = started or now  # the first try's moment is kept
    if new in (S.APPROVED, S.DRAFT, S.DROPPED):
        values["transfer_started_at"] = None
    return values

def obstacle_lines(claim_id: int, now: datetime, old: Sequence[Mapping[str, Any]],
                   new: Sequence[Mapping[str, Any]], shown: str = "") -> list[HistoryLine]:
    """A line for each obstacle (R7) that appeared and each that cleared, told apart by what
    it is and the field it names; ``shown``: a move's own line, which names one already."""
    def key(o: Mapping[str, Any]) -> tuple[Any, Any]:
        return o.get("code"), o.get("field")

    was, now_is = {key(o) for o in old}, {key(o) for o in new}
    return [
        *(HistoryLine(claim_id, now, "connector", "obstacle", f"Obstacle: {o['message']}")
          for o in new if key(o) not in was and o["message"] != shown),
        *(HistoryLine(claim_id, now, "connector", "obstacle_cleared",
                      f"Obstacle cleared: {o['message']}")
          for o in old if key(o) not in now_is)]



class Lifecycle:
    """The writes of one link's claims. ``pm`` hears of moves after each commit."""

    def __init__(self, link: str, pm: Any = None) -> None:
        self.link = link
        self.pm = pm
        self.entered: set[ClaimState] = set()
        """The states claims were created in or moved to through this object: a pass whose
        start saw no approved claim schedules transfers only if it approved one itself."""

    @property
    def listening(self) -> bool:
        """Whether a plugin listens: without one no outbox row is written."""
        return events.listening(self.pm)

    # ------------------------------------------------------------------ creating

    def enter(self, session: Session, claims: Sequence[NewClaim],
              now: datetime) -> list[ClaimRow]:
        """Create claims, or enter dropped ones again, in one statement; a claim in any other
        state is left as it is (a user moved it meanwhile). Returns those written."""
        for claim in claims:
            if (None, claim.state) not in MOVES:
                raise IllegalMove(f"a claim cannot start in {claim.state.value}")
        if not claims:
            return []
        ids = [c.invoice_id for c in claims]
        before: dict[str, ClaimState] = {}
        if self.listening:
            before = {i: S(s) for i, s in session.execute(select(
                ClaimRow.invoice_id, ClaimRow.state).where(
                ClaimRow.link == self.link, ClaimRow.invoice_id.in_(ids)))}
        self.entered.update(c.state for c in claims)
        rows = [self._new_row(c, now) for c in claims]
        upsert(session, ClaimRow, rows, keys=("link", "invoice_id"),
               update=[k for k in rows[0] if k not in ("link", "invoice_id")],
               where=ClaimRow.state == literal_column(f"'{S.DROPPED.value}'"))
        written = list(session.scalars(select(ClaimRow).where(
            ClaimRow.link == self.link, ClaimRow.invoice_id.in_(ids),
            ClaimRow.entered_at == now).order_by(ClaimRow.id)))
        by_invoice = {c.invoice_id: c for c in claims}
        self._history(session, [line for row in written for line in (
            HistoryLine(row.id, now, by_invoice[row.invoice_id].source, f"moved:{row.list_name}",
                        by_invoice[row.invoice_id].text),
            *obstacle_lines(row.id, now, [], by_invoice[row.invoice_id].obstacles))])
        self._outbox(session, [(row, before.get(row.invoice_id), by_invoice[row.invoice_id].text,
                                by_invoice[row.invoice_id].source) for row in written], now)
        return written

    def _new_row(self, claim: NewClaim, now: datetime) -> dict[str, Any]:
        agency = {"agency_case_id": None, "transferred_at": None, "balance_at_agency": None,
                  "remaining_principal": None, "outcome": None, "closed_at": None,
                  "paused": False, **claim.agency}
        return {
            "link": self.link, "invoice_id": claim.invoice_id, "invoice_no": claim.invoice_no,
            "customer_id": claim.customer_id, "customer_no": claim.customer_no,
            "amount": claim.amount, "balance": claim.balance,
            "currency": claim.currency, "due_date": claim.due_date, "status": claim.status,
            "obstacles": [dict(o) for o in claim.obstacles], "entered_at": now,
            **_state_columns(None, claim.state, now, None),
            "approved_at": now if claim.state is S.APPROVED else None,
            "transfer_started_at": None, **agency,
        }

    # ------------------------------------------------------------------ moving

    def move(self, session: Session, rows: Sequence[ClaimRow], new: ClaimState,
             now: datetime, text: str, *, source: str = "connector", status: str | None = None,
             values: Mapping[str, Any] | None = None) -> list[ClaimRow]:
        """Move ``rows`` to ``new``, each with the history line ``text``; returns those moved."""
        extra = dict(values or {})
        if status is not None:
            extra["status"] = status
        return self.move_each(session, [(row, text, extra) for row in rows], new, now,
                              source=source)

    def move_each(self, session: Session,
                  moves: Sequence[tuple[ClaimRow, str, Mapping[str, Any]]],
                  new: ClaimState, now: datetime, *,
                  source: str = "connector") -> list[ClaimRow]:
        """Move claims to ``new``, each with its own history text and column values, in one
        batched UPDATE and one INSERT of history lines; returns those moved."""
        if not moves:
            return []
        for row, _, values in moves:
            if (S(row.state), new) not in MOVES:
                raise IllegalMove(f"claim {row.id}: no move from {row.state} to {new.value}")
            if OWNED & set(values):
                raise IllegalMove(f"only a move sets {sorted(OWNED & set(values))}")
        # Lock and re-read the state: a claim another transaction moved is not moved again.
        ids = [row.id for row, _, _ in moves]
        before: dict[int, list[dict[str, Any]]] = {}
        current: dict[int, tuple[ClaimState, datetime | None]] = {}
        for start in range(0, len(ids), LOCK_CHUNK):
            for i, s, t, o in session.execute(
                    select(ClaimRow.id, ClaimRow.state, ClaimRow.transfer_started_at,
                           ClaimRow.obstacles)
                    .where(ClaimRow.id.in_(ids[start:start + LOCK_CHUNK])).with_for_update()):
                current[i] = (S(s), t)
                before[i] = list(o or [])
        chosen = [(row, text, values) for row, text, values in moves
                  if row.id in current and (current[row.id][0], new) in MOVES]
        if not chosen:
            return []
        old = {row.id: current[row.id][0] for row, _, _ in chosen}
        self.entered.add(new)
        changes = [{"id": row.id, **values,
                    **_state_columns(old[row.id], new, now, current[row.id][1])}
                   for row, _, values in chosen]
        session.execute(update(ClaimRow), changes)
        for (row, _, _), change in zip(chosen, changes, strict=True):
            for attr, value in change.items():
                set_committed_value(row, attr, value)
        self._history(session, [line for row, text, values in chosen for line in (
            HistoryLine(row.id, now, source, f"moved:{new.value}", text),
            *(obstacle_lines(row.id, now, before[row.id], values["obstacles"], shown=text)
              if "obstacles" in values else ()))])
        self._outbox(session, [(row, old[row.id], text, source) for row, text, _ in chosen],
                     now)
        return [row for row, _, _ in chosen]

    # ------------------------------------------------------------------ facts and lines

    def update(self, session: Session, changes: Sequence[Mapping[str, Any]],
               now: datetime) -> None:
        """Change facts of claims that are not their state (balance, obstacles, status, the
        agency's figures, write-offs), one dict with ``id`` per claim, in one statement."""
        if not changes:
            return
        for change in changes:
            if "id" not in change or OWNED & (set(change) - {"id"}):
                raise IllegalMove(f"an update names its claim by id and leaves {sorted(OWNED)}"
                                  " to moves")
        blocking = [c for c in changes if "obstacles" in c]
        before: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(blocking), LOCK_CHUNK):
            before.update({i: list(o or []) for i, o in session.execute(select(
                ClaimRow.id, ClaimRow.obstacles).where(ClaimRow.id.in_(
                    [c["id"] for c in blocking[start:start + LOCK_CHUNK]])))})
        session.execute(update(ClaimRow), [{**c, "updated_at": now} for c in changes])
        self._history(session, [line for c in blocking for line in obstacle_lines(
            c["id"], now, before.get(c["id"], []), c["obstacles"])])

    def record(self, session: Session, lines: Iterable[HistoryLine]) -> None:
        """Add history lines; one whose ``external_id`` the claim has already is skipped."""
        chosen = list(lines)
        external = [line for line in chosen if line.external_id is not None]
        if external:
            upsert(session, ClaimEventRow, [self._line(line) for line in external],
                   keys=("claim_id", "external_id"))
        self._history(session, [line for line in chosen if line.external_id is None])

    def forget(self, session: Session) -> None:
        """Delete every claim of the link, with its history and undelivered events."""
        for table in (ClaimOutboxRow, ClaimEventRow, ClaimRow):
            session.execute(delete(table).where(table.link == self.link))

    # ------------------------------------------------------------------ internals

    def _line(self, line: HistoryLine) -> dict[str, Any]:
        return {"claim_id": line.claim_id, "link": self.link, "at": line.at,
                "source": line.source, "kind": line.kind, "text": line.text,
                "external_id": line.external_id}

    def _history(self, session: Session, lines: Sequence[HistoryLine]) -> None:
        """Core's executemany on the table: the ORM's bulk INSERT path checked every row's
        keys against the mapper, a tenth of a millisecond per line."""
        if lines:
            session.execute(insert(EVENTS), [self._line(line) for line in lines])

    def _outbox(self, session: Session,
                moved: Sequence[tuple[ClaimRow, ClaimState | None, str, str]],
                now: datetime) -> None:
        if not moved or not self.listening:
            return
        session.execute(insert(ClaimOutboxRow), [
            {"link": self.link, "claim_id": row.id, "created_at": now,
             "payload": events.payload(row, old, text, source, now)}
            for row, old, text, source in moved])
        events.mark_written(session)


__all__ = ["MOVES", "HistoryLine", "IllegalMove", "Lifecycle", "NewClaim", "obstacle_lines"]
