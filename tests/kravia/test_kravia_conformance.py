"""The connector's adapter contract, run on the Kravia adapter against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.domain import CaseRequest
from connector.testing import AgencyAdapterContract
from connector_adapters.kravia.adapter import KraviaAgency
from tests.kravia.conftest import Creditor, creditor


class TestKraviaOverTheEmulator(AgencyAdapterContract):
    @pytest.fixture
    def made(self) -> Iterator[Creditor]:
        made = creditor()
        yield made
        made.agency.close()

    @pytest.fixture
    def agency_adapter(self, made: Creditor) -> KraviaAgency:
        return made.agency

    @pytest.fixture
    def case_request(self, made: Creditor) -> CaseRequest:
        return made.request()
