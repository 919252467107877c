"""Configuration: durations, where the file comes from, env overrides, refusals, secrets.

Every test runs with the CONNECTOR_* variables of the surrounding shell removed, so only
what a test sets itself is seen.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from connector.config import (
    DEFAULT_LINKS,
    LinkSettings,
    Settings,
    load_settings,
    parse_duration,
    redact,
)
from connector.errors import ConfigError
from connector.logs import mask_secrets
from connector.runtime import Runtime
from connector.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "connector.example.toml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CONNECTOR_") and name != "CONNECTOR_TEST_PG_URL":
            monkeypatch.delenv(name)


def link_toml(name: str, **extra: str) -> str:
    lines = ["[[links]]", f'name = "{name}"', 'erp = { adapter = "mock" }',
             'agency = { adapter = "mock" }']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(("text", "expected"), [
    ("2h", timedelta(hours=2)),
    ("14d", timedelta(days=14)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("90s", timedelta(seconds=90)),
    ("250ms", timedelta(milliseconds=250)),
    ("1w", timedelta(weeks=1)),
    ("1.5h", timedelta(minutes=90)),
    ("1d 2h", timedelta(days=1, hours=2)),
    ("0s", timedelta(0)),
    (7200, timedelta(hours=2)),
    (2.5, timedelta(seconds=2.5)),
    (timedelta(minutes=3), timedelta(minutes=3)),
])
def test_durations(text: Any, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "2", "h", "2x", "-1h", "2 hours", "1h-30m",
                                  "1d2", "soon", "h2"])
def test_bad_durations_are_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_duration(text)
    assert str(exc.value) == f"{text!r} is not a duration like 2h, 14d, 1h30m or 90s"


def test_durations_in_the_file_accept_text_or_seconds(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", link_toml(
        "a", grace='"1h30m"', job_backoff="600", call_backoff='"250ms"', job_lease='"1d"'))
    link = load_settings(cfg).link("a")
    assert link.grace == timedelta(minutes=90)  # R5
    assert link.job_backoff == timedelta(minutes=10)
    assert link.call_backoff == timedelta(milliseconds=250)
    assert link.job_lease == timedelta(days=1)


def test_a_bad_duration_in_the_file_names_the_file_the_field_and_the_value(
        tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", link_toml("a", grace='"soon"'))
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    message = str(exc.value)
    assert message.startswith(f"{cfg}: links.0.grace: ")
    assert "'soon' is not a duration like 2h, 14d, 1h30m or 90s" in message


# ---------------------------------------------------------------- where the file comes from


@pytest.fixture
def three_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A config named on the command line, one in $CONNECTOR_CONFIG, one in ./connector.toml."""
    work = tmp_path / "work"
    files = {
        "cli": write(tmp_path / "cli.toml", link_toml("from-cli")),
        "env": write(tmp_path / "env.toml", link_toml("from-env")),
        "cwd": write(work / "connector.toml", link_toml("from-cwd")),
    }
    monkeypatch.chdir(work)
    monkeypatch.setenv("CONNECTOR_CONFIG", str(files["env"]))
    return files


def names(settings: Settings) -> list[str]:
    return [link.name for link in settings.links]


def test_the_path_given_wins_over_env_and_working_directory(
        three_places: dict[str, Path]) -> None:
    settings = load_settings(three_places["cli"])
    assert names(settings) == ["from-cli"]
    assert settings.source == str(three_places["cli"])
    assert names(load_settings(str(three_places["cli"]))) == ["from-cli"]


def test_env_wins_over_working_directory(three_places: dict[str, Path]) -> None:
    settings = load_settings(None)
    assert names(settings) == ["from-env"]
    assert settings.source == str(three_places["env"])


def test_working_directory_file_when_nothing_else(
        three_places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECTOR_CONFIG")
    settings = load_settings()
    assert names(settings) == ["from-cwd"]
    assert settings.source == "connector.toml"


def test_built_in_default_is_one_mock_demo_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.source == "built-in default"
    assert names(settings) == ["demo"]
    demo = settings.link(None)
    assert (demo.erp.adapter, demo.agency.adapter) == ("mock", "mock")
    assert demo.erp.options == {} and demo.agency.options == {}
    assert demo.grace == timedelta(hours=2)  # R5
    assert demo.booking == "proposal"  # R13
    assert settings.state_dir == Path(".connector")
    assert settings.store_url is None
    assert settings.database_url == "sqlite:///.connector/state.db"
    assert DEFAULT_LINKS[0]["name"] == "demo"


def test_missing_and_malformed_files_are_config_errors_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=f"config file {re.escape(str(missing))} does not "
                                          "exist"):
        load_settings(missing)
    monkeypatch.setenv("CONNECTOR_CONFIG", str(missing))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()
    broken = write(tmp_path / "broken.toml", "[[links]\nname = ")
    with pytest.raises(ConfigError, match=f"config file {re.escape(str(broken))} is not valid "
                                          "TOML"):
        load_settings(broken)


