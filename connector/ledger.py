"""Money the ERP saw on invoices at the agency: direct payments and credit notes are reported
to the agency (docs/rules.md), write-offs are noted on the claim (R12), and the agency's own
payouts — booked by us under ``payout:…`` — are never reported back.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from connector import jobs, worker
from connector.context import LinkContext
from connector.domain import (
    ClaimReduction,
    ClaimState,
    LedgerEntry,
    LedgerKind,
    PayoutLineKind,
    to_money,
)
from connector.errors import TransientError
from connector.lifecycle import HistoryLine
from connector.payouts import SKIPPED
from connector.ports import REDUCTION_CAPABILITY
from connector.pull import pull_by_cursor
from connector.store.db import upsert
from connector.store.schema import ClaimRow, LedgerEntryRow, PayoutRow

KIND = "reduction"
OWN_PREFIX = "payout:"
OWN = "own_payout"


def pull_ledger(ctx: LinkContext) -> None:
    pull_by_cursor(ctx, "ledger", ctx.erp.ledger,
                   lambda session, entries: _write(ctx, session, entries), lambda e: e.id)


IN_COLLECTION = ClaimRow.state.in_([ClaimState.OPEN.value, ClaimState.TRANSFERRING.value,
                                     ClaimState.TRANSFER_FAILED.value])
"""At the agency, or on its way there: money on such an invoice concerns the agency."""
REPORTABLE = (ClaimState.OPEN.value, ClaimState.TRANSFERRING.value,
              ClaimState.TRANSFER_FAILED.value)
PAYOUT_LOOKBACK = timedelta(days=180)


def _own_payouts(session: Session, link: str,
                 entries: Sequence[LedgerEntry]) -> Callable[[LedgerEntry], bool]:
    """Tell the agency's own payouts on the ledger from the debtor's direct payments.

    A payout booked by the connector carries ``payout:<id>``. One the creditor books by hand
    (``booking = "none"``) is known by matching a principal line of a payout the connector
    skipped: same invoice, same amount, each line matched once (docs/rules.md). Only skipped
    payouts are matched by amount: a debtor's own instalment of the same amount as a booked
    payout's line is a direct payment and must be reported.
    """
    payments = [e for e in entries if e.kind is LedgerKind.PAYMENT]
    lines: Counter[tuple[str, Decimal]] = Counter()
    if payments:
        _count_skipped_lines(session, link, payments, lines)

    def own(entry: LedgerEntry) -> bool:
        if (entry.external_reference or "").startswith(OWN_PREFIX):
            return True
        key = (entry.invoice_id, entry.amount)
        if entry.kind is LedgerKind.PAYMENT and lines[key] > 0:
            lines[key] -= 1
            return True
        return False

    return own


def _count_skipped_lines(session: Session, link: str, payments: Sequence[LedgerEntry],
                         lines: Counter[tuple[str, Decimal]]) -> None:
    """Principal lines of skipped payouts not yet matched, by (invoice, amount)."""
    invoices = {e.invoice_id for e in payments}
    since = min(e.on for e in payments) - PAYOUT_LOOKBACK
    for payout in session.scalars(select(PayoutRow).where(
            PayoutRow.link == link, PayoutRow.paid_on >= since,
            PayoutRow.state == SKIPPED)):
        for line in payout.lines:
            if line["kind"] == PayoutLineKind.PRINCIPAL.value and line.get("reference") in invoices:
                lines[(line["reference"], to_money(line["amount"]))] += 1
    for invoice_id, amount in session.execute(select(
            LedgerEntryRow.invoice_id, LedgerEntryRow.amount).where(
            LedgerEntryRow.link == link, LedgerEntryRow.handled == OWN,
            LedgerEntryRow.on >= since,
            or_(LedgerEntryRow.external_reference.is_(None),
                LedgerEntryRow.external_reference.not_like(f"{OWN_PREFIX}%")),
            LedgerEntryRow.invoice_id.in_(invoices))):
        lines[(invoice_id, amount)] -= 1


def _write(ctx: LinkContext, session: Session, entries: Sequence[LedgerEntry]) -> None:
    """Handle each entry the first time it is seen; re-reads of the overlap change nothing."""
    now = ctx.now()
    seen = set(session.scalars(select(LedgerEntryRow.erp_id).where(
        LedgerEntryRow.link == ctx.link, LedgerEntryRow.erp_id.in_([e.id for e in entries]))))
    new = [e for e in entries if e.id not in seen]
    if not new:
        return
    claims = {c.invoice_id: c for c in session.scalars(select(ClaimRow).where(
        ClaimRow.link == ctx.link, IN_COLLECTION,
        ClaimRow.invoice_id.in_([e.invoice_id for e in new])))}
    own = _own_payouts(session, ctx.link, [e for e in new if e.invoice_id in claims])
    rows: list[dict[str, Any]] = []
    lines: list[HistoryLine] = []
    queue: list[jobs.JobSpec] = []
    written_off: dict[int, Decimal] = defaultdict(Decimal)
    for entry in new:
        claim = claims.get(entry.invoice_id)
        handled = "ignored"
        if claim is None:
            pass
        elif own(entry):  # first: our payout's reversal lines come back as write-offs too
            handled = OWN
        elif entry.kind is LedgerKind.WRITE_OFF:
            handled = "write_off"
            written_off[claim.id] += entry.amount
            lines.append(HistoryLine(claim.id, now, "erp", "write_off",
                                f"Written off {entry.amount} in the ERP (R12); the agency "
                                "keeps collecting, and money it collects later reverses "
                                "the write-off in the payout's voucher"))
        elif REDUCTION_CAPABILITY[entry.kind] not in ctx.agency.capabilities:
            handled = "unsupported"
            lines.append(HistoryLine(claim.id, now, "connector", "not_reported",
                                f"{_what(entry)} of {entry.amount} cannot be reported: the "
                                f"agency's API does not take it; tell the agency at "
                                f"{ctx.agency.portal}"))
            ctx.report.fail("ledger", entry.id, lines[-1].text)
        else:
            handled = "reported"
            reference = f"{entry.kind.value}:{entry.id}"
            reduction = ClaimReduction(
                reference=reference, kind=entry.kind, case_id=claim.agency_case_id or "",
                invoice_reference=claim.invoice_id, on=entry.on, amount=entry.amount,
                description=f"{_what(entry)} on invoice {claim.invoice_no}")
            queue.append(jobs.JobSpec(KIND, reference, {
                "claim_id": claim.id, "reduction": reduction.model_dump(mode="json")}))
        rows.append({"link": ctx.link, "erp_id": entry.id, "invoice_id": entry.invoice_id,
                     "kind": entry.kind.value, "amount": entry.amount, "on": entry.on,
                     "external_reference": entry.external_reference, "handled": handled,
                     "changed_at": entry.changed_at})
    upsert(session, LedgerEntryRow, rows, keys=("link", "erp_id"))
    by_id = {c.id: c for c in claims.values()}
    ctx.claims.update(session, [{"id": cid, "written_off": by_id[cid].written_off + amount}
                                for cid, amount in written_off.items()], now)
    ctx.claims.record(session, lines)
    ctx.queue(session, queue, now)


def _as_entry(reduction: ClaimReduction, now: datetime) -> LedgerEntry:
    """The ERP ledger entry the reduction was read from (its reference is ``kind:id``)."""
    return LedgerEntry(id=reduction.reference.split(":", 1)[1],
                       invoice_id=reduction.invoice_reference,
                       kind=reduction.kind, amount=reduction.amount, on=reduction.on,
                       changed_at=now)


def _what(entry: LedgerEntry) -> str:
    return "Direct payment" if entry.kind is LedgerKind.PAYMENT else "Credit note"


def report_reductions(ctx: LinkContext) -> None:
    """Report queued direct payments and credit notes, each exactly once (docs/guarantees.md)."""
    worker.run(ctx, KIND, lambda job: _report(ctx, job))


def _report(ctx: LinkContext, job: jobs.Job) -> None:
    reduction = ClaimReduction.model_validate(job.payload["reduction"])
    with ctx.tx() as session:
        claim = session.get(ClaimRow, job.payload["claim_id"])
        # Not in collection (rejected: its next request has the balance; or gone): done.
        if claim is None or claim.state not in REPORTABLE:
            jobs.finish(session, job.id, jobs.JobState.CANCELLED, ctx.now())
            return
        entry = _as_entry(reduction, ctx.now())
        if reduction.kind is LedgerKind.PAYMENT and _own_payouts(session, ctx.link,
                                                                 [entry])(entry):
            # A payout booked by hand, fetched only after its payment was read (docs/rules.md).
            session.execute(update(LedgerEntryRow).where(
                LedgerEntryRow.link == ctx.link,
                LedgerEntryRow.erp_id == entry.id).values(handled=OWN))
            jobs.finish(session, job.id, jobs.JobState.CANCELLED, ctx.now())
            return
    if not claim.agency_case_id:
        # Paid while its transfer was under way: report once the agency has the case.
        raise TransientError(f"claim {claim.id} is not at the agency yet")
    reduction = reduction.model_copy(update={"case_id": claim.agency_case_id})

    def report() -> bool:
        ctx.agency.report_reduction(reduction)
        return True

    worker.ensure(ctx, job, lambda: ctx.agency.reduction_reported(
        reduction.reference, case_id=reduction.case_id) or None, report)
    with ctx.tx() as session:
        ctx.claims.record(session, [HistoryLine(
            job.payload["claim_id"], ctx.now(), "connector", "reported",
            f"{reduction.description}: {reduction.amount} reported to the agency")])
        jobs.finish(session, job.id, jobs.JobState.DONE, ctx.now())
