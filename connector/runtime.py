"""Wiring: settings + registry + store → a ready LinkContext for each configured link."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connector.clock import Clock, SystemClock
from connector.config import LinkSettings, Settings
from connector.context import LinkContext
from connector.errors import ConfigError
from connector.ports import AdapterContext, AgencyAdapter, ErpAdapter
from connector.pull import stored_company
from connector.registry import Registry, load_registry
from connector.store.db import Store


class Runtime:
    """The process-wide pieces: settings, the plugin registry and the store."""

    def __init__(self, settings: Settings, registry: Registry | None = None,
                 store: Store | None = None) -> None:
        self.settings = settings
        self.registry = registry or load_registry()
        self.store = store or Store(settings.database_url)

    def adapters(self, link: LinkSettings) -> tuple[ErpAdapter, AgencyAdapter]:
        context = AdapterContext(link=link.name, state_dir=self.settings.state_dir)
        erp_info = self.registry.get("erp", link.erp.adapter)
        agency_info = self.registry.get("agency", link.agency.adapter)
        erp = erp_info.factory(link.erp.options, context)
        agency = agency_info.factory(link.agency.options, context)
        return erp, agency

    @contextmanager
    def link(self, name: str | None = None, *, dry_run: bool = False,
             clock: Clock | None = None) -> Iterator[LinkContext]:
        """A link's context; adapters are closed (the mock world saved) on the way out."""
        settings = self.settings.link(name)
        erp, agency = self.adapters(settings)
        chosen: Any = clock or getattr(erp, "clock", None) or SystemClock()
        with self.store.session() as session:
            company = stored_company(session, settings.name)
        try:
            yield LinkContext(settings=settings, store=self.store, erp=erp, agency=agency,
                              clock=chosen, pm=self.registry.pm, company=company,
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
