"""Stopping and starting the daemon as a service manager does: SIGTERM hands the work in
hand back within the deadline and exits 0; the schema is checked; SQLite takes one daemon;
link files are picked up while it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.config import load_settings
from connector.store.db import Store
from connector.store.schema import JobRow, SyncRunRow
from connector_adapters.mock.world import World
from tests.service.worlds import link_toml, make_world
from tests.support import main

CONNECTOR = str(Path(sys.executable).parent / "connector")


def start(cfg: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([CONNECTOR, "--config", str(cfg), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for(check: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds}s: {what}")


def test_sigterm_hands_back_the_work_in_hand_and_exits_0(tmp_path: Path) -> None:
    state = tmp_path / "state"
    make_world(state / "w", invoices=30)
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{state}"\n' + link_toml(
        "main", "w", agency="requests_per_second = 4\n"), encoding="utf-8")
    store = Store(load_settings(cfg).database_url)
    daemon = start(cfg, "daemon", "--interval", "1h", "--stop-timeout", "1s")
    try:
        with store.session() as session:
            done = select(JobRow).where(JobRow.kind == "transfer", JobRow.state == "done")
            wait_for(lambda: session.scalars(done).first() is not None, "a transfer done")
        daemon.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        out, err = daemon.communicate(timeout=30)
        took = time.monotonic() - stopped
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    # Without the deadline the pass would send all 30 (7.5 s at 4 requests/s); a loaded
    # machine adds its own seconds to starting and ending a process.
    assert took < 20, f"stopped {took:.1f}s after SIGTERM"
    assert "stopped by a signal after 1 round(s)" in out
    with store.session() as session:
        transfers = list(session.scalars(select(JobRow).where(JobRow.kind == "transfer")))
        [run] = session.scalars(select(SyncRunRow))
    assert [j.id for j in transfers if j.state == "running"] == []  # none left claimed
    handed_back = [j for j in transfers if j.state == "queued"]
    assert handed_back and all(j.attempts == 0 for j in handed_back)
    assert run.outcome == "interrupted" and run.finished_at is not None
    assert "handed back" in (run.error or "")
    sent = len(transfers) - len(handed_back)
    assert run.transferred == sent and 0 < sent < 30

    # The next pass sends the rest, each once.
    code, _, err = main_sync(cfg)
    assert code == 0, err
    world = World.open(state / "w")
    assert len(world.agency.cases) == 30 and world.agency.duplicates == 0


def main_sync(cfg: Path) -> tuple[int, str, str]:
    done = subprocess.run([CONNECTOR, "--config", str(cfg), "sync"], capture_output=True,
                          text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def one_link(tmp_path: Path) -> Path:
    make_world(tmp_path / "state" / "w")
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n' + link_toml("main", "w"),
                   encoding="utf-8")
    return cfg


def test_a_second_daemon_on_sqlite_is_refused_with_a_clear_message(one_link: Path) -> None:
    first = start(one_link, "daemon", "--interval", "1h")
    try:
        db = load_settings(one_link).database_url.removeprefix("sqlite:///")
        wait_for(lambda: Path(f"{db}.daemon.lock").exists(), "the first daemon's lock")
        second = subprocess.run([CONNECTOR, "--config", str(one_link), "daemon"],
                                capture_output=True, text=True, timeout=60)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert second.returncode == 2
    assert second.stderr.splitlines() == [
        f"error: another daemon (process {first.pid}) already runs on the SQLite store "
        f"{db}; SQLite takes one daemon at a time: stop that one first, or move the store "
        "to PostgreSQL (store_url) to run several"]
    assert first.returncode == 0


def test_the_daemon_refuses_an_older_or_newer_schema_naming_the_fix(
        one_link: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    from alembic import command

    from connector.store.db import alembic_config, head_revision

    head = head_revision()
    url = load_settings(one_link).database_url
    old = Store(url, migrate=False)
    command.upgrade(alembic_config(old.engine), "0006")
    code, _, err = main(monkeypatch, capfd, "--config", str(one_link), "daemon", "--rounds", "1")
    assert code == 2
    assert err.strip() == ("error: the daemon does not start: the store's schema (revision "
                           f"0006) is older than this connector's ({head}): run `connector db "
                           "upgrade`, then start again")
    code, out, _ = main(monkeypatch, capfd, "--config", str(one_link), "db", "upgrade", "--json")
    assert code == 0 and json.loads(out) == {"from": "0006", "to": head}
    code, out, _ = main(monkeypatch, capfd, "--config", str(one_link), "db", "upgrade")
    assert out.strip() == f"the store's schema is current (revision {head})"
    code, _, err = main(monkeypatch, capfd, "--config", str(one_link), "daemon", "--rounds", "1")
    assert code == 0, err

    with old.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    code, _, err = main(monkeypatch, capfd, "--config", str(one_link), "daemon", "--rounds", "1")
    assert code == 2 and f"is newer than this connector's ({head}): upgrade the connector" in err
    old.dispose()


def test_link_files_are_listed_and_a_new_one_is_picked_up_without_a_restart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    for name in ("acme", "fjord"):
        make_world(state / name, invoices=1)
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{state}"\n', encoding="utf-8")
    links = tmp_path / "links.d"
    links.mkdir()
    monkeypatch.setenv("ACME_KEY", "acme-secret-key-1")
    (links / "acme.toml").write_text(
        'grace = "0s"\n[erp]\nadapter = "mock"\nworld = "acme"\napi_key = "${ACME_KEY}"\n'
        'requests_per_second = 100\n[agency]\nadapter = "mock"\nworld = "acme"\n',
        encoding="utf-8")
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "links", "--json")
    assert code == 0, err
    assert json.loads(out) == [{"name": "acme", "erp": "mock", "agency": "mock",
                                "file": str(links / "acme.toml"), "last_run": None,
                                "last_success": None, "lease_holder": None}]
    daemon = start(cfg, "daemon", "--interval", "0.2s")
    try:
        store = Store(load_settings(cfg).database_url)
        with store.session() as session:
            ran = select(SyncRunRow.link).distinct()
            wait_for(lambda: set(session.scalars(ran)) == {"acme"}, "acme synced")
            table = link_toml("fjord", "fjord").split("\n", 1)[1]  # as a file: no [[links]]
            (links / "fjord.toml").write_text(table.replace("[links.", "["), encoding="utf-8")
            wait_for(lambda: set(session.scalars(ran)) == {"acme", "fjord"},
                     "the new link file synced by the running daemon")
        store.dispose()
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "acme-secret-key-1" not in out + err
    code, out, _ = main(monkeypatch, capfd, "--config", str(cfg), "links", "--json")
    assert [(r["name"], r["last_run"]) for r in json.loads(out)] == [("acme", "ok"),
                                                                    ("fjord", "ok")]


def test_a_broken_link_file_is_one_line_naming_it(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{tmp_path}"\n' + link_toml("acme", "w"), encoding="utf-8")
    (tmp_path / "links.d").mkdir()
    (tmp_path / "links.d" / "acme.toml").write_text(
        '[erp]\nadapter = "mock"\n[agency]\nadapter = "mock"\n', encoding="utf-8")
    (tmp_path / "links.d" / "bad.toml").write_text(
        '[erp]\nadapter = "mock"\napi_key = "${NOT_SET_ANYWHERE}"\n', encoding="utf-8")
    code, _, err = main(monkeypatch, capfd, "--config", str(cfg), "links")
    assert code == 2
    assert err.strip() == (f"error: {tmp_path / 'links.d' / 'bad.toml'}: erp.api_key: "
                           "environment variable NOT_SET_ANYWHERE is not set")
    (tmp_path / "links.d" / "bad.toml").unlink()
    code, _, err = main(monkeypatch, capfd, "--config", str(cfg), "links")
    assert code == 2 and "link names must be unique, got acme more than once" in err


def test_the_daemon_leaves_out_a_broken_link_and_syncs_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """A restart with one unreadable link file and one link naming an adapter that is not
    installed: each is one error line naming it, and the other company is synced."""
    make_world(tmp_path / "state" / "acme", invoices=1)
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n'
                   + link_toml("typo", "acme", agency_adapter="nosuch"), encoding="utf-8")
    (tmp_path / "links.d").mkdir()
    table = link_toml("acme", "acme").split("\n", 1)[1]
    (tmp_path / "links.d" / "acme.toml").write_text(table.replace("[links.", "["),
                                                    encoding="utf-8")
    (tmp_path / "links.d" / "bad.toml").write_text(
        '[erp]\nadapter = "mock"\napi_key = "${NOT_SET_ANYWHERE}"\n', encoding="utf-8")
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "--log-format", "json",
                          "daemon", "--rounds", "1")
    assert code == 0, err
    assert "1 link pass(es), 0 link(s) with failures" in out
    events = [json.loads(line) for line in err.splitlines()]
    [file_left] = [e for e in events if e["event"] == "link file left out"]
    assert file_left["file"] == str(tmp_path / "links.d" / "bad.toml")
    assert "NOT_SET_ANYWHERE is not set" in file_left["error"]
    [link_left] = [e for e in events if e["event"] == "link left out: its configuration is wrong"]
    assert link_left["link"] == "typo" and "nosuch" in link_left["error"]
    code, _, err = main(monkeypatch, capfd, "--config", str(cfg), "links")
    assert code == 2 and "bad.toml" in err  # a one-shot command still refuses, in one line
