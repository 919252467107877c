"""Link leases: two daemons on one store never sync the same link at the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from connector import daemon, jobs
from connector.clock import ManualClock
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


def test_many_leases_are_taken_and_given_back_at_once(store: Store) -> None:
    assert daemon.acquire_many(store, ["a", "b", "c"], "one", T0, TTL) == {"a", "b", "c"}
    later = T0 + timedelta(minutes=5)
    assert daemon.acquire_many(store, ["b", "c", "d"], "two", later, TTL) == {"d"}
    assert daemon.acquire_many(store, ["a", "b"], "one", later, TTL) == {"a", "b"}  # renew
    assert daemon.acquire_many(store, ["a", "c"], "two", T0 + timedelta(minutes=16),
                               TTL) == {"c"}  # c ran out; a was renewed
    daemon.release_many(store, ["a", "c", "d"], "two")  # only c and d are two's
    assert daemon.acquire_many(store, ["c", "d"], "one", later, TTL) == {"c", "d"}


def test_the_leases_of_a_dead_process_on_this_host_are_taken_over_at_once(
        store: Store) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    here = jobs.this_host()
    assert daemon.acquire_many(store, ["a", "b"], f"{here}:{gone}", T0, TTL) == {"a", "b"}
    assert daemon.acquire_many(store, ["c"], f"{here}:1", T0, TTL) == {"c"}  # init: alive
    # The same host name from another boot or process-id namespace (a container, a cloned
    # machine): its process ids mean nothing here, so its lease stands until it runs out.
    elsewhere = f"{socket.gethostname()[:50]}~00000000:{gone}"
    assert daemon.acquire_many(store, ["e"], elsewhere, T0, TTL) == {"e"}
    assert daemon.acquire_many(store, ["a", "b", "c", "d", "e"], "other", T0, TTL) == {
        "a", "b", "d"}


def test_a_long_host_name_still_judges_its_own_dead_processes(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import subprocess
    import sys

    monkeypatch.setattr(socket, "gethostname", lambda: "n" * 64 + ".cluster.example")
    jobs.this_host.cache_clear()
    try:
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dead = f"{jobs.worker_id().rpartition(':')[0]}:{gone}"
        assert len(dead) <= 100  # it fits the holder columns
        assert daemon.acquire_many(store, ["a"], dead, T0, TTL) == {"a"}
        assert daemon.acquire_many(store, ["a"], "other", T0, TTL) == {"a"}
    finally:
        jobs.this_host.cache_clear()


def test_a_store_gone_for_a_moment_costs_a_round_not_the_daemon(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    rt = three_links(tmp_path)
    real = daemon.runs.synced_since
    failures = [sa.exc.OperationalError("SELECT 1", {}, Exception("server closed"))]

    def flaky(*args: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(*args)

    monkeypatch.setattr(daemon.runs, "synced_since", flaky)
    summary = daemon.run(rt, timedelta(0), TTL, rounds=2)
    assert summary.passes == 3 and summary.failed == {} and not failures


def three_links(tmp_path: Path) -> Runtime:
    config = tmp_path / "connector.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n' + "".join(f'''
[[links]]
name = "{name}"
erp = {{ adapter = "mock", world = "{name}.json" }}
agency = {{ adapter = "mock", world = "{name}.json" }}
''' for name in ("one", "two", "three")))
    return Runtime(load_settings(config))


def test_a_round_takes_the_leases_of_its_links_in_one_statement(tmp_path: Path) -> None:
    """A daemon leases a chunk of links at once and gives them back at once: an idle link
    pays no lease statement and no commit of its own (``daemon.LEASE_CHUNK``)."""
    import sqlalchemy as sa

    rt = three_links(tmp_path)
    daemon.run(rt, timedelta(0), TTL, rounds=1)
    leases: list[str] = []
    sa.event.listen(rt.store.engine, "before_cursor_execute",
                    lambda _c, _cur, statement, *_: leases.append(statement.split()[0])
                    if "link_leases" in statement else None)
    summary = daemon.run(rt, timedelta(0), TTL, rounds=1)
    assert summary.passes == 3 and summary.failed == {}
    assert leases == ["INSERT", "DELETE"]


def test_a_chunk_held_past_its_time_is_handed_back_after_the_pass_in_hand(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow pass must not keep the rest of its chunk from other daemons: once the leases
    were held ``HOLD``, the links not synced yet are given back and taken afresh."""
    rt = three_links(tmp_path)
    monkeypatch.setattr(daemon, "HOLD", timedelta(0))
    taken: list[list[str]] = []
    take = daemon.acquire_many

    def noted(store: Store, links: Any, *args: Any) -> set[str]:
        taken.append(sorted(links))
        return take(store, links, *args)

    monkeypatch.setattr(daemon, "acquire_many", noted)
    summary = daemon.run(rt, timedelta(0), TTL, rounds=1)
    assert summary.passes == 3 and summary.failed == {}
    assert taken == [["one", "three", "two"], ["three", "two"], ["three"]]
    assert daemon.leases(rt.store) == []


