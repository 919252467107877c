"""Registers the PowerOffice Go ERP adapter, exactly as a third-party plugin would.

The registered capabilities are every one the adapter can have; a link declares
``status_writeback`` only when its settings configure the v1 debt-collection access
(``docs/adapters/poweroffice.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import connector
from connector.ports import Capability
from connector_adapters.poweroffice.adapter import PowerOfficeErp
from connector_adapters.poweroffice.settings import PowerOfficeSettings

if TYPE_CHECKING:
    from connector.ports import AdapterContext
    from connector.registry import Register

NAME = "poweroffice"
SUMMARY = "PowerOffice Go, API v2; status write-back through the debt-collection API, optional"
CAPABILITIES = frozenset({Capability.VOUCHERS, Capability.PROPOSALS, Capability.WRITE_OFFS,
                          Capability.STATUS_WRITEBACK})


def create(settings: Mapping[str, Any], context: AdapterContext) -> PowerOfficeErp:
    """The factory ``connector`` calls for ``adapter = "poweroffice"``."""
    return PowerOfficeErp(PowerOfficeSettings.parse(settings))


@connector.hookimpl
def connector_register_adapters(register: Register) -> None:
    register.erp(NAME, create, capabilities=CAPABILITIES, summary=SUMMARY)
