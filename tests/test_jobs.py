"""The job path: batched claims and ends, leases, the reaper, and the guarantees they keep.

A job runs once per lease; a crash never loses one; a job that looks before it creates
still does, however its batch ended.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from connector import jobs, worker
from connector.clock import ManualClock
from connector.config import AdapterSettings, LinkSettings
from connector.context import LinkContext
from connector.store.db import Store
from connector.store.schema import JobRow

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def context(store: Store, clock: ManualClock | None = None, **settings: Any) -> LinkContext:
    link = LinkSettings(name="l", erp=AdapterSettings(adapter="mock"),
                        agency=AdapterSettings(adapter="mock"), call_backoff="0s", **settings)
    return LinkContext(settings=link, store=store, erp=None, agency=None,  # type: ignore[arg-type]
                       clock=clock or ManualClock(START))


def queue(store: Store, n: int, kind: str = "k") -> None:
    with store.session() as session:
        jobs.enqueue(session, "l", [jobs.JobSpec(kind, f"{kind}:{i}", {"i": i})
                                    for i in range(n)], START)


def states(store: Store) -> Counter[str]:
    with store.session() as session:
        return Counter(session.scalars(select(JobRow.state)))


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(store.engine, "before_cursor_execute", count)
    yield seen
    sa.event.remove(store.engine, "before_cursor_execute", count)


def test_a_batch_is_claimed_in_one_statement_and_ended_in_one(
        store: Store, statements: list[str]) -> None:
    queue(store, 250)
    statements.clear()
    handled = worker.run(context(store), "k", lambda job: None)
    # 100, then (as quick jobs grow the batch) the other 150; each batch is one UPDATE …
    # RETURNING to take it and one UPDATE to end it. The second claim took fewer than it
    # asked for, so there is no empty third one.
    assert statements == ["UPDATE"] * 4
    assert handled == 250
    assert states(store) == {"done": 250}
    with store.session() as session:
        assert set(session.scalars(select(JobRow.attempts))) == {1}


def test_a_job_taken_over_after_its_lease_ran_out_is_not_ended_by_the_old_holder(
        store: Store) -> None:
    queue(store, 3)
    with store.session() as session:
        first = jobs.claim(session, "l", START, LEASE, 10, holder="a")
    assert [j.attempts for j in first] == [1, 1, 1]
    later = START + LEASE + timedelta(seconds=1)  # holder "a" died or hung
    with store.session() as session:
        second = jobs.claim(session, "l", later, LEASE, 10, holder="b")
        assert [j.id for j in second] == [j.id for j in first]
        assert [j.attempts for j in second] == [2, 2, 2]
        assert jobs.renew(session, [j.id for j in first], "a", later, LEASE) == set()
        assert jobs.complete(session, [(j.id, jobs.JobState.DONE, None) for j in first],
                             "a", later) == set()
        assert jobs.retry_later(session, first[0], "a", later, "late", LEASE, 8) is None
    assert states(store) == {"running": 3}
    with store.session() as session:
        ended = jobs.complete(session, [(j.id, jobs.JobState.DONE, None) for j in second],
                              "b", later)
    assert ended == {j.id for j in second}
    assert states(store) == {"done": 3}


def test_a_live_lease_is_not_taken(store: Store) -> None:
    queue(store, 3)
    with store.session() as session:
        assert len(jobs.claim(session, "l", START, LEASE, 2, holder="a")) == 2
    with store.session() as session:
        rest = jobs.claim(session, "l", START + LEASE / 2, LEASE, 10, holder="b")
    assert [j.key for j in rest] == ["k:2"]


def test_a_job_runs_once_per_lease_with_workers_side_by_side(pg_store: Store) -> None:
    """Four workers drain one link's queue at once: each job is handled exactly once."""
    queue(pg_store, 400)
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def handle(job: jobs.Job) -> None:
        with lock:
            runs[job.id] += 1

    threads = [threading.Thread(target=worker.run, args=(context(pg_store), "k", handle))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 400 and set(runs.values()) == {1}
    assert states(pg_store) == {"done": 400}


def test_a_crash_never_loses_a_job(store: Store) -> None:
    queue(store, 5)
    clock = ManualClock(START)
    seen: list[str] = []

    def dies_at_the_fourth(job: jobs.Job) -> None:
        if len(seen) == 3:
            raise Crash
        seen.append(job.key)

    with pytest.raises(Crash):
        worker.run(context(store, clock), "k", dies_at_the_fourth)
    # The three handled jobs' results died with the process: nothing was ended.
    assert states(store) == {"running": 5}
    assert worker.run(context(store, clock), "k", lambda job: None) == 0  # still leased
    clock.advance(LEASE + timedelta(seconds=1))
    with store.session() as session:
        assert jobs.reap(session, clock.now()) == 5
    assert states(store) == {"queued": 5}
    again: list[jobs.Job] = []
    assert worker.run(context(store, clock), "k", lambda job: again.append(job)) == 5
    assert states(store) == {"done": 5}
    assert {j.attempts for j in again} == {2}


def test_a_job_that_looks_before_it_creates_still_does(store: Store) -> None:
    """The other side got the effect, the process died before writing it down: the next
    try finds it there instead of creating it again, also for the jobs handled earlier in
    the same batch whose results were still waiting to be written."""
    queue(store, 4)
    clock = ManualClock(START)
    created: Counter[str] = Counter()
    crash_after = [3]

    def handle(job: jobs.Job) -> None:
        ctx = context(store, clock)

        def create() -> str:
            created[job.key] += 1
            if len(created) == crash_after[0]:
                raise Crash  # accepted over there, never recorded here
            return job.key

        worker.ensure(ctx, job, lambda: job.key if created[job.key] else None, create)

    with pytest.raises(Crash):
        worker.run(context(store, clock), "k", handle)
    assert states(store) == {"running": 4}
    clock.advance(LEASE + timedelta(seconds=1))
    crash_after[0] = 0
    assert worker.run(context(store, clock), "k", handle) == 4
    assert created == {"k:0": 1, "k:1": 1, "k:2": 1, "k:3": 1}
    assert states(store) == {"done": 4}


def test_results_are_written_with_the_batch_and_a_bad_one_fails_alone(store: Store) -> None:
    queue(store, 3)
    written: list[int] = []

    def handle(job: jobs.Job) -> worker.Record:
        def record(session: Any) -> jobs.JobState | None:
            if job.payload["i"] == 1:
                raise ValueError("cannot write this one")
            session.execute(sa.update(JobRow).where(JobRow.id == job.id)
                            .values(payload={"i": job.payload["i"], "written": True}))
            written.append(job.payload["i"])
            return jobs.JobState.CANCELLED if job.payload["i"] == 2 else None
        return record

    ctx = context(store)
    assert worker.run(ctx, "k", handle) == 3
    with store.session() as session:
        rows = {r.key: r for r in session.scalars(select(JobRow))}
    assert (rows["k:0"].state, rows["k:0"].payload) == ("done", {"i": 0, "written": True})
    assert (rows["k:2"].state, rows["k:2"].payload) == ("cancelled", {"i": 2, "written": True})
    assert rows["k:1"].state == "queued" and rows["k:1"].payload == {"i": 1}
    assert "cannot write this one" in (rows["k:1"].last_error or "")
    assert [f.key for f in ctx.report.failures] == ["k:1"]


def test_a_long_batch_renews_its_lease_and_stops_where_it_lost_it(store: Store) -> None:
    queue(store, 3)
    clock = ManualClock(START)
    handled: list[str] = []

    def slow(job: jobs.Job) -> None:
        handled.append(job.key)
        if job.key == "k:0":
            clock.advance(LEASE * 0.6)  # past half the lease: the next job renews it
        if job.key == "k:1":
            # This call hangs until the renewed lease ran out; another worker takes over.
            clock.advance(LEASE + timedelta(seconds=1))
            with store.session() as session:
                taken.extend(j.key for j in jobs.claim(session, "l", clock.now(), LEASE, 10,
                                                       holder="other"))

    taken: list[str] = []
    worker.run(context(store, clock), "k", slow)
    assert taken == ["k:1", "k:2"]
    assert handled == ["k:0", "k:1"]  # k:2 is not started under a lost lease
    with store.session() as session:
        rows = {r.key: r for r in session.scalars(select(JobRow))}
    assert (rows["k:0"].state, rows["k:0"].locked_by) == ("done", None)
    # k:1's late result is not written: the job belongs to its new lease now.
    assert [(rows[k].state, rows[k].locked_by) for k in ("k:1", "k:2")] == [
        ("running", "other")] * 2


def test_a_failed_job_is_rescheduled_under_its_lease_only(store: Store) -> None:
    queue(store, 2)

    def fails(job: jobs.Job) -> None:
        raise RuntimeError(f"no luck with {job.key}")

    ctx = context(store, job_backoff="5m", job_attempts=2)
    assert worker.run(ctx, "k", fails) == 0
    with store.session() as session:
        rows = list(session.scalars(select(JobRow).order_by(JobRow.id)))
    assert [(r.state, r.attempts, r.run_after) for r in rows] == [
        ("queued", 1, START + timedelta(minutes=5))] * 2
    assert [f.key for f in ctx.report.failures] == ["k:0", "k:1"]


def test_the_reaper_returns_only_leases_that_ran_out(store: Store) -> None:
    queue(store, 2, "a")
    queue(store, 2, "b")
    with store.session() as session:
        jobs.claim(session, "l", START, LEASE, 10, kinds=["a"], holder="gone")
        jobs.claim(session, "l", START + LEASE, LEASE, 10, kinds=["b"], holder="alive")
        assert jobs.reap(session, START + LEASE + timedelta(seconds=1)) == 2
    with store.session() as session:
        rows = {r.key: r for r in session.scalars(select(JobRow))}
    assert [(rows[k].state, rows[k].attempts, rows[k].locked_by) for k in ("a:0", "a:1")] == [
        ("queued", 1, None)] * 2
    assert {rows[k].state for k in ("b:0", "b:1")} == {"running"}


def test_one_statement_sessions_run_without_a_transaction(store: Store) -> None:
    """``Store.statement``: each statement stands on its own (autocommit)."""
    queue(store, 1)
    with pytest.raises(RuntimeError), store.statement() as session:
        session.execute(sa.update(JobRow).values(state="done"))
        raise RuntimeError("after the statement")
    assert states(store) == {"done": 1}


def test_a_claim_changes_no_column_an_index_names(store: Store) -> None:
    """The index of unfinished jobs is partial on the computed ``unfinished``, which a claim
    (queued → running) leaves true: no indexed column changes, so PostgreSQL can keep the
    claimed row's new version on its page without new index entries (a HOT update)."""
    queue(store, 3)
    claims: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE jobs"):
            claims.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    with store.statement() as session:
        claimed = jobs.claim(session, "l", START, LEASE, 10, holder="me")
    assert len(claimed) == 3 and len(claims) == 1
    changed = {part.split("=")[0].strip()
               for part in claims[0].split(" SET ", 1)[1].split(" WHERE ", 1)[0].split(",")}
    inspector = sa.inspect(store.engine)
    named = {c for index in inspector.get_indexes("jobs") for c in index["column_names"]}
    named |= {c for unique in inspector.get_unique_constraints("jobs")
              for c in unique["column_names"]}
    named |= set(inspector.get_pk_constraint("jobs")["constrained_columns"])
    [unfinished] = [i for i in inspector.get_indexes("jobs") if i["name"] == "ix_jobs_unfinished"]
    if store.dialect == "postgresql":
        assert unfinished["dialect_options"]["postgresql_where"] == "unfinished"
    assert "state" in changed and not changed & (named | {"unfinished"}), (changed, named)
    with store.session() as session:
        assert set(session.scalars(select(JobRow.unfinished))) == {True}
        jobs.complete(session, [(j.id, jobs.JobState.DONE, None) for j in claimed], "me",
                      START)
        assert set(session.scalars(select(JobRow.unfinished))) == {False}


def test_a_batch_ends_in_the_same_statement_text_whatever_its_size(pg_store: Store) -> None:
    """On PostgreSQL the ids of a batch are one array parameter: the driver parses the end
    of a batch of a thousand jobs once, not a text of a thousand parameters each time."""
    ends: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE jobs") and "attempts" not in statement:  # no claim
            ends.append(statement)

    sa.event.listen(pg_store.engine, "before_cursor_execute", note)
    for n in (3, 7):
        queue(pg_store, n, kind=f"k{n}")
        assert worker.run(context(pg_store), f"k{n}", lambda job: None) == n
    assert len(ends) == 2 and ends[0] == ends[1], ends
