"""The conformance kit as a pytest plugin, switched on by one line of pytest configuration.

Installed with the connector (entry point ``pytest11``), it does nothing until a project
names the contracts its adapters must keep::

    [tool.pytest.ini_options]
    connector_contract = ["erp", "agency"]

Then, beside every ``conftest.py`` that defines the adapter fixture of a contract
(``erp_adapter``; ``agency_adapter``), pytest collects that contract's tests
(``connector.testing``) as if a test file held them, with that conftest's fixtures.
``case_request`` (an accepted business claim) and ``adapter_context`` (a state folder of
the test's own) are given here; define your own to override them.
"""

from __future__ import annotations

import types
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.domain import Address, CaseRequest, Debtor
from connector.ports import AdapterContext

INI = "connector_contract"
CONTRACTS = {"erp": ("erp_adapter", "ErpAdapterContract"),
             "agency": ("agency_adapter", "AgencyAdapterContract")}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI, type="args", default=[],
                  help="Adapter contracts of the connector to run: erp, agency (beside "
                       "each conftest.py that defines erp_adapter / agency_adapter).")


def pytest_configure(config: pytest.Config) -> None:
    unknown = sorted(set(config.getini(INI)) - set(CONTRACTS))
    if unknown:
        raise pytest.UsageError(f"{INI}: unknown {', '.join(unknown)} (known: erp, agency)")


class ContractModule(pytest.Module):
    """The contract classes a conftest's fixtures are checked against, collected as a
    module of their own next to that conftest."""

    contracts: tuple[str, ...] = ()

    def _getobj(self) -> Any:
        from connector import testing

        module = types.ModuleType(f"connector_contract_{'_'.join(self.contracts)}")
        bases = [getattr(testing, CONTRACTS[side][1]) for side in self.contracts]
        module.__dict__.update({
            f"Test{base.__name__}": type(f"Test{base.__name__}", (base,),
                                         {"__module__": module.__name__})
            for base in bases})
        return module


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    wanted = parent.config.getini(INI)
    if not wanted or file_path.name != "conftest.py":
        return None
    conftest = parent.config.pluginmanager.get_plugin(str(file_path))
    contracts = tuple(side for side in CONTRACTS if side in wanted
                      and hasattr(conftest, CONTRACTS[side][0]))
    if not contracts:
        return None
    collector = ContractModule.from_parent(parent, path=file_path, name="connector-contract",
                                           nodeid=f"{parent.nodeid}/connector-contract"
                                           .lstrip("/"))
    collector.contracts = contracts
    return collector


@pytest.fixture
def adapter_context(tmp_path: Path) -> AdapterContext:
    """What an adapter factory receives besides its settings: a state folder of its own."""
    return AdapterContext(link="contract", state_dir=tmp_path)


@pytest.fixture
def case_request() -> CaseRequest:
    """An overdue business claim with a full Norwegian address, under a reference no
    earlier run used: what most agencies accept."""
    due = date.today() - timedelta(days=30)
    reference = f"contract-{uuid.uuid4().hex}"
    return CaseRequest(
        reference=reference, invoice_id=reference, invoice_no=reference[-8:],
        invoice_date=due - timedelta(days=14), due_date=due, amount=Decimal("1250.00"),
        balance=Decimal("1250.00"), currency="NOK",
        debtor=Debtor(number="10", name="Nordlys AS", is_person=False,
                      organization_number="923609016", email=None, phone=None,
                      address=Address(line1="Storgata 1", postal_code="0155", city="Oslo",
                                      country="NO")))