# ---------------------------------------------------------------- environment overrides


def test_env_overrides_store_url_and_state_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "c.toml", 'state_dir = "from-file"\n'
                'store_url = "sqlite:////tmp/from-file.db"\n' + link_toml("a"))
    settings = load_settings(cfg)
    assert settings.state_dir == Path("from-file")
    assert settings.database_url == "sqlite:////tmp/from-file.db"

    pg = "postgresql+psycopg://connector@db.example.no:5432/connector"
    monkeypatch.setenv("CONNECTOR_STORE_URL", pg)
    monkeypatch.setenv("CONNECTOR_STATE_DIR", str(tmp_path / "from-env"))
    settings = load_settings(cfg)
    assert settings.store_url == settings.database_url == pg
    assert settings.state_dir == tmp_path / "from-env"


def test_state_dir_from_env_moves_the_default_sqlite_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "c.toml", link_toml("a"))
    monkeypatch.setenv("CONNECTOR_STATE_DIR", str(tmp_path / "state"))
    settings = load_settings(cfg)
    assert settings.database_url == f"sqlite:///{tmp_path / 'state' / 'state.db'}"


def test_a_relative_state_dir_is_taken_from_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "etc" / "c.toml", 'state_dir = "var"\n' + link_toml("a"))
    monkeypatch.chdir(tmp_path)
    settings = load_settings(cfg)
    assert settings.state_dir == Path("var")  # not etc/var: relative to where it runs
    assert settings.database_url == "sqlite:///var/state.db"


