"""A steady sync keeps under PowerOffice's 10 requests per second per subscription key and
gets no 429, also when two links of this process share one subscription key: they share
one limiter (``connector.http.shared_limiter``). Real time: a few seconds."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from connector.store.db import Store
from connector_adapters.poweroffice.adapter import PowerOfficeErp
from connector_adapters.poweroffice.emulator import PowerOfficeEmulator
from tests.poweroffice.conftest import KEYS, V1_CLIENT_KEY, settings
from tests.poweroffice.test_poweroffice_scenarios import PowerOfficeHarness
from tests.support import new_world

PASSES = 2


def busiest_second(arrivals: list[float]) -> int:
    """The most requests that arrived within any one second."""
    times = sorted(arrivals)
    return max((sum(1 for t in times[i:] if t < start + 1.0)
                for i, start in enumerate(times)), default=0)


def test_two_links_on_one_subscription_key_stay_under_the_limit(tmp_path: Path) -> None:
    world = new_world()
    for number in range(10, 16):
        world.add_customer(str(number), f"Kunde {number} AS")
        world.erp.add_invoice(str(number), "1000.00", invoice_date=world.today - timedelta(30),
                              due_date=world.today - timedelta(10))
    emulator = PowerOfficeEmulator(world, KEYS)  # 10 per second, on the real clock
    harnesses = []
    erps: list[PowerOfficeErp] = []
    for n, client_key in enumerate((KEYS.client_keys[0], V1_CLIENT_KEY)):
        h = PowerOfficeHarness(Store(f"sqlite:///{tmp_path / f'link{n}.db'}"), world)
        # each link its own client key, the same subscription key: no limiter given, so the
        # adapter takes the process's one for that key
        erp = PowerOfficeErp(settings(client_key=client_key), clock=world.clock,
                             transport=emulator.transport())
        h.erp = erp  # type: ignore[assignment]
        erps.append(erp)
        harnesses.append(h)
    assert erps[0].limiter is erps[1].limiter

    failed: list[BaseException] = []

    def steady(h: PowerOfficeHarness) -> None:
        try:
            for _ in range(PASSES):
                h.sync()
        except BaseException as exc:  # a thread's failure is the test's
            failed.append(exc)

    threads = [threading.Thread(target=steady, args=(h,)) for h in harnesses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failed == []
    assert all(h.claims() for h in harnesses), "both links synced"
    assert emulator.rate_limited == 0
    assert len(emulator.arrivals) >= 20  # two tokens, two links reading twice
    assert busiest_second(emulator.arrivals) <= 10
    for h in harnesses:
        h.erp.close()
        h.store.dispose()


def test_busiest_second_counts_a_burst() -> None:
    assert busiest_second([0.0, 0.1, 0.95, 1.0, 1.5]) == 3
    assert busiest_second([]) == 0
