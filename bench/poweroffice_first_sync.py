"""The first sync's read of a big PowerOffice Go company, against the emulator over a socket.

    .venv/bin/python bench/poweroffice_first_sync.py                     # 100,000 invoices
    .venv/bin/python bench/poweroffice_first_sync.py --page-size 5000    # PowerOffice's default
    .venv/bin/python bench/poweroffice_first_sync.py --emulator thread   # in this process
    .venv/bin/python bench/poweroffice_first_sync.py --invoices 20000 --latency 0.05

Builds a mock world with ``--invoices`` issued invoices over ``--customers`` customers (a
fifth of them with a dunning letter on the ledger), serves the PowerOffice emulator on
127.0.0.1 with ``--latency`` seconds added to every answer and PowerOffice's limit of 10
requests per second per subscription key (429 past it), and reads the company through the
real adapter as a first sync does: customers, invoices, letters and the customer ledger from
the beginning, page by page, each page turned into domain models. The adapter keeps its
default pace (9 requests per second, one limiter per subscription key) and asks for the
next page while it translates this one.

The emulator runs in a process of its own by default, as PowerOffice is not in the
connector's process (``--emulator thread`` serves it from a thread of this one, sharing the
interpreter lock). Before the clock starts it is asked for the first row of each list the
read asks for, so that it has sorted its lists (as a database keeps its indexes); sorting
100,000 rows in the emulator is no part of the adapter's read.

Reports the requests per second over the read, as a share of the limit (the goal: at least
90 % with 20 ms latency), the 429s (the goal: none), and rows per second, with the load
average before and after. At the default pace the best a read of n requests can do is n
requests in (n - 1) / 9 seconds, so the goal leaves the whole read less than one slot (1/9 s)
to lose; ``slots_lost`` says how many it lost, and ``held_back_by_pace`` how many requests
found their slot still ahead (the read was bound by the pace, not by its own work). Timing
is for this benchmark only; the tests never assert on time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from _common import START, code_under_test

from connector.clock import ManualClock
from connector.domain import Address, Company, DunningSetup, LetterKind
from connector.http import RateLimiter, credential_key
from connector.http.asgi import serve
from connector_adapters.mock.world import World
from connector_adapters.poweroffice import wire
from connector_adapters.poweroffice.adapter import SERVICE, PowerOfficeErp
from connector_adapters.poweroffice.emulator import Keys, PowerOfficeEmulator
from connector_adapters.poweroffice.settings import PowerOfficeSettings

KEYS = Keys("bench-application-key", ("bench-client-key",), ("bench-subscription-key",))
ADDRESS = Address(line1="Storgata 1", postal_code="0155", city="Oslo", country="NO")
READS = ("customers", "invoices", "letters", "ledger")
Counted = Callable[[], tuple[int, int]]
"""Requests that reached the emulator since its warm-up, and the 429s among them."""


@dataclass
class CountingLimiter(RateLimiter):
    """The adapter's limiter (same key, pace and burst), counting the requests that found
    their slot still ahead: those the pace held back, not the adapter's own work."""

    held_back: int = 0

    def acquire(self) -> float:
        waited = super().acquire()
        self.held_back += waited > 0
        return waited


def build_world(invoices: int, customers: int) -> World:
    world = World.empty(now=START, company=Company(
        name="Stor Bedrift AS", dunning=DunningSetup(dunning_letter=True)))
    erp = world.erp
    for n in range(customers):
        erp.add_customer(str(10_000 + n), f"Kunde {n} AS", organization_number="923609016",
                         address=ADDRESS)
    today = world.today
    for n in range(invoices):
        issued = today - timedelta(days=1 + n % 90)
        invoice = erp.add_invoice(str(10_000 + n % customers), Decimal(500 + n % 5000),
                                  invoice_date=issued, due_date=issued + timedelta(days=14))
        if n % 5 == 0 and issued + timedelta(days=28) < today:
            erp.add_letter(invoice.invoice_no, LetterKind.DUNNING_LETTER,
                           issued + timedelta(days=28))
    return world


def settings(root: str, page_size: int) -> PowerOfficeSettings:
    return PowerOfficeSettings.parse({
        "application_key": KEYS.application_key, "client_key": KEYS.client_keys[0],
        "subscription_key": KEYS.subscription_keys[0], "root_url": root,
        "page_size": page_size})


