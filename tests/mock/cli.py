"""Running ``connector`` as a user types it, each call as if a new process: the mock
plugin's open worlds are closed before every command, so all a command sees is in the
world's files."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import structlog
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.errors import ConnectorError
from connector_adapters.mock import plugin

BASE = """
[world]
start = 2026-03-02T08:00:00+01:00
[company]
name = "Test AS"
[[customers]]
number = "10"
name = "Fjordkraft Rør AS"
organization_number = "923609016"
address = { line1 = "Storgata 12", postal_code = "0155", city = "Oslo", country = "NO" }
behaviour = "never"
[[customers]]
number = "11"
name = "Kari Nordmann"
is_person = true
address = { line1 = "Fjordveien 3", postal_code = "5003", city = "Bergen", country = "NO" }
behaviour = "never"
[[customers]]
number = "12"
name = "Ola Hansen"
is_person = true
address = { line1 = "Kirkegata 1", city = "Hamar", country = "NO" }
behaviour = "never"
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
customer_no = "12"
due_in_days = -5
amount = "300.00"
[[invoices]]
invoice_no = "504"
customer_no = "11"
due_in_days = 5
amount = "400.00"
"""
"""No reminder steps (R1a: ready the day after the due date); 10 and 11 complete cards,
12 without a postal code (an obstacle, R7); debtors who never pay the agency by themselves."""


class User:
    """One config and state folder; ``run("mock pay 501 300")`` as typed after
    ``connector --config …``."""

    def __init__(self, tmp_path: Path, scenario: str = BASE, extra: str = "") -> None:
        self.cfg = tmp_path / "connector.toml"
        self.cfg.write_text(
            f'state_dir = "{tmp_path / "state"}"\n[[links]]\nname = "main"\n'
            f'call_backoff = "0s"\n{extra}[links.erp]\nadapter = "mock"\nworld = "world"\n'
            '[links.agency]\nadapter = "mock"\nworld = "world"\n', encoding="utf-8")
        self.world_dir = tmp_path / "state" / "world"
        if scenario:
            path = tmp_path / "scenario.toml"
            path.write_text(scenario, encoding="utf-8")
            self.run(f"mock load {path}")

    def invoke(self, line: str) -> Result:
        for world in plugin._open.values():
            world.close()
        plugin._open.clear()
        result = CliRunner().invoke(app, ["--config", str(self.cfg), *shlex.split(line)],
                                    prog_name="connector")
        structlog.reset_defaults()
        return result

    def run(self, line: str, code: int = 0) -> str:
        result = self.invoke(line)
        assert result.exit_code == code, (
            f"connector {line} exited {result.exit_code}, wanted {code}\n{result.output}\n"
            f"{result.exception!r}")
        return result.stdout

    def json(self, line: str, code: int = 0) -> Any:
        return json.loads(self.run(f"{line} --json", code))

    def refused(self, line: str) -> str:
        """The one-line error of a refused command (``main`` prints it, exit status 2)."""
        result = self.invoke(line)
        assert isinstance(result.exception, ConnectorError), (
            f"connector {line} was not refused: {result.output}")
        message = str(result.exception)
        assert "\n" not in message
        return message

    def claims(self, which: str | None = None) -> dict[str, dict[str, Any]]:
        rows = self.json("cases" + (f" --list {which}" if which else ""))
        return {row["invoice_no"]: row for row in rows}

    def claim(self, invoice_no: str) -> dict[str, Any]:
        listed = [*self.json("cases"), *self.json("cases --list held"),
                  *self.json("cases --list dropped")]
        [row] = [r for r in listed if r["invoice_no"] == invoice_no]
        return dict(self.json(f"case {row['id']}"))

    def history(self, invoice_no: str) -> str:
        return " | ".join(e["text"] for e in self.claim(invoice_no)["history"])

    def to_open(self, *invoices: str) -> None:
        """Sync, approve the invoices' drafts, let the grace window pass and sync again."""
        self.run("sync")
        drafts = self.claims("draft")
        self.run("approve " + " ".join(str(drafts[no]["id"]) for no in invoices))
        self.run("mock advance 2h1m")
        self.run("sync")
        opened = self.claims("open")
        assert all(no in opened for no in invoices), opened

    def show(self) -> dict[str, Any]:
        return dict(self.json("mock show"))
