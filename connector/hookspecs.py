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

    from connector.registry import Register

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
def connector_claim_moved(link: str, claim: dict[str, Any], old: str | None, new: str) -> None:
    """A claim changed list (``old`` is None when it first enters one)."""


@hookspec(firstresult=True)
def connector_veto_transfer(link: str, claim: dict[str, Any]) -> str | None:
    """Return a reason to keep this claim from being transferred now; None lets it go."""


@hookspec
def connector_payout_booked(link: str, payout: dict[str, Any]) -> None:
    """A payout was booked in the ERP (as a proposal or posted) or skipped by setting."""


@hookspec
def connector_case_transferred(link: str, claim: dict[str, Any], agency_case_id: str) -> None:
    """The agency accepted a claim as a case."""
