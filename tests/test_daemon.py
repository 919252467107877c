"""Link leases: two daemons on one store never sync the same link at the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector import daemon
from connector.config import load_settings
from connector.runtime import Runtime
from connector.store.db import Store

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
TTL = timedelta(minutes=15)


def test_a_lease_is_exclusive_until_it_runs_out(store: Store) -> None:
    assert daemon.acquire(store, "a", "one", T0, TTL)
    assert not daemon.acquire(store, "a", "two", T0 + timedelta(minutes=5), TTL)
    assert daemon.acquire(store, "b", "two", T0, TTL)  # another link is free
    assert daemon.acquire(store, "a", "one", T0 + timedelta(minutes=5), TTL)  # renew
    assert daemon.acquire(store, "a", "two", T0 + timedelta(minutes=21), TTL)  # holder died


def test_release_frees_the_link_for_others(store: Store) -> None:
    assert daemon.acquire(store, "a", "one", T0, TTL)
    daemon.release(store, "a", "two")  # not the holder: nothing happens
    assert not daemon.acquire(store, "a", "two", T0, TTL)
    daemon.release(store, "a", "one")
    assert daemon.acquire(store, "a", "two", T0, TTL)


def test_one_round_syncs_every_link(tmp_path: Path) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(f'''
state_dir = "{tmp_path}"
[[links]]
name = "one"
erp = {{ adapter = "mock", world = "one.json" }}
agency = {{ adapter = "mock", world = "one.json" }}
[[links]]
name = "two"
erp = {{ adapter = "mock", world = "two.json" }}
agency = {{ adapter = "mock", world = "two.json" }}
''')
    rt = Runtime(load_settings(config))
    summary = daemon.run(rt, timedelta(0), TTL, rounds=1)
    assert summary.failed == {} and summary.passes == 2
    with rt.store.session() as session:
        from sqlalchemy import select

        from connector.store.schema import CompanyRow, LeaseRow

        assert sorted(session.scalars(select(CompanyRow.link))) == ["one", "two"]
        assert session.scalars(select(LeaseRow)).all() == []  # released after each pass


def test_a_pass_that_lost_its_lease_stops(store: Store) -> None:
    import pytest

    from connector.errors import UserError

    with daemon.leased(store, "a", timedelta(0)) as renew:
        renew()  # still ours: renewed
        assert daemon.acquire(store, "a", "someone else", datetime.now(UTC) + TTL, TTL)
        with pytest.raises(UserError, match="lost the lease on link a"):
            renew()


def test_a_second_pass_of_a_leased_link_is_refused(store: Store) -> None:
    import pytest

    from connector.errors import UserError

    assert daemon.acquire(store, "a", "elsewhere:4242", datetime.now(UTC), TTL)
    with pytest.raises(UserError, match=r"being synced by process 4242 on elsewhere; its lease "
                       r"runs out at .* UTC. If that process is gone, `connector lease break a`"), \
            daemon.leased(store, "a"):
        pass