def read_everything(erp: PowerOfficeErp) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in READS:
        rows = rejected = 0
        for page in getattr(erp, name)(None):
            rows += len(page.items)
            rejected += len(page.rejected)
        counts[name] = rows
        counts[f"{name}_rejected"] = rejected
    return counts


def warm(emulator: PowerOfficeEmulator, world: World) -> None:
    """Ask for the first row of each list the read asks for (the emulator sorts a list on
    its first request), through the adapter over an in-process transport, then let the
    emulator's one-second window of arrivals empty."""
    erp = PowerOfficeErp(settings(wire.ROOT_URL, 1), clock=world.clock,
                         transport=emulator.transport(),
                         limiter=RateLimiter("bench warm-up", wire.RATE_LIMIT_PER_SECOND - 1))
    for name in READS:
        next(iter(getattr(erp, name)(None)), None)
    erp.close()
    time.sleep(1.5)


def traffic(emulator: PowerOfficeEmulator) -> tuple[int, int]:
    """Requests that reached the emulator with the subscription key, and its 429s."""
    return len(emulator.arrivals), emulator.rate_limited


@contextmanager
def emulator_in_thread(world: World, latency: float) -> Iterator[tuple[str, Counted]]:
    """The emulator served from a thread of this process; yields its URL and a function
    giving its traffic since the warm-up."""
    emulator = PowerOfficeEmulator(world, KEYS, latency=latency)
    warm(emulator, world)
    before = traffic(emulator)

    def since_warm_up() -> tuple[int, int]:
        requests, answered_429 = traffic(emulator)
        return requests - before[0], answered_429 - before[1]

    with serve(emulator.app) as root:
        yield root, since_warm_up


def _serve_in_child(invoices: int, customers: int, latency: float, parent: Connection) -> None:
    world = build_world(invoices, customers)
    with emulator_in_thread(world, latency) as (root, since_warm_up):
        parent.send(root)
        parent.recv()
        parent.send(since_warm_up())


@contextmanager
def emulator_in_process(invoices: int, customers: int, latency: float
                        ) -> Iterator[tuple[str, Counted]]:
    """The emulator, and the world it serves, in a process of their own: the connector's
    process holds no ERP data (its collector never walks it)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_in_child,
                              args=(invoices, customers, latency, child), daemon=True)
    process.start()
    try:
        root: str = parent.recv()

        def since_warm_up() -> tuple[int, int]:
            parent.send("done")
            counted: tuple[int, int] = parent.recv()
            return counted

        yield root, since_warm_up
    finally:
        process.join(10)
        if process.is_alive():
            process.terminate()


@contextmanager
def emulator_for(args: argparse.Namespace) -> Iterator[tuple[str, Counted]]:
    if args.emulator == "process":
        with emulator_in_process(args.invoices, args.customers, args.latency) as served:
            yield served
    else:
        with emulator_in_thread(build_world(args.invoices, args.customers),
                                args.latency) as served:
            yield served


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--latency", type=float, default=0.02,
                        help="seconds the emulator adds to every answer")
    parser.add_argument("--page-size", type=int, default=1_000)
    parser.add_argument("--emulator", choices=("process", "thread"), default="process",
                        help="serve the emulator from its own process or from a thread")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with emulator_for(args) as (root, since_warm_up):
        load_before = os.getloadavg()[0]
        options = settings(root, args.page_size)
        limiter = CountingLimiter(
            credential_key(SERVICE, options.subscription_key.get_secret_value()),
            options.requests_per_second)
        erp = PowerOfficeErp(options, clock=ManualClock(START), limiter=limiter)
        started = time.perf_counter()
        counts = read_everything(erp)
        seconds = time.perf_counter() - started
        erp.close()
        requests, answered_429 = since_warm_up()
    pace = erp.settings.requests_per_second
    per_second = requests / seconds
    rows = sum(v for k, v in counts.items() if not k.endswith("_rejected"))
    result: dict[str, Any] = {
        "code": code_under_test(), "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2), "emulator": args.emulator,
        "invoices": args.invoices, "customers": args.customers,
        "latency_s": args.latency, "page_size": args.page_size, "pace_per_s": pace,
"read_s": round(seconds, 2), "requests": requests,
        "requests_per_s": round(per_second, 2),
        "share_of_limit": round(per_second / wire.RATE_LIMIT_PER_SECOND, 3),
        "slots_lost": round(seconds * pace - (requests - 1), 1),
        "held_back_by_pace": limiter.held_back,
        "answered_429": answered_429, "rows_per_s": round(rows / seconds),
        **{f"read_{name}": count for name, count in counts.items()}}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
