"""The long-running daemon: sync every link in turn, forever, safely beside other daemons.

Before it syncs a link a process takes that link's lease in the store (a daemon takes
twenty at once, ``HeldLeases``); another daemon on the same store skips a leased link, so
thousands of links spread over several processes and machines without two passes of one
link at a time. A lease whose holder died runs out.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

import structlog
from sqlalchemy import Select, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from connector import jobs, runs
from connector.clock import Clock, SystemClock
from connector.config import Settings
from connector.errors import ConfigError, ConnectorError, LinkBusy, Stopping
from connector.plain import error_line
from connector.runtime import Runtime
from connector.store.db import Store
from connector.store.schema import LeaseRow

log = structlog.get_logger(__name__)


def acquire(store: Store, link: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the link's lease; False while another live holder has it."""
    return link in acquire_many(store, [link], holder, now, ttl)


def acquire_many(store: Store, links: Sequence[str], holder: str, now: datetime,
                 ttl: timedelta) -> set[str]:
    """Take or renew the leases of these links at once; returns those taken. Another
    holder's lease stands until it runs out, except one on this host whose process is gone
    (killed, crashed on a full disk): that lease is taken over at once.

    One statement that commits on its own; a second one only when some link was held by
    another process, to look whether that process is gone. The links are written in order,
    so daemons taking the same links at the same moment wait for each other, never lock."""
    taken = _take(store, links, holder, now, ttl, ())
    held = [link for link in links if link not in taken]
    if held:
        with store.statement() as session:
            holders = set(session.scalars(select(LeaseRow.holder).distinct().where(
                LeaseRow.link.in_(held))))
        gone = sorted(h for h in holders if h != holder and _gone(h))
        if gone:
            taken |= _take(store, held, holder, now, ttl, gone)
    return taken


def _take(store: Store, links: Sequence[str], holder: str, now: datetime, ttl: timedelta,
          gone: Sequence[str]) -> set[str]:
    if not links:
        return set()
    free = (LeaseRow.holder == holder) | (LeaseRow.until < now)
    if gone:
        free |= LeaseRow.holder.in_(list(gone))
    new = (pg_insert if store.dialect == "postgresql" else sqlite_insert)(LeaseRow).values(
        [{"link": link, "holder": holder, "until": now + ttl} for link in sorted(links)])
    statement = new.on_conflict_do_update(
        index_elements=["link"], where=free,
        set_={"holder": new.excluded.holder, "until": new.excluded.until},
    ).returning(LeaseRow.link)
    with store.statement() as session:
        return set(session.scalars(statement))


def _gone(holder: str) -> bool:
    """Whether ``holder`` (``host:pid``, see ``worker_id``) is a process of this host that
    no longer runs. A holder on another host, boot or process-id namespace is never judged
    from here."""
    host, _, pid = holder.rpartition(":")
    if host != jobs.this_host() or not pid.isdigit() or int(pid) == os.getpid():
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


def renew_many(store: Store, links: Sequence[str], holder: str, now: datetime,
               ttl: timedelta) -> set[str]:
    """Extend those of these leases that ``holder`` still has; returns them. A lease broken
    meanwhile (``connector lease break``) or taken over is not taken back: its pass stops.

    The rows are locked in link order first (``_locked``)."""
    if not links:
        return set()
    with store.statement() as session:
        return set(session.scalars(
            update(LeaseRow).where(LeaseRow.link.in_(_locked(store, links, holder)),
                                   LeaseRow.holder == holder)
            .values(until=now + ttl).returning(LeaseRow.link)))


def _locked(store: Store, links: Sequence[str], holder: str) -> Select[str]:
    """Those of these leases ``holder`` has, their rows locked in link order: the order
    ``acquire_many`` writes in (Python's, by code point, whatever the column's collation
    says), so statements on the same links queue, never deadlock."""
    order = LeaseRow.link.collate("C") if store.dialect == "postgresql" else LeaseRow.link
    return (select(LeaseRow.link)
            .where(LeaseRow.link.in_(list(links)), LeaseRow.holder == holder)
            .order_by(order).with_for_update())


def release(store: Store, link: str, holder: str) -> None:
    release_many(store, [link], holder)


def release_many(store: Store, links: Sequence[str], holder: str) -> None:
    """Give back those of these leases that ``holder`` still has, in one statement."""
    if not links:
        return
    with store.statement() as session:
        session.execute(delete(LeaseRow).where(LeaseRow.link.in_(_locked(store, links, holder)),
                                               LeaseRow.holder == holder))


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
        if link not in renew_many(store, [link], holder, now, ttl):
            raise LinkBusy(f"lost the lease on link {link} (broken, or taken over by "
                           "another process); stopping")
        last = now

    try:
        yield renew
    finally:
        release(store, link, holder)