def test_a_link_given_back_during_a_pass_is_taken_afresh_not_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the clock does between the renewal that gave the chunk back and the round's
    own look at the time (a step backwards), a link given back is leased again before its
    pass, never begun without its lease and skipped."""
    rt = three_links(tmp_path)
    monkeypatch.setattr(daemon, "HOLD", timedelta(0))
    monkeypatch.setattr(daemon.HeldLeases, "held_for", lambda _self: timedelta(0))
    summary = daemon.run(rt, timedelta(0), TTL, rounds=1)
    assert (summary.passes, summary.skipped, summary.failed) == (3, 0, {})
    assert daemon.leases(rt.store) == []


def test_a_store_gone_while_leasing_ends_the_round_after_one_try_to_give_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each statement to a store that is gone waits for its connect timeout: the round does
    not go on to lease its other chunks, nor give leases back one statement per link."""
    rt = three_links(tmp_path)
    monkeypatch.setattr(daemon, "LEASE_CHUNK", 1)
    calls: list[str] = []

    def gone(*_args: Any) -> set[str]:
        calls.append("take")
        return _raise_store_gone()

    def release_gone(*_args: Any) -> None:
        calls.append("give back")
        _raise_store_gone()

    monkeypatch.setattr(daemon, "acquire_many", gone)
    monkeypatch.setattr(daemon, "release_many", release_gone)
    monkeypatch.setattr(daemon, "release", release_gone)
    summary = daemon.Summary()
    daemon.sync_round(rt, timedelta(0), TTL, daemon.Stop(), summary)
    assert calls == ["take", "give back"] and summary.passes == 0


def test_a_round_leaves_a_link_leased_elsewhere_to_its_holder(tmp_path: Path) -> None:
    rt = three_links(tmp_path)
    assert daemon.acquire(rt.store, "two", "elsewhere:4242", datetime.now(UTC), TTL)
    summary = daemon.run(rt, timedelta(0), TTL, rounds=1)
    assert summary.passes == 2 and summary.skipped == 1
    assert [lease.link for lease in daemon.leases(rt.store)] == ["two"]


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
        assert session.scalars(select(LeaseRow)).all() == []  # released after the round


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


def test_a_broken_lease_stops_its_holder_at_the_next_renewal(store: Store) -> None:
    """`connector lease break`: the holder's renewal finds the lease gone and does not take
    it back, so its pass stops (the lease is not silently re-created)."""
    held = daemon.HeldLeases(store, TTL)
    assert held.take(["a", "b"]) == {"a", "b"}
    renew_a, renew_b = held.renewal("a"), held.renewal("b")
    daemon.break_lease(store, "a")
    held.renewed -= TTL  # the next renewal is due
    with pytest.raises(daemon.LinkBusy, match="lost the lease on link a"):
        renew_a()
    renew_b()  # the other lease is renewed as before
    assert [lease.link for lease in daemon.leases(store)] == ["b"]


