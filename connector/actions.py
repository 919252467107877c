"""What a user does to claims: approve (R3), hold back and restore (R4), cancel (R5, R6),
send from the reminder flow (R10), pause, resume or withdraw at the agency (R6). Each
refuses with a plain reason when it cannot apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import classify, jobs, worker
from connector.agency_pull import apply_updates
from connector.classify import status_for
from connector.context import LinkContext
from connector.domain import CaseUpdate, ClaimList, ClaimState, InvoiceKind, NextAction
from connector.errors import ConnectorError
from connector.lifecycle import HistoryLine
from connector.ports import Capability
from connector.store.schema import ClaimRow, CustomerRow, InvoiceRow
from connector.transfer import job_key


@dataclass
class ActionResult:
    """Which claims an action moved, and why it refused the others."""

    done: list[int] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.refused


GONE = {ClaimState.OPEN.value: "has been sent",
        ClaimState.ARCHIVED.value: "has been sent",
        ClaimState.TRANSFERRING.value: "is being sent",
        ClaimState.TRANSFER_FAILED.value: "is being sent (a try failed and may have reached it)"}
"""States past the point of no return (R6), and how to say so."""


def _claims(session: Session, link: str, ids: Sequence[int]) -> dict[int, ClaimRow]:
    return {c.id: c for c in session.scalars(
        select(ClaimRow).where(ClaimRow.link == link, ClaimRow.id.in_(list(ids))))}


def _pick(session: Session, ctx: LinkContext, ids: Sequence[int], allowed: ClaimState,
          verb: str, outcome: ActionResult) -> list[ClaimRow]:
    found = _claims(session, ctx.link, ids)
    chosen = []
    for claim_id in ids:
        claim = found.get(claim_id)
        if claim is None:
            outcome.refused[str(claim_id)] = f"no claim {claim_id} in link {ctx.link}"
        elif claim.state != allowed.value:
            outcome.refused[str(claim_id)] = (
                f"claim {claim_id} is in {claim.list_name.title()}; only a claim in "
                f"{allowed.list.value.title()} can be {verb}")
        else:
            chosen.append(claim)
    return chosen


def _move_each(ctx: LinkContext, session: Session, claims: Sequence[ClaimRow],
               target: ClaimState, now: datetime, text: str) -> list[ClaimRow]:
    """Move claims the user chose; each keeps saying what blocks it, if anything (R7)."""
    return ctx.claims.move_each(session, [
        (claim, text, {"status": status_for(target.list, claim.obstacles or [])})
        for claim in claims], target, now, source="user")


def approve(ctx: LinkContext, ids: Sequence[int] | None) -> ActionResult:
    """R3: approve the drafts named, or every draft when ``ids`` is None."""
    outcome = ActionResult()
    now = ctx.now()
    with ctx.tx() as session:
        if ids is None:
            chosen = list(session.scalars(select(ClaimRow).where(
                ClaimRow.link == ctx.link, ClaimRow.state == ClaimState.DRAFT.value)))
        else:
            chosen = _pick(session, ctx, ids, ClaimState.DRAFT, "approved", outcome)
        until = ctx.local_time(now + ctx.settings.grace)
        moved = _move_each(ctx, session, chosen, ClaimState.APPROVED, now,
                           f"Approved by the user; transferred after {until} unless "
                           "cancelled (R5)")
    outcome.done = [c.id for c in moved]
    return outcome


def hold(ctx: LinkContext, ids: Sequence[int]) -> ActionResult:
    """R4: keep drafts out of collection; they stay held across syncs until restored."""
    outcome = ActionResult()
    with ctx.tx() as session:
        chosen = _pick(session, ctx, ids, ClaimState.DRAFT, "held back", outcome)
        moved = ctx.claims.move(session, chosen, ClaimState.HELD, ctx.now(),
                                "Held back from collection by the user (R4)",
                                source="user", status="Held back by the user")
    outcome.done = [c.id for c in moved]
    return outcome


def restore(ctx: LinkContext, ids: Sequence[int]) -> ActionResult:
    """R4: put held-back claims back in Draft."""
    outcome = ActionResult()
    with ctx.tx() as session:
        chosen = _pick(session, ctx, ids, ClaimState.HELD, "restored", outcome)
        moved = _move_each(ctx, session, chosen, ClaimState.DRAFT, ctx.now(),
                           "Restored to Draft by the user (R4)")
    outcome.done = [c.id for c in moved]
    return outcome


def cancel(ctx: LinkContext, ids: Sequence[int]) -> ActionResult:
    """R5: stop an approved claim inside its grace window; R6: refused once it has gone."""
    outcome = ActionResult()
    now = ctx.now()
    with ctx.tx() as session:
        found = _claims(session, ctx.link, ids)
        chosen: list[ClaimRow] = []
        for claim_id in ids:
            claim = found.get(claim_id)
            if claim is None:
                outcome.refused[str(claim_id)] = f"no claim {claim_id} in link {ctx.link}"
            elif claim.state in GONE:
                outcome.refused[str(claim_id)] = (
                    f"claim {claim_id} {GONE[claim.state]} to the agency and can no longer be "
                    f"stopped from the ERP side (R6); pause or withdraw it at "
                    f"{ctx.agency.portal}")
            elif claim.state != ClaimState.APPROVED.value:
                outcome.refused[str(claim_id)] = (
                    f"claim {claim_id} is in {claim.list_name.title()}; only an approved claim "
                    "can be cancelled")
            else:
                chosen.append(claim)
        # A transfer starting this instant wins cleanly: the lifecycle moves only a claim
        # still in Approved.
        moved = _move_each(ctx, session, chosen, ClaimState.DRAFT, now,
                           "Cancelled by the user inside the grace window (R5)")
        for claim in chosen:
            if claim not in moved:
                outcome.refused[str(claim.id)] = (
                    f"claim {claim.id} is being sent to the agency right now (R6); pause or "
                    f"withdraw it at {ctx.agency.portal}")
        jobs.cancel(session, ctx.link, [job_key(c.invoice_id) for c in moved], now)
    outcome.done = [c.id for c in moved]
    return outcome


def collect(ctx: LinkContext, invoice_nos: Sequence[str]) -> ActionResult:
    """R10: send invoices whose reminder flow waits (next action none/wait) to collection now."""
    outcome = ActionResult()
    now = ctx.now()
    with ctx.tx() as session:
        rows = {r.invoice_no: r for r in session.scalars(select(InvoiceRow).where(
            InvoiceRow.link == ctx.link, InvoiceRow.invoice_no.in_(list(invoice_nos))))}
        claimed = {c.invoice_id: c for c in session.scalars(select(ClaimRow).where(
            ClaimRow.link == ctx.link,
            ClaimRow.invoice_id.in_([r.erp_id for r in rows.values()])))}
        customers = {c.erp_id: c for c in session.scalars(select(CustomerRow).where(
            CustomerRow.link == ctx.link,
            CustomerRow.erp_id.in_([r.customer_id for r in rows.values()])))}
        chosen: list[InvoiceRow] = []
        for no in invoice_nos:
            row = rows.get(no)
            reason = _collect_refusal(no, row, claimed, customers, ctx.today())
            if reason:
                outcome.refused[no] = reason
            elif row is not None:
                chosen.append(row)
        session.execute(update(InvoiceRow).where(
            InvoiceRow.link == ctx.link,
            InvoiceRow.erp_id.in_([r.erp_id for r in chosen])).values(collect_requested_at=now))
    if chosen:
        if ctx.company is None:
            from connector.pull import pull_company

            ctx.company = pull_company(ctx)
        classify.classify(ctx, [r.erp_id for r in chosen])
        with ctx.tx() as session:
            entered = {c.invoice_id: c.id for c in session.scalars(select(ClaimRow).where(
                ClaimRow.link == ctx.link,
                ClaimRow.invoice_id.in_([r.erp_id for r in chosen])))}
        for row in chosen:
            if row.erp_id in entered:
                outcome.done.append(entered[row.erp_id])
            else:
                outcome.refused[row.invoice_no] = (
                    f"invoice {row.invoice_no} could not enter a list; see `connector errors`")
    return outcome


def _collect_refusal(no: str, row: InvoiceRow | None, claimed: dict[str, ClaimRow],
                     customers: dict[str, CustomerRow], today: date) -> str | None:
    if row is None:
        return f"no invoice {no} is known; run `connector sync` first if it is new"
    if row.due_date >= today:
        return f"invoice {no} is not overdue yet (due {row.due_date}); only an overdue " \
               "invoice can go to collection"
    claim = claimed.get(row.erp_id)
    if claim is not None and claim.list_name != ClaimList.DROPPED.value:
        return f"invoice {no} is already claim {claim.id} in {claim.list_name.title()}"
    data = row.data
    if data.get("kind") == InvoiceKind.CREDIT_NOTE.value or not row.is_open:
        return f"invoice {no} has no open balance to collect (balance {row.balance})"
    customer = customers.get(row.customer_id)
    if customer is not None and not customer.transfer_to_agency:
        return f"customer {row.customer_no} is excluded from collection (R11)"
    action = data.get("next_action")
    if action not in (None, NextAction.NONE.value, NextAction.WAIT.value):
        return (f"invoice {no} has next action {action!r} in the reminder flow; only an invoice "
                "whose next action is 'none' or 'wait' can be sent to collection directly (R10)")
    return None


AGENCY_ACTIONS = {
    "pause": (Capability.PAUSE, "paused"),
    "resume": (Capability.RESUME, "resumed"),
    "withdraw": (Capability.WITHDRAW, "withdrawn"),
}


def at_agency(ctx: LinkContext, action: str, ids: Sequence[int]) -> ActionResult:
    """R6: pause, resume or withdraw Open cases through the agency's API, where it can.

    Where the agency's API cannot, every claim is refused with where to do it instead.
    """
    capability, done_word = AGENCY_ACTIONS[action]
    outcome = ActionResult()
    if capability not in ctx.agency.capabilities:
        reason = (f"the agency's API cannot {action} a case; {action} it at "
                  f"{ctx.agency.portal} (R6)")
        outcome.refused = {str(i): reason for i in ids}
        return outcome
    with ctx.tx() as session:
        chosen = _pick(session, ctx, ids, ClaimState.OPEN, done_word, outcome)
    act: Callable[[str], CaseUpdate] = getattr(ctx.agency, action)
    for claim in chosen:
        case_id = claim.agency_case_id or ""
        try:
            update_ = worker.call(ctx, partial(act, case_id))
        except ConnectorError as exc:
            outcome.refused[str(claim.id)] = f"the agency refused to {action} it: {exc}"
            continue
        with ctx.tx() as session:
            ctx.claims.record(session, [HistoryLine(
                claim.id, ctx.now(), "user", action,
                f"{done_word.title()} at the agency by the user")])
            apply_updates(ctx, session, [update_])
        outcome.done.append(claim.id)
    return outcome
