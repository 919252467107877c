"""Carrying out due jobs of one kind for a link: lease, heartbeat, call, record, retry.

A handler makes its one external call and records the result together with ``done`` in one
transaction. Any exception it raises is a failure of that job only: the job is rescheduled
with backoff (or dead-lettered) and the next job goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from connector import jobs
from connector.context import LinkContext
from connector.errors import TransientError
from connector.store.schema import JobRow

BATCH = 20
"""Jobs taken per lease; each one's lease is renewed just before its call."""
T = TypeVar("T")


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


def ensure(ctx: LinkContext, job: JobRow, find: Callable[[], T | None],
           create: Callable[[], T]) -> T:
    """Create an effect once: every try after the very first asks ``find`` before ``create``.

    A try that failed may still have reached the other side (a lost reply), so both a retry
    inside this call and a later attempt of the job look first (DESIGN rule 3).
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


def run(ctx: LinkContext, kind: str, handle: Callable[[JobRow], None],
        on_failure: Callable[[JobRow, str, jobs.JobState], None] | None = None) -> int:
    """Run every due job of ``kind``; returns how many were handled without an error."""
    lease = ctx.settings.job_lease
    handled = 0
    while True:
        with ctx.tx() as session:
            leased_at = ctx.now()
            batch = jobs.claim(session, ctx.link, leased_at, lease, BATCH, kinds=[kind])
        if not batch:
            return handled
        for job in batch:
            ctx.keepalive()
            if ctx.now() - leased_at > lease / 2:  # renew only once half the lease is used
                with ctx.tx() as session:
                    if not jobs.heartbeat(session, job.id, ctx.now(), lease):
                        continue
            try:
                handle(job)
                handled += 1
            except Exception as exc:  # one job's failure must not stop the others
                reason = f"{type(exc).__name__}: {exc}"
                with ctx.tx() as session:
                    state = jobs.retry_later(session, job, ctx.now(), reason,
                                             ctx.settings.job_backoff, ctx.settings.job_attempts)
                if on_failure is not None:
                    on_failure(job, reason, state)
                ctx.report.fail(kind, job.key, reason)
