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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

import structlog
from sqlalchemy import delete, select, update

from connector import jobs, runs
from connector.clock import SystemClock
from connector.errors import ConnectorError, LinkBusy, Stopping
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
    holder = jobs.worker_id()
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


@dataclass
class Summary:
    """What a daemon did, printed when it stops (``connector daemon --rounds 1``)."""

    rounds: int = 0
    passes: int = 0
    skipped: int = 0
    """Passes left to another process that held the link's lease."""
    failed: dict[str, list[str]] = field(default_factory=dict)
    """Link → its failed items (or why the pass failed), from its last pass."""
    reaped: int = 0
    interrupted: bool = False

    def lines(self) -> list[str]:
        ended = "stopped by a signal" if self.interrupted else "done"
        head = (f"{ended} after {self.rounds} round(s): {self.passes} link pass(es), "
                f"{len(self.failed)} link(s) with failures, {self.skipped} skipped "
                "(synced by another process)")
        if self.reaped:
            head += f", {self.reaped} job(s) of dead processes queued again"
        shown = [head]
        for link, items in sorted(self.failed.items()):
            more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
            shown.append(f"  {link}: {'; '.join(items[:3])}{more}")
        return shown


@dataclass
class Stop:
    """How a daemon is told to stop: ``requested`` ends it after the link in hand;
    ``hurry`` makes the pass in hand hand its work back at its next step or job. A signal
    sets ``requested`` and, ``deadline`` later, ``hurry``; a second signal hurries at once."""

    deadline: timedelta = timedelta(seconds=30)
    requested: threading.Event = field(default_factory=threading.Event)
    hurry: threading.Event = field(default_factory=threading.Event)
    _nudge: threading.Event = field(default_factory=threading.Event)

    def signal(self) -> None:
        if self.requested.is_set():
            self.hurry.set()
            return
        self.requested.set()
        self._nudge.set()
        timer = threading.Timer(self.deadline.total_seconds(), self.hurry.set)
        timer.daemon = True
        timer.start()

    def wake(self, _link: str = "") -> None:
        """End the pause between rounds now (a webhook said a link changed)."""
        self._nudge.set()

    def pause(self, seconds: float) -> None:
        self._nudge.wait(seconds)
        self._nudge.clear()


def run(rt: Runtime, interval: timedelta, lease: timedelta, stop: Stop | None = None,
        rounds: int | None = None) -> Summary:
    """Sync all links every ``interval`` until told to stop (or ``rounds`` are done).

    Each round first queues again the jobs of processes that died (``jobs.reap``) and
    prunes old runs. A link that fails logs one line per round; only an unexpected error
    adds a traceback (never with local variables, every secret scrubbed: ``connector.logs``).
    """
    from connector.passes import run_pass  # it takes its lease from here

    stop = stop or Stop()
    check_links(rt)
    summary = Summary()
    wall = SystemClock()
    while not stop.requested.is_set() and (rounds is None or summary.rounds < rounds):
        with rt.store.session() as session:
            summary.reaped += jobs.reap(session, rt.clock.now())
        runs.prune(rt.store, wall.now() - rt.settings.runs_kept)
        for name in rt.link_names(None):
            if stop.requested.is_set():
                break
            try:
                report = run_pass(rt, name, lease, hurry=stop.hurry)
            except LinkBusy as exc:  # leased elsewhere: its turn comes next round
                summary.skipped += 1
                log.info("link skipped", link=name, reason=error_line(exc))
                continue
            except Stopping:
                summary.interrupted = True
                break
            except ConnectorError as exc:  # a known failure: one line, no traceback
                summary.failed[name] = [error_line(exc)]
                log.error("link failed", link=name, error=error_line(exc))
                continue
            except Exception as exc:  # one link's trouble must not stop the others
                summary.failed[name] = [f"crashed: {error_line(exc)}"]
                log.exception("link sync crashed", link=name)
                continue
            summary.passes += 1
            summary.failed.pop(name, None)
            if report.failures:
                summary.failed[name] = [f"{f.item}: {f.reason}" for f in report.failures]
        summary.rounds += 1
        if rounds is None or summary.rounds < rounds:
            stop.pause(interval.total_seconds())
    summary.interrupted = summary.interrupted or stop.requested.is_set()
    return summary


def stop_on_signals(stop: Stop) -> None:
    """SIGTERM and SIGINT finish the link in hand (within ``stop.deadline``), then stop; a
    second signal hands the work in hand back at once."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.signal()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
