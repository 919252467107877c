"""One recorded pass of one link, as ``connector sync`` and the daemon run it: the link's
lease, its adapters, the engine, the run in the store (``connector.runs``) and the log.

Every log line of the pass carries the link (and, inside a job, the job id and its item);
each failed item is a warning naming the link and the item by its number.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import timedelta

import structlog

from connector import engine, runs
from connector.clock import SystemClock
from connector.context import LinkContext
from connector.daemon import DEFAULT_LEASE, leased
from connector.errors import Stopping
from connector.jobs import worker_id
from connector.plain import error_line
from connector.report import SyncReport
from connector.runtime import Runtime

log = structlog.get_logger(__name__)


def run_pass(rt: Runtime, name: str, lease: timedelta = DEFAULT_LEASE, *,
             dry_run: bool = False, hurry: threading.Event | None = None,
             warn: bool = True, renew: Callable[[], None] | None = None) -> SyncReport:
    """Sync link ``name`` once under its lease and record the run (not a dry run's).

    The pass takes the link's lease and gives it back, unless the caller holds it already
    and passes its ``renew`` (the daemon, which takes many links' leases at once).

    Once ``hurry`` is set the pass stops at its next step or job, hands the jobs it holds
    back to the queue and raises ``Stopping``; the run is recorded as interrupted.
    ``warn`` logs each failed item as a warning (the daemon's output; ``sync`` prints them).
    """
    wall = SystemClock()
    with structlog.contextvars.bound_contextvars(link=name), \
            (leased(rt.store, name, lease) if renew is None else nullcontext(renew)) as held, \
            _opened(rt, name, dry_run, wall) as ctx:

        def keepalive() -> None:
            if hurry is not None and hurry.is_set():
                raise Stopping
            held()

        keepalive()  # a lease taken a while ago is renewed, or found lost, before the pass

        ctx.keepalive = keepalive
        if dry_run:
            return engine.sync(ctx)
        run_id = runs.start(rt.store, name, worker_id(), wall.now())
        try:
            report = engine.sync(ctx)
        except Stopping:
            runs.finish(rt.store, run_id, runs.Outcome.INTERRUPTED, wall.now(), ctx.report,
                        "stopped by a signal; the work in hand was handed back")
            log.warning("link pass interrupted", reason="the process is stopping")
            raise
        except BaseException as exc:
            runs.finish(rt.store, run_id, runs.Outcome.CRASHED, wall.now(), ctx.report,
                        error_line(f"{type(exc).__name__}: {exc}"))
            raise
        outcome = runs.Outcome.OK if report.ok else runs.Outcome.FAILED
        runs.finish(rt.store, run_id, outcome, wall.now(), report)
        if warn:
            for failure in report.failures:
                log.warning("item failed", resource=failure.resource, item=failure.item,
                            reason=failure.reason)
        log.info("link synced", outcome=outcome.value, pulled=dict(report.pulled),
                 moved=dict(report.moved), transferred=len(report.transferred),
                 failures=len(report.failures))
        return report


@contextmanager
def _opened(rt: Runtime, name: str, dry_run: bool, wall: SystemClock) -> Iterator[LinkContext]:
    """The link's adapters, opened; a link whose adapters cannot be opened (a setting gone
    wrong, an ERP refusing its keys) is recorded as a crashed run, so ``status`` and the
    metrics show it failing rather than never run."""
    with ExitStack() as stack:
        try:
            ctx = stack.enter_context(rt.link(name, dry_run=dry_run, company=False))
        except Exception as exc:
            if not dry_run:
                run_id = runs.start(rt.store, name, worker_id(), wall.now())
                runs.finish(rt.store, run_id, runs.Outcome.CRASHED, wall.now(),
                            error=f"the link could not be opened: {error_line(exc)}")
            raise
        yield ctx
