"""The connector as an unlucky or a hostile user meets it: each test reproduces a failure
through the CLI or the engine, then asserts the behaviour docs/reliability.md promises.

Numbered as the defects were reported: 1 store loss (its stories in
``tests/test_store_loss.py``), 2 secrets, 3 hostile text, 4 stale leases, 5 one-line errors,
6 silent configuration, 7 smaller defects.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from connector import hookimpl
from connector.config import load_settings
from connector.errors import ConfigError
from connector.ports import AdapterContext
from connector.registry import load_registry
from connector.secrets import Secret, redact, scrub
from tests.support import cli_environment, main

SECRET = "pk_live_5f3c9a2e77d1"


clean_env = cli_environment(columns=120)


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
        "error: mock erp settings: unknown api_token (known: api_key, page_size, "
        "record_activity, requests_per_second, world)"]
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



# ---------------------------------------------------------------- 3: hostile text


HOSTILE = ["Rør [/] AS", "[link=https://evil.example]Klikk her[/link]", "[bold red]Loud[/]",
           "Clear\x1b[2J\x1b[H\x1b]0;pwned\x07 AS", "\u202eSA gnidloH\u200f",
           "Smil 😀 :warning: AS", "Bell\x07\x9b31m C1"]


def toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def hostile_scenario() -> str:
    text = "[world]\nstart = 2026-03-02T08:00:00+01:00\n[company]\nname = \"Test AS\"\n"
    for i, name in enumerate(HOSTILE):
        # Every second debtor lacks a postal code: its name shows in the obstacle (R7).
        postal = "" if i % 2 else 'postal_code = "0155", '
        text += (f"[[customers]]\nnumber = \"{10 + i}\"\nname = {toml_str(name)}\n"
                 f"organization_number = \"923609016\"\naddress = {{ line1 = {toml_str(name)}, "
                 f"{postal}city = \"Oslo\", country = \"NO\" }}\n"
                 f"[[invoices]]\ninvoice_no = {toml_str(f'{500 + i}{name}')}\n"
                 f"customer_no = \"{10 + i}\"\ndue_in_days = -3\namount = \"100.00\"\n"
                 f"kid = \"{10 + i}00000005\"\n")
    return text


def assert_shown_as_text(output: str) -> None:
    assert "\x1b" not in output and "\x9b" not in output and "\x07" not in output
    assert "\u202e" not in output  # the override is shown as \u202e, not obeyed


def test_3_hostile_names_are_shown_as_plain_text_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Reported: `[/]` in a name crashed cases, case and sync with a MarkupError, `[link=…]`
    became a live hyperlink, ESC sequences cleared the screen. Now all of it is text."""
    cfg = private(tmp_path / "c.toml", f'state_dir = "{tmp_path}"\n' + mock_link())
    scenario = tmp_path / "hostile.toml"
    scenario.write_text(hostile_scenario(), encoding="utf-8")
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "mock", "load",
                          str(scenario))
    assert code == 0, err
    outputs = []
    for argv in (["sync"], ["approve", "--all"], ["mock", "advance", "3h"], ["sync"],
                 ["cases"], ["cases", "--list", "approved"], ["errors"], ["mock", "show"]):
        code, out, err = main(monkeypatch, capfd, "--config", str(cfg), *argv)
        assert code in (0, 1), (argv, err)
        assert "Traceback" not in err and "MarkupError" not in err, err
        outputs.append(out + err)
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "cases", "--json")
    claims = json.loads(out)
    assert {c["invoice_no"] for c in claims} == {f"{500 + i}{n}" for i, n in enumerate(HOSTILE)}
    for claim in claims:
        code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "case", str(claim["id"]))
        assert code == 0, err
        outputs.append(out + err)
    shown = "\n".join(outputs)
    assert_shown_as_text(shown)
    for literal in ("[/]", "[link=https://evil.example]", "[bold red]Loud[/]", "\\x1b[2J",
                    "\\u202e", "😀 :warning:"):
        assert literal in shown, literal


def test_3_hostile_names_in_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capfd: pytest.CaptureFixture[str]) -> None:
    from connector_adapters.mock import generate

    monkeypatch.setattr(generate, "LAST", HOSTILE)
    monkeypatch.setattr(generate, "LEGAL", HOSTILE)
    monkeypatch.chdir(tmp_path)
    code, out, err = main(monkeypatch, capfd, "demo", "--days", "12", "--customers", "30")
    assert code == 0, err
    assert_shown_as_text(out + err)
    assert "Summary" in out
    with sqlite3.connect(tmp_path / ".connector" / "state.db") as db:
        names = [json.loads(data)["name"] for (data,) in db.execute("SELECT data FROM customers")]
    assert any("Rør [/] AS" in name for name in names)  # the demo met them


