"""The connector's adapter contract, run on the PowerOffice adapter against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.domain import Company, LetterKind, VoucherReceipt
from connector.ports import ErpAdapter
from connector.testing import ErpAdapterContract
from connector_adapters.mock.world import World
from connector_adapters.poweroffice.adapter import PowerOfficeErp
from tests.poweroffice.conftest import Client, client
from tests.support import FULL_ADDRESS


class TestPowerOfficeOverTheEmulator(ErpAdapterContract):
    @pytest.fixture
    def made(self) -> Iterator[Client]:
        # The kit dates its vouchers today: the world's clock is today's too.
        world = World.empty(now=datetime.now(UTC), company=Company(name="Kontrakt AS"))
        world.add_customer("10", "Nordlys AS", address=FULL_ADDRESS)
        world.advance(timedelta(minutes=1))
        world.add_customer("11", "Fjord AS", address=FULL_ADDRESS)
        old = world.erp.add_invoice("10", "1250.00", invoice_date=world.today - timedelta(days=60))
        new = world.erp.add_invoice("11", "800.00", invoice_date=world.today - timedelta(days=40))
        for invoice, kind in ((old, LetterKind.DUNNING_LETTER),
                              (new, LetterKind.COLLECTION_NOTICE)):
            world.erp.add_letter(invoice.invoice_no, kind, world.today - timedelta(days=10))
            world.erp.pay(invoice.invoice_no, "100.00")
        made = client(world)
        yield made
        made.erp.close()

    @pytest.fixture
    def erp_adapter(self, made: Client) -> PowerOfficeErp:
        return made.erp

    def approve_proposal(self, erp_adapter: ErpAdapter, receipt: VoucherReceipt) -> None:
        assert isinstance(erp_adapter, PowerOfficeErp)
        emulator = self._made.emulator
        voucher = emulator.world_voucher(receipt.id)
        assert voucher is not None
        emulator.world.erp.approve_proposal(voucher.id)

    @pytest.fixture(autouse=True)
    def _keep(self, made: Client) -> None:
        self._made = made