def check_links(rt: Runtime) -> None:
    """Open every link's adapters once. A link whose configuration is wrong is logged in
    one line naming it and its file and left out, so the other companies go on; when no
    link is left, the daemon does not start (one line, not a traceback on every round)."""
    wrong: list[tuple[str, ConfigError]] = []
    for name in rt.link_names(None):
        try:
            with rt.link(name, company=False):
                pass
        except ConfigError as refused:
            wrong.append((name, refused))
    if wrong and len(wrong) == len(rt.settings.links):
        raise wrong[0][1]
    for name, why in wrong:
        link = rt.settings.link(name)
        log.error("link left out: its configuration is wrong", link=name,
                  file=link.file or rt.settings.source, error=error_line(why))
    left_out = {name for name, _ in wrong}
    rt.settings.links = [link for link in rt.settings.links if link.name not in left_out]


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


LEASE_CHUNK = 20
"""Links whose leases a daemon takes in one statement and then syncs in turn: an idle link
costs a twentieth of a lease statement instead of two commits of its own."""
HOLD = timedelta(seconds=2)
"""Once a chunk's leases were held this long, the links not yet synced go back after the
pass in hand: a slow pass does not keep the rest of its chunk from other daemons."""


class HeldLeases:
    """This process's leases on a chunk of links, taken at once and given back at once.

    Each pass renews them (``renewal``) as ``leased`` renews one: a renewal that finds the
    pass's link taken by another process stops that pass. Once the chunk was held ``HOLD``,
    the pass in hand keeps only its own link: a slow pass holds no other link hostage."""

    def __init__(self, store: Store, ttl: timedelta, clock: Clock | None = None) -> None:
        self.store = store
        self.ttl = ttl
        self.holder = jobs.worker_id()
        self.clock = clock or SystemClock()
        self.links: set[str] = set()
        self.taken_at = self.renewed = self.clock.now()

    def take(self, links: Sequence[str]) -> set[str]:
        self.taken_at = self.renewed = self.clock.now()
        self.links = set(links)  # until known: a failure gives back those that became ours
        self.links = acquire_many(self.store, links, self.holder, self.taken_at, self.ttl)
        return set(self.links)

    def held_for(self) -> timedelta:
        return self.clock.now() - self.taken_at

    def renewal(self, link: str) -> Callable[[], None]:
        def renew() -> None:
            now = self.clock.now()
            if now - self.taken_at > HOLD and self.links - {link}:
                self._give_back(sorted(self.links - {link}))
                self.links &= {link}
            if now - self.renewed >= self.ttl / 3:
                try:
                    self.links = renew_many(self.store, sorted(self.links), self.holder, now,
                                            self.ttl)
                except DBAPIError as exc:  # the store gone a moment: the lease still runs
                    if now - self.renewed >= self.ttl / 2:
                        raise
                    log.warning("lease not renewed; tried again at the next step", link=link,
                                error=error_line(f"{type(exc).__name__}: {exc}"))
                else:
                    self.renewed = now
            if link not in self.links:
                raise LinkBusy(f"lost the lease on link {link} (broken, or taken over "
                               "by another process); stopping")

        return renew

    def release(self) -> None:
        """Give the leases back (``_give_back``)."""
        links, self.links = sorted(self.links), set()
        if links:
            self._give_back(links)

    def _give_back(self, links: Sequence[str]) -> None:
        """One statement; a lease it cannot give back (the store gone) runs out. Never a
        statement per link: with the store gone each would wait for its connect timeout."""
        try:
            release_many(self.store, links, self.holder)
        except Exception as exc:
            log.warning("leases not given back; they run out", links=len(links),
                        error=error_line(f"{type(exc).__name__}: {exc}"))


def run(rt: Runtime, interval: timedelta, lease: timedelta, stop: Stop | None = None,
        rounds: int | None = None, reload: Callable[[], Settings] | None = None) -> Summary:
    """Sync all links every ``interval`` until told to stop (or ``rounds`` are done).

    Each round first reads the configuration again with ``reload`` (a link file added or
    changed is picked up without a restart; a broken one is logged and the links stay as
    they were), queues again the jobs of processes that died (``jobs.reap``) and prunes old
    runs; then it syncs the links (``sync_round``).
    """
    stop = stop or Stop()
    check_links(rt)
    summary = Summary()
    wall = SystemClock()
    while not stop.requested.is_set() and (rounds is None or summary.rounds < rounds):
        if reload is not None and summary.rounds:
            _reload(rt, reload)
        summary.reaped += _housekeeping(rt, wall.now())
        sync_round(rt, interval, lease, stop, summary)
        summary.rounds += 1
        if rounds is None or summary.rounds < rounds:
            stop.pause(interval.total_seconds())
    summary.interrupted = summary.interrupted or stop.requested.is_set()
    return summary