# ---------------------------------------------------------------- 4: stale leases


SMALL = Path(__file__).resolve().parent.parent / "config" / "scenarios" / "small.toml"


def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           capfd: pytest.CaptureFixture[str], extra: str = "") -> Path:
    cfg = private(tmp_path / "c.toml", f'state_dir = "{tmp_path / "state"}"\n{extra}'
                  + mock_link())
    code, _, err = main(monkeypatch, capfd, "--config", str(cfg), "mock", "load", str(SMALL))
    assert code == 0, err
    return cfg


def hold_lease_and_die(cfg: Path) -> int:
    """A ``connector`` process that takes the link's lease and is killed before it lets go."""
    import subprocess

    code = ("import os, sys; from datetime import UTC, datetime, timedelta\n"
            "from connector.config import load_settings\n"
            "from connector.daemon import acquire\nfrom connector.jobs import worker_id\n"
            "from connector.store.db import Store\n"
            f"s = load_settings({str(cfg)!r})\n"
            "acquire(Store(s.database_url), 'main', worker_id(), datetime.now(UTC), "
            "timedelta(minutes=15))\nos.kill(os.getpid(), 9)\n")
    child = subprocess.run([sys.executable, "-c", code], check=False)
    assert child.returncode == -9
    return 0


def test_4_a_lease_left_by_a_killed_process_is_taken_over_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Reported: after a kill -9 the next sync said "being synced by another process" for
    15 minutes although none ran."""
    cfg = loaded(tmp_path, monkeypatch, capfd)
    hold_lease_and_die(cfg)
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "lease", "show", "--json")
    assert len(json.loads(out)) == 1  # the dead process's lease is there
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "sync")
    assert code in (0, 1) and "being synced" not in err, err
    assert "pulled:" in out


def test_4_a_live_holder_elsewhere_is_named_and_its_lease_can_be_broken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime, timedelta

    from connector.daemon import acquire
    from connector.store.db import Store

    cfg = loaded(tmp_path, monkeypatch, capfd)
    store = Store(load_settings(cfg).database_url)
    until = datetime.now(UTC) + timedelta(minutes=15)
    assert acquire(store, "main", "db-host-2:4711", until - timedelta(minutes=15),
                   timedelta(minutes=15))
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "sync")
    assert code == 2
    assert err.startswith("error: link main is being synced by process 4711 on db-host-2; "
                          "its lease runs out at ")
    assert "`connector lease break main` frees the link now" in err
    assert len(err.splitlines()) == 1
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "lease", "break", "main")
    assert code == 0 and "held by db-host-2:4711" in out
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "sync")
    assert code in (0, 1) and "pulled:" in out, err
    store.dispose()


# ---------------------------------------------------------------- 5: one-line errors


def one_line_error(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
                   *argv: str) -> str:
    code, out, err = main(monkeypatch, capfd, *argv)
    assert code == 2, (argv, out, err)
    lines = [line for line in err.splitlines() if "[warning" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_5_bad_config_files_are_one_line_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\x00\xff\xfe\x89PNG\r\n")
    assert "is not text (not UTF-8)" in one_line_error(
        monkeypatch, capfd, "--config", str(binary), "cases")
    assert "is a directory, not a TOML file" in one_line_error(
        monkeypatch, capfd, "--config", str(tmp_path), "cases")
    for grace, message in (("inf", "too long"), ('"99999999999d"', "too long"),
                           ("-5", "must be at least zero"), ('"-5m"', "is not a duration")):
        cfg = private(tmp_path / "g.toml", mock_link().replace(
            '[links.erp]', f'grace = {grace}\n[links.erp]'))
        line = one_line_error(monkeypatch, capfd, "--config", str(cfg), "cases")
        assert "links.0.grace" in line and message in line, line


def test_5_bad_stores_are_one_line_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import create_engine, text

    cfg = loaded(tmp_path, monkeypatch, capfd)
    assert main(monkeypatch, capfd, "--config", str(cfg), "cases")[0] == 0
    db = tmp_path / "state" / "state.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    assert "written by a newer version of the connector" in one_line_error(
        monkeypatch, capfd, "--config", str(cfg), "cases")

    monkeypatch.setenv("CONNECTOR_STORE_URL", "mysql://connector:pw-9x7@db/connector")
    line = one_line_error(monkeypatch, capfd, "--config", str(cfg), "cases")
    assert "driver MySQLdb for the store URL is not installed" in line and "pw-9x7" not in line
    monkeypatch.delenv("CONNECTOR_STORE_URL")

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    impossible = private(tmp_path / "i.toml", f'state_dir = "{blocker / "state"}"\n'
                         + mock_link())
    assert "cannot create the state folder" in one_line_error(
        monkeypatch, capfd, "--config", str(impossible), "cases")
    empty_world = private(tmp_path / "w.toml", f'state_dir = "{tmp_path}"\n'
                          + mock_link().replace('world = "main.json"', 'world = ""', 1))
    assert "world must name a folder, not ''" in one_line_error(
        monkeypatch, capfd, "--config", str(empty_world), "sync")


def test_5_a_claim_id_of_20_digits_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    cfg = loaded(tmp_path, monkeypatch, capfd)
    for argv in (["case", "9" * 20], ["approve", "1", "9" * 20], ["hold", "0"],
                 ["retry", "9" * 20]):
        assert "is not an id: ids are whole numbers from 1 to" in one_line_error(
            monkeypatch, capfd, "--config", str(cfg), *argv)


def test_5_a_full_disk_while_the_mock_world_is_saved_loses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """The world's SQLite file refuses the commit as a full disk does (SQLITE_FULL) while
    `mock advance` writes: one line, and the world is as it was before the command."""
    from connector_adapters.mock import state

    cfg = loaded(tmp_path, monkeypatch, capfd)
    code, before, err = main(monkeypatch, capfd, "--config", str(cfg), "mock", "show", "--json")
    assert code == 0, err

    def full(self: state.RecordFile) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    commit = state.RecordFile.commit
    monkeypatch.setattr(state.RecordFile, "commit", full)
    line = one_line_error(monkeypatch, capfd, "--config", str(cfg), "mock", "advance", "30d")
    assert line.startswith("error: the mock world could not be written") and "full" in line
    monkeypatch.setattr(state.RecordFile, "commit", commit)
    code, after, err = main(monkeypatch, capfd, "--config", str(cfg), "mock", "show", "--json")
    assert code == 0, err
    assert json.loads(after) == json.loads(before)


def test_5_absurd_scenario_values_are_one_line_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    cfg = private(tmp_path / "c.toml", f'state_dir = "{tmp_path}"\n' + mock_link())
    base = ('[world]\nstart = 2026-03-02T08:00:00+01:00\n[company]\nname = "T"\n'
            '[[customers]]\nnumber = "10"\nname = "A"\n'
            '[[invoices]]\ninvoice_no = "1"\ncustomer_no = "10"\n')
    for body, message in (('due_in_days = -3\namount = "1e400"\n', "less than 10^15"),
                          ('due_in_days = -3\namount = 1e400\n', "never float"),
                          ('due_in_days = -99999999999\namount = "10.00"\n',
                           "invoices[0].due_in_days")):
        scenario = tmp_path / "s.toml"
        scenario.write_text(base + body, encoding="utf-8")
        assert message in one_line_error(monkeypatch, capfd, "--config", str(cfg), "mock",
                                         "load", str(scenario))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_5_first_runs_racing_on_a_new_store_all_succeed(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Reported: two first syncs on a new state folder sometimes failed with `table
    alembic_version already exists`. Four processes now open one new store at once."""
    import subprocess

    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'new' / 'state.db'}"
        schema = None
    else:
        pg_url = request.getfixturevalue("pg_url")
        schema = f"race_{os.getpid()}_{id(tmp_path) % 100000}"
        admin = create_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{pg_url}?options=-csearch_path%3D{schema}"
    code = f"from connector.store.db import Store\nStore({url!r}).dispose()\n"
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE,
                                  text=True) for _ in range(4)]
        results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
        assert all(rc == 0 for rc, _ in results), results
    finally:
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


