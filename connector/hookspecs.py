"""The plugin hooks. A plugin implements any of them with ``@connector.hookimpl``.

Adapters come in through ``connector_register_adapters``, commands through
``connector_register_commands``; the event hooks let a third party react to the workflow
without writing an adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from connector.clock import Clock
    from connector.config import Settings
    from connector.events import ClaimMoved
    from connector.registry import Register
    from connector.routes import RouteTable

hookspec = pluggy.HookspecMarker("connector")
hookimpl = pluggy.HookimplMarker("connector")


@hookspec
def connector_register_adapters(register: Register) -> None:
    """Register ERP and agency adapter factories by name with ``register.erp`` / ``.agency``."""


@hookspec
def connector_register_commands(app: typer.Typer) -> None:
    """Add commands to the ``connector`` command: ``app.command()(fn)`` or
    ``app.add_typer(group, name=...)``. Import the command code inside the hook, so that
    loading the plugin for a sync stays cheap."""


@hookspec
def connector_claim_event(event: ClaimMoved) -> None:
    """A claim moved (see ``connector.events`` for the types); called after the move's
    transaction committed, in commit order. An exception is reported and the move stands."""


@hookspec(firstresult=True)
def connector_clock(settings: Settings) -> Clock | None:
    """The clock every rule reads, for a plugin that simulates time (the mock world);
    None leaves the system clock. A runtime given a clock explicitly does not ask."""


@hookspec(firstresult=True)
def connector_veto_transfer(link: str, claim: dict[str, Any]) -> str | None:
    """Return a reason to keep this claim from being transferred now; None lets it go."""


@hookspec
def connector_payout_booked(link: str, payout: dict[str, Any]) -> None:
    """A payout was booked in the ERP (as a proposal or posted) or skipped by setting."""



@hookspec
def connector_register_routes(routes: RouteTable) -> None:
    """Serve HTTP routes on the daemon's listener (``--listen``), e.g. an agency's webhook:
    ``routes.add(path, endpoint, methods)`` with a Starlette endpoint. ``routes.links()``
    names the links configured at the moment of a request; ``routes.wake(link)`` has the
    daemon sync soon. Import the route code inside the hook."""
