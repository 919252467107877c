"""Mock companies for the service tests: each link its own world with invoices ready to go
to the agency in the link's first pass (automatic transfer, no grace window)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from connector_adapters.mock.scenario import build_scenario

SCENARIO = """
[world]
start = 2026-03-02T08:00:00+01:00
[company]
name = "Company {n} AS"
auto_transfer = true
[[customers]]
number = "10"
name = "Fjordkraft Rør AS"
organization_number = "923609016"
address = {{ line1 = "Storgata 12", postal_code = "0155", city = "Oslo", country = "NO" }}
behaviour = "never"
"""
INVOICE = """
[[invoices]]
invoice_no = "{no}"
customer_no = "10"
due_in_days = -3
amount = "1000.00"
"""


def make_world(folder: Path, n: int = 1, invoices: int = 2) -> list[str]:
    """A world in ``folder`` whose ``invoices`` invoices are overdue; returns their numbers."""
    numbers = [str(500 + i) for i in range(1, invoices + 1)]
    text = SCENARIO.format(n=n) + "".join(INVOICE.format(no=no) for no in numbers)
    world = build_scenario(tomllib.loads(text))
    world.bind(folder)
    world.close()
    return numbers


def link_toml(name: str, world: str, erp: str = "", agency: str = "",
              agency_adapter: str = "mock") -> str:
    """A link table: the link's own world, no grace window."""
    return (f'[[links]]\nname = "{name}"\ngrace = "0s"\ncall_backoff = "0s"\n'
            f'[links.erp]\nadapter = "mock"\nworld = "{world}"\n{erp}'
            f'[links.agency]\nadapter = "{agency_adapter}"\nworld = "{world}"\n{agency}')