def test_a_slow_pass_keeps_only_its_own_link_once_the_chunk_was_held_its_time(
        store: Store) -> None:
    """The rest of the chunk goes back at the pass's first step past ``HOLD``, so another
    daemon syncs them meanwhile; the link in hand stays leased and is renewed as before."""
    clock = ManualClock(datetime.now(UTC))
    held = daemon.HeldLeases(store, TTL, clock)
    assert held.take(["a", "b", "c"]) == {"a", "b", "c"}
    renew_a = held.renewal("a")
    renew_a()  # within HOLD: the chunk stays
    assert [lease.link for lease in daemon.leases(store)] == ["a", "b", "c"]
    clock.advance(daemon.HOLD + timedelta(seconds=1))
    renew_a()
    assert [lease.link for lease in daemon.leases(store)] == ["a"]
    assert daemon.acquire_many(store, ["b", "c"], "other", clock.now(), TTL) == {"b", "c"}
    (before,) = [lease.until for lease in daemon.leases(store) if lease.link == "a"]
    clock.advance(TTL / 3)
    renew_a()  # the link in hand is renewed, and only it
    until = {lease.link: lease.until for lease in daemon.leases(store)}
    assert until["a"] > before and {until["b"], until["c"]} == {until["b"]}
    held.release()
    assert [lease.holder for lease in daemon.leases(store)] == ["other", "other"]


def test_a_store_gone_during_the_taking_leaves_no_lease_behind(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The leases of the first statement are this process's even when the look for gone
    holders fails: the round's clean-up gives them back rather than leaving them to run out."""
    assert daemon.acquire(store, "b", "elsewhere:1", datetime.now(UTC), TTL)
    monkeypatch.setattr(daemon, "_gone", _raise_store_gone)
    held = daemon.HeldLeases(store, TTL)
    with pytest.raises(OperationalError):
        held.take(["a", "b"])
    held.release()
    assert [(lease.link, lease.holder) for lease in daemon.leases(store)] == [
        ("b", "elsewhere:1")]


def _raise_store_gone(*_args: Any) -> Any:
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))


def test_a_renewal_the_store_misses_is_tried_again_while_the_lease_still_runs(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(datetime.now(UTC))
    held = daemon.HeldLeases(store, TTL, clock)
    held.take(["a"])
    renew = held.renewal("a")
    real = daemon.renew_many
    monkeypatch.setattr(daemon, "renew_many", _raise_store_gone)
    clock.advance(TTL / 3)
    renew()  # a third of the lease used: the pass goes on, the renewal is tried again
    clock.advance(TTL / 3)
    with pytest.raises(OperationalError):  # two thirds used and still no store: it stops
        renew()
    monkeypatch.setattr(daemon, "renew_many", real)
    renew()
    (lease,) = daemon.leases(store)
    assert lease.until.replace(tzinfo=UTC) == clock.now() + TTL


def test_renewing_and_taking_the_same_links_at_once_never_deadlock(pg_store: Store) -> None:
    """A renewal locks its rows in link order, as taking them does: two daemons, one renewing
    its chunk while the other tries to take it, wait for each other on PostgreSQL. The order
    is the links' own, not the column's collation (``en-US`` puts ``co_2`` before ``co-10``,
    Python after): the table's rows are in the reverse order, the column collated so."""
    import threading

    links = sorted(f"co{sep}{n}" for n in range(20) for sep in "-_.")
    with pg_store.session() as s:
        collation = s.scalar(text("SELECT collname FROM pg_collation WHERE collname IN "
                                  "('en-US-x-icu', 'en_US.utf8') ORDER BY collname LIMIT 1"))
        if collation is not None:
            s.execute(text("ALTER TABLE link_leases ALTER COLUMN link TYPE varchar(100) "
                           f'COLLATE "{collation}"'))
    now = datetime.now(UTC)
    for link in reversed(links):
        assert daemon.acquire(pg_store, link, "one", now, TTL)
    errors: list[BaseException] = []

    def hammer(act: Any) -> None:
        try:
            for _ in range(60):
                act()
        except BaseException as exc:
            errors.append(exc)

    renewing = threading.Thread(target=hammer, args=(
        lambda: daemon.renew_many(pg_store, links[::-1], "one", now, TTL),))
    taking = threading.Thread(target=hammer, args=(
        lambda: daemon.acquire_many(pg_store, links, "two", now, TTL),))
    for thread in (renewing, taking):
        thread.start()
    for thread in (renewing, taking):
        thread.join()
    assert errors == []
    assert {lease.holder for lease in daemon.leases(pg_store)} == {"one"}
