"""docs/operations.md: every ``connector`` command it shows runs as written (a laptop on
SQLite, then a bureau on PostgreSQL); the deployment files in deploy/ hold together."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL
from tests.service.worlds import make_world

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
DEPLOY = ROOT / "deploy"
CONNECTOR = str(Path(sys.executable).parent / "connector")


def commands() -> list[str]:
    """Every command line of the doc's ``sh`` blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(argv: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
    """A daemon with a listener: healthy and ready, then stopped as a service manager does."""
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        ready = None
        while ready != 200 and time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz").status_code
            time.sleep(0.2)
        assert ready == 200, "never ready"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "alive"}
        assert "connector_claims" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped by a signal" in out


@pytest.mark.postgres
def test_every_command_of_the_operations_doc_runs(tmp_path: Path, pg_available: bool) -> None:
    if not pg_available:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    lines = commands()
    assert len(lines) >= 15 and all(" connector " in f" {line} " for line in lines)
    make_world(tmp_path / "state" / "acme")
    (tmp_path / "connector.toml").write_text('state_dir = "state"\n', encoding="utf-8")
    (tmp_path / "links.d").mkdir()
    (tmp_path / "links.d" / "acme.toml").write_text(
        'grace = "0s"\n[erp]\nadapter = "mock"\nworld = "acme"\n'
        '[agency]\nadapter = "mock"\nworld = "acme"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env |= {"CONNECTOR_CONFIG": str(tmp_path / "connector.toml"), "PYTHONUNBUFFERED": "1"}
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        for line in lines:
            words = shlex.split(line)
            while "=" in words[0]:  # VAR=value before the command: set for the session
                name, value = words.pop(0).split("=", 1)
                env[name] = f"{PG_URL}?options=-csearch_path%3D{schema}" \
                    if name == "CONNECTOR_STORE_URL" else value
            assert words[0] == "connector", line
            argv = [CONNECTOR, *words[1:]]
            if "--listen" in argv:
                port = free_port()
                at = argv.index("--listen") + 1
                argv[at] = f"127.0.0.1:{port}"
                serve(argv, env, tmp_path, port)
                continue
            done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    unit = (DEPLOY / "connector.service").read_text(encoding="utf-8")
    service = dict(re.findall(r"^(User|Restart|EnvironmentFile|ExecStart)=(.*)$", unit, re.M))
    assert service["User"] != "root" and service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/connector/connector.env"
    assert "--listen 127.0.0.1:8080" in service["ExecStart"]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here: the unit is not verified")
    # The unit names the installed command; verify it with the one of this environment.
    local = tmp_path / "connector.service"
    local.write_text(unit.replace("/usr/local/bin/connector", CONNECTOR), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_container_and_compose_files_hold_together() -> None:
    containerfile = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER connector$", containerfile, re.M)
    assert "/healthz" in containerfile and "EXPOSE 8080" in containerfile
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["upgrade"]["command"] == ["db", "upgrade"]
    assert services["connector"]["depends_on"] == {
        "upgrade": {"condition": "service_completed_successfully"}}
    url = services["connector"]["environment"]["CONNECTOR_STORE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url
    build = services["upgrade"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
        DEPLOY / "Containerfile").resolve()
    assert (DEPLOY / "connector.env.example").exists()
