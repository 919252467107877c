"""The clock every rule reads is the runtime's, given to it: not found on an adapter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.clock import ManualClock, SystemClock
from connector.config import Settings
from connector.runtime import Runtime
from connector.store.db import Store
from connector_adapters.mock.plugin import DEFAULT_WORLD, open_world

MOCK_LINK: dict[str, Any] = {"name": "m", "erp": {"adapter": "mock"},
                             "agency": {"adapter": "mock"}}


def _runtime(tmp_path: Path, links: list[dict[str, Any]], **kw: object) -> Runtime:
    settings = Settings(state_dir=tmp_path, links=links)
    return Runtime(settings, store=Store(f"sqlite:///{tmp_path / 'state.db'}"), **kw)  # type: ignore[arg-type]


def test_a_clock_given_to_the_runtime_is_the_one_every_link_reads(tmp_path: Path) -> None:
    given = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    rt = _runtime(tmp_path, [MOCK_LINK], clock=given)
    with rt.link("m") as ctx:
        assert ctx.clock is given and ctx.now() == datetime(2030, 1, 1, tzinfo=UTC)


def test_without_one_a_plugin_that_simulates_time_supplies_it(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, [MOCK_LINK])
    world = open_world(tmp_path / DEFAULT_WORLD)
    with rt.link("m") as ctx:
        assert ctx.now() == world.now.astimezone(UTC)


def test_otherwise_it_is_the_system_clock(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, [])
    assert isinstance(rt.clock, SystemClock)
