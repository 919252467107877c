"""The ``connector`` command: a thin shell over the engine, the actions and the store.

One module per command group adds its commands to the root app; installed plugins add
theirs through the ``connector_register_commands`` hook (the mock plugin adds ``demo`` and
``mock ...`` that way). A plugin whose hook raises is named in a one-line warning and
skipped, so the other commands still work.
"""

from __future__ import annotations

import typer

from connector.cli import actions, lists, ops, service, sync
from connector.cli.root import app, main
from connector.registry import first_line, plugin_manager, warn_once

__all__ = ["actions", "add_plugin_commands", "app", "lists", "main", "ops", "service", "sync"]


def add_plugin_commands(to: typer.Typer) -> None:
    pm = plugin_manager()
    for impl in pm.hook.connector_register_commands.get_hookimpls():
        try:
            impl.function(app=to)
        except Exception as exc:
            warn_once(f"plugin {impl.plugin_name!r} is skipped: its commands failed to "
                      f"register: {first_line(exc)}")


add_plugin_commands(app)
