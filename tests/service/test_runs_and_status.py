"""Sync runs are recorded; ``status`` and ``runs`` show them; a failed item is a JSON warning
naming the link and the invoice by number, with no secret in it."""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from connector import hookimpl
from connector.domain import AgencyCase, CaseRequest
from connector.errors import AdapterError
from connector.ports import AdapterContext
from connector.registry import load_registry
from connector.secrets import Secret
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.plugin import agency_factory
from tests.service.worlds import link_toml, make_world
from tests.support import main

SECRET = "sk_live_9d41c0ffee77"


class LeakyAgency(MockAgency):
    """The mock agency refusing every case with its API key in the message."""

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext) -> None:
        self.key = Secret(settings["api_key"])
        mock = agency_factory({k: v for k, v in settings.items() if k != "api_key"}, context)
        super().__init__(mock.world)

    def register_case(self, request: CaseRequest) -> AgencyCase:
        raise AdapterError(f"401 from the agency for key {self.key.get_secret_value()}")


leaky = types.SimpleNamespace(connector_register_adapters=hookimpl(
    lambda register: register.agency("leaky", LeakyAgency)))


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    registry = load_registry((leaky,))
    monkeypatch.setattr("connector.runtime.load_registry", lambda: registry)
    monkeypatch.setenv("AGENCY_KEY", SECRET)
    state = tmp_path / "state"
    make_world(state / "good", invoices=1)
    make_world(state / "bad", invoices=2)
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{state}"\n' + link_toml("good", "good")
                   + link_toml("bad", "bad", agency='api_key = "${AGENCY_KEY}"\n',
                               agency_adapter="leaky"), encoding="utf-8")
    cfg.chmod(0o600)
    return cfg


def test_a_failing_pass_is_a_json_warning_and_status_names_link_and_invoice(
        config: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = main(monkeypatch, capfd, "--config", str(config), "--log-format", "json",
                          "daemon", "--rounds", "1", "--interval", "10ms")
    assert code == 1, err
    assert SECRET not in out + err
    assert "1 round(s): 2 link pass(es), 1 link(s) with failures" in out
    assert "bad: invoice 501: " in out and "invoice 502" in out
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    warned = [line for line in lines if line["event"] == "item failed"]
    assert {(w["link"], w["item"], w["level"]) for w in warned} == {
        ("bad", "invoice 501", "warning"), ("bad", "invoice 502", "warning")}
    assert all("for key ***" in w["reason"] for w in warned)

    code, out, err = main(monkeypatch, capfd, "--config", str(config), "status", "--json")
    assert code == 0, err
    status = {row["link"]: row for row in json.loads(out)}
    assert SECRET not in out
    assert status["good"]["last_run"]["outcome"] == "ok"
    assert status["good"]["last_success"] is not None
    bad = status["bad"]
    assert bad["last_run"]["outcome"] == "failed"
    assert [f["item"] for f in bad["open_failures"]] == ["invoice 501", "invoice 502"]
    assert bad["last_run"]["transferred"] == 0 and bad["lease_holder"] is None
    assert bad["jobs_due"] == 0  # rescheduled with backoff, not due now

    code, out, _ = main(monkeypatch, capfd, "--config", str(config), "runs", "--json")
    history = json.loads(out)
    assert [(r["link"], r["outcome"], r["failure_count"]) for r in history] == [
        ("bad", "failed", 2), ("good", "ok", 0)]
    assert history[1]["transferred"] == 1 and history[1]["moved"] == {"approved": 1,
                                                                     "open": 1}
    code, out, _ = main(monkeypatch, capfd, "--config", str(config), "runs", "--link", "good")
    assert code == 0 and "good" in out and "bad" not in out


def test_console_logs_name_the_link_and_item_too(
        config: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    code, _, err = main(monkeypatch, capfd, "--config", str(config), "--log-format", "console",
                        "daemon", "--rounds", "1", "--interval", "10ms")
    assert code == 1
    [line] = [x for x in err.splitlines() if "item failed" in x and "invoice 501" in x]
    assert "[warning" in line and "link=bad" in line and SECRET not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_old_runs_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capfd: pytest.CaptureFixture[str]) -> None:
    from datetime import timedelta

    from connector import runs
    from connector.clock import SystemClock
    from connector.config import load_settings
    from connector.store.db import Store

    make_world(tmp_path / "state" / "w")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\nruns_kept = "1h"\n'
                   + link_toml("main", "w"), encoding="utf-8")
    store = Store(load_settings(cfg).database_url)
    old_run = runs.start(store, "main", "elsewhere:1", SystemClock().now() - timedelta(hours=2))
    runs.finish(store, old_run, runs.Outcome.OK, SystemClock().now() - timedelta(hours=2))
    main(monkeypatch, capfd, "--config", str(cfg), "daemon", "--rounds", "1")
    _, out, _ = main(monkeypatch, capfd, "--config", str(cfg), "runs", "--json")
    [kept] = json.loads(out)  # the old run is gone, this round's is there
    assert kept["holder"] != "elsewhere:1" and kept["outcome"] == "ok"


def test_a_link_that_cannot_be_opened_is_recorded_as_a_crashed_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """A link whose adapters cannot be opened (here: an agency adapter not installed) shows
    in `status` as crashed, with the reason, not as never run."""
    make_world(tmp_path / "state" / "w")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n'
                   + link_toml("typo", "w", agency_adapter="nosuch"), encoding="utf-8")
    code, _, err = main(monkeypatch, capfd, "--config", str(cfg), "sync")
    assert code == 2 and "nosuch" in err
    code, out, err = main(monkeypatch, capfd, "--config", str(cfg), "status", "--json")
    [link] = json.loads(out)
    assert link["link"] == "typo" and link["last_run"]["outcome"] == "crashed", out
    assert link["last_run"]["error"].startswith("the link could not be opened: ")
    assert "nosuch" in link["last_run"]["error"]
