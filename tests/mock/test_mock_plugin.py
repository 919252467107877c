"""The plugin: both adapters registered, one shared World per file, settings checked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.ports import AdapterContext
from connector.registry import Registry, plugin_manager
from connector_adapters.mock import plugin
from connector_adapters.mock.world import World


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    plugin._open.clear()
    yield
    plugin._open.clear()


def test_registers_an_erp_and_an_agency() -> None:
    pm = plugin_manager()  # finds the entry point when the project is installed
    if not pm.is_registered(plugin):
        pm.register(plugin)
    registry = Registry(pm)
    erp = registry.get("erp", "mock")
    agency = registry.get("agency", "mock")
    assert erp.factory is plugin.erp_factory and agency.factory is plugin.agency_factory
    assert erp.summary and agency.summary


def test_adapters_of_one_link_share_one_world(tmp_path: Path) -> None:
    context = AdapterContext(link="demo", state_dir=tmp_path)
    erp = plugin.erp_factory({"page_size": 10}, context)
    agency = plugin.agency_factory({}, context)
    assert erp.world is agency.world
    assert erp.page_size == 10
    assert erp.world.company.timezone == "Europe/Oslo"
    assert not erp.world.dunning.reminder


def test_close_saves_and_a_new_process_sees_it(tmp_path: Path, world: World) -> None:
    context = AdapterContext(link="demo", state_dir=tmp_path)
    path = tmp_path / "shop.json"
    plugin.reset_world(path, world)
    erp = plugin.erp_factory({"world": "shop.json"}, context)
    assert erp.world is world
    world.advance(timedelta(days=1))
    erp.close()
    plugin._open.clear()  # as if another CLI call
    assert plugin.open_world(path).now == world.now
    assert "10001" in plugin.open_world(path).customers


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"page_size": 0}, "page_size must be a positive integer"),
        ({"page_size": "5"}, "page_size must be a positive integer"),
        ({"colour": "red"}, "unknown colour"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path: Path, settings: dict[str, object],
                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plugin.erp_factory(settings, AdapterContext(link="demo", state_dir=tmp_path))


def test_agency_settings_are_checked(tmp_path: Path) -> None:
    context = AdapterContext(link="demo", state_dir=tmp_path)
    agency = plugin.agency_factory({"page_size": 7, "capabilities": []}, context)
    assert agency.page_size == 7 and agency.capabilities == frozenset()
    with pytest.raises(ConfigError, match="page_size must be a positive integer"):
        plugin.agency_factory({"page_size": 0}, context)
    with pytest.raises(ConfigError, match="unknown colour"):
        plugin.agency_factory({"colour": "red"}, context)
