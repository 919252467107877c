"""The first sync's read of a big PowerOffice Go company, against the emulator over a socket.

    .venv/bin/python bench/poweroffice_first_sync.py                     # 100,000 invoices
    .venv/bin/python bench/poweroffice_first_sync.py --invoices 20000 --latency 0.05

Builds a mock world with ``--invoices`` issued invoices over ``--customers`` customers (a
fifth of them with a dunning letter on the ledger), serves the PowerOffice emulator on
127.0.0.1 with ``--latency`` seconds added to every answer and PowerOffice's limit of 10
requests per second per subscription key (429 past it), and reads the company through the
real adapter as a first sync does: customers, invoices, letters and the customer ledger from
the beginning, page by page, each page turned into domain models. The adapter keeps its
default pace (9 requests per second, one limiter per subscription key) and asks for the
next page while it translates this one.

Reports the requests per second over the read, as a share of the limit (the goal: at least
90 % with 20 ms latency), the 429s (the goal: none), and rows per second. Timing is for this
benchmark only; the tests never assert on time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from _common import START, code_under_test

from connector.domain import Address, Company, DunningSetup, LetterKind
from connector.http.asgi import serve
from connector_adapters.mock.world import World
from connector_adapters.poweroffice import wire
from connector_adapters.poweroffice.adapter import PowerOfficeErp
from connector_adapters.poweroffice.emulator import Keys, PowerOfficeEmulator
from connector_adapters.poweroffice.settings import PowerOfficeSettings

KEYS = Keys("bench-application-key", ("bench-client-key",), ("bench-subscription-key",))
ADDRESS = Address(line1="Storgata 1", postal_code="0155", city="Oslo", country="NO")


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


def read_everything(erp: PowerOfficeErp) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in ("customers", "invoices", "letters", "ledger"):
        rows = rejected = 0
        for page in getattr(erp, name)(None):
            rows += len(page.items)
            rejected += len(page.rejected)
        counts[name] = rows
        counts[f"{name}_rejected"] = rejected
    return counts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--latency", type=float, default=0.02,
                        help="seconds the emulator adds to every answer")
    parser.add_argument("--page-size", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    world = build_world(args.invoices, args.customers)
    built = time.perf_counter() - began
    emulator = PowerOfficeEmulator(world, KEYS, latency=args.latency)
    with serve(emulator.app) as root:
        settings = PowerOfficeSettings.parse({
            "application_key": KEYS.application_key, "client_key": KEYS.client_keys[0],
            "subscription_key": KEYS.subscription_keys[0], "root_url": root,
            "page_size": args.page_size})
        erp = PowerOfficeErp(settings, clock=world.clock)
        started = time.perf_counter()
        counts = read_everything(erp)
        seconds = time.perf_counter() - started
        erp.close()
    requests = len(emulator.arrivals)
    per_second = requests / seconds
    result: dict[str, Any] = {
        "code": code_under_test(), "invoices": args.invoices, "customers": args.customers,
        "latency_s": args.latency, "page_size": args.page_size,
        "world_built_s": round(built, 1), "read_s": round(seconds, 1), "requests": requests,
        "requests_per_s": round(per_second, 2),
        "share_of_limit": round(per_second / wire.RATE_LIMIT_PER_SECOND, 3),
        "answered_429": emulator.rate_limited,
        "rows_per_s": round(sum(v for k, v in counts.items()
                                if not k.endswith("_rejected")) / seconds),
        **counts}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
