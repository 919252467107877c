"""Sync runs: every pass of a link is recorded, so an operator sees what ran, when, how it
ended and what failed (``connector runs``, ``connector status``, ``/metrics``).

A run is written when its pass starts (``running``) and again when it ends: ``ok``,
``failed`` (items failed; the pass went on), ``interrupted`` (the process was told to stop
and handed its work back) or ``crashed`` (an unexpected error ended the pass). A process
killed outright leaves its run ``running``; ``status`` shows it beside the lease that ran
out. Runs older than the configured age are pruned. Times are wall-clock: they say when
the operator's machine did the work, whatever time a simulated world is at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update

from connector import jobs
from connector.report import SyncReport
from connector.secrets import scrub
from connector.store.db import Store
from connector.store.schema import ItemErrorRow, JobRow, LeaseRow, SyncRunRow

KEPT_FAILURES = 20
"""Failures kept with a run; ``connector errors`` and ``connector jobs`` have them all."""


class Outcome(StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"


_RUNS: Table = SyncRunRow.__table__  # type: ignore[assignment]
_START = insert(_RUNS).returning(_RUNS.c.id)
_FINISH = update(_RUNS).where(_RUNS.c.id == bindparam("run_id"))
"""Built once, sent in Core: a pass records its run in two statements that cost next to
no Python, each committing on its own."""


def start(store: Store, link: str, holder: str, now: datetime) -> int:
    """Record a pass as running."""
    with store.statement() as session:
        return int(session.connection().execute(_START, {
            "link": link, "holder": holder, "started_at": now, "outcome": Outcome.RUNNING.value,
            "pulled": {}, "moved": {}, "transferred": 0, "failure_count": 0, "failures": [],
        }).scalar_one())


def finish(store: Store, run_id: int, outcome: Outcome, now: datetime,
           report: SyncReport | None = None, error: str | None = None) -> None:
    """End a run with what its pass did (as far as it got)."""
    done: dict[str, Any] = {"finished_at": now, "outcome": outcome.value,
                            "error": None if error is None else scrub(error)}
    if report is not None:
        done |= {
            "pulled": dict(report.pulled), "moved": dict(report.moved),
            "transferred": len(report.transferred), "failure_count": len(report.failures),
            "failures": [{"resource": f.resource, "item": scrub(f.item),
                          "reason": scrub(f.reason)} for f in report.failures[:KEPT_FAILURES]]}
    with store.statement() as session:
        session.connection().execute(_FINISH, {"run_id": run_id, **done})


def synced_since(store: Store, links: Sequence[str], since: datetime) -> set[str]:
    """Which of the links had a pass (by any process) end after ``since``, in one query:
    daemons sharing a store leave such a link to its next round instead of syncing it again
    at once."""
    if not links:
        return set()
    with store.statement() as session:
        return set(session.scalars(select(SyncRunRow.link).distinct().where(
            SyncRunRow.link.in_(list(links)), SyncRunRow.finished_at >= since)))


def prune(store: Store, before: datetime) -> int:
    """Delete the runs that started before ``before``; returns how many."""
    with store.session() as session:
        result = session.execute(delete(SyncRunRow).where(SyncRunRow.started_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]


def as_dict(row: SyncRunRow) -> dict[str, Any]:
    duration = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
    return {
        "id": row.id, "link": row.link, "holder": row.holder,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "duration_s": None if duration is None else round(duration, 3),
        "outcome": row.outcome, "pulled": row.pulled, "moved": row.moved,
        "transferred": row.transferred, "failure_count": row.failure_count,
        "failures": row.failures, "error": row.error}


def history(store: Store, links: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` runs of these links, newest first."""
    with store.session() as session:
        rows = session.scalars(select(SyncRunRow).where(SyncRunRow.link.in_(list(links)))
                               .order_by(SyncRunRow.started_at.desc(), SyncRunRow.id.desc())
                               .limit(limit))
        return [as_dict(row) for row in rows]


def status(store: Store, links: Sequence[str], now: datetime, world_now: datetime
           ) -> list[dict[str, Any]]:
    """Per link: its last run, last success, lag (since the last success began), open item
    errors, jobs due and dead, and who holds its lease. A handful of grouped queries for
    all the links together, never one per link.

    ``now`` is the wall clock (runs, leases); ``world_now`` the clock the rules read, by
    which jobs fall due."""
    names = list(links)
    with store.session() as session:
        last = _latest(session, names, None)
        good = _latest(session, names, [Outcome.OK.value, Outcome.FAILED.value])
        errors = dict(session.execute(
            select(ItemErrorRow.link, func.count()).where(
                ItemErrorRow.link.in_(names), ItemErrorRow.resolved_at.is_(None))
            .group_by(ItemErrorRow.link)).all())
        due = dict(session.execute(
            select(JobRow.link, func.count()).where(
                JobRow.link.in_(names), jobs.unfinished(),
                JobRow.state == jobs.JobState.QUEUED.value,
                JobRow.run_after <= world_now).group_by(JobRow.link)).all())
        dead = dict(session.execute(
            select(JobRow.link, func.count()).where(
                JobRow.link.in_(names), jobs.unfinished(),
                JobRow.state == jobs.JobState.DEAD.value)
            .group_by(JobRow.link)).all())
        leases = {row.link: row for row in session.scalars(
            select(LeaseRow).where(LeaseRow.link.in_(names)))}
    rows = []
    for name in names:
        run, success, lease = last.get(name), good.get(name), leases.get(name)
        rows.append({
            "link": name,
            "last_run": as_dict(run) if run else None,
            "last_success": success.finished_at.isoformat()
            if success and success.finished_at else None,
            "lag_s": round((now - success.started_at).total_seconds(), 3) if success else None,
            "open_failures": (run.failures if run else []),
            "open_item_errors": errors.get(name, 0),
            "jobs_due": due.get(name, 0), "jobs_dead": dead.get(name, 0),
            "lease_holder": lease.holder if lease and lease.until > now else None})
    return rows


def _latest(session: Any, links: list[str], outcomes: list[str] | None
            ) -> dict[str, SyncRunRow]:
    """Each link's newest run (of these outcomes), in one query."""
    newest = select(SyncRunRow.link, func.max(SyncRunRow.id).label("id")).where(
        SyncRunRow.link.in_(links))
    if outcomes is not None:
        newest = newest.where(SyncRunRow.outcome.in_(outcomes))
    ids = newest.group_by(SyncRunRow.link).subquery()
    rows = session.scalars(select(SyncRunRow).join(ids, SyncRunRow.id == ids.c.id))
    return {row.link: row for row in rows}

