"""Putting invoices in lists (R1, R2, R10, R11) and keeping known claims true to the ERP.

Invoices are read from the mirror in pages by key; customers and letters of a page come in
one query each, and the claims of a page are written in one statement.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Select, String, bindparam, or_, select
from sqlalchemy.orm import Session

from connector import item_errors
from connector.context import LinkContext
from connector.domain import ClaimList, ClaimState, Customer, Invoice
from connector.lifecycle import NewClaim
from connector.pull import INVOICES, as_text, load_customers, load_letters
from connector.rules import dunning_for, entry_list, obstacles
from connector.store.schema import ClaimRow, CustomerRow, InvoiceRow

K = TypeVar("K")
PAGE = 1000
CHUNK = 500
NOT_TRANSFERRED = (ClaimState.DRAFT.value, ClaimState.APPROVED.value, ClaimState.HELD.value)
"""States in which the ERP side still decides: the transfer has not started."""


def chunks(items: Sequence[K], size: int = CHUNK) -> Iterator[list[K]]:
    """Bounded IN lists: one query per chunk, never one per item."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def as_invoice(row: InvoiceRow) -> Invoice:
    """The mirrored invoice, with the connector's own R10 request folded in."""
    return requested(Invoice.model_validate(row.data), row.collect_requested_at)


def invoice_of(data: str, collect_requested_at: Any) -> Invoice:
    """``as_invoice`` from the two columns it reads, ``data`` as its JSON text
    (``pull.as_text``): pages are read as columns, never as ORM objects (building those
    cost more than the rules themselves), and validated from the text in one pass."""
    return requested(Invoice.model_validate_json(data), collect_requested_at)


def requested(invoice: Invoice, collect_requested_at: Any) -> Invoice:
    """The invoice as R10 sees it: sent to collection in the ERP, or by ``collect``."""
    if collect_requested_at is None or invoice.collect_requested:
        return invoice
    return invoice.model_copy(update={"collect_requested": True})


def _candidates(ctx: LinkContext) -> Select[str, str, Any]:
    """Ready invoices without a live claim (none, or a dropped one), as (ERP id, data, R10
    request) in key order. Written as NOT EXISTS rather than an outer join: PostgreSQL
    planned the join as a scan and sort of every invoice of the company for each page; the
    anti-join walks the key index and stops at the page's end."""
    today = ctx.today()
    live = select(ClaimRow.id).where(ClaimRow.link == InvoiceRow.link,
                                     ClaimRow.invoice_id == InvoiceRow.erp_id,
                                     ClaimRow.state != ClaimState.DROPPED.value)
    return (
        select(InvoiceRow.erp_id, as_text(InvoiceRow.data), InvoiceRow.collect_requested_at)
        .where(
            InvoiceRow.link == ctx.link,
            InvoiceRow.is_open.is_(True),
            or_(InvoiceRow.due_date < today, InvoiceRow.collect_requested_at.is_not(None)),
            ~live.exists(),
        )
        .order_by(InvoiceRow.erp_id)
    )


def _inline(key: str) -> BindParameter[str]:
    """The page's starting key written into the statement's text, not bound: PostgreSQL
    then plans each page for its own key. Bound, the statement was prepared after its
    fifth page (psycopg), and the generic plan PostgreSQL then chose took 300–600 ms a page
    instead of 10 (docs/performance.md)."""
    return bindparam(None, key, type_=String, literal_execute=True)


def classify(ctx: LinkContext, invoice_ids: Sequence[str] | None = None,
             customer_ids: Sequence[str] = ()) -> int:
    """Enter ready invoices into Draft or Approved; all of them, or only those named."""
    entered = 0
    if invoice_ids is None:
        after = ""
        while True:
            with ctx.tx() as session:
                page = list(session.execute(
                    _candidates(ctx).where(InvoiceRow.erp_id > _inline(after)).limit(PAGE)))
                if not page:
                    return entered
                entered += _enter(ctx, session, page)
            after = page[-1][0]
    for chunk in chunks(sorted(invoice_ids)):
        with ctx.tx() as session:
            page = list(session.execute(_candidates(ctx).where(InvoiceRow.erp_id.in_(chunk))))
            entered += _enter(ctx, session, page)
    for chunk in chunks(sorted(customer_ids)):
        with ctx.tx() as session:
            page = list(session.execute(
                _candidates(ctx).where(InvoiceRow.customer_id.in_(chunk))))
            entered += _enter(ctx, session, page)
    return entered


