"""Everything one link's work needs: its settings, store, adapters, clock and plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pluggy
from sqlalchemy.orm import Session

from connector.clock import Clock, local_date
from connector.config import LinkSettings
from connector.domain import DEFAULT_TIMEZONE, Company
from connector.ports import AgencyAdapter, ErpAdapter
from connector.report import SyncReport
from connector.store.db import Store


@dataclass
class LinkContext:
    settings: LinkSettings
    store: Store
    erp: ErpAdapter
    agency: AgencyAdapter
    clock: Clock
    pm: pluggy.PluginManager | None = None
    company: Company | None = None
    dry_run: bool = False
    keepalive: Callable[[], None] = field(default=lambda: None, repr=False)
    """Called between steps and jobs: renews this process's lease on the link."""
    report: SyncReport = field(init=False)
    _dry_session: Session | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.report = SyncReport(self.settings.name, self.dry_run, self.clock.now())


    @property
    def listeners(self) -> pluggy.PluginManager | None:
        """Who hears of moves: nobody in a dry run, which only pretends to move claims."""
        return None if self.dry_run else self.pm

    @property
    def link(self) -> str:
        return self.settings.name

    def now(self) -> datetime:
        """Always UTC: arithmetic on zoned times would follow wall clocks across DST."""
        return self.clock.now().astimezone(UTC)

    @property
    def timezone(self) -> str:
        """The company's zone, where its users live and R1's calendar days count."""
        return self.company.timezone if self.company else DEFAULT_TIMEZONE

    def today(self) -> date:
        """Today in the company's zone: the day R1's calendar days count in."""
        return local_date(self.now(), self.timezone)

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """A transaction; in a dry run all of them share one that is rolled back at the end."""
        if not self.dry_run:
            with self.store.session() as session:
                yield session
            return
        if self._dry_session is None:
            self._dry_session = Session(self.store.engine, expire_on_commit=False)
            self._dry_session.begin()
        yield self._dry_session
        self._dry_session.flush()

    def discard(self) -> None:
        """End a dry run: nothing it did reaches the store."""
        if self._dry_session is not None:
            self._dry_session.rollback()
            self._dry_session.close()
            self._dry_session = None
