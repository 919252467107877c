"""What a failed job stores (``jobs.last_error``, the report) never holds a secret: the
error of a handler and the error of writing its result alike are scrubbed before they
reach the store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connector import jobs, secrets, worker
from connector.store.db import Store
from connector.store.schema import JobRow
from tests.test_jobs import context, queue

TOKEN = "tok-9f8e7d6c5b4a-very-secret"


def stored_errors(store: Store) -> list[str]:
    with store.session() as session:
        return [row.last_error or "" for row in session.scalars(select(JobRow))]


def test_a_handlers_error_is_stored_without_the_secret(store: Store) -> None:
    secrets.remember(TOKEN)
    queue(store, 1)

    def fails(job: jobs.Job) -> None:
        raise RuntimeError(f"401 for Authorization: Bearer {TOKEN}")

    ctx = context(store)
    worker.run(ctx, "k", fails)
    [error] = stored_errors(store)
    assert "401 for Authorization: Bearer ***" in error and TOKEN not in error
    assert all(TOKEN not in f.reason for f in ctx.report.failures)


def test_an_error_writing_the_result_is_stored_without_the_secret(store: Store) -> None:
    secrets.remember(TOKEN)
    queue(store, 2)

    def handle(job: jobs.Job) -> worker.Record:
        def record(session: Any) -> None:
            raise ValueError(f"could not store the answer to {TOKEN}")
        return record

    ctx = context(store)
    worker.run(ctx, "k", handle)
    errors = stored_errors(store)
    assert len(errors) == 2
    assert all("recording the result failed" in e and "***" in e for e in errors)
    assert not [e for e in errors if TOKEN in e]
    assert len(ctx.report.failures) == 2
    assert not [f for f in ctx.report.failures if TOKEN in f.reason]
