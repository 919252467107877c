"""What a user does to claims: approve (R3), hold back and restore (R4), cancel (R5, R6),
send from the reminder flow (R10), pause, resume or withdraw at the agency (R6). Each
refuses with a plain reason when it cannot apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import classify, jobs, worker
from connector.agency_pull import apply_updates
from connector.claims import Event, Mover, record
from connector.classify import status_for
from connector.context import LinkContext
from connector.domain import CaseUpdate, ClaimList, InvoiceKind, NextAction
from connector.errors import ConnectorError
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


def _claims(session: Session, link: str, ids: Sequence[int]) -> dict[int, ClaimRow]:
    return {c.id: c for c in session.scalars(
        select(ClaimRow).where(ClaimRow.link == link, ClaimRow.id.in_(list(ids))))}


def _pick(session: Session, ctx: LinkContext, ids: Sequence[int], allowed: ClaimList,
          verb: str, outcome: ActionResult) -> list[ClaimRow]:
    found = _claims(session, ctx.link, ids)
    chosen = []
    for claim_id in ids:
        claim = found.get(claim_id)
        if claim is None:
            outcome.refused[str(claim_id)] = f"no claim {claim_id} in link {ctx.link}"
        elif claim.list_name != allowed.value:
            outcome.refused[str(claim_id)] = (
                f"claim {claim_id} is in {claim.list_name.title()}; only a claim in "
                f"{allowed.value.title()} can be {verb}")
        else:
            chosen.append(claim)
    return chosen


def local_time(moment: datetime, ctx: LinkContext) -> str:
    """A moment as the company's users read it: their zone, to the minute."""
    zone = ZoneInfo(ctx.timezone)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _move_each(ctx: LinkContext, session: Session, claims: Sequence[ClaimRow], target: ClaimList,
               now: datetime, text: str, values: dict[str, Any] | None = None) -> None:
    """Move claims the user chose; each keeps saying what blocks it, if anything (R7)."""
    mover = Mover(ctx.link, ctx.listeners)
    by_status: dict[str, list[ClaimRow]] = {}
    for claim in claims:
        by_status.setdefault(status_for(target, claim.obstacles or []), []).append(claim)
    for status, group in by_status.items():
        mover.move(session, group, target, now, text, source="user", status=status,
                   values=values)


def approve(ctx: LinkContext, ids: Sequence[int] | None) -> ActionResult:
    """R3: approve the drafts named, or every draft when ``ids`` is None."""
    outcome = ActionResult()
    now = ctx.now()
    with ctx.tx() as session:
        if ids is None:
            chosen = list(session.scalars(select(ClaimRow).where(
                ClaimRow.link == ctx.link, ClaimRow.list_name == ClaimList.DRAFT.value)))
        else:
            chosen = _pick(session, ctx, ids, ClaimList.DRAFT, "approved", outcome)
        until = local_time(now + ctx.settings.grace, ctx)
        _move_each(ctx, session, chosen, ClaimList.APPROVED, now,
                   f"Approved by the user; transferred after {until} unless cancelled (R5)",
                   values={"approved_at": now})
    outcome.done = [c.id for c in chosen]
    return outcome


def hold(ctx: LinkContext, ids: Sequence[int]) -> ActionResult:
    """R4: keep drafts out of collection; they stay held across syncs until restored."""
    outcome = ActionResult()
    with ctx.tx() as session:
        chosen = _pick(session, ctx, ids, ClaimList.DRAFT, "held back", outcome)
        Mover(ctx.link, ctx.listeners).move(session, chosen, ClaimList.HELD, ctx.now(),
                                     "Held back from collection by the user (R4)",
                                     source="user", status="Held back by the user")
    outcome.done = [c.id for c in chosen]
    return outcome


def restore(ctx: LinkContext, ids: Sequence[int]) -> ActionResult:
    """R4: put held-back claims back in Draft."""
    outcome = ActionResult()
    with ctx.tx() as session:
        chosen = _pick(session, ctx, ids, ClaimList.HELD, "restored", outcome)
        _move_each(ctx, session, chosen, ClaimList.DRAFT, ctx.now(),
                   "Restored to Draft by the user (R4)")
    outcome.done = [c.id for c in chosen]
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
            elif claim.list_name == ClaimList.OPEN.value or claim.transfer_started_at:
                where = ("has been sent" if claim.list_name == ClaimList.OPEN.value
                         else "is being sent")
                outcome.refused[str(claim_id)] = (
                    f"claim {claim_id} {where} to the agency and can no longer be stopped "
                    f"from the ERP side (R6); pause or withdraw it at {ctx.agency.portal}")
            elif claim.list_name != ClaimList.APPROVED.value:
                outcome.refused[str(claim_id)] = (
                    f"claim {claim_id} is in {claim.list_name.title()}; only an approved claim "
                    "can be cancelled")
            else:
                chosen.append(claim)
        # Guarded on transfer_started_at so a transfer starting this instant wins cleanly.
        stopped = set(session.scalars(
            update(ClaimRow)
            .where(ClaimRow.id.in_([c.id for c in chosen]),
                   ClaimRow.transfer_started_at.is_(None))
            .values(updated_at=now).returning(ClaimRow.id)))
        for claim in chosen:
            if claim.id not in stopped:
                outcome.refused[str(claim.id)] = (
                    f"claim {claim.id} is being sent to the agency right now (R6); pause or "
                    f"withdraw it at {ctx.agency.portal}")
        moving = [c for c in chosen if c.id in stopped]
        jobs.cancel(session, ctx.link, [job_key(c.invoice_id) for c in moving], now)
        _move_each(ctx, session, moving, ClaimList.DRAFT, now,
                   "Cancelled by the user inside the grace window (R5)",
                   values={"approved_at": None})
    outcome.done = [c.id for c in moving]
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
        customers = {c.number: c for c in session.scalars(select(CustomerRow).where(
            CustomerRow.link == ctx.link,
            CustomerRow.number.in_([r.customer_no for r in rows.values()])))}
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
    customer = customers.get(row.customer_no)
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
        chosen = _pick(session, ctx, ids, ClaimList.OPEN, done_word, outcome)
    act: Callable[[str], CaseUpdate] = getattr(ctx.agency, action)
    for claim in chosen:
        case_id = claim.agency_case_id or ""
        try:
            update_ = worker.call(ctx, partial(act, case_id))
        except ConnectorError as exc:
            outcome.refused[str(claim.id)] = f"the agency refused to {action} it: {exc}"
            continue
        with ctx.tx() as session:
            record(session, ctx.link, [Event(claim.id, ctx.now(), "user", action,
                                             f"{done_word.title()} at the agency by the user")])
            apply_updates(ctx, session, [update_])
        outcome.done.append(claim.id)
    return outcome
