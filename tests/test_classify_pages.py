"""The classifier reads ready invoices a page at a time by key, each page's starting key
written into the statement's text so that PostgreSQL plans every page for its own key
(a prepared, generic plan took 300–600 ms a page: docs/performance.md)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from connector import classify
from connector.store.db import Store
from tests.support import Harness, new_world


def test_every_page_of_candidates_names_its_starting_key_and_all_are_entered(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classify, "PAGE", 2)
    h = Harness(store, new_world())
    h.customer("10")
    nos = [h.invoice(due_in_days=-5) for _ in range(5)]
    pages: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("SELECT invoices.erp_id, CAST(invoices.data AS TEXT)"):
            pages.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        h.sync()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)
    keys = sorted(h.world.erp.invoice(no).id for no in nos)
    assert len(pages) == 4  # 2 + 2 + 1, then an empty page
    for statement, after in zip(pages, ["", keys[1], keys[3], keys[4]], strict=True):
        assert f"invoices.erp_id > '{after}'" in statement  # in the text, not bound
    assert sorted(c["invoice_no"] for c in h.claims()) == sorted(nos)