def sync_round(rt: Runtime, interval: timedelta, lease: timedelta, stop: Stop,
               summary: Summary) -> None:
    """Sync every link once, ``LEASE_CHUNK`` leases taken at a time.

    A link leased by another process, or that one synced within the last ``interval``,
    waits for the next round. A link that fails logs one line; only an unexpected error
    adds a traceback (never with local variables, every secret scrubbed: ``connector.logs``).
    """
    wall = SystemClock()
    todo = rt.link_names(None)
    held = HeldLeases(rt.store, lease)
    while todo and not stop.requested.is_set():
        chunk, todo = todo[:LEASE_CHUNK], todo[LEASE_CHUNK:]
        try:
            taken = held.take(chunk)
            recent = runs.synced_since(rt.store, sorted(taken), wall.now() - interval)
        except Exception as exc:  # the store gone for a moment: the round ends here
            log.warning("links not leased; tried again next round", links=len(chunk) + len(todo),
                        error=error_line(f"{type(exc).__name__}: {exc}"))
            held.release()
            return
        try:
            for i, name in enumerate(chunk):
                if stop.requested.is_set():
                    break
                if name not in taken:  # leased elsewhere: its turn comes next round
                    summary.skipped += 1
                    log.info("link skipped", link=name, reason="leased by another process")
                    continue
                if name not in held.links:  # given back during the last pass: taken afresh
                    todo = chunk[i:] + todo
                    break
                if name in recent:  # another daemon synced it a moment ago
                    summary.skipped += 1
                    continue
                if not _sync_one(rt, name, lease, held.renewal(name), stop, summary):
                    return
                if held.held_for() > HOLD:  # hand the rest back, take them afresh
                    todo = chunk[i + 1:] + todo
                    break
        finally:
            held.release()


def _sync_one(rt: Runtime, name: str, lease: timedelta, renew: Callable[[], None],
              stop: Stop, summary: Summary) -> bool:
    """One pass of a link under a lease held already; False when the process is stopping."""
    from connector.passes import run_pass  # it runs its passes with these leases

    try:
        report = run_pass(rt, name, lease, hurry=stop.hurry, renew=renew)
    except LinkBusy as exc:  # lost to another process mid-pass
        summary.skipped += 1
        log.info("link skipped", link=name, reason=error_line(exc))
        return True
    except Stopping:
        summary.interrupted = True
        return False
    except ConnectorError as exc:  # a known failure: one line, no traceback
        summary.failed[name] = [error_line(exc)]
        log.error("link failed", link=name, error=error_line(exc))
        return True
    except Exception as exc:  # one link's trouble must not stop the others
        summary.failed[name] = [f"crashed: {error_line(exc)}"]
        log.exception("link sync crashed", link=name)
        return True
    summary.passes += 1
    summary.failed.pop(name, None)
    if report.failures:
        summary.failed[name] = [f"{f.item}: {f.reason}" for f in report.failures]
    return True


def _housekeeping(rt: Runtime, now: datetime) -> int:
    """Queue again the jobs of dead processes and prune old runs; returns how many jobs.
    A failure (a deadlock with another daemon reaping at the same moment, the store gone
    for a moment) is logged and tried again next round: it must not stop the daemon."""
    try:
        with rt.store.session() as session:
            reaped = jobs.reap(session, rt.clock.now())
        runs.prune(rt.store, now - rt.settings.runs_kept)
        return reaped
    except Exception as exc:
        log.warning("housekeeping failed; tried again next round",
                    error=error_line(f"{type(exc).__name__}: {exc}"))
        return 0


def _reload(rt: Runtime, reload: Callable[[], Settings]) -> None:
    try:
        settings = reload()
    except ConnectorError as exc:
        log.error("configuration not reloaded; the links stay as they were",
                  error=error_line(exc))
        return
    now = {link.name for link in settings.links}
    settings.links += [link for link in rt.settings.links  # a file broken while running
                       if link.file in settings.broken_link_files and link.name not in now]
    before = {link.name for link in rt.settings.links}
    now = {link.name for link in settings.links}
    if now != before:
        log.info("links changed", added=sorted(now - before), removed=sorted(before - now))
    rt.settings = settings


def stop_on_signals(stop: Stop) -> None:
    """SIGTERM and SIGINT finish the link in hand (within ``stop.deadline``), then stop; a
    second signal hands the work in hand back at once."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.signal()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
