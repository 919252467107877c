"""A PowerOffice Go client over the emulator: the world's ERP side behind PowerOffice's wire."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connector.clock import Clock
from connector.http import RateLimiter
from connector_adapters.mock.world import World
from connector_adapters.poweroffice.adapter import PowerOfficeErp
from connector_adapters.poweroffice.emulator import Keys, PowerOfficeEmulator
from connector_adapters.poweroffice.settings import PowerOfficeSettings
from tests.support import FULL_ADDRESS, new_world

APPLICATION_KEY = "po-application-key-3c9e71d2"
CLIENT_KEY = "po-client-key-a84f0b6e"
SUBSCRIPTION_KEY = "po-subscription-key-5d27c1f9"
V1_CLIENT_KEY = "po-v1-client-key-e0b35a77"
CREDENTIALS = (APPLICATION_KEY, CLIENT_KEY, SUBSCRIPTION_KEY, V1_CLIENT_KEY)
"""What must never reach a cassette or a log line."""
ROOT = "https://goapi.poweroffice.test"
KEYS = Keys(APPLICATION_KEY, (CLIENT_KEY, V1_CLIENT_KEY), (SUBSCRIPTION_KEY,))


class TickingClock:
    """Seconds that move only when a test moves them (token expiry, the rate window)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Client:
    world: World
    emulator: PowerOfficeEmulator
    erp: PowerOfficeErp
    clock: TickingClock


def settings(**extra: Any) -> PowerOfficeSettings:
    options: dict[str, Any] = {"application_key": APPLICATION_KEY, "client_key": CLIENT_KEY,
                               "subscription_key": SUBSCRIPTION_KEY, "root_url": ROOT}
    options.update(extra)
    return PowerOfficeSettings.parse(options)


def writeback() -> dict[str, Any]:
    """The v1 access that switches status write-back on."""
    return {"application_key": APPLICATION_KEY, "client_key": V1_CLIENT_KEY,
            "root_url": f"{ROOT}/v1"}


def unlimited() -> RateLimiter:
    return RateLimiter(f"test:{uuid.uuid4().hex}", 1_000_000)


def client(world: World | None = None, *, rate: int | None = None,
           limiter: RateLimiter | None = None, clock: Clock | None = None,
           **extra: Any) -> Client:
    """The adapter over an emulator of ``world`` (default: a new one with customer 10).
    ``rate`` None: the
    emulator does not limit (tests of the limit set it and a real limiter). ``clock`` is
    the adapter's (default: the world's)."""
    if world is None:
        world = new_world()
        world.add_customer("10", "Nordlys AS", organization_number="923609016",
                           address=FULL_ADDRESS)
    ticking = TickingClock()
    emulator = PowerOfficeEmulator(world, KEYS, rate=rate, clock=ticking)
    erp = PowerOfficeErp(settings(**extra), clock=clock or world.clock,
                         transport=emulator.transport(), limiter=limiter or unlimited(),
                         sleep=lambda _: None, token_clock=ticking)
    return Client(world, emulator, erp, ticking)


@pytest.fixture
def po() -> Iterator[Client]:
    made = client()
    yield made
    made.erp.close()
