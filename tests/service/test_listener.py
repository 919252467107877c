"""The daemon's listener: /healthz, /readyz and /metrics scraped from a running daemon and
the figures checked against the store; plugins' routes (Kravia's webhook) served beside."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from connector import listener
from connector.config import load_settings
from connector.errors import ConfigError
from connector.http.asgi import in_process
from connector.runtime import Runtime
from connector.store import db
from connector.store.db import Store
from connector.store.schema import ClaimRow, JobRow, SyncRunRow
from tests.service.worlds import link_toml, make_world

CONNECTOR = str(Path(sys.executable).parent / "connector")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds}s: {what}")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_and_readyz_of_a_running_daemon_match_the_store(tmp_path: Path) -> None:
    state = tmp_path / "state"
    make_world(state / "a", invoices=2)
    make_world(state / "b", invoices=3)
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{state}"\n' + link_toml("a", "a") + link_toml("b", "b"),
                   encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = subprocess.Popen([CONNECTOR, "--config", str(cfg), "daemon", "--interval", "1h",
                               "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    store = Store(load_settings(cfg).database_url)
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200, "alive")
        with store.session() as session:
            finished = select(func.count()).where(SyncRunRow.finished_at.is_not(None))
            wait_for(lambda: session.scalar(finished) == 2, "both links synced once")
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        scraped = httpx.get(f"{base}/metrics")
        assert scraped.headers["content-type"].startswith("text/plain")
        got = samples(scraped.text)
        with store.session() as session:
            claims = session.execute(select(ClaimRow.link, ClaimRow.list_name, func.count())
                                     .group_by(ClaimRow.link, ClaimRow.list_name)).all()
            runs = session.execute(select(SyncRunRow.link, SyncRunRow.started_at)).all()
            running = session.scalar(select(func.count()).where(JobRow.state == "running"))
        assert {(link, name): count for link, name, count in claims} == {
            ("a", "open"): 2, ("b", "open"): 3}
        for link, name, count in claims:
            assert got[("connector_claims", (("link", link), ("list", name)))] == count
        for link, started in runs:
            key = ("connector_sync_last_success_timestamp_seconds", (("link", link),))
            assert got[key] == pytest.approx(started.timestamp())
            assert got[("connector_sync_lag_seconds", (("link", link),))] >= 0
        assert running == 0 and not [k for k in got if k[0] == "connector_jobs"]
        # Kravia's webhook route is served on the same listener: unknown link → 401, not 404.
        hook = httpx.post(f"{base}/webhooks/kravia/a", content=b"{}")
        assert hook.status_code == 401
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
        store.dispose()
    assert daemon.returncode == 0, err
    assert "stopped by a signal after 1 round(s): 2 link pass(es)" in out


def test_readyz_names_the_fix_for_an_old_schema_and_metrics_count_the_queue(
        tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    make_world(tmp_path / "state" / "w")
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n' + link_toml("main", "w"),
                   encoding="utf-8")
    settings = load_settings(cfg)
    rt = Runtime(settings, store=Store(settings.database_url, migrate=False))
    client = httpx.Client(transport=in_process(listener.app(rt)), base_url="http://daemon")
    assert client.get("/healthz").json() == {"status": "alive"}
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "older than this connector's" in answer.json()["reason"]
    assert "`connector db upgrade`" in answer.json()["reason"]

    rt = Runtime(settings)  # opened the usual way: migrated
    with rt.store.session() as session:
        for state, count in (("dead", 2), ("running", 1), ("queued", 4)):
            for i in range(count):
                session.add(JobRow(link="main", kind="transfer", key=f"{state}:{i}",
                                   payload={}, state=state, attempts=1,
                                   run_after=rt.clock.now(), created_at=rt.clock.now(),
                                   updated_at=rt.clock.now()))
    client = httpx.Client(transport=in_process(listener.app(rt)), base_url="http://daemon")
    assert client.get("/readyz").json() == {"status": "ready"}
    got = samples(client.get("/metrics").text)
    assert {k[1][1][1]: v for k, v in got.items() if k[0] == "connector_jobs"} == {
        "dead": 2, "running": 1, "due": 4}


def test_a_bad_listen_address_is_one_line() -> None:
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        listener.parse_address("8080")
    assert listener.parse_address("[::1]:9") == ("::1", 9)
    assert json.dumps(listener.parse_address("127.0.0.1:0")) == '["127.0.0.1", 0]'


def test_requests_are_counted_per_adapter() -> None:
    from connector import metrics
    from connector.http import HttpClient, RetryPolicy

    answers = iter([429, 503, 200])
    transport = httpx.MockTransport(lambda _request: httpx.Response(next(answers)))
    client = HttpClient("probe", "http://erp.test", transport=transport,
                        retry=RetryPolicy(backoff=0, min_rate_limit_wait=0),
                        sleep=lambda _seconds: None)
    client.get_json("/x")

    def value(name: str) -> float | None:
        return metrics.PROCESS.get_sample_value(f"connector_adapter_{name}_total",
                                                {"adapter": "probe"})

    assert (value("calls"), value("errors"), value("retries"), value("rate_limited")) == (
        3, 2, 2, 1)
    text = metrics.exposition(CollectorRegistry()).decode()
    assert 'connector_adapter_rate_limited_total{adapter="probe"} 1.0' in text


def test_metrics_cover_the_configured_links_only_and_survive_a_store_that_is_down(
        tmp_path: Path) -> None:
    """A link whose file was removed leaves the figures; a configured link with no pass on
    record shows a last success of 0 (a lag alert fires) and outcome "none"; the latest
    pass's outcome is shown, a failed one too. With the store down the scrape still answers,
    with ``connector_store_up`` 0."""
    make_world(tmp_path / "state" / "w")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n' + link_toml("main", "w")
                   + link_toml("new", "w"), encoding="utf-8")
    settings = load_settings(cfg)
    rt = Runtime(settings)
    now = rt.clock.now()
    with rt.store.session() as session:
        for link, outcome, minutes in (("main", "ok", 30), ("main", "failed", 10),
                                       ("gone", "ok", 5)):
            session.add(SyncRunRow(link=link, holder="h:1", outcome=outcome, pulled={},
                                   moved={}, failures=[],
                                   started_at=now - timedelta(minutes=minutes),
                                   finished_at=now - timedelta(minutes=minutes - 1)))
        session.add(JobRow(link="gone", kind="transfer", key="dead:1", payload={},
                           state="dead", attempts=5, run_after=now, created_at=now,
                           updated_at=now))
    client = httpx.Client(transport=in_process(listener.app(rt)), base_url="http://daemon")
    got = samples(client.get("/metrics").text)
    assert got[("connector_store_up", ())] == 1
    assert not [key for key in got if ("link", "gone") in key[1]]
    assert {key[1] for key in got if key[0] == "connector_sync_last_outcome"} == {
        (("link", "main"), ("outcome", "failed")), (("link", "new"), ("outcome", "none"))}
    success = "connector_sync_last_success_timestamp_seconds"
    assert got[(success, (("link", "main"),))] == pytest.approx(
        (now - timedelta(minutes=10)).timestamp())
    assert got[(success, (("link", "new"),))] == 0
    assert got[("connector_sync_lag_seconds", (("link", "new"),))] > 50 * 365 * 86400

    down = Runtime(settings, store=Store("postgresql+psycopg://postgres@127.0.0.1:1/none",
                                         migrate=False))
    client = httpx.Client(transport=in_process(listener.app(down)), base_url="http://daemon")
    answer = client.get("/metrics")
    assert answer.status_code == 200
    got = samples(answer.text)
    assert got[("connector_store_up", ())] == 0
    assert not [key for key in got if key[0].startswith("connector_claims")]
    assert client.get("/readyz").status_code == 503


def one_link(tmp_path: Path) -> Path:
    """A config of one link over a world of its own."""
    make_world(tmp_path / "state" / "w")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n' + link_toml("main", "w"),
                   encoding="utf-8")
    return cfg


@contextmanager
def listening() -> Iterator[int]:
    """A port of 127.0.0.1 taken by a socket that accepts connections and says nothing."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_an_address_in_use_is_one_error_line_and_the_servers_own_line_is_json(
        tmp_path: Path) -> None:
    cfg = one_link(tmp_path)
    with listening() as port:
        done = subprocess.run([CONNECTOR, "--config", str(cfg), "--log-format", "json",
                               "daemon", "--rounds", "1", "--listen", f"127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    *logged, last = done.stderr.splitlines()
    assert last == (f"error: --listen: cannot listen on 127.0.0.1:{port} (in use, or not an "
                    "address of this machine)")
    events = [json.loads(line) for line in logged]  # uvicorn's own line too: JSON
    assert [e["level"] for e in events if "address already in use" in e["event"]] == ["error"]


def test_readyz_answers_when_the_store_accepts_and_never_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that takes the connection and says nothing (a hung database, a black-holed
    route): the connection attempt gives up (``SERVER_TIMEOUTS``) and /readyz says 503."""
    monkeypatch.setitem(db.SERVER_TIMEOUTS, "connect_timeout", 2)
    cfg = one_link(tmp_path)
    with listening() as port:  # and never answering
        store = Store(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", migrate=False)
        rt = Runtime(load_settings(cfg), store=store)
        client = httpx.Client(transport=in_process(listener.app(rt)), base_url="http://d")
        answered: list[httpx.Response] = []
        asking = threading.Thread(target=lambda: answered.append(client.get("/readyz")),
                                  daemon=True)
        asking.start()
        asking.join(timeout=60)
    assert answered, "/readyz hung with the store"
    assert answered[0].status_code == 503
    assert answered[0].json()["reason"].startswith("the store cannot be reached")
