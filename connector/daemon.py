"""The long-running daemon: sync every link in turn, forever, safely beside other daemons.

Before it syncs a link a process takes that link's lease in the store; another daemon on
the same store skips a leased link, so thousands of links spread over several processes
and machines without two passes of one link at a time. A lease whose holder died runs out.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType

import structlog
from sqlalchemy import delete, update

from connector import engine
from connector.clock import SystemClock
from connector.errors import LinkBusy
from connector.jobs import worker_id
from connector.runtime import Runtime
from connector.store.db import Store, upsert
from connector.store.schema import LeaseRow

log = structlog.get_logger(__name__)


def acquire(store: Store, link: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the link's lease; False while another live holder has it."""
    with store.session() as session:
        upsert(session, LeaseRow, [{"link": link, "holder": holder, "until": now + ttl}],
               keys=("link",))
        taken = session.execute(
            update(LeaseRow)
            .where(LeaseRow.link == link, (LeaseRow.holder == holder) | (LeaseRow.until < now))
            .values(holder=holder, until=now + ttl))
        return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(store: Store, link: str, holder: str) -> None:
    with store.session() as session:
        session.execute(delete(LeaseRow).where(LeaseRow.link == link, LeaseRow.holder == holder))


DEFAULT_LEASE = timedelta(minutes=15)


@contextmanager
def leased(store: Store, link: str, ttl: timedelta = DEFAULT_LEASE
           ) -> Iterator[Callable[[], None]]:
    """Hold the link's lease for the block, or refuse: one pass of a link at a time.

    Yields the renewal to call as the pass goes on (``LinkContext.keepalive``), so a long
    pass keeps its lease; a renewal that finds the lease taken stops the pass.
    """
    holder = worker_id()
    clock = SystemClock()
    if not acquire(store, link, holder, clock.now(), ttl):
        raise LinkBusy(f"link {link} is being synced by another process right now; "
                       "try again when it is done")
    last = clock.now()

    def renew() -> None:
        nonlocal last
        now = clock.now()
        if now - last < ttl / 3:
            return
        if not acquire(store, link, holder, now, ttl):
            raise LinkBusy(f"lost the lease on link {link} to another process; stopping")
        last = now

    try:
        yield renew
    finally:
        release(store, link, holder)


def run(rt: Runtime, interval: timedelta, lease: timedelta, stop: threading.Event,
        rounds: int | None = None) -> int:
    """Sync all links every ``interval`` until ``stop`` is set (or ``rounds`` are done).

    Returns how many link passes reported failures.
    """
    failed = 0
    done = 0
    while not stop.is_set() and (rounds is None or done < rounds):
        for name in rt.link_names(None):
            if stop.is_set():
                break
            try:
                with leased(rt.store, name, lease) as renew, rt.link(name) as ctx:
                    ctx.keepalive = renew
                    report = engine.sync(ctx)
                failed += 0 if report.ok else 1
                log.info("link synced", link=name, ok=report.ok, moved=dict(report.moved),
                         failures=len(report.failures))
            except LinkBusy as exc:  # leased elsewhere: its turn comes next round
                log.info("link skipped", link=name, reason=str(exc))
            except Exception:  # one link's trouble must not stop the others
                failed += 1
                log.exception("link sync crashed", link=name)
        done += 1
        if rounds is None or done < rounds:
            stop.wait(interval.total_seconds())
    return failed


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT finish the link in hand, then stop."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
