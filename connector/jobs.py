"""Durable jobs in the store: every write to the other side goes through one.

A job has a key unique per link, derived from stable ids, so a second enqueue of the same
work is a no-op. Workers claim a batch of jobs under one lease in one statement
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and end a batch in one statement; every write that
ends or extends a lease names its holder, so a worker that lost a lease (it ran out and
another worker took the job) changes nothing. A lease whose owner died runs out: the next
claim takes its jobs over and the reaper queues them again. Failures are rescheduled with
backoff and dead-lettered after ``max_attempts`` with the error kept.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
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


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job as its handler sees it: what to do and how often it was tried."""

    id: int
    link: str
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    """Claims so far, this one included: above 1, the effect may exist already."""


JOB_COLUMNS = (JobRow.id, JobRow.link, JobRow.kind, JobRow.key, JobRow.payload, JobRow.attempts)


def item_of(kind: str, key: str, payload: dict[str, Any]) -> str:
    """A job's item as its users know it, for failures and logs: the invoice number or the
    claim id (``connector cases``), never the ERP's internal id inside the key."""
    request = payload.get("request")
    if isinstance(request, dict) and request.get("invoice_no"):
        return f"invoice {request['invoice_no']}"  # a transfer carries the whole case
    for field, name in (("invoice_no", "invoice"), ("claim_id", "claim"),
                        ("payout_id", "payout")):
        if payload.get(field) is not None:
            return f"{name} {payload[field]}"
    return f"{kind} {key}"


def worker_id() -> str:
    """Who holds a lease: host and process, so a stuck lease can be traced to its owner."""
    return f"{this_host()}:{os.getpid()}"


@functools.cache
def this_host() -> str:
    """The host part of ``worker_id``: the host name, and a mark of this boot and this
    process-id namespace. Only a holder with the very same host part is judged by its
    process id (``daemon._gone``): two containers or cloned machines sharing a host name
    count their process ids apart, and a live holder there must never look dead here."""
    seen = []
    for source in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            seen.append(os.readlink(source) if source.endswith("pid")
                        else Path(source).read_text().strip())
        except OSError:
            seen.append("")
    mark = hashlib.sha256("|".join(seen).encode()).hexdigest()[:8]
    return f"{socket.gethostname()[:50]}~{mark}"


def new_holder() -> str:
    """A lease holder for one claim: this process plus a token of its own, so that a job
    taken over by another worker (or by this process's next claim) is never finished by the
    claim that lost it."""
    return f"{worker_id()}:{secrets.token_hex(6)}"


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
    kinds: Iterable[str] | None = None, holder: str | None = None,
) -> list[Job]:
    """Take up to ``limit`` due jobs of a link under one lease, in one statement; a lease
    that expired (its holder died) is taken over. Returns the jobs in id order.

    ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``: workers beside
    each other skip the rows another is taking, and each claim is one round trip however
    many jobs it takes. Every claim counts an attempt, so a job taken again after a crash
    knows that its effect may exist already."""
    due = or_(
        and_(JobRow.state == JobState.QUEUED.value, JobRow.run_after <= now),
        and_(JobRow.state == JobState.RUNNING.value, JobRow.locked_until < now),
    )
    query = select(JobRow.id).where(JobRow.link == link, _active(), due)
    if kinds is not None:
        query = query.where(JobRow.kind.in_(list(kinds)))
    taken = (query.order_by(JobRow.id).limit(limit).with_for_update(skip_locked=True)
             .scalar_subquery())
    # PostgreSQL plans ``id IN (subquery)`` as a join over the whole table; ``= ANY(ARRAY(
    # subquery))`` takes the few ids first and then looks each up by key.
    chosen = (JobRow.id == any_(func.array(taken))
              if session.get_bind().dialect.name == "postgresql" else JobRow.id.in_(taken))
    rows = session.execute(
        update(JobRow)
        .where(chosen)
        .values(state=JobState.RUNNING.value, attempts=JobRow.attempts + 1,
                locked_by=holder or new_holder(), locked_until=now + lease, updated_at=now)
        .returning(*JOB_COLUMNS),
        execution_options={"synchronize_session": False})
    return sorted((Job(*row) for row in rows), key=lambda job: job.id)


_IN_INDEX = text("jobs.unfinished")
"""The partial index's own predicate, word for word: a planner (SQLite's above all) uses the
index of unfinished jobs (``ix_jobs_unfinished``) only for a query that states it."""


def _active() -> ColumnElement[bool]:
    """Queued or running, among the rows of the index of unfinished jobs."""
    return and_(_IN_INDEX, JobRow.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]))


def unfinished() -> ColumnElement[bool]:
    """Queued, running or dead: exactly the rows of the index of unfinished jobs."""
    return _IN_INDEX  # type: ignore[return-value]


def _held(session: Session, ids: Iterable[int], holder: str) -> ColumnElement[bool]:
    return and_(_one_of(session, ids), JobRow.locked_by == holder,
                JobRow.state == JobState.RUNNING.value)


