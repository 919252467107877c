"""Everything one link's work needs: its settings, store, adapters, clock and plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pluggy
import structlog
from sqlalchemy.orm import Session

from connector import events, item_errors, jobs
from connector.clock import Clock, local_date
from connector.config import LinkSettings
from connector.domain import DEFAULT_TIMEZONE, Company
from connector.lifecycle import Lifecycle
from connector.ports import AgencyAdapter, ErpAdapter
from connector.report import SyncReport
from connector.rules import REMINDER_FLOW, ReadyPolicy
from connector.store.db import Store

log = structlog.get_logger(__name__)


@dataclass
class PassStart:
    """What a pass reads once at its start instead of in each of its steps."""

    company: Company | None
    cursors: dict[str, tuple[datetime | None, datetime]]
    """resource -> (cursor, when the read that moved it began)"""
    errors_open: set[str]
    """Resources with item errors waiting to be resolved."""
    unfinished: set[str] = field(default_factory=set)
    """Job kinds with a queued or running job at the start, and those queued during the
    pass (``LinkContext.queue``): a kind not named here has nothing to claim."""
    dead: bool = False
    """Whether the link had a dead job at the start: else only a job of the pass can die."""
    approved: bool = False
    """Whether the link had an approved claim at the start: else transfers are scheduled
    only if the pass itself approves one (``Lifecycle.entered``)."""


@dataclass
class LinkContext:
    settings: LinkSettings
    store: Store
    erp: ErpAdapter
    agency: AgencyAdapter
    clock: Clock
    pm: pluggy.PluginManager | None = None
    ready_policy: ReadyPolicy = REMINDER_FLOW
    """When an invoice is ready for collection (R1): the ERP adapter's, or the default."""
    company: Company | None = None
    dry_run: bool = False
    keepalive: Callable[[], None] = field(default=lambda: None, repr=False)
    """Called between steps and jobs: renews this process's lease on the link."""
    known: PassStart | None = None
    """Set by the engine for the length of a pass."""
    report: SyncReport = field(init=False)
    claims: Lifecycle = field(init=False)
    """The only writer of this link's claims (see ``connector.lifecycle``)."""
    _dry_session: Session | None = field(default=None, repr=False)

    def queue(self, session: Session, specs: Sequence[jobs.JobSpec], now: datetime,
              revive: Sequence[jobs.JobState] = jobs.REVIVABLE) -> None:
        """``jobs.enqueue`` for this link, noting the kinds so this pass claims them."""
        jobs.enqueue(session, self.link, specs, now, revive)
        if self.known is not None:
            self.known.unfinished.update(spec.kind for spec in specs)

    def __post_init__(self) -> None:
        self.report = SyncReport(self.settings.name, self.dry_run, self.clock.now())
        self.claims = Lifecycle(self.settings.name, self.pm)

    @property
    def link(self) -> str:
        return self.settings.name

    def now(self) -> datetime:
        """Always UTC: arithmetic on zoned times would follow wall clocks across DST."""
        return self.clock.now().astimezone(UTC)

    @property
    def zone(self) -> str:
        """The company's time zone, the one its users and R1's calendar days go by."""
        return self.company.timezone if self.company else DEFAULT_TIMEZONE

    def today(self) -> date:
        """Today in the company's zone: the day R1's calendar days count in."""
        return local_date(self.now(), self.zone)

    def local_time(self, moment: datetime) -> str:
        """A moment as the company's users read it: their zone, to the minute."""
        return moment.astimezone(ZoneInfo(self.zone)).strftime("%Y-%m-%d %H:%M %Z")

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """A transaction; in a dry run all of them share one that is rolled back at the end."""
        if not self.dry_run:
            with self.store.session() as session:
                yield session
                moved = events.written(session)
                self._note_errors(session)
            if moved:  # committed: now, and only now, plugins hear of the moves
                self.deliver_events()
            return
        if self._dry_session is None:
            self._dry_session = Session(self.store.engine, expire_on_commit=False)
            self._dry_session.begin()
        yield self._dry_session
        self._dry_session.flush()
        self._note_errors(self._dry_session)

    @contextmanager
    def statement(self) -> Iterator[Session]:
        """A session whose statements each stand on their own (``Store.statement``): for
        reads and for writes atomic by themselves. In a dry run, the run's shared one."""
        if self.dry_run:
            with self.tx() as session:
                yield session
            return
        with self.store.statement() as session:
            yield session
            self._note_errors(session)

    def _note_errors(self, session: Session) -> None:
        if self.known is not None:
            self.known.errors_open |= item_errors.stored(session)

    def deliver_events(self) -> None:
        """Tell plugins the link's committed claim events (also those a crash left behind)."""
        events.deliver(self.store, self.link, self.pm, self._plugin_failed)

    def _plugin_failed(self, plugin: str, event: events.ClaimMoved, exc: Exception) -> None:
        reason = f"plugin {plugin} failed on {event.name} of claim {event.claim_id}: " \
                 f"{type(exc).__name__}: {exc}"
        log.warning("event plugin failed", link=self.link, plugin=plugin, event_id=event.id,
                    error=f"{type(exc).__name__}: {exc}")
        self.report.fail("events", str(event.id), reason)

    def discard(self) -> None:
        """End a dry run: nothing it did reaches the store."""
        if self._dry_session is not None:
            self._dry_session.rollback()
            self._dry_session.close()
            self._dry_session = None
