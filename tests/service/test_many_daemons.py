"""Four daemons on one PostgreSQL store over many companies, each a link file: every claim
reaches the agency once, no link is synced by two processes at once, a daemon killed with
SIGKILL loses nothing (the others take its links and its claimed jobs over), and together
they keep one shared request budget."""

from __future__ import annotations

import bisect
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, create_engine, func, select, text

from connector.store.db import Store
from connector.store.schema import ClaimRow, JobRow, SyncRunRow
from connector_adapters.mock.activity import Activity
from connector_adapters.mock.world import World
from tests.conftest import PG_URL
from tests.service.worlds import make_world

CONNECTOR = str(Path(sys.executable).parent / "connector")
ERP_RATE = 25.0
"""The shared budget of the one ERP credential every link uses, in requests per second: low
enough that four daemons, each with a budget of its own, would plainly exceed it."""
JOB_LEASE = timedelta(seconds=2)
LINK_LEASE = timedelta(minutes=3)
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "MOCK_ERP_KEY": "erp-subscription-key",
       "MOCK_AGENCY_KEY": "agency-key"}


def link_file(n: int) -> str:
    return (f'grace = "0s"\ncall_backoff = "0s"\njob_lease = "{JOB_LEASE.seconds}s"\n'
            f'[erp]\nadapter = "mock"\nworld = "w{n:04}"\napi_key = "${{MOCK_ERP_KEY}}"\n'
            f'requests_per_second = {ERP_RATE}\nrecord_activity = true\n'
            f'[agency]\nadapter = "mock"\nworld = "w{n:04}"\napi_key = "${{MOCK_AGENCY_KEY}}"\n'
            'requests_per_second = 100\nrecord_activity = true\n')


def scenario(tmp_path: Path, pg_available: bool, links: int, invoices: int,
             ) -> tuple[Path, str]:
    if not pg_available:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with create_engine(PG_URL).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    state = tmp_path / "state"
    folder = tmp_path / "links.d"
    folder.mkdir()
    for n in range(links):
        make_world(state / f"w{n:04}", n, invoices)
        (folder / f"company-{n:04}.toml").write_text(link_file(n), encoding="utf-8")
    cfg = tmp_path / "connector.toml"
    cfg.write_text(f'state_dir = "{state}"\nstore_url = "{store_url(schema)}"\n',
                   encoding="utf-8")
    return cfg, schema


def store_url(schema: str) -> str:
    """The test's own schema; commits not waiting for the disk (the test is not about
    durability, and a shared test machine's disk is slow)."""
    return f"{PG_URL}?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


