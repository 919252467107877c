"""``connector kravia webhook register`` against the emulator over a real socket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.errors import ConnectorError
from connector.http.asgi import serve
from tests.kravia.conftest import CREDITOR, TOKEN, WEBHOOK_SECRET, creditor


def config(tmp_path: Path, base_url: str, **agency: str) -> Path:
    settings = {"adapter": "kravia", "creditor_id": str(CREDITOR), "api_token": TOKEN,
                "webhook_secret": WEBHOOK_SECRET, "base_url": base_url, **agency}
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    path = tmp_path / "connector.toml"
    path.write_text(f'state_dir = {json.dumps(str(tmp_path))}\n[[links]]\nname = "acme"\n'
                    f'erp = {{ adapter = "mock" }}\nagency = {{ {table} }}\n', encoding="utf-8")
    return path


def test_register_sets_the_creditors_webhook_with_the_links_secret(tmp_path: Path) -> None:
    kravia = creditor()
    with serve(kravia.emulator.app) as url:
        cfg = config(tmp_path, f"{url}/api/v2",
                     webhook_url="https://connector.example/webhooks/kravia/acme")
        result = CliRunner().invoke(app, ["--config", str(cfg), "kravia", "webhook",
                                          "register", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "link": "acme", "creditor_id": CREDITOR,
        "url": "https://connector.example/webhooks/kravia/acme", "enabled": True}
    hook = kravia.emulator.webhooks[CREDITOR]
    assert (hook.url, hook.secret, hook.enabled) == (
        "https://connector.example/webhooks/kravia/acme", WEBHOOK_SECRET, True)
    assert TOKEN not in result.output and WEBHOOK_SECRET not in result.output


@pytest.mark.parametrize(("args", "message"), [
    ([], "give --url or set webhook_url"),
    (["--url", "http://example.com/hook"], "must be https"),
    (["--link", "nope"], "nope"),
])
def test_register_refuses_what_cannot_work(tmp_path: Path, args: list[str],
                                           message: str) -> None:
    cfg = config(tmp_path, "http://127.0.0.1:9/api/v2")
    result = CliRunner().invoke(app, ["--config", str(cfg), "kravia", "webhook", "register",
                                      *args])
    assert isinstance(result.exception, ConnectorError), result.output
    assert message in str(result.exception)
