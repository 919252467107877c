"""``connector demo --http``: the demo through the real PowerOffice Go and Kravia adapters,
each over sockets on 127.0.0.1 to its emulator, reports nothing held twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from tests.test_cli import THURSDAY, flat


def test_demo_over_http_reports_zero_duplicates(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the built-in demo link: state in ./.connector
    result = CliRunner().invoke(app, ["demo", "--http", "--days", "3", "--start", THURSDAY,
                                      "--customers", "12", "--json"], prog_name="connector")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    po, kravia = summary["http"]["poweroffice"], summary["http"]["kravia"]
    assert po["url"].startswith("http://127.0.0.1:") and kravia["url"].startswith(
        "http://127.0.0.1:")
    assert po["requests"] > 50 and kravia["requests"] > 0
    assert summary["lists"].get("open", 0) > 0 and kravia["registrations"] > 0
    assert (po["duplicate_vouchers"], po["duplicate_proposals"]) == (0, 0)
    assert (kravia["duplicate_cases"], kravia["duplicate_reductions"],
            kravia["bookkept_twice"]) == (0, 0, 0)
    assert po["rate_limited"] == 0 and summary["failures"] == 0


def test_demo_over_http_prints_the_traffic(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--http", "--days", "1", "--start", THURSDAY,
                                      "--customers", "6"], prog_name="connector")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "Over HTTP PowerOffice Go emulator at http://127.0.0.1:" in text
    assert "duplicate vouchers 0, duplicate proposals 0" in text
    assert "duplicate cases 0, duplicate reductions 0" in text
