"""A page of mirrored records is written in one statement, each record encoded and checked
once; a bad invoice in the page is still set aside whole (docs/performance.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import DataError

from connector import actions, item_errors
from connector.classify import as_invoice
from connector.domain import (
    EVENT_KIND_LENGTH,
    KEY_LENGTH,
    REFERENCE_LENGTH,
    CaseUpdate,
    Customer,
    DunningSetup,
    Invoice,
    LedgerEntry,
    LetterKind,
    Payout,
    fitted,
)
from connector.item_errors import open_errors
from connector.ports import Page, Rejected, parse_page
from connector.pull import CUSTOMER_COLUMNS, load_customers, load_letters, write_customers
from connector.store.db import Store
from connector.store.pages import write_page
from connector.store.schema import ERROR_KEY_LENGTH, CustomerRow, InvoiceRow
from tests.support import START, Harness, new_world


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


def _writes_by_table(store: Store) -> tuple[Counter[str], Callable[[], None]]:
    """Statements writing each table, counted until the returned function stops counting."""
    seen: Counter[str] = Counter()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            seen[words[2]] += 1

    sa.event.listen(store.engine, "before_cursor_execute", note)
    return seen, lambda: sa.event.remove(store.engine, "before_cursor_execute", note)


def test_every_mirrored_page_is_one_statement_and_reads_back_as_the_erp_served_it(
        store: Store) -> None:
    """The JSON is encoded once by pydantic and bound as text, the other columns by their
    own types (money in øre, aware times, dates): what is read back is what was served."""
    h = Harness(store, new_world(DunningSetup(dunning_letter=True)))
    h.customer("10")
    h.customer("11", name="Ærlig Øl & Å", email="post@ærlig.no")
    nos = [h.invoice("10", "1234.56", due_in_days=-40), h.invoice("11", "0.01", due_in_days=-3)]
    h.world.erp.add_letter(nos[0], LetterKind.DUNNING_LETTER, h.world.today - timedelta(days=20))
    seen, stop = _writes_by_table(store)
    try:
        h.sync()
    finally:
        stop()
    assert (seen["customers"], seen["invoices"], seen["letters"]) == (1, 1, 1)
    served = {i.id: i for page in h.erp.invoices(None) for i in page.items}
    customers = {c.id: c for page in h.erp.customers(None) for c in page.items}
    letters = [lt for page in h.erp.letters(None) for lt in page.items]
    with store.session() as s:
        stored = {row.erp_id: as_invoice(row) for row in s.scalars(select(InvoiceRow))}
        assert load_customers(s, "test", sorted(customers)) == customers
        assert load_letters(s, "test", sorted(served)) == {letters[0].invoice_id: letters}
        times = dict(s.execute(select(InvoiceRow.erp_id, InvoiceRow.changed_at)).all())
        newer = s.scalars(select(InvoiceRow.erp_id).where(  # compared in SQL, as cursors are
            InvoiceRow.changed_at > min(times.values()))).all()
    assert stored == served and len(letters) == 1
    assert times == {i.id: i.changed_at for i in served.values()}
    assert newer == [max(times, key=lambda k: times[k])]


def test_a_key_twice_in_a_page_keeps_its_last_record(store: Store) -> None:
    """As writing the page's records in turn would; one statement all the same."""
    first = Customer(id="c-1", number="10", name="Old name", changed_at=START)
    second = first.model_copy(update={"name": "New name", "transfer_to_agency": False})
    seen, stop = _writes_by_table(store)
    try:
        with store.session() as s:
            write_customers(s, "test", [first, second])
    finally:
        stop()
    assert seen["customers"] == 1
    with store.session() as s:
        assert load_customers(s, "test", ["c-1"]) == {"c-1": second}
        assert s.scalar(select(CustomerRow.transfer_to_agency)) is False


def test_a_pull_leaves_the_connectors_own_collect_request(store: Store) -> None:
    """``collect_requested_at`` is the connector's (R10): a page write never names it."""
    h = Harness(store, new_world(DunningSetup(dunning_letter=True)))
    h.customer("10")
    no = h.invoice(due_in_days=-2)
    while h.world.erp.invoice(no).next_action.value != "wait":  # the letter is out
        h.advance(days=1)
    h.sync()
    assert actions.collect(h.ctx(), [no]).ok
    h.world.erp.pay(no, "100.00")  # the invoice changes in the ERP: the next pull writes it
    h.advance(minutes=10)
    assert h.sync().pulled["invoices"] == 1
    with store.session() as s:
        assert s.scalar(select(InvoiceRow.collect_requested_at)) is not None
        (row,) = s.scalars(select(InvoiceRow))
        assert as_invoice(row).collect_requested and row.balance == Decimal("900.00")


def _invoice_raw(erp_id: str, invoice_no: str = "1") -> dict[str, Any]:
    return {"id": erp_id, "invoice_no": invoice_no, "customer_id": "c-1", "customer_no": "10",
            "invoice_date": "2026-01-01", "due_date": "2026-01-15", "amount": "100.00",
            "balance": "100.00", "currency": "NOK", "changed_at": START.isoformat()}