def _one_of(session: Session, ids: Iterable[int]) -> ColumnElement[bool]:
    """``id`` among ``ids``; on PostgreSQL as one array parameter (``= ANY(:ids)``), so a
    batch of a thousand jobs is one short statement the driver parses once, not a thousand
    parameters in a text of its own each time."""
    if session.get_bind().dialect.name == "postgresql":
        return JobRow.id == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    return JobRow.id.in_(list(ids))


def renew(session: Session, ids: Sequence[int], holder: str, now: datetime,
          lease: timedelta) -> set[int]:
    """Extend ``holder``'s lease on these jobs in one statement; returns those it still
    held (the others were taken over after their lease ran out)."""
    if not ids:
        return set()
    return set(session.scalars(
        update(JobRow).where(_held(session, ids, holder))
        .values(locked_until=now + lease, updated_at=now).returning(JobRow.id),
        execution_options={"synchronize_session": False}))


def complete(session: Session, ends: Sequence[tuple[int, JobState, str | None]],
             holder: str, now: datetime) -> set[int]:
    """End jobs still under ``holder``'s lease: one statement per distinct end (usually
    one for a whole batch). A job taken over or queued afresh meanwhile (new work under its
    key) is left as it is. Returns the ids ended."""
    groups: dict[tuple[JobState, str | None], list[int]] = {}
    for job_id, state, error in ends:
        groups.setdefault((state, error), []).append(job_id)
    ended: set[int] = set()
    for (state, error), ids in groups.items():
        ended.update(session.scalars(
            update(JobRow).where(_held(session, ids, holder))
            .values(state=state.value, locked_by=None, locked_until=None, last_error=error,
                    updated_at=now).returning(JobRow.id),
            execution_options={"synchronize_session": False}))
    return ended


def hand_back(session: Session, ids: Sequence[int], holder: str, now: datetime) -> int:
    """Return jobs claimed but never tried (the process is stopping) to the queue, due now,
    as if never claimed: their claim's attempt is taken back. Returns how many."""
    if not ids:
        return 0
    result = session.execute(
        update(JobRow).where(_held(session, ids, holder))
        .values(state=JobState.QUEUED.value, attempts=JobRow.attempts - 1, run_after=now,
                locked_by=None, locked_until=None, updated_at=now),
        execution_options={"synchronize_session": False})
    return int(result.rowcount)  # type: ignore[attr-defined]


def finish(session: Session, job_id: int, state: JobState, now: datetime,
           error: str | None = None) -> None:
    """End a running job; a job re-queued meanwhile (new work under its key) stays queued."""
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state == JobState.RUNNING.value)
        .values(state=state.value, locked_by=None, locked_until=None, last_error=error,
                updated_at=now)
    )


def reap(session: Session, now: datetime) -> int:
    """Return the jobs of every lease that ran out (its process died or hung) to the queue,
    on all links; returns how many. Their attempt count stays, so each next try asks the
    other side first whether the effect exists already. Claims take such jobs over anyway;
    the reaper makes them visible as queued and due again where no pass is running."""
    result = session.execute(
        update(JobRow)
        .where(_active(), JobRow.state == JobState.RUNNING.value, JobRow.locked_until < now)
        .values(state=JobState.QUEUED.value, locked_by=None, locked_until=None,
                run_after=now, updated_at=now),
        execution_options={"synchronize_session": False})
    return int(result.rowcount)  # type: ignore[attr-defined]


def backoff(attempts: int, base: timedelta, cap: timedelta = timedelta(hours=6)) -> timedelta:
    """Exponential backoff across sync passes: base, 2×base, 4×base… up to ``cap``."""
    return min(base * (2 ** max(attempts - 1, 0)), cap)


def retry_later(session: Session, job: Job, holder: str, now: datetime, error: str,
                base: timedelta, max_attempts: int) -> JobState | None:
    """Reschedule a failed job, or dead-letter it once it has used all its attempts; None
    when ``holder`` lost the job's lease meanwhile (whoever holds it now decides)."""
    if job.attempts >= max_attempts:
        ended = complete(session, [(job.id, JobState.DEAD, error)], holder, now)
        return JobState.DEAD if ended else None
    result = session.execute(
        update(JobRow)
        .where(_held(session, [job.id], holder))
        .values(state=JobState.QUEUED.value, run_after=now + backoff(job.attempts, base),
                locked_by=None, locked_until=None, last_error=error, updated_at=now),
        execution_options={"synchronize_session": False})
    return JobState.QUEUED if result.rowcount else None  # type: ignore[attr-defined]


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
        .where(JobRow.link == link, unfinished(), JobRow.state == JobState.QUEUED.value,
               JobRow.run_after <= now)
        .group_by(JobRow.kind))
    return {kind: count for kind, count in rows}


def retry(session: Session, links: Sequence[str], ids: Sequence[int] | None,
          now: datetime) -> list[int]:
    """Queue dead jobs again (all of the links', or those named); returns which were.

    Their attempt count stays above zero, so the next try asks the other side first whether
    the effect exists already (docs/guarantees.md): a dead job may have reached it.
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
        JobRow.link == link, unfinished(), JobRow.state == JobState.DEAD.value
    ).order_by(JobRow.id)))
