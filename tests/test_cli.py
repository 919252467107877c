"""The ``connector`` command end to end, against the mock world, as a user runs it.

Each test gets its own config in ``tmp_path`` (state there, one mock link ``main``), drives
the world with ``connector mock load / advance`` and reads the results the way a user or a
script does: the tables, or ``--json``. ``connector.cli.main`` turns a ConnectorError into
one line and exit status 2; ``app`` under CliRunner lets the exception through instead, so
that path is tested through ``main`` (and once through the installed script).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from connector import cli
from connector.cli import app
from connector.errors import ConfigError, ConnectorError
from connector_adapters.mock.plugin import open_world
from tests.support import cli_environment

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "config" / "scenarios" / "small.toml"
EXAMPLE = ROOT / "config" / "connector.example.toml"
CLAIM_KEYS = {"id", "link", "invoice_no", "customer_no", "list", "status", "amount",
              "balance", "currency", "due_date", "obstacles"}

# A company with no reminder step (R1a: ready the day after the due date), one complete
# business card and one person without a postal code (an obstacle, R7).
CLEAN = """
[world]
start = 2026-03-02T08:00:00+01:00

[company]
name = "Test AS"

[[customers]]
number = "10"
name = "Fjordkraft Rør AS"
organization_number = "923609016"
address = { line1 = "Storgata 12", postal_code = "0155", city = "Oslo", country = "NO" }

[[customers]]
number = "11"
name = "Kari Nordmann"
is_person = true
address = { line1 = "Fjordveien 3", city = "Bergen", country = "NO" }

[[invoices]]
invoice_no = "501"
customer_no = "10"
due_in_days = -3
amount = "1000.00"

[[invoices]]
invoice_no = "502"
customer_no = "10"
due_in_days = -2
amount = "2000.00"

[[invoices]]
invoice_no = "503"
customer_no = "11"
due_in_days = -5
amount = "300.00"

[[invoices]]
invoice_no = "504"
customer_no = "10"
due_in_days = 5
amount = "400.00"
"""


clean_env = cli_environment(columns=100)


def write_config(path: Path, state: Path, links: str = "main", erp_extra: str = "") -> Path:
    text = f"state_dir = {json.dumps(str(state))}\n"
    for name in links.split():
        text += (f'[[links]]\nname = "{name}"\ncall_backoff = "0s"\n'
                 f'[links.erp]\nadapter = "mock"\nworld = "{name}-world"\n{erp_extra}'
                 f'[links.agency]\nadapter = "mock"\nworld = "{name}-world"\n')
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path / "connector.toml", tmp_path / "state")


def world_file(cfg: Path, link: str = "main") -> Path:
    return (cfg.parent / "state" / f"{link}-world").resolve()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), prog_name="connector")


def run(cfg: Path, *args: str, code: int = 0) -> Result:
    result = invoke("--config", str(cfg), *args)
    assert result.exit_code == code, (
        f"connector {' '.join(args)} exited {result.exit_code}, wanted {code}\n"
        f"{result.output}\n{result.exception!r}")
    return result


def run_json(cfg: Path, *args: str, code: int = 0) -> Any:
    return json.loads(run(cfg, *args, "--json", code=code).stdout)


def fails(cfg: Path, *args: str) -> BaseException:
    """A command that raises a ConnectorError: ``main`` would print it and exit 2."""
    result = invoke("--config", str(cfg), *args)
    assert isinstance(result.exception, ConnectorError), (result.output, result.exception)
    return result.exception


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             *argv: str) -> tuple[int, str, str]:
    """``connector ARGV`` through the console entry point: exit status, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["connector", *argv])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    captured = capsys.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else 1
    return code, captured.out, captured.err


def load(cfg: Path, scenario: str | Path, tmp_path: Path | None = None) -> str:
    if isinstance(scenario, str):
        assert tmp_path is not None
        path = tmp_path / "scenario.toml"
        path.write_text(scenario, encoding="utf-8")
        scenario = path
    return run(cfg, "mock", "load", str(scenario)).stdout


