"""A page of invoices is written in one statement, each invoice dumped and checked once; a
bad one in the page is still set aside whole (docs/performance.md)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from connector.item_errors import open_errors
from connector.store.db import Store
from connector.store.schema import InvoiceRow
from tests.support import Harness, new_world


def test_a_page_is_one_statement_and_its_bad_invoice_is_set_aside_with_its_data(
        store: Store) -> None:
    h = Harness(store, new_world())
    h.customer("10")
    good = h.invoice(due_in_days=-5)
    zero = h.invoice(amount="0.00", due_in_days=-5)
    later = h.invoice(due_in_days=3)
    writes: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INVOICES"):
            writes.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        report = h.sync()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)
    assert report.pulled["invoices"] == 3
    assert len(writes) == 1  # the whole page, in one statement
    bad_id = h.world.erp.invoice(zero).id
    with store.session() as s:
        is_open = dict(s.execute(select(InvoiceRow.invoice_no, InvoiceRow.is_open)).all())
        (error,) = open_errors(s, "test")
    assert is_open == {good: True, zero: False, later: True}
    assert error.key == bad_id and "non-positive amount" in error.reason
    assert (error.raw["invoice_no"], error.raw["amount"]) == (zero, "0.00")  # kept whole
    assert [c["invoice_no"] for c in h.claims()] == [good]
