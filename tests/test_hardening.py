"""The connector as an unlucky or a hostile user meets it: each test reproduces a failure
through the CLI or the engine, then asserts the behaviour docs/reliability.md promises.

Numbered as the defects were reported: 1 store loss, 2 secrets, 3 hostile text, 4 stale
leases, 5 one-line errors, 6 silent configuration, 7 smaller defects.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import BaseModel

from connector import cli, hookimpl
from connector.config import load_settings
from connector.errors import ConfigError
from connector.ports import AdapterContext
from connector.registry import load_registry
from connector.secrets import Secret, redact, scrub

SECRET = "pk_live_5f3c9a2e77d1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("CONNECTOR_") and name != "CONNECTOR_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "120")
    yield
    structlog.reset_defaults()


def main(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
         *argv: str) -> tuple[int, str, str]:
    """``connector ARGV`` through the console entry point, every byte written captured."""
    monkeypatch.setattr(sys, "argv", ["connector", *argv])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out, err = capfd.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else 1
    return code, out, err


def private(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------- 2: secrets


def mock_link(name: str = "main", erp: str = "") -> str:
    return (f'[[links]]\nname = "{name}"\n'
            f'[links.erp]\nadapter = "mock"\nworld = "{name}.json"\n{erp}'
            f'[links.agency]\nadapter = "mock"\nworld = "{name}.json"\n')


class LeakySettings(BaseModel):
    """An adapter's settings as a plugin declares them: the key typed as a secret."""

    client_key: Secret


class LeakyErp:
    """An ERP that fails with its key in the message and in a local variable."""

    capabilities: frozenset[str] = frozenset()

    def __init__(self, settings: Mapping[str, Any], _context: AdapterContext) -> None:
        self.settings = LeakySettings.model_validate(settings)

    def company(self) -> Any:
        client_key = self.settings.client_key.get_secret_value()
        raise RuntimeError(f"handshake refused for key {client_key}")

    def close(self) -> None:
        pass


leaky_plugin = types.SimpleNamespace(
    connector_register_adapters=hookimpl(
        lambda register: register.erp("leaky", LeakyErp)))


def with_leaky_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_registry((leaky_plugin,))
    monkeypatch.setattr("connector.runtime.load_registry", lambda: registry)


def test_2_a_daemon_with_a_failing_link_never_prints_its_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """The reported failure: a link's adapter fails, the daemon logs a rich traceback with
    local variables, the client key in clear text. Now: a plain traceback, no locals, the
    key scrubbed, from the settings, the message and the frames alike."""
    with_leaky_adapter(monkeypatch)
    monkeypatch.setenv("LEAKY_KEY", SECRET)
    cfg = private(tmp_path / "c.toml", f'state_dir = "{tmp_path}"\n'
                  '[[links]]\nname = "leaky"\n'
                  '[links.erp]\nadapter = "leaky"\nclient_key = "${LEAKY_KEY}"\n'
                  '[links.agency]\nadapter = "mock"\n' + mock_link("fine"))
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "-vv",
                          "daemon", "--rounds", "2", "--interval", "10ms")
    assert code == 1, err
    assert err.count("link sync crashed") == 2, err  # one failure per round, logged
    assert "Traceback" in err and "RuntimeError: handshake refused for key ***" in err
    assert "client_key =" not in err and "locals" not in err.lower()
    assert err.count("link synced") == 2  # the other link went on
    assert SECRET not in out + err