def claims(cfg: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Claims by invoice number."""
    return {c["invoice_no"]: c for c in run_json(cfg, "cases", *args)}


@pytest.fixture
def clean(cfg: Path, tmp_path: Path) -> Path:
    """CLEAN loaded and synced once: 501, 502 and 503 in Draft, 503 with an obstacle."""
    load(cfg, CLEAN, tmp_path)
    run(cfg, "sync")
    return cfg


# ---------------------------------------------------------------- help


def all_commands() -> list[tuple[list[str], Any]]:
    """Every command and sub-command, as (path, click command)."""
    found: list[tuple[list[str], Any]] = []

    def walk(prefix: list[str], group: Any) -> None:
        for name, command in sorted(group.commands.items()):
            found.append(([*prefix, name], command))
            if hasattr(command, "commands"):
                walk([*prefix, name], command)

    walk([], typer.main.get_command(app))
    return found


def flat(text: str) -> str:
    """Help text without the boxes and line breaks rich adds."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_top_level_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    text = flat(result.stdout)
    assert "Connect an ERP with a debt-collection agency" in text
    for path, _ in all_commands():
        if len(path) == 1:
            assert path[0] in text


@pytest.mark.parametrize(("path", "command"), [
    pytest.param(path, command, id=" ".join(path)) for path, command in all_commands()])
def test_every_command_has_help_text(path: list[str], command: Any) -> None:
    assert command.help and command.help.strip(), f"connector {' '.join(path)} has no help"
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    first_words = " ".join(command.help.split()[:4])
    assert first_words in flat(result.stdout)
    assert f"connector {' '.join(path)}" in flat(result.stdout)


def test_the_core_commands_exist() -> None:
    paths = {" ".join(p) for p, _ in all_commands()}
    assert paths >= {"sync", "cases", "case", "approve", "hold", "restore", "cancel",
                     "collect", "errors", "jobs", "adapters", "demo", "mock", "mock load",
                     "mock advance", "mock show"}


# ---------------------------------------------------------------- sync


def test_sync_of_the_small_scenario_lists_the_failures_and_exits_1(cfg: Path) -> None:
    loaded = load(cfg, SMALL)
    assert "7 customers, 11 invoices" in flat(loaded)
    [report] = run_json(cfg, "sync", code=1)
    assert report["link"] == "main" and report["dry_run"] is False
    assert report["ok"] is False
    assert report["moved"] == {"draft": 4}
    reasons = sorted(f["reason"] for f in report["failures"])
    assert len(reasons) == 2
    assert "invoice 20011: customer 19999 is not known in the ERP" in reasons
    assert any(r.startswith("invoice_date:") for r in reasons)  # 20010, a malformed date

    drafts = claims(cfg)
    assert set(drafts) == {"20002", "20003", "20005", "20006"}
    assert {c["list"] for c in drafts.values()} == {"draft"}
    fields = {no: [o["field"] for o in c["obstacles"]] for no, c in drafts.items()}
    assert fields["20002"] == ["address.postal_code"]  # R7: named per field
    assert fields["20003"] == ["organization_number"]
    assert fields["20005"] == ["currency"]
    assert fields["20006"] == []
    assert drafts["20002"]["status"].startswith("Blocked: customer 10002 (Kari Nordmann)")

    text = flat(run(cfg, "sync", code=1).stdout)
    assert "failed items: 2" in text
    assert "customer 19999 is not known in the ERP" in text


def test_sync_exits_0_when_no_item_failed(cfg: Path, tmp_path: Path) -> None:
    load(cfg, CLEAN, tmp_path)
    [report] = run_json(cfg, "sync")
    assert report["ok"] is True and report["failures"] == []
    assert report["moved"] == {"draft": 3}
    text = flat(run(cfg, "sync").stdout)
    assert text.startswith("main")
    assert "no claim moved" in text and "transferred: 0" in text


def test_sync_covers_every_link_or_the_one_named(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "two.toml", tmp_path / "state", links="a b")
    for link in ("a", "b"):
        run(cfg, "mock", "load", str(SMALL), "--link", link)
    assert [r["link"] for r in run_json(cfg, "sync", code=1)] == ["a", "b"]
    assert [r["link"] for r in run_json(cfg, "sync", "--link", "b", code=1)] == ["b"]
    rows = run_json(cfg, "cases")
    assert Counter(r["link"] for r in rows) == {"a": 4, "b": 4}
    error = fails(cfg, "case", "1")
    assert str(error) == "several links are configured (a, b); choose one with --link"
    first_b = run_json(cfg, "cases", "--link", "b")[0]["id"]
    assert run_json(cfg, "case", str(first_b), "--link", "b")["link"] == "b"
    assert str(fails(cfg, "case", str(first_b), "--link", "a")) == \
        f"no claim {first_b} in link a"
    assert "no link named 'c'" in str(fails(cfg, "cases", "--link", "c"))


# ---------------------------------------------------------------- lists and one claim


def test_cases_rows_and_tables(clean: Path) -> None:
    rows = sorted(run_json(clean, "cases"), key=lambda r: r["invoice_no"])
    assert [r["invoice_no"] for r in rows] == ["501", "502", "503"]  # 504 is not due yet
    for row in rows:
        assert set(row) >= CLAIM_KEYS
        assert row["link"] == "main" and row["list"] == "draft" and row["currency"] == "NOK"
    assert rows[0]["amount"] == "1000.00"
    assert rows[0]["status"] == "Ready for collection; waiting for approval"
    assert run_json(clean, "cases", "--list", "open") == []
    assert len(run_json(clean, "cases", "--list", "draft")) == 3

    text = flat(run(clean, "cases").stdout)
    for title in ("Draft (3)", "Approved (0)", "Open (0)", "Archived (0)"):
        assert title in text
    assert "Held" not in text  # held and dropped only when asked for
    assert "Held (0)" in flat(run(clean, "cases", "--list", "held").stdout)


def test_case_shows_obstacles_and_history(clean: Path) -> None:
    blocked = claims(clean)["503"]
    data = run_json(clean, "case", str(blocked["id"]))
    assert set(data) >= CLAIM_KEYS
    assert data["obstacles"] == [{
        "code": "missing_field", "field": "address.postal_code",
        "message": "customer 11 (Kari Nordmann): postal code is missing on the customer card"}]
    [entered, obstacle] = data["history"]
    assert entered["source"] == "connector"
    assert entered["text"] == "Entered Draft; R1a: no reminder step, day 1 after the due date"
    assert obstacle["text"] == ("Obstacle: customer 11 (Kari Nordmann): postal code is missing "
                                "on the customer card") and obstacle["at"] == entered["at"]
    assert datetime.fromisoformat(entered["at"])

    text = flat(run(clean, "case", str(blocked["id"])).stdout)
    assert f"Claim {blocked['id']} — invoice 503, customer 11" in text
    assert "Obstacle: customer 11 (Kari Nordmann): postal code is missing" in text
    assert "R1a: no reminder step" in text
    assert str(fails(clean, "case", "999")) == "no claim 999 in link main"


# ---------------------------------------------------------------- actions


def test_approve_cancel_inside_the_grace_window_then_transfer(clean: Path) -> None:
    ids = {no: c["id"] for no, c in claims(clean).items()}
    outcome = run_json(clean, "approve", str(ids["501"]), str(ids["502"]))
    assert outcome == {"done": [ids["501"], ids["502"]], "refused": {}}
    history = run_json(clean, "case", str(ids["501"]))["history"]
    assert history[-1]["source"] == "user"
    assert history[-1]["text"].startswith("Approved by the user; transferred after")

    run(clean, "mock", "advance", "1h59m")
    run(clean, "sync")
    assert {claims(clean)[no]["list"] for no in ("501", "502")} == {"approved"}  # R5
    assert "cancelled: #" in run(clean, "cancel", str(ids["502"])).stdout
    assert claims(clean)["502"]["list"] == "draft"

    run(clean, "mock", "advance", "1m")
    [report] = run_json(clean, "sync")
    assert [c["invoice_no"] for c in report["transferred"]] == ["501"]
    assert report["moved"] == {"open": 1}
    now = claims(clean)
    assert now["501"]["list"] == "open" and now["501"]["agency_case_id"]
    assert now["502"]["list"] == "draft"
    assert run_json(clean, "mock", "show")["registrations"] == 1


def test_cancel_is_refused_after_transfer_naming_where_to_go(clean: Path) -> None:
    claim_id = str(claims(clean)["501"]["id"])
    run(clean, "approve", claim_id)
    run(clean, "mock", "advance", "2h")
    run(clean, "sync")
    assert claims(clean)["501"]["list"] == "open"

    result = run(clean, "cancel", claim_id, code=1)
    message = flat(result.stderr)
    assert f"refused {claim_id}: claim {claim_id} has been sent to the agency and can no " \
           "longer be stopped from the ERP side (R6); pause or withdraw it at the mock " \
           "agency's customer web" in message
    refused = run_json(clean, "cancel", claim_id, code=1)
    assert refused["done"] == [] and "(R6)" in refused["refused"][claim_id]
    assert claims(clean)["501"]["list"] == "open"


def test_cancel_is_refused_for_a_draft(clean: Path) -> None:
    claim_id = str(claims(clean)["501"]["id"])
    refused = run_json(clean, "cancel", claim_id, code=1)["refused"]
    assert refused == {claim_id: f"claim {claim_id} is in Draft; only an approved claim can "
                                 "be cancelled"}


def test_approve_all_and_approve_nothing(clean: Path) -> None:
    outcome = run_json(clean, "approve", "--all")
    assert len(outcome["done"]) == 3 and outcome["refused"] == {}
    assert {c["list"] for c in claims(clean).values()} == {"approved"}
    assert str(fails(clean, "approve")) == "name claim ids to approve, or pass --all"
    again = run_json(clean, "approve", str(outcome["done"][0]), code=1)
    assert "only a claim in Draft can be approved" in again["refused"][str(outcome["done"][0])]


def test_hold_stays_held_across_syncs_and_restore(clean: Path) -> None:
    claim_id = str(claims(clean)["502"]["id"])
    assert "held back: #" in run(clean, "hold", claim_id).stdout
    assert "502" not in claims(clean)  # R4: out of the four lists
    held = run_json(clean, "cases", "--list", "held")
    assert [c["invoice_no"] for c in held] == ["502"]
    assert held[0]["status"] == "Held back by the user"
    run(clean, "mock", "advance", "1d")
    run(clean, "sync")
    assert claims(clean, "--list", "held")["502"]["list"] == "held"  # not back by itself

    assert run_json(clean, "restore", claim_id) == {"done": [int(claim_id)], "refused": {}}
    assert claims(clean)["502"]["list"] == "draft"
    refused = run(clean, "restore", claim_id, code=1)
    assert "only a claim in Held can be restored" in flat(refused.stderr)
    assert run_json(clean, "hold", "999", code=1)["refused"] == {
        "999": "no claim 999 in link main"}


def test_collect_sends_from_the_reminder_flow_r10(cfg: Path) -> None:
    load(cfg, SMALL)
    run(cfg, "sync", code=1)
    assert "20007" not in claims(cfg)  # a reminder is out: next action "wait", not ready
    outcome = run_json(cfg, "collect", "20007", "20004", "20006", "99999", code=1)
    [entered] = outcome["done"]
    assert outcome["refused"] == {
        "20004": "customer 10004 is excluded from collection (R11)",
        "20006": f"invoice 20006 is already claim {claims(cfg)['20006']['id']} in Draft",
        "99999": "no invoice 99999 is known; run `connector sync` first if it is new",
    }
    claim = run_json(cfg, "case", str(entered))
    assert claim["invoice_no"] == "20007" and claim["list"] == "draft"
    assert claim["history"][0]["text"].endswith(
        "R10: sent to collection by the user from the reminder flow")


def test_an_obstacle_is_named_and_clears_when_the_card_is_fixed_r7(clean: Path) -> None:
    claim_id = str(claims(clean)["503"]["id"])
    run(clean, "approve", claim_id)
    run(clean, "mock", "advance", "2h")
    [report] = run_json(clean, "sync")
    assert report["ok"] is True  # a blocked claim is not a failed item
    [blocked] = report["blocked"]
    assert blocked["invoice_no"] == "503"
    assert blocked["obstacles"][0]["field"] == "address.postal_code"
    assert claims(clean)["503"]["list"] == "approved"  # R7: kept in Approved
    assert "blocked in Approved: 1" in flat(run(clean, "sync").stdout)

    path = world_file(clean)
    world = open_world(path)
    world.erp.set_address("11", postal_code="5003")  # does not move the card's change time
    [report] = run_json(clean, "sync")
    assert [c["invoice_no"] for c in report["transferred"]] == ["503"]
    claim = run_json(clean, "case", claim_id)
    assert claim["list"] == "open" and claim["obstacles"] == []
    texts = [e["text"] for e in claim["history"]]
    assert any(t.startswith("Obstacle cleared: ") and "postal code is missing" in t
               for t in texts)


def test_a_claim_moved_by_the_user_keeps_saying_what_blocks_it(clean: Path) -> None:
    claim_id = str(claims(clean)["503"]["id"])
    assert claims(clean)["503"]["status"].startswith("Blocked: ")
    run(clean, "hold", claim_id)
    run(clean, "restore", claim_id)
    assert claims(clean)["503"]["status"].startswith("Blocked: ")
    run(clean, "approve", claim_id)
    assert claims(clean)["503"]["status"].startswith("Blocked: ")


# ---------------------------------------------------------------- dry run


def test_sync_dry_run_writes_nothing(clean: Path) -> None:
    claim_id = str(claims(clean)["501"]["id"])
    run(clean, "approve", claim_id)
    run(clean, "mock", "advance", "2h")
    before = (run_json(clean, "cases"), run_json(clean, "jobs"), run_json(clean, "mock", "show"))

    [report] = run_json(clean, "sync", "--dry-run")
    assert report["dry_run"] is True
    assert [c["invoice_no"] for c in report["transferred"]] == ["501"]  # would transfer
    text = flat(run(clean, "sync", "--dry-run").stdout)
    assert "(dry run: nothing written)" in text and "would transfer: 1" in text

    after = (run_json(clean, "cases"), run_json(clean, "jobs"), run_json(clean, "mock", "show"))
    assert after == before
    assert before[2]["registrations"] == 0
    run(clean, "sync")
    assert claims(clean)["501"]["list"] == "open"


def test_a_dry_run_on_a_fresh_store_enters_nothing(cfg: Path, tmp_path: Path) -> None:
    load(cfg, CLEAN, tmp_path)
    [report] = run_json(cfg, "sync", "--dry-run")
    assert report["moved"] == {"draft": 3}  # what a real pass would do
    assert run_json(cfg, "cases") == []
    assert run_json(cfg, "errors") == []


# ---------------------------------------------------------------- the mock world


def test_mock_advance_moves_the_clock(cfg: Path, tmp_path: Path) -> None:
    load(cfg, CLEAN, tmp_path)
    start = datetime.fromisoformat(run_json(cfg, "mock", "show")["now"])
    out = flat(run(cfg, "mock", "advance", "2h").stdout)
    assert out.startswith("mock world now 2026-03-02T09:00")
    assert "(company day 2026-03-02)" in out
    now = datetime.fromisoformat(run_json(cfg, "mock", "show")["now"])
    assert timedelta(hours=2) <= now - start < timedelta(hours=2, seconds=1)
    run(cfg, "mock", "advance", "1d")
    assert run_json(cfg, "mock", "show")["today"] == "2026-03-03"


def test_mock_advance_refuses_a_bad_duration_with_exit_2(
        cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    load(cfg, CLEAN, tmp_path)
    before = run_json(cfg, "mock", "show")["now"]
    assert isinstance(fails(cfg, "mock", "advance", "soon"), ConnectorError)
    code, out, err = run_main(monkeypatch, capsys, "--config", str(cfg), "mock", "advance",
                              "2x")
    assert code == 2 and out == ""
    assert err == "error: '2x' is not a duration like 2h, 14d, 1h30m or 90s\n"
    assert run_json(cfg, "mock", "show")["now"] == before


def test_the_installed_script_exits_2_with_one_line(cfg: Path) -> None:
    script = Path(sys.executable).parent / "connector"
    if not script.exists():
        pytest.skip("the connector script is not installed in this environment")
    done = subprocess.run([str(script), "--config", str(cfg), "mock", "advance", "soon"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "error: 'soon' is not a duration like 2h, 14d, 1h30m or 90s\n"


def test_bad_input_and_config_exit_2(tmp_path: Path, cfg: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.toml"
    code, _, err = run_main(monkeypatch, capsys, "--config", str(missing), "cases")
    assert code == 2 and flat(err) == f"error: config file {missing} does not exist"
    code, _, err = run_main(monkeypatch, capsys, "--config", str(cfg), "approve")
    assert (code, err) == (2, "error: name claim ids to approve, or pass --all\n")
    code, _, err = run_main(monkeypatch, capsys, "--config", str(cfg), "cases", "--list",
                            "someday")
    assert code == 2 and "Invalid value for '--list'" in flat(err)  # click's own usage error


def test_an_error_stays_on_one_line_however_long(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / ("a-rather-long-directory-name-" * 4) / "connector.toml"
    code, _, err = run_main(monkeypatch, capsys, "--config", str(missing), "cases")
    assert code == 2
    assert err == f"error: config file {missing} does not exist\n"


# ---------------------------------------------------------------- inspection


def test_adapters_lists_the_mock_and_the_real_ones_usable(cfg: Path) -> None:
    rows = {(r["side"], r["name"]): r for r in run_json(cfg, "adapters")}
    assert rows[("erp", "mock")]["usable"] is True
    assert rows[("agency", "mock")]["usable"] is True
    assert rows[("erp", "poweroffice")]["usable"] is True
    assert rows[("agency", "kravia")]["usable"] is True
    for row in rows.values():
        assert {"package", "plugin", "capabilities", "summary"} <= set(row)
    text = flat(run(cfg, "adapters").stdout)
    assert "Installed adapters" in text and "poweroffice" in text


def test_a_link_without_its_adapter_keys_names_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "real.toml"
    cfg.write_text(f'state_dir = {json.dumps(str(tmp_path))}\n[[links]]\nname = "real"\n'
                   'erp = { adapter = "poweroffice" }\nagency = { adapter = "kravia" }\n',
                   encoding="utf-8")
    code, _, err = run_main(monkeypatch, capsys, "--config", str(cfg), "sync")
    assert code == 2
    assert err.startswith("error: poweroffice settings: application_key: Field required")
    assert "subscription_key" in err and err.count("\n") == 1


def test_errors_lists_the_items_that_could_not_be_handled(cfg: Path) -> None:
    load(cfg, SMALL)
    run(cfg, "sync", code=1)
    rows = {r["raw"]["invoice_no"]: r for r in run_json(cfg, "errors")}
    assert set(rows) == {"20010", "20011"}
    assert rows["20011"]["reason"] == "invoice 20011: customer 19999 is not known in the ERP"
    assert rows["20010"]["reason"].startswith("invoice_date:")
    for row in rows.values():
        assert {"link", "resource", "key", "reason", "first_seen", "last_seen", "raw"} <= set(row)
        assert row["link"] == "main"
    assert "Open item errors (2)" in flat(run(cfg, "errors").stdout)


def test_an_item_error_goes_away_when_its_invoice_is_deleted(cfg: Path) -> None:
    load(cfg, SMALL)
    run(cfg, "sync", code=1)
    path = world_file(cfg)
    world = open_world(path)
    world.erp.delete_invoice("20011")  # the invoice of the unknown customer 19999
    run(cfg, "mock", "advance", "1d")
    invoke("--config", str(cfg), "sync")  # exits 1: 20010 is still malformed
    assert "20011" not in {e["raw"]["invoice_no"] for e in run_json(cfg, "errors")}


def test_jobs_show_a_failed_transfer_retried_on_a_later_pass(clean: Path) -> None:
    claim_id = str(claims(clean)["501"]["id"])
    run(clean, "approve", claim_id)
    run(clean, "mock", "advance", "2h")
    path = world_file(clean)
    world = open_world(path)
    world.inject("agency.register", 3)  # every call of one try (call_retries = 3)

    [report] = run_json(clean, "sync", code=1)
    assert [f["resource"] for f in report["failures"]] == ["transfer"]
    assert "TransientError" in report["failures"][0]["reason"]
    [job] = run_json(clean, "jobs")
    assert job["kind"] == "transfer" and job["state"] == "queued" and job["attempts"] == 1
    assert job["key"] == f"case:{claims(clean)['501']['invoice_id']}"
    assert "TransientError" in job["last_error"]
    now = datetime.fromisoformat(run_json(clean, "mock", "show")["now"])
    wait = datetime.fromisoformat(job["run_after"]) - now
    assert timedelta(minutes=4) < wait <= timedelta(minutes=5)  # job_backoff
    claim = run_json(clean, "case", claim_id)
    assert claim["list"] == "approved"
    assert claim["history"][-1]["text"].startswith("Transfer attempt 1 failed")
    # Unknown whether the agency got it: no longer cancellable (R6).
    assert "(R6)" in run_json(clean, "cancel", claim_id, code=1)["refused"][claim_id]
    assert run_json(clean, "jobs", "--state", "done") == []

    run(clean, "mock", "advance", "5m")
    run(clean, "sync")
    [job] = [j for j in run_json(clean, "jobs") if j["kind"] == "transfer"]
    assert job["state"] == "done" and job["attempts"] == 2
    assert claims(clean)["501"]["list"] == "open"
    assert run_json(clean, "mock", "show")["duplicates"] == 0
    assert "transfer" in flat(run(clean, "jobs").stdout)


# ---------------------------------------------------------------- demo


THURSDAY = "2026-03-05"
"""Three days from a Thursday end on Sunday morning, after two approval rounds."""


@pytest.fixture
def pinned_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # the built-in default link: state in ./.connector
    return tmp_path


def test_demo_json_ends_with_a_summary_and_the_claims(pinned_demo: Path) -> None:
    result = invoke("demo", "--days", "3", "--start", THURSDAY, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    summary, rows = data["summary"], data["claims"]
    assert summary["link"] == "demo" and summary["days"] == 3 and summary["seed"] == 7
    assert summary["syncs"] == 3 * 24
    lists = Counter(r["list"] for r in rows)
    assert set(lists) <= {"draft", "approved", "open", "archived"}
    assert {k: v for k, v in summary["lists"].items() if k in lists} == dict(lists)
    assert lists["draft"] > 0 and lists["approved"] > 0 and lists["open"] > 0
    assert all(r["obstacles"] for r in rows if r["list"] == "approved")  # R7, named
    assert summary["approved"] > 0
    world = summary["world"]
    assert world["cases"] == lists["open"] + lists["archived"]
    assert world["duplicates"] == 0
    assert (pinned_demo / ".connector" / "state.db").exists()
    for row in rows:
        assert set(row) >= CLAIM_KEYS

    # The same state is there afterwards for the other commands.
    listed = json.loads(invoke("cases", "--json").stdout)
    assert Counter(r["list"] for r in listed) == lists


def test_demo_prints_the_lists_obstacles_and_summary(pinned_demo: Path) -> None:
    result = invoke("demo", "--days", "3", "--start", THURSDAY, "--customers", "20")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    for title in ("Draft (", "Approved (", "Open (", "Archived (", "Obstacles ("):
        assert title in text
    assert re.search(r"Summary 3 days from 2026-03-05, 72 syncs, seed 7: 20 customers, "
                     r"\d+ invoices", text)
    assert "duplicate cases 0" in text and "duplicate vouchers 0" in text


# ---------------------------------------------------------------- configuration on the CLI


def test_the_example_config_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_STATE_DIR", str(tmp_path / "state"))
    load(EXAMPLE, SMALL)
    assert (tmp_path / "state" / "mock-world").is_dir()
    [report] = run_json(EXAMPLE, "sync", code=1)
    assert report["link"] == "demo" and report["moved"] == {"draft": 4}
    assert (tmp_path / "state" / "state.db").exists()


def test_without_a_config_the_built_in_demo_link_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("mock", "load", str(SMALL))
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".connector" / "mock-world").is_dir()
    result = invoke("sync", "--json")
    assert json.loads(result.stdout)[0]["link"] == "demo"
    # ./connector.toml comes before the built-in default, $CONNECTOR_CONFIG before both.
    write_config(tmp_path / "connector.toml", tmp_path / "cwd-state", links="here")
    assert json.loads(invoke("cases", "--json").stdout) == []
    assert [r["link"] for r in json.loads(
        invoke("sync", "--json").stdout)] == ["here"]
    env_cfg = write_config(tmp_path / "env.toml", tmp_path / "env-state", links="there")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(env_cfg))
    assert [r["link"] for r in json.loads(
        invoke("sync", "--json").stdout)] == ["there"]


# ---------------------------------------------------------------- secrets


SECRET = "s3cr3t-value"


def test_a_secret_in_adapter_settings_never_shows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The mock adapters refuse settings they do not know; the refusal names the key only.

    Commands that never build the adapters (cases, errors, jobs, mock…) run, and neither their
    output nor anything written under the state directory holds the value."""
    cfg = write_config(tmp_path / "c.toml", tmp_path / "state",
                       erp_extra=f'api_token = "{SECRET}"\n')
    outputs: list[str] = []
    for args in (["mock", "load", str(SMALL)], ["mock", "show", "--json"],
                 ["mock", "advance", "1h"], ["errors", "--json"], ["jobs", "--json"],
                 ["cases"], ["adapters"], ["-vv", "jobs"]):
        result = run(cfg, *args)
        outputs.append(result.output)

    for args in (["sync"], ["sync", "--dry-run", "--json"], ["approve", "--all"],
                 ["collect", "20007"], ["-vv", "sync"]):
        error = fails(cfg, *args)
        assert isinstance(error, ConfigError)
        assert str(error) == ("mock erp settings: unknown api_token (known: api_key, "
                              "page_size, record_activity, requests_per_second, world)")
        code, out, err = run_main(monkeypatch, capsys, "--config", str(cfg), *args)
        assert code == 2
        assert err.splitlines()[-1].startswith("error: mock erp settings: unknown api_token")
        outputs += [str(error), out, err]

    for text in outputs:
        assert SECRET not in text
    written = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert any(p.name.startswith("state.db") for p in written)
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path


# ---------------------------------------------------------------- at the agency (R6)


def open_claim(cfg: Path, tmp_path: Path) -> str:
    load(cfg, CLEAN, tmp_path)
    run(cfg, "sync")
    claim_id = str(claims(cfg)["501"]["id"])
    run(cfg, "approve", claim_id)
    run(cfg, "mock", "advance", "2h")
    run(cfg, "sync")
    assert claims(cfg)["501"]["list"] == "open"
    return claim_id


def test_pause_resume_withdraw_through_the_cli(cfg: Path, tmp_path: Path) -> None:
    claim_id = open_claim(cfg, tmp_path)
    assert run_json(cfg, "pause", claim_id) == {"done": [int(claim_id)], "refused": {}}
    assert run_json(cfg, "resume", claim_id)["done"] == [int(claim_id)]
    assert "withdrawn: #" in flat(run(cfg, "withdraw", claim_id).stdout)
    detail = run_json(cfg, "case", claim_id)
    assert detail["list"] == "archived" and detail["outcome"] == "withdrawn"
    texts = [event["text"] for event in detail["history"]]
    assert "Paused at the agency by the user" in texts
    assert "Withdrawn at the agency by the user" in texts


def test_an_agency_without_the_capability_gets_a_plain_message(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'''
state_dir = "{state}"
[[links]]
name = "main"
erp = {{ adapter = "mock", world = "main-world" }}
[links.agency]
adapter = "mock"
world = "main-world"
capabilities = ["direct_payments", "credit_notes"]
''', encoding="utf-8")
    claim_id = open_claim(cfg, tmp_path)
    for action in ("pause", "resume", "withdraw"):
        result = run(cfg, action, claim_id, code=1)
        message = flat(result.stderr)
        assert f"the agency's API cannot {action} a case" in message
        assert "customer web" in message and "(R6)" in message
    assert claims(cfg)["501"]["list"] == "open"


def test_payouts_lists_lines_and_vouchers(cfg: Path) -> None:
    load(cfg, ROOT / "config" / "scenarios" / "way-back.toml")
    run(cfg, "sync")
    run(cfg, "approve", "--all")
    run(cfg, "mock", "advance", "2h")
    run(cfg, "sync")
    for _ in range(3):  # three weeks: debtors pay and the agency pays out on Mondays
        run(cfg, "mock", "advance", "7d")
        run(cfg, "sync")
    rows = run_json(cfg, "payouts")
    assert rows, "the mock agency pays out on Mondays"
    for row in rows:
        assert row["state"] == "marked" and row["voucher_kind"] == "proposal"
        assert row["voucher_reference"] == f"payout:{row['agency_id']}"
        kinds = {line["kind"] for line in row["lines"]}
        assert "principal" in kinds
    assert "proposal" in flat(run(cfg, "payouts").stdout)


def test_a_dead_transfer_shows_in_cases_and_case_with_the_command_that_retries_it(
        clean: Path) -> None:
    clean.write_text(clean.read_text(encoding="utf-8").replace(
        'call_backoff = "0s"\n', 'call_backoff = "0s"\njob_attempts = 1\n'), encoding="utf-8")
    claim_id = str(claims(clean)["501"]["id"])
    run(clean, "approve", claim_id)
    run(clean, "mock", "advance", "2h")
    run(clean, "mock", "fault", "agency.register", "--times", "3")
    run(clean, "sync", code=1)

    [job] = run_json(clean, "jobs")
    listed = claims(clean, "--list", "approved")["501"]
    assert listed["state"] == "transfer_failed" and listed["list"] == "approved"
    assert listed["transfer"]["job_state"] == "dead"
    assert listed["transfer"]["retry"] == f"connector retry {job['id']}"
    assert f"`connector retry {job['id']}`" in listed["status"]
    assert "waiting for the grace window" not in listed["status"]
    table = flat(run(clean, "cases", "--list", "approved").stdout)
    assert "Transfer failed" in table and f"connector retry {job['id']}" in table
    shown = run_json(clean, "case", claim_id)
    assert shown["transfer"]["error"] and "TransientError" in shown["transfer"]["error"]
    text = flat(run(clean, "case", claim_id).stdout)
    assert "Transfer failed after 1 attempt(s)" in text and f"connector retry {job['id']}" in text

    run(clean, "retry", str(job["id"]))
    run(clean, "sync")
    after = claims(clean)["501"]
    assert after["state"] == "open" and after["transfer"] is None
    assert run_json(clean, "mock", "show")["duplicates"] == 0
