"""Reads by change-time cursor: what could have been missed is read again, nothing more."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from connector.domain import ReminderLetter
from connector.ports import Page
from connector.pull import pull_by_cursor
from connector.store.db import Store
from tests.support import Harness, new_world


def test_the_next_read_starts_at_the_cursor_or_the_overlap_before_the_last_read(
        store: Store) -> None:
    h = Harness(store, new_world(), cursor_overlap="2m")
    ctx = h.ctx()
    t0 = h.world.now
    asked: list[datetime | None] = []

    def fetch(batch: Sequence[ReminderLetter]) -> object:
        def read(since: datetime | None) -> Iterator[Page[ReminderLetter]]:
            asked.append(since)
            yield Page(items=list(batch))
        return read

    def letter(n: int, at: datetime) -> ReminderLetter:
        return ReminderLetter.model_validate({
            "id": f"l{n}", "invoice_id": "i", "kind": "reminder", "sent_on": "2026-03-01",
            "due_date": "2026-03-15", "changed_at": at})

    def nothing(_s: Session, _items: Sequence[ReminderLetter]) -> None:
        return None

    burst = [letter(1, t0 - timedelta(minutes=1)), letter(2, t0)]
    pull_by_cursor(ctx, "letters", fetch(burst), nothing, lambda x: x.id)  # type: ignore[arg-type]
    assert asked == [None]
    h.advance(seconds=30)  # soon after: records written just before that read may show now
    pull_by_cursor(ctx, "letters", fetch([]), nothing, lambda x: x.id)  # type: ignore[arg-type]
    assert asked[1] == t0 - timedelta(minutes=2)
    h.advance(hours=1)  # the second read too may have missed the last two minutes before it
    pull_by_cursor(ctx, "letters", fetch([]), nothing, lambda x: x.id)  # type: ignore[arg-type]
    assert asked[2] == t0 + timedelta(seconds=30) - timedelta(minutes=2)
    h.advance(hours=1)  # long after the burst: only what changed after the cursor
    pull_by_cursor(ctx, "letters", fetch([]), nothing, lambda x: x.id)  # type: ignore[arg-type]
    assert asked[3] == t0