def test_2_a_configuration_error_stops_the_daemon_at_start_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Reported: a link with a permanent configuration error logged a ~19 KB traceback on
    every interval, forever. Now the daemon refuses to start, in one line."""
    cfg = private(tmp_path / "c.toml", f'state_dir = "{tmp_path}"\n'
                  + mock_link(erp=f'api_token = "{SECRET}"\n'))
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "daemon",
                          "--interval", "10ms")
    assert code == 2
    assert err.splitlines() == [
        "error: mock erp settings: unknown api_token (known: page_size, world)"]
    assert SECRET not in out + err


def test_2_variables_in_the_config_come_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_VAR", SECRET)
    cfg = private(tmp_path / "c.toml", mock_link(
        erp='api_token = "${TOKEN_VAR}"\nnote = "costs $$5 at ${TOKEN_VAR}"\n'))
    erp = load_settings(cfg).link("main").erp
    assert erp.options["api_token"] == SECRET
    assert erp.options["note"] == f"costs $5 at {SECRET}"
    monkeypatch.delenv("TOKEN_VAR")
    with pytest.raises(ConfigError, match=r"^links\.0\.erp\.api_token: environment variable "
                       r"TOKEN_VAR is not set$"):
        load_settings(cfg)


def test_2_a_secret_setting_can_be_read_from_a_file(tmp_path: Path) -> None:
    secret_file = private(tmp_path / "token", SECRET + "\n")
    cfg = private(tmp_path / "c.toml", mock_link(erp=f'api_token_file = "{secret_file}"\n'))
    assert load_settings(cfg).link("main").erp.options == {
        "world": "main.json", "api_token": SECRET}
    both = private(tmp_path / "b.toml", mock_link(
        erp=f'api_token = "x"\napi_token_file = "{secret_file}"\n'))
    with pytest.raises(ConfigError, match="give api_token or api_token_file, not both"):
        load_settings(both)
    missing = private(tmp_path / "m.toml", mock_link(erp='api_token_file = "/nonexistent"\n'))
    with pytest.raises(ConfigError, match=r"api_token_file: cannot read the secret from "
                       r"/nonexistent: No such file or directory"):
        load_settings(missing)
    store_pw = private(tmp_path / "pw", "hunter2-db\n")
    url = private(tmp_path / "u.toml", f'store_url_file = "{store_pw}"\n')
    assert load_settings(url).store_url == "hunter2-db"


def test_2_secret_settings_cannot_be_printed() -> None:
    settings = LeakySettings(client_key=Secret("k-" + SECRET))
    for shown in (str(settings), repr(settings), settings.model_dump_json(),
                  str(settings.model_dump()), f"{settings.client_key}",
                  str(redact({"settings": settings.model_dump()}))):
        assert SECRET not in shown
    assert settings.client_key.get_secret_value() == "k-" + SECRET
    assert scrub(f"GET /?key=k-{SECRET} failed") == "GET /?key=*** failed"


def test_2_a_literal_secret_in_a_world_readable_config_is_warned_about(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    text = f'state_dir = "{tmp_path}"\n' + mock_link(erp=f'api_token = "{SECRET}"\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text(text, encoding="utf-8")
    cfg.chmod(0o644)
    _, _, err = main(monkeypatch, capfd, "--config", str(cfg), "jobs")
    assert "config file readable by others holds secrets in clear text" in err
    assert "links.0.erp.api_token" in err and SECRET not in err
    cfg.chmod(0o600)
    _, _, err = main(monkeypatch, capfd, "--config", str(cfg), "jobs")
    assert "clear text" not in err
    cfg.chmod(0o644)
    cfg.write_text(text.replace(f'"{SECRET}"', '"${SOME_VAR}"'), encoding="utf-8")
    monkeypatch.setenv("SOME_VAR", SECRET)
    _, _, err = main(monkeypatch, capfd, "--config", str(cfg), "jobs")
    assert "clear text" not in err and SECRET not in err


def test_2_an_unexpected_crash_of_a_command_shows_no_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    with_leaky_adapter(monkeypatch)
    cfg = private(tmp_path / "c.toml", f'state_dir = "{tmp_path}"\n[[links]]\nname = "x"\n'
                  f'[links.erp]\nadapter = "leaky"\nclient_key = "{SECRET}"\n'
                  '[links.agency]\nadapter = "mock"\n')
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "sync", "--json")
    assert code == 1
    assert "RuntimeError: handshake refused for key ***" in err
    assert SECRET not in out + err
    assert json.dumps(redact({"client_key": SECRET})) == '{"client_key": "***"}'