def _enter(ctx: LinkContext, session: Session, page: Sequence[Any]) -> int:
    assert ctx.company is not None
    now, today = ctx.now(), ctx.today()
    invoices = [invoice_of(data, requested) for _, data, requested in page]
    customers = load_customers(session, ctx.link, sorted({i.customer_id for i in invoices}))
    letters = load_letters(session, ctx.link, [i.id for i in invoices])
    entering: list[NewClaim] = []
    unknown: list[tuple[str, str, dict[str, Any]]] = []
    for invoice in invoices:
        customer = customers.get(invoice.customer_id)
        if customer is None:
            unknown.append((invoice.id, f"invoice {invoice.invoice_no}: customer "
                            f"{invoice.customer_no} is not known in the ERP",
                            invoice.model_dump(mode="json")))
            continue
        target = entry_list(invoice, customer, ctx.company, letters.get(invoice.id, []), today,
                            ctx.ready_policy)
        if target is None:
            continue
        found = obstacles(invoice, customer, ctx.agency.requirements)
        rule = ctx.ready_policy.rule(dunning_for(ctx.company, customer),
                                     invoice.collect_requested)
        auto = " (R2: automatic transfer)" if target is ClaimList.APPROVED else ""
        entering.append(NewClaim(
            invoice_id=invoice.id, invoice_no=invoice.invoice_no,
            customer_id=invoice.customer_id, customer_no=invoice.customer_no,
            amount=invoice.amount, balance=invoice.balance,
            currency=invoice.currency, due_date=invoice.due_date,
            state=ClaimState(target.value), text=f"Entered {target.value.title()}{auto}; {rule}",
            status=status_for(target, found), obstacles=[o.as_dict() for o in found]))
    item_errors.store(session, ctx.link, INVOICES, unknown, now)
    if not entering:
        return 0
    item_errors.resolve(session, ctx.link, INVOICES, [c.invoice_id for c in entering], now)
    # Only a dropped claim is entered again; one a user just moved is left as it is.
    claims = ctx.claims.enter(session, entering, now)
    for claim in claims:
        ctx.report.moved[claim.list_name] += 1
    return len(claims)


def status_for(target: ClaimList, found: Sequence[Any]) -> str:
    if found:
        first = found[0]
        message = first.message if hasattr(first, "message") else first["message"]
        return f"Blocked: {message}"
    return {
        ClaimList.DRAFT: "Ready for collection; waiting for approval",
        ClaimList.APPROVED: "Approved; waiting for the grace window (R5)",
    }.get(target, "")


def _drop_reason(invoice: Invoice, customer: Customer | None) -> str | None:
    if invoice.deleted:
        return f"Invoice {invoice.invoice_no} was deleted in the ERP; no longer a claim"
    if invoice.balance <= 0:
        return (f"Invoice {invoice.invoice_no} was paid or credited to zero in the ERP; "
                "no longer a claim")
    if customer is not None and not customer.transfer_to_agency:
        return (f"Customer {customer.number} was excluded from collection (R11); "
                "no longer a claim")
    return None


def reconcile(ctx: LinkContext, invoice_ids: Sequence[str], customer_ids: Sequence[str]) -> None:
    """Bring not-yet-transferred claims in line with what changed in the ERP.

    Paid, credited or deleted invoices and excluded customers leave Draft/Approved (docs/rules.md,
    R11); a held claim stays held unless its invoice is gone. Balances and obstacles (R7) are
    refreshed. Claims already at the agency are not touched here (R6, R11).
    """
    if not invoice_ids and not customer_ids:
        return
    with ctx.statement() as session:
        if session.scalar(select(ClaimRow.id).where(
                ClaimRow.link == ctx.link, ClaimRow.state.in_(NOT_TRANSFERRED)
        ).limit(1)) is None:
            return  # nothing to reconcile, as on a first pass
    for column, keys in ((ClaimRow.invoice_id, invoice_ids),
                         (ClaimRow.customer_id, customer_ids)):
        for chunk in chunks(sorted(keys)):
            with ctx.tx() as session:
                _reconcile_page(ctx, session, session.execute(
                    select(ClaimRow, InvoiceRow, CustomerRow)
                    .join(InvoiceRow, (InvoiceRow.link == ClaimRow.link)
                          & (InvoiceRow.erp_id == ClaimRow.invoice_id))
                    .outerjoin(CustomerRow, (CustomerRow.link == ClaimRow.link)
                               & (CustomerRow.erp_id == ClaimRow.customer_id))
                    .where(ClaimRow.link == ctx.link, column.in_(chunk),
                           ClaimRow.state.in_(NOT_TRANSFERRED))
                ).all())


def _reconcile_page(ctx: LinkContext, session: Session, page: Sequence[Any]) -> None:
    now = ctx.now()
    changes: list[dict[str, Any]] = []
    drops: list[tuple[ClaimRow, str, dict[str, Any]]] = []
    for claim, inv_row, cust_row in page:
        invoice = as_invoice(inv_row)
        customer = Customer.model_validate(cust_row.data) if cust_row is not None else None
        reason = _drop_reason(invoice, customer)
        if reason is not None and (claim.list_name != ClaimList.HELD.value
                                   or not inv_row.is_open):
            drops.append((claim, reason, {"status": reason}))
            continue
        found = [o.as_dict() for o in obstacles(invoice, customer, ctx.agency.requirements)]
        if found != list(claim.obstacles or []) or invoice.balance != claim.balance:
            status = status_for(ClaimList(claim.list_name), found) \
                if claim.list_name != ClaimList.HELD.value else claim.status
            changes.append({"id": claim.id, "balance": invoice.balance, "obstacles": found,
                            "status": status})
    ctx.claims.update(session, changes, now)
    dropped = ctx.claims.move_each(session, drops, ClaimState.DROPPED, now)
    if dropped:
        ctx.report.moved[ClaimList.DROPPED.value] += len(dropped)
