"""Durable jobs in the store: every write to the other side goes through one.

A job has a key unique per link, derived from stable ids, so a second enqueue of the same
work is a no-op. Workers claim jobs with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
a lease whose owner died expires and the job is claimed again. Failures are rescheduled with
backoff and dead-lettered after ``max_attempts`` with the error kept.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from connector.store.db import upsert
from connector.store.schema import JobRow


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    REJECTED = "rejected"
    """The other side refused for a reason the user must fix; revived by the next enqueue."""
    CANCELLED = "cancelled"
    DEAD = "dead"


REVIVABLE = (JobState.REJECTED, JobState.CANCELLED)
"""Job states a new enqueue of the same key starts afresh: the work is wanted again."""
EVERY_STATE = tuple(JobState)


@dataclass(frozen=True)
class JobSpec:
    kind: str
    key: str
    payload: dict[str, Any]


def worker_id() -> str:
    """Who holds a lease: host and process, so a stuck lease can be traced to its owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(session: Session, link: str, jobs: Sequence[JobSpec], now: datetime,
            revive: Sequence[JobState] = REVIVABLE) -> None:
    """Queue jobs in one statement. An existing key stays as it is, unless its job is in a
    ``revive`` state: then it is queued afresh with the new payload and no attempts."""
    if not jobs:
        return
    rows = [
        {
            "link": link, "kind": j.kind, "key": j.key, "payload": j.payload,
            "state": JobState.QUEUED.value, "attempts": 0, "run_after": now,
            "locked_by": None, "locked_until": None, "last_error": None,
            "created_at": now, "updated_at": now,
        }
        for j in jobs
    ]
    upsert(session, JobRow, rows, keys=("link", "key"),
           update=("payload", "state", "attempts", "run_after", "locked_by", "locked_until",
                   "last_error", "updated_at"),
           where=_state_in(revive))


def _state_in(states: Sequence[JobState]) -> ColumnElement[bool] | None:
    """``state IN (...)`` written out as literals: a batched insert cannot expand a list."""
    if set(states) == set(JobState):
        return None
    return or_(*(JobRow.state == literal_column(f"'{state.value}'") for state in states))


def claim(
    session: Session, link: str, now: datetime, lease: timedelta, limit: int,
    kinds: Iterable[str] | None = None,
) -> list[JobRow]:
    """Take up to ``limit`` due jobs of a link under a lease; expired leases are taken too."""
    due = or_(
        and_(JobRow.state == JobState.QUEUED.value, JobRow.run_after <= now),
        and_(JobRow.state == JobState.RUNNING.value, JobRow.locked_until < now),
    )
    query = select(JobRow.id).where(JobRow.link == link, due)
    if kinds is not None:
        query = query.where(JobRow.kind.in_(list(kinds)))
    ids = list(
        session.scalars(query.order_by(JobRow.id).limit(limit).with_for_update(skip_locked=True))
    )
    if not ids:
        return []
    session.execute(
        update(JobRow)
        .where(JobRow.id.in_(ids))
        .values(
            state=JobState.RUNNING.value,
            attempts=JobRow.attempts + 1,
            locked_by=worker_id(),
            locked_until=now + lease,
            updated_at=now,
        )
    )
    return list(session.scalars(select(JobRow).where(JobRow.id.in_(ids)).order_by(JobRow.id)))


def heartbeat(session: Session, job_id: int, now: datetime, lease: timedelta) -> bool:
    """Extend this worker's lease on a job; False when the lease was lost to a reaper."""
    result = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.locked_by == worker_id(),
               JobRow.state == JobState.RUNNING.value)
        .values(locked_until=now + lease, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish(session: Session, job_id: int, state: JobState, now: datetime,
           error: str | None = None) -> None:
    """End a running job; a job re-queued meanwhile (new work under its key) stays queued."""
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state == JobState.RUNNING.value)
        .values(state=state.value, locked_by=None, locked_until=None, last_error=error,
                updated_at=now)
    )


def backoff(attempts: int, base: timedelta, cap: timedelta = timedelta(hours=6)) -> timedelta:
    """Exponential backoff across sync passes: base, 2×base, 4×base… up to ``cap``."""
    return min(base * (2 ** max(attempts - 1, 0)), cap)


def retry_later(session: Session, job: JobRow, now: datetime, error: str,
                base: timedelta, max_attempts: int) -> JobState:
    """Reschedule a failed job, or dead-letter it once it has used all its attempts."""
    if job.attempts >= max_attempts:
        finish(session, job.id, JobState.DEAD, now, error)
        return JobState.DEAD
    session.execute(
        update(JobRow)
        .where(JobRow.id == job.id)
        .values(state=JobState.QUEUED.value, run_after=now + backoff(job.attempts, base),
                locked_by=None, locked_until=None, last_error=error, updated_at=now)
    )
    return JobState.QUEUED


def cancel(session: Session, link: str, keys: Sequence[str], now: datetime) -> None:
    """Cancel queued jobs (a claim stopped inside its grace window, R5)."""
    session.execute(
        update(JobRow)
        .where(JobRow.link == link, JobRow.key.in_(list(keys)),
               JobRow.state == JobState.QUEUED.value)
        .values(state=JobState.CANCELLED.value, updated_at=now)
    )


def due_counts(session: Session, link: str, now: datetime) -> dict[str, int]:
    """How many jobs of each kind are due now."""
    rows = session.execute(
        select(JobRow.kind, func.count())
        .where(JobRow.link == link, JobRow.state == JobState.QUEUED.value,
               JobRow.run_after <= now)
        .group_by(JobRow.kind))
    return {kind: count for kind, count in rows}


def retry(session: Session, links: Sequence[str], ids: Sequence[int] | None,
          now: datetime) -> list[int]:
    """Queue dead jobs again (all of the links', or those named); returns which were.

    Their attempt count stays above zero, so the next try asks the other side first whether
    the effect exists already (DESIGN rule 3): a dead job may have reached it.
    """
    query = (update(JobRow)
             .where(JobRow.link.in_(list(links)), JobRow.state == JobState.DEAD.value)
             .values(state=JobState.QUEUED.value, attempts=1, run_after=now,
                     updated_at=now)
             .returning(JobRow.id))
    if ids is not None:
        query = query.where(JobRow.id.in_(list(ids)))
    return sorted(session.scalars(query))


def dead(session: Session, link: str) -> list[JobRow]:
    return list(session.scalars(select(JobRow).where(
        JobRow.link == link, JobRow.state == JobState.DEAD.value).order_by(JobRow.id)))