def test_a_key_longer_than_the_store_keeps_is_set_aside_whole_never_cut(store: Store) -> None:
    """Two invoices whose ids differ only past the store's key length stay two records:
    both are set aside with their reason and their data, under keys that stay apart."""
    common = "x" * KEY_LENGTH
    raws = [_invoice_raw(common + "-a"), _invoice_raw(common + "-b"),
            _invoice_raw("short", invoice_no="n" * (KEY_LENGTH + 1)),
            _invoice_raw("y" * 500 + "-a"), _invoice_raw("y" * 500 + "-b")]
    page = parse_page(Invoice, "invoices", raws)
    assert page.items == []
    assert all("at most 100 characters" in r.reason for r in page.rejected)
    with store.session() as s:
        item_errors.store(s, "test", "invoices",
                          [(r.key, r.reason, r.raw) for r in page.rejected], START)
    with store.session() as s:
        errors = open_errors(s, "test")
    assert len(errors) == 5
    assert sorted(e.raw["id"] for e in errors) == sorted(r["id"] for r in raws)  # whole
    assert {e.key for e in errors} >= {common + "-a", common + "-b", "short"}
    assert all(len(e.key) <= ERROR_KEY_LENGTH for e in errors)
    with store.session() as s:  # each read cleanly later: resolved by its own key
        item_errors.resolve(s, "test", "invoices", [r["id"] for r in raws], START)
    with store.session() as s:
        assert open_errors(s, "test") == []


def test_a_page_write_never_merges_keys_that_differ_past_the_column_length(
        store: Store) -> None:
    """Past the models' own check: PostgreSQL refuses the page (a value cast to the column's
    bounded array type would be cut short without a word); SQLite keeps both as they are."""
    rows = [("test", "z" * KEY_LENGTH + end, "10", True, "{}", START) for end in ("-a", "-b")]
    if store.engine.dialect.name == "postgresql":
        with pytest.raises(DataError, match="too long"), store.session() as s:
            write_page(s, CustomerRow, CUSTOMER_COLUMNS, rows, keys=("link", "erp_id"))
        return
    with store.session() as s:
        write_page(s, CustomerRow, CUSTOMER_COLUMNS, rows, keys=("link", "erp_id"))
    with store.session() as s:
        assert sorted(s.scalars(select(CustomerRow.erp_id))) == [r[1] for r in rows]


def test_every_field_the_store_bounds_fits_its_column_when_the_record_is_read() -> None:
    """A reference or an agency event's id too long for its column is fitted with a digest
    (two stay two; it may come back from a call that has acted already); an event's kind,
    a label only, is shortened; a currency that is not three letters sets its record aside
    (PostgreSQL would refuse the whole page, SQLite keep it whole)."""
    too_long = "r" * (REFERENCE_LENGTH + 1)
    entry = {"id": "le-1", "invoice_id": "i-1", "kind": "payment", "amount": "1.00",
             "on": "2026-01-01", "changed_at": START.isoformat()}
    ledger = parse_page(LedgerEntry, "ledger", [
        {**entry, "external_reference": too_long},
        {**entry, "id": "le-2", "external_reference": too_long + "x"}])
    references = [e.external_reference or "" for e in ledger.items]
    assert ledger.rejected == [] and len(set(references)) == 2
    assert {len(r) for r in references} == {REFERENCE_LENGTH}
    assert references[0] == fitted(too_long, REFERENCE_LENGTH)  # the same every time
    event = {"id": too_long, "at": START.isoformat(), "kind": "k" * 50, "text": "Registered"}
    update = {"case_id": "k-1", "reference": "i-1", "status": "Open", "original_amount": "1.00",
              "remaining_principal": "1.00", "balance_at_agency": "1.00",
              "changed_at": START.isoformat(), "events": [event]}
    (kept,) = parse_page(CaseUpdate, "agency_cases", [update], key_field="case_id").items
    assert kept.events[0].id == fitted(too_long, REFERENCE_LENGTH)
    assert kept.events[0].kind == "k" * (EVENT_KIND_LENGTH - 1) + "…"
    payout = {"id": "p-1", "paid_on": "2026-01-01", "lines": [], "changed_at": START.isoformat()}
    payouts = parse_page(Payout, "payouts", [payout, {**payout, "id": "p-2",
                                                      "currency": "NOKK"}])
    assert [p.id for p in payouts.items] == ["p-1"] and [r.key for r in payouts.rejected] == [
        "p-2"]


def test_a_payout_the_agency_adapter_cannot_read_is_kept_as_an_item_error(
        store: Store) -> None:
    h = Harness(store, new_world())
    raw = {"id": "p-9", "currency": "NOKK"}
    h.agency.payouts = lambda: iter([Page(items=[], rejected=[  # type: ignore[method-assign]
        Rejected("payout", "p-9", "currency: String should have at most 3 characters", raw)])])
    report = h.sync()
    with store.session() as s:
        (error,) = open_errors(s, "test")
    assert (error.resource, error.key, error.raw) == ("payouts", "p-9", raw)
    assert any(f.resource == "payouts" for f in report.failures)
