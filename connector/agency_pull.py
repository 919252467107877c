"""The agency's side of Open cases: status, history and closing (R8, R9), and the status the
ERP shows per case, written back through durable jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import item_errors, jobs, worker
from connector.claims import Mover, view
from connector.context import LinkContext
from connector.domain import CaseStatus, CaseUpdate, ClaimList, Outcome
from connector.ports import Capability
from connector.pull import pull_by_cursor
from connector.store.db import upsert
from connector.store.schema import ClaimEventRow, ClaimRow, JobRow
from connector.transfer import fingerprint

STATUS_KIND = "status"
OUTCOME_TEXT = {
    Outcome.PAID: "paid in full",
    Outcome.PARTLY_PAID: "partly paid",
    Outcome.UNRESOLVED: "unresolved",
    Outcome.WITHDRAWN: "withdrawn",
    Outcome.CREDITED: "credited",
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
    unknown = [(u.case_id, f"agency case {u.case_id} (reference {u.reference}) is not a claim "
                "of this link", u.model_dump(mode="json")) for u in updates
               if u.case_id not in claims]
    item_errors.store(session, ctx.link, "agency_cases", unknown, now)
    known = [u for u in updates if u.case_id in claims]
    upsert(session, ClaimEventRow, [
        {"claim_id": claims[u.case_id].id, "link": ctx.link, "at": e.at, "source": "agency",
         "kind": e.kind, "text": e.text, "external_id": e.id}
        for u in known for e in u.events], keys=("claim_id", "external_id"))
    mover = Mover(ctx.link, ctx.pm)
    refreshed: list[dict[str, Any]] = []
    statuses: list[jobs.JobSpec] = []
    for u in known:
        claim = claims[u.case_id]
        values = {"status": u.status, "paused": u.paused,
                  "balance_at_agency": u.balance_at_agency,
                  "remaining_principal": u.remaining_principal, "updated_at": now}
        if u.closed and claim.list_name == ClaimList.OPEN.value:
            outcome = u.outcome or (Outcome.PAID if u.remaining_principal == 0
                                    else Outcome.UNRESOLVED)
            mover.move(session, [claim], ClaimList.ARCHIVED, now,
                       f"Closed by the agency: {OUTCOME_TEXT[outcome]}; remaining principal "
                       f"{u.remaining_principal} of {u.original_amount} (R9)",
                       source="agency",
                       values={**values, "outcome": outcome.value, "closed_at": now})
            ctx.report.moved[ClaimList.ARCHIVED.value] += 1
        else:
            refreshed.append({"id": claim.id, **values})
        status = CaseStatus(invoice_id=claim.invoice_id, case_id=u.case_id,
                            status_text=u.status, closed=u.closed,
                            balance_at_agency=u.balance_at_agency).model_dump(mode="json")
        statuses.append(jobs.JobSpec(STATUS_KIND, f"status:{claim.id}:{fingerprint(status)}",
                                     {"claim_id": claim.id, "status": status}))
    if refreshed:
        session.execute(update(ClaimRow), refreshed)
    if Capability.STATUS_WRITEBACK in ctx.erp.capabilities:
        jobs.enqueue(session, ctx.link, statuses, now)


def write_statuses(ctx: LinkContext) -> None:
    """R8: show the agency's latest status per case in the ERP; stale ones are skipped."""
    worker.run(ctx, STATUS_KIND, lambda job: _write_status(ctx, job))


def _write_status(ctx: LinkContext, job: JobRow) -> None:
    with ctx.tx() as session:
        newer = session.scalar(select(JobRow.id).where(
            JobRow.link == ctx.link, JobRow.kind == STATUS_KIND, JobRow.id > job.id,
            JobRow.payload["claim_id"].as_integer() == job.payload["claim_id"]).limit(1))
        if newer is not None:  # a later status of the same case supersedes this one
            jobs.finish(session, job.id, jobs.JobState.CANCELLED, ctx.now())
            return
    status = CaseStatus.model_validate(job.payload["status"])
    worker.call(ctx, lambda: ctx.erp.write_status([status]))
    with ctx.tx() as session:
        jobs.finish(session, job.id, jobs.JobState.DONE, ctx.now())


def claim_view_with_agency(row: ClaimRow) -> dict[str, Any]:
    """The claim's JSON shape plus the agency's side (R8, R9)."""
    return {**view(row), "paused": row.paused, "outcome": row.outcome,
            "balance_at_agency": None if row.balance_at_agency is None
            else str(row.balance_at_agency),
            "remaining_principal": None if row.remaining_principal is None
            else str(row.remaining_principal),
            "written_off": str(row.written_off)}
