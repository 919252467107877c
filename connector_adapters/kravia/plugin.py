"""Registers the Kravia agency adapter, exactly as a third-party plugin would.

Pause, resume and withdraw are not among its capabilities: Kravia documents no endpoint for
them, so a user does those in Kravia Kundeweb (R6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

import connector
from connector.clock import SystemClock
from connector_adapters.kravia.adapter import KraviaAgency
from connector_adapters.kravia.settings import KraviaSettings
from connector_adapters.kravia.webhook import RouteTable, marks_for, mount

if TYPE_CHECKING:
    from connector.ports import AdapterContext
    from connector.registry import Register

NAME = "kravia"
SUMMARY = "Kravia, API v2; pause and withdraw are done in Kravia Kundeweb"


def create(settings: Mapping[str, Any], context: AdapterContext) -> KraviaAgency:
    """The factory ``connector`` calls for ``adapter = "kravia"``."""
    return KraviaAgency(KraviaSettings.parse(settings), marks=marks_for(context.link))


@connector.hookimpl
def connector_register_adapters(register: Register) -> None:
    register.agency(NAME, create, capabilities=KraviaAgency.capabilities, summary=SUMMARY)


@connector.hookimpl
def connector_register_commands(app: typer.Typer) -> None:
    from connector_adapters.kravia.commands import register

    register(app)


@connector.hookimpl
def connector_register_routes(routes: RouteTable) -> None:
    """Kravia's webhook receiver on the daemon's listener (``docs/adapters/kravia.md``)."""
    mount(routes, SystemClock().now)
