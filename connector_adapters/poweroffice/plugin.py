"""Registers the PowerOffice Go ERP adapter, exactly as a third-party plugin would.

The adapter is listed by ``connector adapters`` with the capabilities the real API offers,
but it cannot be used yet: its factory says so plainly. ``endpoints`` holds the facts the
real adapter will be built on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import connector
from connector.errors import NotYetUsable
from connector.ports import Capability

if TYPE_CHECKING:
    from connector.ports import AdapterContext
    from connector.registry import Register

NAME = "poweroffice"

CAPABILITIES = frozenset(
    {
        Capability.STATUS_WRITEBACK,  # v1 DebtCollection/UpdateStatus (R8)
        Capability.VOUCHERS,  # v2 POST /Vouchers/ManualJournals, /Vouchers/BankJournals
        Capability.PROPOSALS,  # v2 POST /JournalEntryVouchers/ManualJournals, /BankJournals
        Capability.WRITE_OFFS,  # Customerledger entries carry IsWriteOff (R12)
    }
)

SUMMARY = "PowerOffice Go, API v2 and the debt-collection partner API"


def create(settings: Mapping[str, Any], context: AdapterContext) -> NoReturn:
    """The factory ``connector`` calls for ``adapter = "poweroffice"``."""
    raise NotYetUsable(
        "The PowerOffice Go adapter is not yet usable: it is registered so "
        "`connector adapters` lists it; use the mock adapters (adapter = \"mock\") "
        "until it lands."
    )


@connector.hookimpl
def connector_register_adapters(register: Register) -> None:
    register.erp(NAME, create, capabilities=CAPABILITIES, summary=SUMMARY, usable=False)
