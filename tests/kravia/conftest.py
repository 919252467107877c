"""A Kravia creditor over the emulator: the world's agency side behind Kravia's wire format."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from connector.domain import CaseRequest, Debtor
from connector_adapters.kravia.adapter import KraviaAgency
from connector_adapters.kravia.emulator import KraviaEmulator
from connector_adapters.kravia.settings import KraviaSettings
from connector_adapters.kravia.webhook import FetchMarks
from connector_adapters.mock.world import World
from tests.support import FULL_ADDRESS, new_world

TOKEN = "kravia-test-token-5f1c2a9e"
WEBHOOK_SECRET = "kravia-hook-secret-8d3b07"
CREDITOR = 10759
CREDENTIALS = (TOKEN, WEBHOOK_SECRET)
"""What must never reach a cassette or a log line."""


@dataclass
class Creditor:
    world: World
    emulator: KraviaEmulator
    agency: KraviaAgency
    marks: FetchMarks

    def request(self, invoice_no: str = "4711", customer_no: str = "10",
                amount: str = "1250.00", **debtor: Any) -> CaseRequest:
        """An overdue claim of a complete business debtor, referenced by invoice number."""
        due = self.world.today - timedelta(days=20)
        fields: dict[str, Any] = {"number": customer_no, "name": "Nordlys AS",
                                  "is_person": False, "organization_number": "923609016",
                                  "email": None, "phone": None, "address": FULL_ADDRESS}
        fields.update(debtor)
        return CaseRequest(reference=f"inv-{invoice_no}", invoice_id=f"inv-{invoice_no}",
                           invoice_no=invoice_no, invoice_date=due - timedelta(days=14),
                           due_date=due, amount=Decimal(amount), balance=Decimal(amount),
                           currency="NOK", debtor=Debtor(**fields))


def settings(**extra: Any) -> KraviaSettings:
    return KraviaSettings.parse({"api_token": TOKEN, "creditor_id": CREDITOR,
                                 "webhook_secret": WEBHOOK_SECRET,
                                 "requests_per_second": 1_000_000, **extra})


def creditor(world: World | None = None, **extra: Any) -> Creditor:
    world = world or new_world()
    if "10" not in world.erp.customers:
        world.add_customer("10", "Nordlys AS", organization_number="923609016",
                           address=FULL_ADDRESS)
    emulator = KraviaEmulator(world, {TOKEN: CREDITOR}, CREDITOR)
    marks = FetchMarks()
    agency = KraviaAgency(settings(**extra), clock=world.clock, marks=marks,
                          transport=emulator.transport(), sleep=lambda _: None)
    return Creditor(world, emulator, agency, marks)


@pytest.fixture
def kravia() -> Iterator[Creditor]:
    made = creditor()
    yield made
    made.agency.close()
