"""Carrying out due jobs of one kind for a link: lease, heartbeat, call, record, retry.

A handler makes its one external call and returns how to record the result (a ``Record``),
which the worker writes together with ``done`` in the batch's transaction. Any exception
it raises is a failure of that job only: the job is rescheduled with backoff (or
dead-lettered) and the next job goes on.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import structlog
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from connector import jobs
from connector.context import LinkContext
from connector.errors import Stopping, TransientError
from connector.secrets import scrub

BATCH = 100
"""Jobs taken by a link's first claim of a kind, under one lease renewed for all of them once
half of it is used. Later claims take about ``FLUSH_EVERY`` seconds' worth of jobs at the pace
of the last batch, between ``BATCH_MIN`` and ``BATCH_MAX``: quick jobs share a round trip
with many others, slow ones leave the rest of the queue to other workers."""
BATCH_MIN, BATCH_MAX = 10, 1000
FLUSH_EVERY = 1.0
"""Seconds a handled job's result may wait to be written with the next ones."""
T = TypeVar("T")
Record = Callable[[Session], "jobs.JobState | None"]
"""Writes a handled job's result in the batch's transaction and says how the job ends (None:
done). It writes to the session only: it may run again after a rollback."""
Handler = Callable[[jobs.Job], Any]
"""Makes a job's one external call; returns its ``Record`` (with ``WriteAll``: the result
that takes), or None when there is nothing to write but ``done``."""
WriteAll = Callable[[Session, list[Any]], list["jobs.JobState | None"]]
"""Writes the results of many handled jobs at once, in a few statements for all of them,
and says how each ends (None: done); it stands for calling a ``Record`` per job."""


def call(ctx: LinkContext, fn: Callable[[], T]) -> T:
    """One external call, retried on transient errors with backoff inside the call."""
    base = ctx.settings.call_backoff.total_seconds()
    retrying = Retrying(
        stop=stop_after_attempt(ctx.settings.call_retries),
        wait=wait_exponential(multiplier=base, max=base * 8),
        retry=retry_if_exception_type(TransientError),
        reraise=True,
    )
    return retrying(fn)


def ensure(ctx: LinkContext, job: jobs.Job, find: Callable[[], T | None],
           create: Callable[[], T]) -> T:
    """Create an effect once: every try after the very first asks ``find`` before ``create``.

    A try that failed may still have reached the other side (a lost reply), so both a retry
    inside this call and a later attempt of the job look first (docs/guarantees.md).
    """
    tries = 0

    def attempt() -> T:
        nonlocal tries
        tries += 1
        if job.attempts > 1 or tries > 1:
            found = find()
            if found is not None:
                return found
        return create()

    return call(ctx, attempt)


def run(ctx: LinkContext, kind: str, handle: Handler,
        on_failure: Callable[[jobs.Job, str, jobs.JobState], None] | None = None,
        prepare: Callable[[list[jobs.Job]], None] | None = None,
        write_all: WriteAll | None = None) -> int:
    """Run every due job of ``kind``; returns how many were handled without an error.

    ``prepare`` sees each claimed batch before its first job is handled: it records what
    must be durable before any call (a transfer's intent) for the whole batch at once;
    ``write_all`` writes the batch's results together (see ``WriteAll``).

    Jobs are claimed ``BATCH`` at a time under one lease and their results written a batch
    at a time (see ``Batch``), so the queue costs a fraction of a round trip per job. A
    handler's exception is that job's failure only: it is rescheduled with backoff (or
    dead-lettered) and the next job goes on. Anything else that escapes (the process is
    stopping) leaves the batch's jobs leased: they are taken up again once the lease runs
    out, and each asks the other side first (``ensure``)."""
    if ctx.known is not None and kind not in ctx.known.unfinished:
        return 0  # an idle pass claims nothing: the pass start saw no such job
    lease = ctx.settings.job_lease
    handled = 0
    size = BATCH
    while True:
        holder = jobs.new_holder()
        with ctx.statement() as session:
            leased_at = ctx.now()
            claimed = jobs.claim(session, ctx.link, leased_at, lease, size, kinds=[kind],
                                 holder=holder)
        if not claimed:
            return handled
        if prepare is not None:
            prepare(claimed)
        started = time.monotonic()
        batch = Batch(ctx, holder, leased_at, [job.id for job in claimed], write_all)
        try:
            for job in claimed:
                ctx.keepalive()
                if not batch.holds(job):
                    continue
                item = jobs.item_of(kind, job.key, job.payload)
                # Bound and reset by token: a third of ``bound_contextvars``'s cost per job.
                bound = structlog.contextvars.bind_contextvars(job_id=job.id, item=item)
                try:
                    record = handle(job)
                except Exception as exc:  # one job's failure must not stop the others
                    reason = scrub(f"{type(exc).__name__}: {exc}")  # it is stored
                    state = batch.fail(job, reason)
                    if state is not None and on_failure is not None:
                        on_failure(job, reason, state)
                    ctx.report.fail(kind, job.key, reason, item)
                    continue
                finally:
                    structlog.contextvars.reset_contextvars(**bound)
                batch.done(job, record)
                handled += 1
        except Stopping:
            batch.flush()
            batch.hand_back()
            raise
        batch.flush()
        if len(claimed) < size:
            # It took every job due then; one due since (a lease run out meanwhile, a row
            # another process held a moment) waits for the next pass.
            return handled
        pace = (time.monotonic() - started) / len(claimed)
        size = max(BATCH_MIN, min(BATCH_MAX, int(FLUSH_EVERY / pace) if pace else BATCH_MAX))


