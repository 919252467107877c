"""Pulling the ERP's changes into the store's mirror, page by page, by change-time cursor.

Each page is written in one statement. The cursor moves only after the whole stream is read,
and every read starts ``cursor_overlap`` early (the ERP's replica lags): re-reading a record
is harmless, because every write here is an upsert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from connector import item_errors
from connector.context import LinkContext
from connector.domain import Company, Customer, Invoice, ReminderLetter
from connector.ports import Page
from connector.rules import invoice_problem, is_open_claim
from connector.store.db import upsert
from connector.store.pages import write_page
from connector.store.schema import CompanyRow, CursorRow, CustomerRow, InvoiceRow, LetterRow

M = TypeVar("M", bound=BaseModel)
INVOICES = "invoices"
"""The resource name of invoices, for cursors and per-item errors alike."""


@dataclass
class Touched:
    """What changed in this pass, so only that is re-evaluated within the same day."""

    customers: set[str] = field(default_factory=set)
    """ERP ids."""
    invoices: set[str] = field(default_factory=set)


def set_cursor(session: Session, link: str, resource: str, value: datetime,
               now: datetime) -> None:
    upsert(session, CursorRow,
           [{"link": link, "resource": resource, "value": value, "updated_at": now}],
           keys=("link", "resource"), update=("value", "updated_at"))


CUSTOMER_COLUMNS = ("link", "erp_id", "number", "transfer_to_agency", "data", "changed_at")
INVOICE_COLUMNS = ("link", "erp_id", "invoice_no", "customer_id", "customer_no", "due_date",
                   "balance", "is_open", "data", "changed_at")
LETTER_COLUMNS = ("link", "erp_id", "invoice_id", "data")
"""What a pull writes of each mirrored record: the model's JSON (encoded once, by pydantic)
and the columns the engine filters on. ``collect_requested_at`` is the connector's own and
never written by a pull."""


def write_customers(session: Session, link: str, customers: Sequence[Customer]) -> None:
    """Upsert customer cards (also used for the fresh cards read before a transfer)."""
    write_page(session, CustomerRow, CUSTOMER_COLUMNS,
               [(link, c.id, c.number, c.transfer_to_agency, c.model_dump_json(), c.changed_at)
                for c in customers], keys=("link", "erp_id"))


def _write_invoices(ctx: LinkContext, session: Session, invoices: Sequence[Invoice]) -> None:
    """The page in one statement; each invoice is encoded and checked once, and only a bad
    one is also kept as a dict, whole, with its reason."""
    rows: list[tuple[Any, ...]] = []
    problems: list[tuple[str, str, dict[str, Any]]] = []
    for i in invoices:
        problem = invoice_problem(i)
        if problem is not None:
            problems.append((i.id, problem, i.model_dump(mode="json")))
        rows.append((ctx.link, i.id, i.invoice_no, i.customer_id, i.customer_no, i.due_date,
                     i.balance, problem is None and is_open_claim(i), i.model_dump_json(),
                     i.changed_at))
    write_page(session, InvoiceRow, INVOICE_COLUMNS, rows, keys=("link", "erp_id"))
    item_errors.store(session, ctx.link, INVOICES, problems, ctx.now())


def _write_letters(ctx: LinkContext, session: Session, letters: Sequence[ReminderLetter]) -> None:
    write_page(session, LetterRow, LETTER_COLUMNS,
               [(ctx.link, lt.id, lt.invoice_id, lt.model_dump_json()) for lt in letters],
               keys=("link", "erp_id"))


def pull_by_cursor(
    ctx: LinkContext,
    resource: str,
    fetch: Callable[[datetime | None], Iterator[Page[M]]],
    write: Callable[[Session, Sequence[M]], None],
    keys_of: Callable[[M], str],
    on_page: Callable[[Sequence[M]], None] = lambda _items: None,
) -> None:
    """Stream one resource changed since the cursor; write each page in one transaction.

    The ERP reads a replica that lags: a record changed shortly before the last read began
    may not have shown then. So the read starts at the cursor or ``cursor_overlap`` before
    the last read began, whichever is earlier — a burst of changes at the cursor is not read
    again on every pass, only what could have been missed.
    """
    if ctx.known is not None:
        cursor, read_at = ctx.known.cursors.get(resource, (None, None))
        errors_open = resource in ctx.known.errors_open
    else:
        with ctx.tx() as session:
            row = session.get(CursorRow, (ctx.link, resource))
            errors_open = item_errors.any_open(session, ctx.link, resource)
        cursor, read_at = (row.value, row.updated_at) if row else (None, None)
    overlap = ctx.settings.cursor_overlap
    since = min(cursor, read_at - overlap) if cursor and read_at else None
    started = ctx.now()
    newest = cursor
    report = ctx.report
    for page in fetch(since):
        now = ctx.now()
        with ctx.tx() as session:
            # Clear first: writing the page may find the same record still wrong.
            if errors_open:
                item_errors.resolve(session, ctx.link, resource,
                                    [keys_of(i) for i in page.items], now)
            write(session, page.items)
            item_errors.store(session, ctx.link, resource,
                              [(r.key, r.reason, r.raw) for r in page.rejected], now)
        report.pulled[resource] += len(page.items)
        on_page(page.items)
        for item in page.items:
            changed: datetime = item.changed_at  # type: ignore[attr-defined]
            newest = changed if newest is None or changed > newest else newest
    # Nothing new, and the cursor already lies before the overlap of the last read: moving
    # the read time on would not change where the next read starts, so nothing is written.
    if newest is not None and not (newest == cursor and read_at and cursor <= read_at - overlap):
        with ctx.tx() as session:
            set_cursor(session, ctx.link, resource, newest, started)
        if ctx.known is not None:
            ctx.known.cursors[resource] = (newest, started)


def pull_company(ctx: LinkContext, stored: Company | None = None) -> Company:
    """The ERP's company with the link's collection settings over it, as the rules see it;
    stored (only when it changed) so that a change of either makes the next pass look at
    every invoice again."""
    company = ctx.settings.collection.applied_to(ctx.erp.company())
    if stored is not None and company == stored:
        return company
    with ctx.tx() as session:
        upsert(session, CompanyRow,
               [{"link": ctx.link, "data": company.model_dump(mode="json"),
                 "fetched_at": ctx.now()}],
               keys=("link",), update=("data", "fetched_at"))
    return company


def stored_company(session: Session, link: str) -> Company | None:
    row = session.get(CompanyRow, link)
    return Company.model_validate(row.data) if row else None


def pull_erp(ctx: LinkContext) -> Touched:
    """Read what changed in the ERP since the last pass into the mirror."""
    touched = Touched()
    pull_by_cursor(ctx, "customers", ctx.erp.customers,
          lambda s, items: write_customers(s, ctx.link, items),
          lambda c: c.id, lambda items: touched.customers.update(c.id for c in items))
    pull_by_cursor(ctx, INVOICES, ctx.erp.invoices,
          lambda s, items: _write_invoices(ctx, s, items),
          lambda i: i.id, lambda items: touched.invoices.update(i.id for i in items))
    pull_by_cursor(ctx, "letters", ctx.erp.letters,
          lambda s, items: _write_letters(ctx, s, items),
          lambda lt: lt.id, lambda items: touched.invoices.update(lt.invoice_id for lt in items))
    return touched


def load_customers(session: Session, link: str, ids: Sequence[str]) -> dict[str, Customer]:
    """The stored cards of the customers with these ERP ids, by id."""
    rows = session.execute(select(CustomerRow.erp_id, as_text(CustomerRow.data)).where(
        CustomerRow.link == link, CustomerRow.erp_id.in_(ids)))
    return {erp_id: Customer.model_validate_json(data) for erp_id, data in rows}


def load_letters(session: Session, link: str,
                 invoice_ids: Sequence[str]) -> dict[str, list[ReminderLetter]]:
    found: dict[str, list[ReminderLetter]] = {}
    rows = session.execute(select(LetterRow.invoice_id, as_text(LetterRow.data)).where(
        LetterRow.link == link, LetterRow.invoice_id.in_(invoice_ids)))
    for invoice_id, data in rows:
        found.setdefault(invoice_id, []).append(ReminderLetter.model_validate_json(data))
    return found


def as_text(column: Any) -> Any:
    """A JSON column read as its text, for pydantic's ``model_validate_json``: one pass in
    pydantic's own parser instead of a JSON decode into dicts and a validation of those."""
    return cast(column, Text)
