"""Registers the mock ERP and agency, and keeps one open World per folder in a process.

Every process that opens a world's folder sees the same state (each side's SQLite file is
shared, see ``state``); within a process the adapters of a link also share the objects, so
a write by one is seen by the other without a look at the file. The plugin's commands
(``commands.py``) use ``open_world`` / ``reset_world`` for ``connector mock``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector import hookimpl
from connector.config import Settings
from connector.errors import ConfigError, UserError
from connector.ports import AdapterContext
from connector.registry import Register
from connector_adapters.mock.agency import DEFAULT_PAGE_SIZE as AGENCY_PAGE_SIZE
from connector_adapters.mock.agency import MockAgency, agency_capabilities
from connector_adapters.mock.erp import DEFAULT_PAGE_SIZE, MockErp
from connector_adapters.mock.service import SERVICE_SETTINGS, served
from connector_adapters.mock.world import World

if TYPE_CHECKING:
    import typer

DEFAULT_WORLD = "mock-world"
_open: dict[Path, World] = {}


def world_path(settings: Mapping[str, Any], context: AdapterContext) -> Path:
    """``settings["world"]`` (default mock-world), a folder relative to the link's state
    folder."""
    name = settings.get("world", DEFAULT_WORLD)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"mock settings: world must name a folder, not {name!r}")
    return (context.state_dir / name).resolve()


def open_world(path: Path) -> World:
    """The world in folder ``path``, already open in this process or opened now; an empty
    one if nothing is stored there yet."""
    path = path.resolve()
    if path not in _open:
        try:
            _open[path] = World.open(path)
        except UserError as exc:
            raise ConfigError(str(exc)) from None
    return _open[path]


def close_worlds() -> None:
    """Close every world this process keeps open and forget them, as the end of a process
    would (tests, and the benchmark's memory count)."""
    for world in _open.values():
        world.close()
    _open.clear()


def reset_world(path: Path, world: World) -> World:
    """Make ``world`` the one in folder ``path``, for this process and on disk."""
    path = path.resolve()
    old = _open.pop(path, None)
    if old is not None and old is not world:
        old.close()
    world.bind(path)
    _open[path] = world
    return world


def _check(settings: Mapping[str, Any], known: set[str], side: str) -> None:
    unknown = set(settings) - known
    if unknown:
        raise ConfigError(
            f"mock {side} settings: unknown {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(known))})"
        )


def _page_size(settings: Mapping[str, Any], default: int, side: str) -> int:
    page_size = settings.get("page_size", default)
    if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
        raise ConfigError(f"mock {side} settings: page_size must be a positive integer, "
                          f"not {page_size!r}")
    return page_size


def erp_factory(settings: Mapping[str, Any], context: AdapterContext) -> MockErp:
    _check(settings, {"world", "page_size", *SERVICE_SETTINGS}, "erp")
    page_size = _page_size(settings, DEFAULT_PAGE_SIZE, "erp")
    path = world_path(settings, context)
    return MockErp(open_world(path), page_size, served(settings, path, "erp"))


def agency_factory(settings: Mapping[str, Any], context: AdapterContext) -> MockAgency:
    """Settings: ``world``, ``page_size`` (default 100) and ``capabilities``, a list that
    narrows what the agency's API offers, e.g. ``["direct_payments", "credit_notes"]`` for
    an agency that cannot pause, resume or withdraw (default: the world's setting, else
    all of pause, resume, withdraw, direct_payments, credit_notes). Both sides also take
    ``requests_per_second``, ``api_key`` and ``record_activity`` (``service``)."""
    _check(settings, {"world", "page_size", "capabilities", *SERVICE_SETTINGS}, "agency")
    page_size = _page_size(settings, AGENCY_PAGE_SIZE, "agency")
    capabilities = None
    if "capabilities" in settings:
        try:
            capabilities = agency_capabilities(settings["capabilities"])
        except ValueError as exc:
            raise ConfigError(f"mock agency settings: {exc}") from None
    path = world_path(settings, context)
    return MockAgency(open_world(path), capabilities, page_size,
                      served(settings, path, "agency"))


class OpenWorldClock:
    """The time of the world open in ``path`` now, even after a reset replaced it."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()  # once: every rule reads the clock, often per record

    def now(self) -> datetime:
        world = _open.get(self.path)
        return (world if world is not None else open_world(self.path)).now


@hookimpl
def connector_clock(settings: Settings) -> OpenWorldClock | None:
    """With a mock ERP, every rule reads the mock world's clock (the first such link's)."""
    for link in settings.links:
        if link.erp.adapter == "mock":
            context = AdapterContext(link=link.name, state_dir=settings.state_dir)
            return OpenWorldClock(world_path(link.erp.options, context))
    return None


@hookimpl
def connector_register_adapters(register: Register) -> None:
    register.erp("mock", erp_factory, capabilities=MockErp.capabilities,
                 summary="Simulated ERP: a persisted world with a reminder flow, ledger, vouchers "
                         "and write-offs, and its own clock")
    register.agency("mock", agency_factory, capabilities=MockAgency.capabilities,
                    summary="Simulated agency: validates cases like Kravia, runs the collection "
                            "process, pays out, counts duplicates")


@hookimpl
def connector_register_commands(app: typer.Typer) -> None:
    from connector_adapters.mock.commands import register

    register(app)