class Batch:
    """The jobs of one claim: their lease, renewed once half of it is used, and the
    results of handled jobs, written together in one transaction (at the end of the batch,
    before a renewal, and at least every ``FLUSH_EVERY`` seconds when calls are slow).

    Writing results late is safe: until they are written the jobs stay leased, and a job
    whose result was lost with the process is taken up again and looks before it creates.
    """

    def __init__(self, ctx: LinkContext, holder: str, leased_at: datetime,
                 ids: list[int], write_all: WriteAll | None = None) -> None:
        self.ctx = ctx
        self.write_all = write_all
        self.holder = holder
        self.leased_at = leased_at
        self.held = set(ids)
        self.pending: list[tuple[jobs.Job, Any]] = []
        self.since = time.monotonic()

    def holds(self, job: jobs.Job) -> bool:
        """Whether this batch still holds ``job``; renews the lease once half of it is used."""
        lease = self.ctx.settings.job_lease
        now = self.ctx.now()
        if now - self.leased_at > lease / 2:
            self.flush()
            with self.ctx.tx() as session:
                self.held = jobs.renew(session, sorted(self.held), self.holder, now, lease)
            self.leased_at = now
        elif self.pending and time.monotonic() - self.since > FLUSH_EVERY:
            self.flush()
        return job.id in self.held

    def hand_back(self) -> None:
        """Return the jobs not tried yet to the queue: the process is stopping."""
        with self.ctx.tx() as session:
            jobs.hand_back(session, sorted(self.held), self.holder, self.ctx.now())
        self.held.clear()

    def done(self, job: jobs.Job, record: Any) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((job, record))

    def fail(self, job: jobs.Job, reason: str) -> jobs.JobState | None:
        """Reschedule or dead-letter a failed job; None if its lease was lost meanwhile."""
        self.held.discard(job.id)
        with self.ctx.tx() as session:
            return jobs.retry_later(session, job, self.holder, self.ctx.now(), reason,
                                    self.ctx.settings.job_backoff,
                                    self.ctx.settings.job_attempts)

    def flush(self) -> None:
        """Write the handled jobs' results and end them, all in one transaction; if one
        result cannot be written, each is written on its own so the others still are."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        self.held.difference_update(job.id for job, _ in pending)
        if all(record is None for _, record in pending):
            with self.ctx.statement() as session:  # nothing to write but "done"
                jobs.complete(session, [(job.id, jobs.JobState.DONE, None)
                                        for job, _ in pending], self.holder, self.ctx.now())
            return
        try:
            with self.ctx.tx() as session:
                self._write(session, pending)
        except Exception:
            if len(pending) == 1:
                self._failed_to_write(pending[0][0])
                return
            for one in pending:
                try:
                    with self.ctx.tx() as session:
                        self._write(session, [one])
                except Exception:
                    self._failed_to_write(one[0])

    def _write(self, session: Session, pending: list[tuple[jobs.Job, Any]]) -> None:
        now = self.ctx.now()
        # Lock the jobs first: a result is written only under the lease it was made in.
        still = jobs.renew(session, [job.id for job, _ in pending], self.holder, now,
                           self.ctx.settings.job_lease)
        kept = [(job, record) for job, record in pending if job.id in still]
        records = [record for _, record in kept]
        states = (self.write_all(session, records) if self.write_all is not None
                  else [record(session) if record else None for record in records])
        jobs.complete(session, [(job.id, state or jobs.JobState.DONE, None)
                                for (job, _), state in zip(kept, states, strict=True)],
                      self.holder, now)

    def _failed_to_write(self, job: jobs.Job) -> None:
        reason = scrub(f"recording the result failed: {traceback.format_exc(limit=0).strip()}")
        self.fail(job, reason)
        self.ctx.report.fail(job.kind, job.key, reason,
                             jobs.item_of(job.kind, job.key, job.payload))
