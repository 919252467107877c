"""Registers the Kravia agency adapter, exactly as a third-party plugin would.

The adapter is listed by ``connector adapters`` with the capabilities Kravia's public API
offers. Pause, resume and withdraw are not among them: Kravia documents no endpoint for
them, so a user does those in Kravia Kundeweb (R6). The factory says plainly that the
adapter cannot be used yet. ``endpoints`` holds the facts the real adapter will be built on.
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

NAME = "kravia"

CAPABILITIES = frozenset(
    {
        Capability.WEBHOOKS,  # PUT /creditor/{id}/webhook
        Capability.DIRECT_PAYMENTS,  # POST /invoice/payment
        Capability.CREDIT_NOTES,  # POST /invoice/creditnote
    }
)

SUMMARY = "Kravia, API v2; pause and withdraw are done in Kravia Kundeweb"


def create(settings: Mapping[str, Any], context: AdapterContext) -> NoReturn:
    """The factory ``connector`` calls for ``adapter = "kravia"``."""
    raise NotYetUsable(
        "The Kravia adapter is not yet usable: it is registered so `connector adapters` "
        "lists it; use the mock adapters (adapter = \"mock\") until it lands."
    )


@connector.hookimpl
def connector_register_adapters(register: Register) -> None:
    register.agency(NAME, create, capabilities=CAPABILITIES, summary=SUMMARY, usable=False)