def test_env_store_url_reaches_postgresql(
        pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "c.toml", link_toml("a"))
    monkeypatch.setenv("CONNECTOR_STORE_URL", pg_store.url)
    runtime = Runtime(load_settings(cfg))
    try:
        assert runtime.store.dialect == "postgresql"
    finally:
        runtime.store.dispose()


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("text", "where"), [
    ('colour = "blue"\n' + link_toml("a"), "colour: Extra inputs are not permitted"),
    (link_toml("a", grase='"2h"'), "links.0.grase: Extra inputs are not permitted"),
    (link_toml("a", booking='"sometimes"'), "links.0.booking:"),
    (link_toml("a", job_attempts="0"), "links.0.job_attempts:"),
    (link_toml("a", page_size="20001"), "links.0.page_size:"),
    (link_toml("bad name!"), "links.0.name:"),
    ('[[links]]\nname = "a"\nerp = { adapter = "mock" }\n', "links.0.agency: Field required"),
    ('[[links]]\nname = "a"\nerp = { world = "w.json" }\nagency = { adapter = "mock" }\n',
     "links.0.erp.adapter: Field required"),
])
def test_unknown_keys_and_bad_values_are_refused_naming_the_file(
        tmp_path: Path, text: str, where: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert str(exc.value).startswith(f"{cfg}: ")
    assert where in str(exc.value)


def test_duplicate_link_names_are_refused_naming_the_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", link_toml("a") + link_toml("b") + link_toml("a"))
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert str(exc.value) == (f"{cfg}: link names must be unique, got a more than once "
                              f"(in {cfg})")


def test_adapter_tables_pass_their_own_settings_through(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[[links]]\nname = "a"\n'
                '[links.erp]\nadapter = "mock"\nworld = "w.json"\npage_size = 50\n'
                '[links.agency]\nadapter = "mock"\nworld = "w.json"\n')
    link = load_settings(cfg).link("a")
    assert link.erp.options == {"world": "w.json", "page_size": 50}
    assert link.agency.options == {"world": "w.json"}


def test_choosing_a_link(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", link_toml("a") + link_toml("b"))
    settings = load_settings(cfg)
    assert settings.link("b").name == "b"
    with pytest.raises(ConfigError) as exc:
        settings.link(None)
    assert str(exc.value) == "several links are configured (a, b); choose one with --link"
    with pytest.raises(ConfigError) as exc:
        settings.link("c")
    assert str(exc.value) == f"no link named 'c' in {cfg} (links: a, b)"
    one = load_settings(write(tmp_path / "one.toml", link_toml("only")))
    assert one.link(None).name == "only"


def test_choosing_a_link_when_none_is_configured(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "c.toml", 'state_dir = "s"\n'))
    assert settings.links == []
    with pytest.raises(ConfigError, match="no links are configured"):
        settings.link(None)


# ---------------------------------------------------------------- secrets


def test_redact_masks_secret_looking_keys_and_leaves_the_rest() -> None:
    options = {
        "adapter": "poweroffice", "application_key": "a", "client_key": "b",
        "subscription_key": "c", "api_token": "d", "API_TOKEN": "e", "webhook_secret": "f",
        "password": "g", "credentials": "h", "world": "mock-world.json", "page_size": 500,
    }
    masked = redact(options)
    assert masked == {
        "adapter": "poweroffice", "application_key": "***", "client_key": "***",
        "subscription_key": "***", "api_token": "***", "API_TOKEN": "***",
        "webhook_secret": "***", "password": "***", "credentials": "***",
        "world": "mock-world.json", "page_size": 500,
    }
    assert options["api_token"] == "d", "redact returns a copy"


def test_redact_masks_secrets_in_nested_tables() -> None:
    masked = redact({"erp": {"adapter": "x", "api_token": "s3cr3t"}})
    assert "s3cr3t" not in repr(masked)


def test_log_lines_mask_secret_looking_fields() -> None:
    event = {"event": "connected", "link": "a", "api_token": "s3cr3t", "ClientKey": "k"}
    assert mask_secrets(None, "info", event) == {
        "event": "connected", "link": "a", "api_token": "***", "ClientKey": "***"}


def test_config_errors_name_a_secret_key_but_never_echo_its_value(tmp_path: Path) -> None:
    for text in ('api_token = "s3cr3t-value"\n' + link_toml("a"),
                 link_toml("a", api_token='"s3cr3t-value"'),
                 '[[links]]\nname = "a"\nerp = "s3cr3t-value"\nagency = { adapter = "mock" }\n'):
        cfg = write(tmp_path / "c.toml", text)
        with pytest.raises(ConfigError) as exc:
            load_settings(cfg)
        assert "s3cr3t-value" not in str(exc.value)


# ---------------------------------------------------------------- the example file


def test_the_example_config_loads() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.source == str(EXAMPLE)
    assert names(settings) == ["demo"]
    demo = settings.link("demo")
    assert (demo.erp.adapter, demo.agency.adapter) == ("mock", "mock")
    assert demo.erp.options == {"world": "mock-world", "page_size": 500}
    assert demo.agency.options == {"world": "mock-world"}
    assert settings.state_dir == Path(".connector")
    assert settings.store_url is None


def _default(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name].get_default(call_default_factory=True)


def test_the_example_sets_every_link_field_to_its_default() -> None:
    """The example documents every LinkSettings field, with the default value (R5, R13…)."""
    demo = load_settings(EXAMPLE).link("demo")
    missing = set(LinkSettings.model_fields) - demo.model_fields_set
    assert not missing, f"fields not shown in {EXAMPLE.name}: {sorted(missing)}"
    for name in set(LinkSettings.model_fields) - {"name", "erp", "agency"}:
        value = getattr(demo, name)
        assert value == _default(LinkSettings, name), f"{name} differs from its default"
        if isinstance(value, BaseModel):  # a nested table, e.g. the accounts (R13)
            unset = set(type(value).model_fields) - value.model_fields_set
            assert not unset, f"{name}: fields not shown: {sorted(unset)}"


def _uncommented_second_link() -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("# [[links]]")
    body = [re.sub(r"^# ?", "", line) for line in lines[start:]]
    return "\n".join(lines[:start] + body) + "\n"


def test_the_commented_out_poweroffice_kravia_link_loads_and_builds_its_adapters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _uncommented_second_link()
    variables = re.findall(r"\$\{([A-Z_]+)\}", text)
    assert {"POWEROFFICE_CLIENT_KEY", "KRAVIA_API_TOKEN"} <= set(variables)
    for name in variables:
        monkeypatch.setenv(name, f"value-of-{name}")
    cfg = write(tmp_path / "c.toml", text)
    settings = load_settings(cfg)
    assert names(settings) == ["demo", "fjellheim"]
    real = settings.link("fjellheim")
    assert (real.erp.adapter, real.agency.adapter) == ("poweroffice", "kravia")
    secrets = {**real.erp.options, **real.agency.options}
    expanded = {k: v for k, v in secrets.items() if str(v).startswith("value-of-")}
    assert set(expanded) >= {"application_key", "client_key", "subscription_key", "api_token"}
    assert all(redact(secrets)[k] == "***" for k in expanded)
    runtime = Runtime(settings, store=Store(f"sqlite:///{tmp_path / 'state.db'}"))
    erp, agency = runtime.adapters(real)
    try:
        assert erp.capabilities == {"vouchers", "proposals", "write_offs"}
        assert "value-of-" not in repr(erp.settings) + repr(agency.settings)  # type: ignore[attr-defined]
    finally:
        erp.close()
        agency.close()
        runtime.store.dispose()
