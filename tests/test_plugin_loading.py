"""Loading plugins safely: a broken one is named and skipped, any can be switched off, and
plugins add commands to ``connector`` through ``connector_register_commands``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from connector import hookimpl, registry
from connector.cli import add_plugin_commands

BUILT_IN = [EntryPoint(name, f"connector_adapters.{name}.plugin", registry.ENTRY_POINT_GROUP)
            for name in ("mock", "poweroffice", "kravia")]


@pytest.fixture
def broken_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EntryPoint]:
    """An installed plugin whose module raises on import, beside the built-in ones."""
    (tmp_path / "broken_connector_plugin.py").write_text(
        'raise RuntimeError("no module named vendor_sdk\\nsecond line")\n', encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = EntryPoint("broken", "broken_connector_plugin", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [*BUILT_IN, broken] if group == broken.group else [])
    monkeypatch.setattr(registry, "_warned", set())
    monkeypatch.delenv(registry.DISABLE_ENV, raising=False)
    yield broken
    sys.modules.pop("broken_connector_plugin", None)


def test_a_plugin_that_fails_to_import_is_named_in_one_line_and_skipped(
        broken_plugin: EntryPoint, capsys: pytest.CaptureFixture[str]) -> None:
    loaded = registry.load_registry()
    assert {name for _, name in loaded.adapters} == {"mock", "poweroffice", "kravia"}
    assert capsys.readouterr().err == (
        "warning: plugin 'broken' (broken_connector_plugin) is skipped: it failed to import: "
        "RuntimeError: no module named vendor_sdk\n")
    registry.load_registry()
    assert capsys.readouterr().err == "", "the same warning is given once per process"


def test_disabled_plugins_are_not_loaded(broken_plugin: EntryPoint,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(registry.DISABLE_ENV, " broken, kravia ")
    loaded = registry.load_registry()
    assert sorted(loaded.adapters) == [("agency", "mock"), ("erp", "mock"),
                                       ("erp", "poweroffice")]
    assert capsys.readouterr().err == ""
    pm = registry.plugin_manager()
    assert pm.get_plugin("kravia") is None and pm.get_plugin("mock") is not None


class Greeter:
    """A third party's plugin adding one command."""

    @hookimpl
    def connector_register_commands(self, app: typer.Typer) -> None:
        @app.command()
        def greet(name: str) -> None:
            """Say hello: proves a plugin's command runs."""
            print(f"hello {name}")


class Clumsy:
    @hookimpl
    def connector_register_commands(self, app: typer.Typer) -> None:
        raise ImportError("cannot import name 'Thing' from 'vendor'")


def test_plugins_add_commands_and_one_that_fails_is_named_and_skipped(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(registry, "_warned", set())
    monkeypatch.delenv(registry.DISABLE_ENV, raising=False)
    app = typer.Typer()

    @app.command()
    def core() -> None:
        """A command of the core."""
        print("core ran")

    pm = registry.plugin_manager((Greeter(), Clumsy()))
    monkeypatch.setattr("connector.cli.plugin_manager", lambda: pm)
    add_plugin_commands(app)
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("warning: plugin ") and line.endswith(
        "is skipped: its commands failed to register: "
        "ImportError: cannot import name 'Thing' from 'vendor'")
    runner = CliRunner()
    assert runner.invoke(app, ["greet", "Kari"]).stdout == "hello Kari\n"
    assert runner.invoke(app, ["core"]).stdout == "core ran\n"
    assert {"core", "greet", "demo", "mock"} <= command_names(app)


def command_names(app: typer.Typer) -> set[str]:
    return set(typer.main.get_group(app).commands)


def test_the_mock_commands_come_from_the_mock_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.DISABLE_ENV, "mock")
    app = typer.Typer()

    @app.command()
    def core() -> None:
        """A command of the core."""

    add_plugin_commands(app)
    assert "core" in command_names(app)
    assert not command_names(app) & {"demo", "mock"}
    monkeypatch.delenv(registry.DISABLE_ENV)
    add_plugin_commands(app)
    assert {"core", "demo", "mock"} <= command_names(app)