def daemon(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CONNECTOR, "--config", str(cfg), "--log-format", "json", "daemon",
         "--interval", "2s", "--lease", f"{LINK_LEASE.seconds}s", "--stop-timeout", "5s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=ENV)


def caught_mid_pass(victim: subprocess.Popen[str], store: Store, claimed: Select[Any],
                    mid_pass: Select[Any]) -> tuple[list[int], set[str]]:
    """SIGKILL ``victim`` at a moment it holds claimed jobs or has a pass under way; returns
    those jobs and the links of those passes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        victim.send_signal(signal.SIGSTOP)
        frozen(victim.pid)
        with store.session() as session:  # what the frozen victim has committed
            taken = list(session.scalars(claimed))
            orphaned = set(session.scalars(mid_pass))
        if taken or orphaned:
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            return taken, orphaned
        victim.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    pytest.fail("the victim was never caught in the middle of a pass")


def frozen(pid: int) -> None:
    """Wait until the stopped process is really stopped (state T in /proc)."""
    stat = Path(f"/proc/{pid}/stat")
    for _ in range(1000):
        if stat.read_text().rpartition(")")[2].split()[0] in {"T", "t"}:
            return
        time.sleep(0.001)
    raise AssertionError(f"process {pid} did not stop")


def run_four(tmp_path: Path, pg_available: bool, links: int, invoices: int) -> None:
    cfg, schema = scenario(tmp_path, pg_available, links, invoices)
    subprocess.run([CONNECTOR, "--config", str(cfg), "db", "upgrade"], check=True,
                   capture_output=True, env=ENV)
    store = Store(store_url(schema))
    procs = [daemon(cfg) for _ in range(4)]
    victim = procs[0]
    try:
        expected = links * invoices
        # Kill the victim in the middle of a pass, early on while there is work. A pass is
        # over in milliseconds, so what the store shows is checked with the victim frozen
        # (SIGSTOP): mid-pass, it is killed so; between passes, it runs on and is tried again.
        pid = f"%:{victim.pid}"
        claimed = select(JobRow.id).where(JobRow.state == "running",
                                          JobRow.locked_by.like(f"{pid}:%"))
        mid_pass = select(SyncRunRow.link).where(SyncRunRow.holder.like(pid),
                                                 SyncRunRow.outcome == "running")
        taken, orphaned = caught_mid_pass(victim, store, claimed, mid_pass)
        killed_at = datetime.now(UTC)
        # Time in the worlds moves only when told: the lease of its jobs runs out now.
        World.open(tmp_path / "state" / "w0000").advance(JOB_LEASE + timedelta(seconds=1))
        with store.session() as session:
            mine = select(JobRow.state, JobRow.locked_by).where(JobRow.id.in_(taken))
            deadline = time.monotonic() + LINK_LEASE.total_seconds()
            while taken and {state for state, _ in session.execute(mine)} != {"done"} \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            jobs = session.execute(mine).all()
            # The victim's jobs, done by the others within the link lease: nothing waited
            # for its leases to run out, and each asked the agency first (no duplicate).
            assert {state for state, _ in jobs} <= {"done"}, f"not within {LINK_LEASE}"
            # Its unfinished pass's link, synced again to the end by another after the kill,
            # within the lease.
            for link in orphaned:
                again = select(SyncRunRow.id).where(SyncRunRow.link == link,
                                                    SyncRunRow.started_at > killed_at,
                                                    SyncRunRow.finished_at.is_not(None),
                                                    ~SyncRunRow.holder.like(pid))
                while session.scalar(again) is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert session.scalar(again) is not None, f"{link} not within {LINK_LEASE}"
            opened = select(func.count()).where(ClaimRow.list_name == "open")
            deadline = time.monotonic() + 300
            while (session.scalar(opened) or 0) < expected and time.monotonic() < deadline:
                time.sleep(0.5)
            assert session.scalar(opened) == expected
    finally:
        for proc in procs[1:]:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=60) for proc in procs[1:]]
        store.dispose()
        with create_engine(PG_URL).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    assert [p.returncode for p in procs[1:]] == [0, 0, 0], [err[-3000:] for _, err in outputs]
    assert not [err for _, err in outputs if "Traceback" in err], outputs
    cases = overlaps = 0
    erp_calls: list[float] = []
    for n in range(links):
        world = World.open(tmp_path / "state" / f"w{n:04}")
        assert world.agency.duplicates == 0, f"company {n}: a claim sent twice"
        cases += len(world.agency.cases)
        world.close()
        activity = Activity(tmp_path / "state" / f"w{n:04}")
        overlaps += activity.overlaps()
        erp_calls += [at for at, operation in activity.calls() if operation.startswith("erp.")]
        activity.close()
    assert cases == expected, "every claim transferred exactly once"
    assert overlaps == 0, "a link was synced by two processes at once"
    erp_calls.sort()
    window = 2.0
    busiest = max(bisect.bisect_left(erp_calls, start + window) - i
                  for i, start in enumerate(erp_calls))
    # One bucket for all four: unshared, they would send up to four times the rate. A
    # request is recorded a moment after its slot, so a busy machine blurs the edges a bit.
    assert busiest <= ERP_RATE * window * 1.1 + 2, f"{busiest} ERP requests in {window}s"
    # Enough requests that four unshared budgets would have shown in the busiest window.
    assert len(erp_calls) > 4 * ERP_RATE * window, "the budget was never put to the test"


@pytest.mark.postgres
def test_four_daemons_over_40_companies(tmp_path: Path, pg_available: bool) -> None:
    """The short form CI runs."""
    run_four(tmp_path, pg_available, links=40, invoices=2)


@pytest.mark.postgres
@pytest.mark.slow
def test_four_daemons_over_200_companies(tmp_path: Path, pg_available: bool) -> None:
    run_four(tmp_path, pg_available, links=200, invoices=2)


@pytest.mark.postgres
@pytest.mark.slow
def test_four_daemons_over_1000_companies(tmp_path: Path, pg_available: bool) -> None:
    run_four(tmp_path, pg_available, links=1000, invoices=2)
