"""Money the ERP saw on invoices at the agency: direct payments and credit notes are reported
to the agency (SPEC §4), write-offs are noted on the claim (R12), and the agency's own
payouts — booked by us under ``payout:…`` — are never reported back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import jobs, worker
from connector.claims import Event, record
from connector.context import LinkContext
from connector.domain import ClaimList, ClaimReduction, LedgerEntry, LedgerKind
from connector.ports import REDUCTION_CAPABILITY
from connector.pull import pull_by_cursor
from connector.store.db import upsert
from connector.store.schema import ClaimRow, JobRow, LedgerEntryRow, PayoutRow

KIND = "reduction"
OWN_PREFIX = "payout:"


def pull_ledger(ctx: LinkContext) -> None:
    pull_by_cursor(ctx, "ledger", ctx.erp.ledger,
                   lambda session, entries: _write(ctx, session, entries), lambda e: e.id)


def _own_payout(session: Session, link: str, entry: LedgerEntry) -> bool:
    """Our own payout voucher on the ledger: by its reference, or by a voucher we booked."""
    ref = entry.external_reference or ""
    if ref.startswith(OWN_PREFIX):
        return True
    return bool(ref) and session.scalar(select(PayoutRow.id).where(
        PayoutRow.link == link, PayoutRow.voucher_reference == ref).limit(1)) is not None


def _write(ctx: LinkContext, session: Session, entries: Sequence[LedgerEntry]) -> None:
    """Handle each entry the first time it is seen; re-reads of the overlap change nothing."""
    now = ctx.now()
    seen = set(session.scalars(select(LedgerEntryRow.erp_id).where(
        LedgerEntryRow.link == ctx.link, LedgerEntryRow.erp_id.in_([e.id for e in entries]))))
    new = [e for e in entries if e.id not in seen]
    if not new:
        return
    claims = {c.invoice_id: c for c in session.scalars(select(ClaimRow).where(
        ClaimRow.link == ctx.link, ClaimRow.list_name == ClaimList.OPEN.value,
        ClaimRow.invoice_id.in_([e.invoice_id for e in new])))}
    rows: list[dict[str, Any]] = []
    events: list[Event] = []
    queue: list[jobs.JobSpec] = []
    written_off: dict[int, Decimal] = defaultdict(Decimal)
    for entry in new:
        claim = claims.get(entry.invoice_id)
        handled = "ignored"
        if claim is not None and claim.agency_case_id is not None:
            if entry.kind is LedgerKind.WRITE_OFF:
                handled = "write_off"
                written_off[claim.id] += entry.amount
                events.append(Event(claim.id, now, "erp", "write_off",
                                    f"Written off {entry.amount} in the ERP (R12); the agency "
                                    "keeps collecting, and money it collects later reverses "
                                    "the write-off in the payout's voucher"))
            elif _own_payout(session, ctx.link, entry):
                handled = "own_payout"
            elif REDUCTION_CAPABILITY[entry.kind] not in ctx.agency.capabilities:
                handled = "unsupported"
                events.append(Event(claim.id, now, "connector", "not_reported",
                                    f"{_what(entry)} of {entry.amount} cannot be reported: the "
                                    f"agency's API does not take it; tell the agency at "
                                    f"{ctx.agency.portal}"))
                ctx.report.fail("ledger", entry.id, events[-1].text)
            else:
                handled = "reported"
                reference = f"{entry.kind.value}:{entry.id}"
                reduction = ClaimReduction(
                    reference=reference, kind=entry.kind, case_id=claim.agency_case_id,
                    invoice_reference=claim.invoice_id, on=entry.on, amount=entry.amount,
                    description=f"{_what(entry)} on invoice {claim.invoice_no}")
                queue.append(jobs.JobSpec(KIND, reference, {
                    "claim_id": claim.id, "reduction": reduction.model_dump(mode="json")}))
        rows.append({"link": ctx.link, "erp_id": entry.id, "invoice_id": entry.invoice_id,
                     "kind": entry.kind.value, "amount": entry.amount, "on": entry.on,
                     "external_reference": entry.external_reference, "handled": handled,
                     "changed_at": entry.changed_at})
    upsert(session, LedgerEntryRow, rows, keys=("link", "erp_id"))
    if written_off:
        by_id = {c.id: c for c in claims.values()}
        session.execute(update(ClaimRow), [
            {"id": cid, "written_off": by_id[cid].written_off + amount, "updated_at": now}
            for cid, amount in written_off.items()])
    record(session, ctx.link, events)
    jobs.enqueue(session, ctx.link, queue, now)


def _what(entry: LedgerEntry) -> str:
    return "Direct payment" if entry.kind is LedgerKind.PAYMENT else "Credit note"


def report_reductions(ctx: LinkContext) -> None:
    """Report queued direct payments and credit notes, each exactly once (DESIGN rule 3)."""
    worker.run(ctx, KIND, lambda job: _report(ctx, job))


def _report(ctx: LinkContext, job: JobRow) -> None:
    reduction = ClaimReduction.model_validate(job.payload["reduction"])

    def report() -> bool:
        ctx.agency.report_reduction(reduction)
        return True

    worker.ensure(ctx, job, lambda: ctx.agency.reduction_reported(reduction.reference) or None,
                  report)
    with ctx.tx() as session:
        record(session, ctx.link, [Event(job.payload["claim_id"], ctx.now(), "connector",
                                          "reported", f"{reduction.description}: "
                                          f"{reduction.amount} reported to the agency")])
        jobs.finish(session, job.id, jobs.JobState.DONE, ctx.now())
