"""Adopting the agency's cases the store does not know (docs/guarantees.md, "A lost store").

A store can lose claims the agency has: it was emptied, restored from an older copy, or
replaced (a new database, another state folder). Nothing may then be sent twice, so the
agency's cases are read before the pass's first transfer (the engine runs the agency pull
ahead of classification and transfers) and every case whose reference names an invoice of
this link is made its claim again: a claim still on its way there (the process died between
the agency's yes and the store) quietly becomes Open; a claim the store holds in an earlier
list, or none at all, is adopted into Open or Archived, which the sync report and the log
say loudly. The agency's history lines follow in the same transaction (``agency_pull``).

With no agency cursor (a new, emptied or replaced store) the pull reads every case of the
link once; otherwise only what changed since the cursor, which still holds every case a
restored copy missed: each was registered (so changed) after the copy's cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.classify import as_invoice
from connector.context import LinkContext
from connector.domain import CaseUpdate, ClaimList, ClaimState
from connector.lifecycle import NewClaim
from connector.store.schema import ClaimRow, InvoiceRow

log = structlog.get_logger(__name__)
S = ClaimState
IN_FLIGHT = (S.TRANSFERRING.value, S.TRANSFER_FAILED.value)
"""Sent, or being sent, but not known to be at the agency."""
BEFORE_TRANSFER = (S.DRAFT.value, S.HELD.value, S.APPROVED.value, S.DROPPED.value)
"""Lists a claim is in before its transfer: a case for it means the store lost the transfer."""


def adopt(ctx: LinkContext, session: Session, unknown: Sequence[CaseUpdate],
          claims: dict[str | None, ClaimRow], now: datetime) -> None:
    """Make each unknown case the claim of its reference's invoice; adds them to ``claims``
    (by agency case id). A case whose reference names no invoice of this link stays unknown."""
    by_reference: dict[str, CaseUpdate] = {}
    for update in unknown:
        by_reference.setdefault(update.reference, update)  # a second one stays unknown
    if not by_reference:
        return
    existing = {c.invoice_id: c for c in session.scalars(select(ClaimRow).where(
        ClaimRow.link == ctx.link, ClaimRow.invoice_id.in_(list(by_reference))))}
    found = ctx.claims.move_each(session, [
        (claim, f"Found at the agency as case {by_reference[claim.invoice_id].case_id}",
         _agency_values(by_reference[claim.invoice_id], now))
        for claim in existing.values() if claim.state in IN_FLIGHT], S.OPEN, now,
        source="agency")
    regained = ctx.claims.move_each(session, [
        (claim, f"Adopted from the agency's case {by_reference[claim.invoice_id].case_id}: "
         f"the store had this claim in {claim.list_name} and no record of its transfer "
         "(restored from an older copy?); it is not sent again",
         _agency_values(by_reference[claim.invoice_id], now))
        for claim in existing.values() if claim.state in BEFORE_TRANSFER], S.OPEN, now,
        source="agency")
    entered = ctx.claims.enter(session, _new_claims(
        session, ctx.link, [u for r, u in by_reference.items() if r not in existing], now),
        now)
    for claim in (*found, *regained, *entered):
        claims[claim.agency_case_id] = claim
    if found or regained:
        ctx.report.moved[ClaimList.OPEN.value] += len(found) + len(regained)
    for claim in entered:
        ctx.report.moved[claim.list_name] += 1
    lost = len(regained) + len(entered)
    if lost:
        ctx.report.adopted += lost
        log.warning("the store did not know cases the agency has; adopted them",
                    link=ctx.link, adopted=lost)


def _agency_values(update: CaseUpdate, now: datetime) -> dict[str, object]:
    return {"agency_case_id": update.case_id, "transferred_at": _since(update, now),
            "obstacles": []}


def _since(update: CaseUpdate, now: datetime) -> datetime:
    """When the agency got the case, as near as its history tells: its first line."""
    return min((e.at for e in update.events), default=now)


def _new_claims(session: Session, link: str, updates: Sequence[CaseUpdate],
                now: datetime) -> list[NewClaim]:
    """Claims for cases the store has no claim for, from the mirrored invoice each names."""
    if not updates:
        return []
    invoices = {row.erp_id: as_invoice(row) for row in session.scalars(select(InvoiceRow).where(
        InvoiceRow.link == link, InvoiceRow.erp_id.in_([u.reference for u in updates])))}
    adopted: list[NewClaim] = []
    for u in updates:
        invoice = invoices.get(u.reference)
        if invoice is None:
            continue
        closed = {"outcome": u.final_outcome.value, "closed_at": u.changed_at} if u.closed else {}
        adopted.append(NewClaim(
            invoice_id=invoice.id, invoice_no=invoice.invoice_no,
            customer_id=invoice.customer_id, customer_no=invoice.customer_no,
            amount=invoice.amount, balance=invoice.balance,
            currency=invoice.currency, due_date=invoice.due_date,
            state=S.ARCHIVED if u.closed else S.OPEN, source="agency", status=u.status,
            text=f"Adopted from the agency's case {u.case_id}: the store had no record of this "
                 "claim (a new, emptied or replaced store); it is not sent again",
            agency={"agency_case_id": u.case_id, "transferred_at": _since(u, now),
                    "balance_at_agency": u.balance_at_agency,
                    "remaining_principal": u.remaining_principal, "paused": u.paused,
                    **closed}))
    return adopted