# ---------------------------------------------------------------- 6: silent configuration


def test_6_nonsense_settings_are_refused_naming_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Reported: `grace = true` was one second, negative durations and a zero lease or
    interval were accepted, `jobs --state bogus` printed an empty list."""
    for setting, message in (("grace = true", "links.0.grace: Value error, true is not a "
                              "duration like 2h, 14d, 1h30m or 90s"),
                             ('grace = "-2h"', "links.0.grace"),
                             ("cursor_overlap = -60", "links.0.cursor_overlap: Value error, "
                              "-60 must be at least zero"),
                             ('job_lease = "0s"', "links.0.job_lease: Value error, '0s' must "
                              "be more than zero"),
                             ("job_attempts = true", "links.0.job_attempts: Input should be a "
                              "valid integer")):
        cfg = private(tmp_path / "c.toml", mock_link().replace(
            '[links.erp]', f'{setting}\n[links.erp]'))
        assert message in one_line_error(monkeypatch, capfd, "--config", str(cfg), "cases")
    cfg = loaded(tmp_path, monkeypatch, capfd)
    assert one_line_error(monkeypatch, capfd, "--config", str(cfg), "daemon", "--interval",
                          "0s") == "error: --interval: '0s' must be more than zero"
    assert one_line_error(monkeypatch, capfd, "--config", str(cfg), "daemon", "--lease",
                          "0s") == "error: --lease: '0s' must be more than zero"
    assert one_line_error(monkeypatch, capfd, "--config", str(cfg), "jobs", "--state",
                          "bogus") == ("error: --state: 'bogus' is not a job state; use one "
                                       "of queued, running, done, rejected, cancelled, dead")


# ---------------------------------------------------------------- 7: smaller defects


def test_7_an_amount_with_three_decimals_is_an_item_error_keeping_the_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    from connector_adapters.mock import erp as mock_erp

    real = mock_erp.MockErp._pages

    def three_decimals(self: Any, model: Any, resource: str, items: Any, since: Any,
                       dump: Any) -> Any:
        if resource != "invoice":
            return real(self, model, resource, items, since, dump)
        return real(self, model, resource, items, since, lambda i: {
            **dump(i), **({"amount": "1250.005"} if i.invoice_no == "20001" else {})})

    monkeypatch.setattr(mock_erp.MockErp, "_pages", three_decimals)
    cfg = loaded(tmp_path, monkeypatch, capfd)
    code, _, _ = main(monkeypatch, capfd, "--config", str(cfg), "sync")
    assert code == 1
    _, out, _ = main(monkeypatch, capfd, "--config", str(cfg), "errors", "--json")
    errors = [e for e in json.loads(out) if e["raw"].get("invoice_no") == "20001"]
    assert len(errors) == 1
    assert "money has more than two decimals: 1250.005" in errors[0]["reason"]
    assert errors[0]["raw"]["amount"] == "1250.005" and errors[0]["raw"]["invoice_no"] == "20001"
    _, out, _ = main(monkeypatch, capfd, "--config", str(cfg), "cases", "--json")
    assert "20001" not in {c["invoice_no"] for c in json.loads(out)}


def test_7_the_state_folder_and_store_are_owner_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "umask", os.umask)  # restored after the test
    old = os.umask(0o022)
    try:
        loaded(tmp_path, monkeypatch, capfd)
        main(monkeypatch, capfd, "--config", str(tmp_path / "c.toml"), "sync")
    finally:
        os.umask(old)
    state = tmp_path / "state"
    assert state.stat().st_mode & 0o777 == 0o700
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        if (state / name).exists():
            assert (state / name).stat().st_mode & 0o077 == 0, name


def test_7_check_finds_a_lost_agency_case_and_a_corrupt_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    from connector_adapters.mock.plugin import _open as open_worlds

    cfg = loaded(tmp_path, monkeypatch, capfd)
    for argv in (["sync"], ["approve", "--all"], ["mock", "advance", "3h"], ["sync"]):
        main(monkeypatch, capfd, "--config", str(cfg), *argv)
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "check")
    assert code == 0 and "consistent" in out, err
    with sqlite3.connect(tmp_path / "state" / "main.json" / "agency.sqlite") as agency:
        [(lost,)] = agency.execute("SELECT key FROM records WHERE kind = 'case' "
                                   "ORDER BY key LIMIT 1").fetchall()
        agency.execute("DELETE FROM records WHERE kind = 'case' AND key = ?", (lost,))
    open_worlds.clear()  # as a new process would, read the world from its files
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "check")
    assert code == 1 and f"is Open but the agency has no case {lost}" in err

    db = tmp_path / "state" / "state.db"
    data = bytearray(db.read_bytes())
    for offset in range(4096 * 3, len(data) - 4096, 4096):
        data[offset + 100: offset + 400] = b"\xa5" * 300  # pages torn by a bad disk
    db.write_bytes(bytes(data))
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "check")
    assert code != 0


def test_7_the_history_names_each_obstacle_when_it_appears_and_when_it_clears(
        tmp_path: Path) -> None:
    """Reported: a claim that entered Draft or Approved already blocked had no line naming
    the obstacle; only "Obstacles cleared" came later."""
    from tests.mock.cli import BASE, User

    for auto, entered in ((False, "Entered Draft"), (True, "Entered Approved")):
        (tmp_path / entered.split()[1]).mkdir()
        user = User(tmp_path / entered.split()[1], BASE.replace(
            'name = "Test AS"', f'name = "Test AS"\nauto_transfer = {str(auto).lower()}'))
        user.run("sync")
        missing = "customer 12 (Ola Hansen): postal code is missing on the customer card"
        lines = user.history("503").split(" | ")
        assert lines[:2] == [lines[0], f"Obstacle: {missing}"] and entered in lines[0]
        user.run("mock customer 12 --postal-code 2317")
        user.run("mock advance 1h")
        user.run("sync")
        lines = user.history("503").split(" | ")
        assert lines[-1] == f"Obstacle cleared: {missing}"
        assert sum(missing in line for line in lines) == 2  # once appearing, once clearing


LONG_NAME = "Nordre Fjellheim Elektro, Rør og Ventilasjon Totalentreprise og Service " \
            "Aksjeselskap Avdeling Oslo Sentrum"


def test_7_a_debtor_name_longer_than_the_agency_takes_is_an_obstacle(tmp_path: Path) -> None:
    """Reported: a debtor name longer than the agency accepts was sent unchecked. The mock
    agency takes 100 characters, declared to the engine (``max_lengths``) and enforced."""
    from tests.mock.cli import BASE, User

    assert len(LONG_NAME) > 100
    user = User(tmp_path, BASE.replace('"Fjordkraft Rør AS"', f'"{LONG_NAME}"'))
    user.run("sync")
    user.run("approve --all")
    user.run("mock advance 2h1m")
    printed = " ".join(user.run("sync").split())
    limit = f"name has {len(LONG_NAME)} characters; the agency takes at most 100"
    assert limit in printed
    assert user.show()["registrations"] == 0  # 501 and 502 wait for a shorter name, 503 a code
    assert f"Obstacle: customer 10 ({LONG_NAME}): {limit}" in user.history("501")
    user.run("mock customer 10 --name 'Fjordkraft Rør AS'")
    user.run("sync")
    assert user.show()["registrations"] == 2 and {"501", "502"} <= set(user.claims("open"))
    assert f"Obstacle cleared: customer 10 ({LONG_NAME}): {limit}" in user.history("501")


def test_7_the_agencies_declare_and_enforce_their_name_limits() -> None:
    """Kravia's limits (its ``guesses``) and the mock agency's reach the engine as
    ``max_lengths``; each agency refuses what the engine would have held back."""
    from connector_adapters.kravia import guesses
    from connector_adapters.kravia.adapter import KraviaAgency, too_long
    from connector_adapters.kravia.mapping import register_body
    from connector_adapters.mock.agency import MockAgency
    from tests.kravia.conftest import creditor
    from tests.support import new_world

    assert KraviaAgency.requirements.max_lengths == {
        "name": guesses.FIELD_LIMITS["debtorName"], "email": guesses.FIELD_LIMITS["email"],
        "address.line1": guesses.FIELD_LIMITS["addressAddressLine1"],
        "address.postal_code": guesses.FIELD_LIMITS["addressPostalCode"],
        "address.city": guesses.FIELD_LIMITS["addressCity"]}
    assert MockAgency.requirements.max_lengths["name"] == 100
    kravia = creditor()
    request = kravia.request(name=LONG_NAME)
    assert too_long(register_body(request, 1)) == (
        f"debtorName is {len(LONG_NAME)} characters; Kravia takes at most 100", "name")
    assert ("name", f"debtor 10: the name has {len(LONG_NAME)} characters; the agency takes "
            "at most 100") in MockAgency(new_world()).problems(request)
