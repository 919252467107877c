"""The agency half of ``connector demo --http``: Kravia over 127.0.0.1.

The real Kravia adapter talks over sockets to the emulator of the demo's world; the
emulator's webhook deliveries go over sockets too, to a receiver like the daemon's, signed
with the link's secret. Kravia sends a delivery when a case changes; the demo's world
changes when its clock moves, so each pass first has Kravia deliver what changed since the
last one, and the pass fetches the marked cases before it polls.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette

from connector.domain import CaseUpdate
from connector.http.asgi import serve
from connector.ports import Page
from connector_adapters.kravia import guesses
from connector_adapters.kravia.adapter import SERVICE, KraviaAgency
from connector_adapters.kravia.emulator import PREFIX, KraviaEmulator
from connector_adapters.kravia.settings import KraviaSettings
from connector_adapters.kravia.webhook import FetchMarks, Verifier, receiver
from connector_adapters.mock.world import World

if TYPE_CHECKING:
    from connector_adapters.mock.http_demo import VirtualTime

CREDITOR = 10759
HOOK_PATH = "/webhooks/kravia/demo"


class _Notified(KraviaAgency):
    """The adapter, with Kravia's deliveries for the world's changes made before each read."""

    deliver: Callable[[], list[int]]

    def changes(self, changed_since: datetime | None) -> Iterator[Page[CaseUpdate]]:
        self.deliver()
        return super().changes(changed_since)


def agency_half(world: World, time: VirtualTime, lock: threading.RLock, stack: ExitStack
                ) -> tuple[KraviaAgency, Callable[[], dict[str, Any]]]:
    """The Kravia adapter against its emulator of ``world`` on a free port of 127.0.0.1,
    with its webhook registered at a receiver on another; all stopped with ``stack``."""
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    emulator = KraviaEmulator(world, {token: CREDITOR}, CREDITOR,
                              rate=guesses.REQUESTS_PER_SECOND * 2, clock=time.now, lock=lock)
    root = stack.enter_context(serve(emulator.app))
    marks = FetchMarks()
    verifier = Verifier(secret, world.clock.now)
    hooks = stack.enter_context(serve(Starlette(routes=[
        receiver(HOOK_PATH, verifier, marks, "demo")])))
    settings = KraviaSettings.model_validate({
        "api_token": token, "creditor_id": CREDITOR, "base_url": f"{root}{PREFIX}",
        "webhook_secret": secret})
    agency = _Notified(settings, clock=world.clock, marks=marks, sleep=time.sleep,
                       limiter=time.limiter(f"{SERVICE}:demo", settings.requests_per_second))
    stack.callback(agency.close)
    agency.register_webhook(f"{hooks}{HOOK_PATH}")
    delivered: list[int] = []

    def deliver() -> list[int]:
        codes = emulator.deliver()
        delivered.extend(codes)
        return codes

    agency.deliver = deliver

    def report() -> dict[str, Any]:
        books = world.agency
        return {"url": root, "requests": len(emulator.requests),
                "rate_limited": emulator.rate_limited,
                "registrations": books.registrations, "duplicate_cases": books.duplicates,
                "duplicate_reductions": books.duplicate_reductions,
                "bookkept_twice": sum(n > 1 for n in books.payouts_booked.values()),
                "webhooks_accepted": delivered.count(200),
                "webhooks_refused": len(delivered) - delivered.count(200)}

    return agency, report
