"""Adapter discovery: pluggy hooks, the ``connector`` entry-point group, one registry.

Built-in adapters ship as entry points of this distribution, so they load exactly the way
a third party's ``pip install`` does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import distribution, entry_points, packages_distributions
from typing import Any, Literal

import pluggy

from connector import hookspecs
from connector.errors import ConfigError

ENTRY_POINT_GROUP = "connector"
TRACE_ENV = "CONNECTOR_TRACE_HOOKS"
DISABLE_ENV = "CONNECTOR_DISABLE_PLUGINS"
"""Comma-separated entry-point names of plugins not to load, e.g. ``mock,kravia``."""

Side = Literal["erp", "agency"]
Factory = Callable[..., Any]
"""Called with the adapter's settings from the config (a mapping) and the runtime context."""


@dataclass(frozen=True)
class AdapterInfo:
    side: Side
    name: str
    factory: Factory
    plugin: str
    package: str
    capabilities: frozenset[str]
    summary: str
    usable: bool


@dataclass
class Register:
    """Handed to ``connector_register_adapters``; collects what each plugin offers."""

    adapters: dict[tuple[Side, str], AdapterInfo] = field(default_factory=dict)

    def _add(self, side: Side, name: str, factory: Factory, capabilities: Any,
             summary: str, usable: bool) -> None:
        key = (side, name)
        plugin = getattr(factory, "__module__", "?")
        if key in self.adapters:
            other = self.adapters[key]
            raise ConfigError(
                f"{side} adapter {name!r} is registered twice: by {other.plugin} and {plugin}"
            )
        self.adapters[key] = AdapterInfo(
            side, name, factory, plugin, _package_of(plugin),
            frozenset(str(c) for c in capabilities), summary, usable,
        )

    def erp(self, name: str, factory: Factory, *, capabilities: Any = (),
            summary: str = "", usable: bool = True) -> None:
        """Register an ERP adapter factory under ``name``."""
        self._add("erp", name, factory, capabilities, summary, usable)

    def agency(self, name: str, factory: Factory, *, capabilities: Any = (),
               summary: str = "", usable: bool = True) -> None:
        """Register an agency adapter factory under ``name``."""
        self._add("agency", name, factory, capabilities, summary, usable)


@cache
def _package_of(module_name: str) -> str:
    """The installed distribution (name and version) that ships a module."""
    top = module_name.split(".")[0]
    for dist_name in packages_distributions().get(top, []):
        dist = distribution(dist_name)
        return f"{dist.metadata['Name']} {dist.version}"
    return top


_warned: set[str] = set()


def warn_once(message: str) -> None:
    """One line on stderr, once per process: plugins load for the CLI and again per runtime."""
    if message not in _warned:
        _warned.add(message)
        sys.stderr.write(f"warning: {message}\n")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def disabled_plugins() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def load_installed_plugins(pm: pluggy.PluginManager) -> None:
    """Register every plugin of the entry-point group, except the disabled ones.

    A plugin that fails to import is named in a one-line warning and skipped: one broken
    package must not take every command down with a traceback."""
    disabled = disabled_plugins()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in disabled or pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            warn_once(f"plugin {ep.name!r} ({ep.value}) is skipped: it failed to import: "
                      f"{first_line(exc)}")
            continue
        pm.register(plugin, name=ep.name)


def plugin_manager(extra_plugins: tuple[Any, ...] = ()) -> pluggy.PluginManager:
    """A manager with every installed plugin loaded, plus ``extra_plugins`` (tests)."""
    pm = pluggy.PluginManager("connector")
    pm.add_hookspecs(hookspecs)
    load_installed_plugins(pm)
    for plugin in extra_plugins:
        pm.register(plugin)
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


class Registry:
    """Every adapter the installed plugins registered, by side and name."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        register = Register()
        pm.hook.connector_register_adapters(register=register)
        self.adapters = register.adapters

    def get(self, side: Side, name: str) -> AdapterInfo:
        try:
            return self.adapters[(side, name)]
        except KeyError:
            known = ", ".join(sorted(n for s, n in self.adapters if s == side)) or "none"
            raise ConfigError(
                f"no {side} adapter named {name!r} is installed (installed: {known})"
            ) from None

    def all(self) -> list[AdapterInfo]:
        return sorted(self.adapters.values(), key=lambda a: (a.side, a.name))


def load_registry(extra_plugins: tuple[Any, ...] = ()) -> Registry:
    return Registry(plugin_manager(extra_plugins))
