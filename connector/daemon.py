"""The long-running daemon: sync every link in turn, forever, safely beside other daemons.

Before it syncs a link a process takes that link's lease in the store; another daemon on
the same store skips a leased link, so thousands of links spread over several processes
and machines without two passes of one link at a time. A lease whose holder died runs out.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType

import structlog
from sqlalchemy import delete, select, update

from connector import engine
from connector.clock import SystemClock
from connector.errors import ConnectorError, LinkBusy
from connector.jobs import worker_id
from connector.plain import error_line
from connector.runtime import Runtime
from connector.store.db import Store, upsert
from connector.store.schema import LeaseRow

log = structlog.get_logger(__name__)


def acquire(store: Store, link: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the link's lease; False while another live holder has it.

    A holder is live until its lease runs out, except one on this host whose process is
    gone (killed, crashed on a full disk): that lease is taken over at once."""
    with store.session() as session:
        upsert(session, LeaseRow, [{"link": link, "holder": holder, "until": now + ttl}],
               keys=("link",))
        current = session.scalar(select(LeaseRow.holder).where(LeaseRow.link == link))
        free = (LeaseRow.holder == holder) | (LeaseRow.until < now)
        if current is not None and current != holder and _gone(current):
            free |= LeaseRow.holder == current
        taken = session.execute(
            update(LeaseRow).where(LeaseRow.link == link, free)
            .values(holder=holder, until=now + ttl))
        return bool(taken.rowcount)  # type: ignore[attr-defined]


def _gone(holder: str) -> bool:
    """Whether ``holder`` (``host:pid``, see ``worker_id``) is a process of this host that
    no longer runs. A holder on another host is never judged from here."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def leases(store: Store) -> list[LeaseRow]:
    """Every link lease held now (``connector lease show``)."""
    with store.session() as session:
        return list(session.scalars(select(LeaseRow).order_by(LeaseRow.link)))


def holder_of(store: Store, link: str) -> LeaseRow | None:
    """The link's lease as it stands, for messages and ``connector lease``."""
    with store.session() as session:
        return session.get(LeaseRow, link)


def busy(store: Store, link: str) -> LinkBusy:
    """The refusal of a leased link: who holds it, until when, and how to break it."""
    lease = holder_of(store, link)
    if lease is None:
        return LinkBusy(f"link {link} is being synced by another process right now; "
                        "try again when it is done")
    host, _, pid = lease.holder.rpartition(":")
    until = lease.until if lease.until.tzinfo else lease.until.replace(tzinfo=UTC)
    return LinkBusy(
        f"link {link} is being synced by process {pid} on {host}; its lease runs out at "
        f"{until:%Y-%m-%d %H:%M:%S} UTC. If that process is gone, "
        f"`connector lease break {link}` frees the link now")


def release(store: Store, link: str, holder: str) -> None:
    with store.session() as session:
        session.execute(delete(LeaseRow).where(LeaseRow.link == link, LeaseRow.holder == holder))


def break_lease(store: Store, link: str) -> LeaseRow | None:
    """Free a link whatever holds it (the holder's next renewal stops its pass); returns
    the lease that was broken, if any."""
    with store.session() as session:
        lease = session.get(LeaseRow, link)
        if lease is not None:
            session.delete(lease)
        return lease


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
        raise busy(store, link)
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


def check_links(rt: Runtime) -> None:
    """Open every link's adapters once: a configuration error stops the daemon at start-up
    with one line, instead of failing the link on every interval forever."""
    for name in rt.link_names(None):
        with rt.link(name):
            pass


def run(rt: Runtime, interval: timedelta, lease: timedelta, stop: threading.Event,
        rounds: int | None = None) -> int:
    """Sync all links every ``interval`` until ``stop`` is set (or ``rounds`` are done).

    Returns how many link passes reported failures. A link that fails logs one line per
    round; only an unexpected error adds a traceback (never with local variables, every
    secret scrubbed: ``connector.logs``).
    """
    check_links(rt)
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
                log.info("link skipped", link=name, reason=error_line(exc))
            except ConnectorError as exc:  # a known failure: one line, no traceback
                failed += 1
                log.error("link failed", link=name, error=error_line(exc))
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
