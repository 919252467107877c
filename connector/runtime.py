"""Wiring: settings + registry + store → a ready LinkContext for each configured link."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from connector.clock import Clock, SystemClock
from connector.config import LinkSettings, Settings
from connector.context import LinkContext
from connector.errors import ConfigError
from connector.ports import AdapterContext, AgencyAdapter, ErpAdapter
from connector.pull import stored_company
from connector.registry import Registry, load_registry
from connector.rules import REMINDER_FLOW
from connector.store.db import Store


class Runtime:
    """The process-wide pieces: settings, the plugin registry, the store and the clock.

    The clock is the one given; without one, a plugin that simulates time may supply it
    (``connector_clock``, the mock world does), else it is the system's.
    """

    def __init__(self, settings: Settings, registry: Registry | None = None,
                 store: Store | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.registry = registry or load_registry()
        self.store = store or Store(settings.database_url)
        self.clock: Clock = (clock or self.registry.pm.hook.connector_clock(settings=settings)
                             or SystemClock())

    def adapters(self, link: LinkSettings) -> tuple[ErpAdapter, AgencyAdapter]:
        context = AdapterContext(link=link.name, state_dir=self.settings.state_dir)
        erp_info = self.registry.get("erp", link.erp.adapter)
        agency_info = self.registry.get("agency", link.agency.adapter)
        erp = erp_info.factory(link.erp.options, context)
        agency = agency_info.factory(link.agency.options, context)
        return erp, agency

    @contextmanager
    def link(self, name: str | None = None, *, dry_run: bool = False,
             company: bool = True) -> Iterator[LinkContext]:
        """A link's context; adapters are closed (the mock world saved) on the way out.

        ``company`` reads the stored company into it; a pass reads it itself at its start
        (``connector.pass_start``), so a pass's context leaves it out: one statement less."""
        settings = self.settings.link(name)
        erp, agency = self.adapters(settings)
        stored = None
        if company:
            with self.store.statement() as session:
                stored = stored_company(session, settings.name)
        try:
            yield LinkContext(settings=settings, store=self.store, erp=erp, agency=agency,
                              clock=self.clock, pm=self.registry.pm, company=stored,
                              ready_policy=getattr(erp, "ready_policy", REMINDER_FLOW),
                              dry_run=dry_run)
        finally:
            agency.close()
            erp.close()

    def link_names(self, name: str | None) -> list[str]:
        if name is not None:
            self.settings.link(name)
            return [name]
        if not self.settings.links:
            raise ConfigError(f"no links are configured in {self.settings.source}")
        return [link.name for link in self.settings.links]
