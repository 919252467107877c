"""The agency's side of Open cases: status, history and closing (R8, R9), and the status the
ERP shows per case, written back through durable jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import adoption, item_errors, jobs, worker
from connector.claims import view
from connector.context import LinkContext
from connector.domain import CaseOutcome, CaseStatus, CaseUpdate, ClaimList, ClaimState
from connector.lifecycle import HistoryLine
from connector.ports import Capability
from connector.pull import pull_by_cursor
from connector.store.schema import ClaimRow

STATUS_KIND = "status"
OUTCOME_TEXT = {
    CaseOutcome.PAID: "paid in full",
    CaseOutcome.PARTLY_PAID: "partly paid",
    CaseOutcome.UNRESOLVED: "unresolved",
    CaseOutcome.WITHDRAWN: "withdrawn",
    CaseOutcome.CREDITED: "credited",
}


def pull_agency(ctx: LinkContext) -> None:
    """Read every case the agency changed since the last pass, page by page."""
    pull_by_cursor(ctx, "agency_cases", ctx.agency.changes,
                   lambda session, updates: apply_updates(ctx, session, updates),
                   lambda update_: update_.case_id)


def apply_updates(ctx: LinkContext, session: Session, updates: Sequence[CaseUpdate]) -> None:
    """Append new history lines, refresh status and balances, archive closed cases."""
    if not updates:
        return
    now = ctx.now()
    claims = {c.agency_case_id: c for c in session.scalars(select(ClaimRow).where(
        ClaimRow.link == ctx.link, ClaimRow.agency_case_id.in_([u.case_id for u in updates])))}
    adoption.adopt(ctx, session, [u for u in updates if u.case_id not in claims], claims, now)
    unknown = [(u.case_id, f"agency case {u.case_id} (reference {u.reference}) is not a claim "
                "of this link: its reference names no invoice of the ERP, or one the agency "
                "has as another case", u.model_dump(mode="json")) for u in updates
               if u.case_id not in claims]
    item_errors.store(session, ctx.link, "agency_cases", unknown, now)
    known = [u for u in updates if u.case_id in claims]
    ctx.claims.record(session, [
        HistoryLine(claims[u.case_id].id, e.at, "agency", e.kind, e.text, external_id=e.id)
        for u in known for e in u.events])
    refreshed: list[dict[str, Any]] = []
    archived: list[tuple[ClaimRow, str, dict[str, Any]]] = []
    statuses: list[jobs.JobSpec] = []
    for u in known:
        claim = claims[u.case_id]
        values = {"status": u.status, "paused": u.paused,
                  "balance_at_agency": u.balance_at_agency,
                  "remaining_principal": u.remaining_principal}
        if u.closed and claim.state == ClaimState.OPEN.value:
            outcome = u.final_outcome
            archived.append((claim, f"Closed by the agency: {OUTCOME_TEXT[outcome]}; remaining "
                             f"principal {u.remaining_principal} of {u.original_amount} (R9)",
                             {**values, "outcome": outcome.value, "closed_at": now}))
        else:
            refreshed.append({"id": claim.id, **values})
        shown = (claim.status, claim.list_name == ClaimList.ARCHIVED.value,
                 claim.balance_at_agency)
        if shown != (u.status, u.closed, u.balance_at_agency):  # a re-read changes nothing
            statuses.append(status_job(claim, CaseStatus(
                invoice_id=claim.invoice_id, case_id=u.case_id, status_text=u.status,
                closed=u.closed, balance_at_agency=u.balance_at_agency)))
    ctx.claims.update(session, refreshed, now)
    closed = ctx.claims.move_each(session, archived, ClaimState.ARCHIVED, now, source="agency")
    if closed:
        ctx.report.moved[ClaimList.ARCHIVED.value] += len(closed)
    show_in_erp(ctx, session, statuses, now)


def status_job(claim: ClaimRow, status: CaseStatus) -> jobs.JobSpec:
    """One job per case, always carrying the latest status: A → B → A ends showing A."""
    return jobs.JobSpec(STATUS_KIND, f"status:{claim.id}",
                        {"claim_id": claim.id, "status": status.model_dump(mode="json")})


def show_in_erp(ctx: LinkContext, session: Session, statuses: Sequence[jobs.JobSpec],
                now: datetime) -> None:
    """Queue status write-backs (R8), where the ERP can show them."""
    if Capability.STATUS_WRITEBACK in ctx.erp.capabilities:
        ctx.queue(session, statuses, now, revive=jobs.EVERY_STATE)


def write_statuses(ctx: LinkContext) -> None:
    """R8: show the agency's latest status per case in the ERP."""
    worker.run(ctx, STATUS_KIND, lambda job: _write_status(ctx, job))


def _write_status(ctx: LinkContext, job: jobs.Job) -> None:
    status = CaseStatus.model_validate(job.payload["status"])
    worker.call(ctx, lambda: ctx.erp.write_status([status]))


def claim_view_with_agency(row: ClaimRow) -> dict[str, Any]:
    """The claim's JSON shape plus the agency's side (R8, R9)."""
    return {**view(row), "paused": row.paused, "outcome": row.outcome,
            "balance_at_agency": None if row.balance_at_agency is None
            else str(row.balance_at_agency),
            "remaining_principal": None if row.remaining_principal is None
            else str(row.remaining_principal),
            "written_off": str(row.written_off)}
