"""``connector demo --http``: the demo through the real PowerOffice Go and Kravia adapters,
each talking over sockets on 127.0.0.1 to its emulator of the demo's world.

The two emulators keep their books in the one mock world, so the world still counts what the
real services would hold twice. Rate limits hold on a virtual clock that moves only when a
limiter or a retry waits: the demo keeps to PowerOffice's 10 requests per second without
waiting for them in real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from connector.config import CollectionSettings, LinkSettings
from connector.context import LinkContext
from connector.domain import DunningSetup
from connector.http import InProcessBackend, RateLimiter
from connector.rules import REMINDER_FLOW
from connector.runtime import Runtime
from connector_adapters.mock.world import World


class VirtualTime:
    """Seconds that move only when someone waits: ``sleep`` adds, never blocks."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    def limiter(self, key: str, rate: float) -> RateLimiter:
        return RateLimiter(key, rate, backend=InProcessBackend(clock=self.now), sleep=self.sleep)


@contextmanager
def http_link(rt: Runtime, link: LinkSettings, world: World
              ) -> Iterator[tuple[LinkContext, Callable[[], dict[str, Any]]]]:
    """The link's context over both real adapters and both emulators, and a report of the
    traffic and of anything the services would hold twice."""
    from connector_adapters.kravia.demo import agency_half
    from connector_adapters.poweroffice.demo import erp_half

    company = world.erp.company
    # PowerOffice Go's API has neither: the link says them, as a real link's settings would.
    settings = link.model_copy(update={"collection": CollectionSettings(
        dunning=company.dunning or DunningSetup(), auto_transfer=bool(company.auto_transfer))})
    time, lock = VirtualTime(), threading.RLock()
    with ExitStack() as stack:
        erp, erp_report = erp_half(world, time, lock, stack)
        agency, agency_report = agency_half(world, time, lock, stack)
        ctx = LinkContext(settings=settings, store=rt.store, erp=erp, agency=agency,
                          clock=world.clock, pm=rt.registry.pm, company=None,
                          ready_policy=REMINDER_FLOW, dry_run=False)
        yield ctx, lambda: {"poweroffice": erp_report(), "kravia": agency_report()}
