"""Sending approved claims to the agency (R5, R7) exactly once (docs/guarantees.md).

A claim whose grace window has passed is checked against fresh customer data; if nothing
blocks it, a ``transfer`` job keyed ``case:<invoice id>`` is queued with the full request.
The job records the intent (``transfer_started_at``) before the call, asks the agency for an
existing case under the same reference on every retry, and records the result after.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import jobs, worker
from connector.agency_pull import show_in_erp, status_job
from connector.claims import view
from connector.classify import as_invoice, chunks, status_for
from connector.clock import local_date
from connector.context import LinkContext
from connector.domain import (
    AgencyCase,
    CaseRequest,
    CaseStatus,
    ClaimList,
    ClaimState,
    Customer,
    Debtor,
    Invoice,
)
from connector.errors import CaseRejected
from connector.lifecycle import HistoryLine
from connector.pull import write_customers
from connector.rules import Obstacle, obstacles
from connector.store.schema import ClaimRow, CustomerRow, InvoiceRow, JobRow

KIND = "transfer"
STARTABLE = (ClaimState.APPROVED.value, ClaimState.TRANSFER_FAILED.value)
"""States a transfer job starts from; it finds a claim already TRANSFERRING after a crash."""
SCHEDULE_PAGE = 200
"""Due claims checked per page: one fresh customer read and one job insert per page."""


def job_key(invoice_id: str) -> str:
    return f"case:{invoice_id}"


def case_request(invoice: Invoice, customer: Customer) -> CaseRequest:
    """The claim as the agency gets it; the ERP invoice id is the idempotency reference."""
    return CaseRequest(
        reference=invoice.id, invoice_id=invoice.id, invoice_no=invoice.invoice_no,
        invoice_date=invoice.invoice_date, due_date=invoice.due_date, amount=invoice.amount,
        balance=invoice.balance, currency=invoice.currency, kid=invoice.kid,
        debtor=Debtor(number=customer.number, name=customer.name,
                      is_person=customer.is_person,
                      organization_number=customer.organization_number,
                      email=customer.email, phone=customer.phone, address=customer.address),
        description=f"Invoice {invoice.invoice_no}",
    )


def unread(invoice_no: str) -> Obstacle:
    """The claim's invoice is not in the store's copy of the ERP (set aside as an item
    error, say an id too long for it): whether it is still owed is unknown."""
    return Obstacle("invoice_unread", f"invoice {invoice_no} is not in the store's copy of "
                    "the ERP (see `connector errors`); not sent until it reads again")


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def schedule(ctx: LinkContext) -> None:
    """Queue transfers for approved claims past their grace window, or name what blocks them."""
    now = ctx.now()
    cutoff = now - ctx.settings.grace
    after = 0
    while True:
        with ctx.statement() as session:
            rows = list(session.execute(
                select(ClaimRow, InvoiceRow, CustomerRow.number)
                .outerjoin(InvoiceRow, (InvoiceRow.link == ClaimRow.link)
                           & (InvoiceRow.erp_id == ClaimRow.invoice_id))
                .outerjoin(CustomerRow, (CustomerRow.link == ClaimRow.link)
                           & (CustomerRow.erp_id == ClaimRow.customer_id))
                .where(ClaimRow.link == ctx.link,
                       ClaimRow.state == ClaimState.APPROVED.value,
                       ClaimRow.approved_at <= cutoff,
                       ClaimRow.id > after)
                .order_by(ClaimRow.id).limit(SCHEDULE_PAGE)
            ).all())
        if not rows:
            return
        after = rows[-1][0].id
        page = [(claim, invoice) for claim, invoice, _ in rows]
        # Address edits may not move the ERP's change time (docs/rules.md): read the cards
        # afresh, by the number each card has now (a customer may have been renumbered).
        numbers = {number or claim.customer_no for claim, _, number in rows}
        fresh = ctx.erp.customers_by_number(sorted(numbers))
        with ctx.tx() as session:
            write_customers(session, ctx.link, fresh)
            _schedule_page(ctx, session, page, {c.id: c for c in fresh}, now)


def _schedule_page(ctx: LinkContext, session: Session, page: Sequence[Any],
                   customers: dict[str, Customer], now: datetime) -> None:
    rejected = {
        row.key: row for row in session.scalars(select(JobRow).where(
            JobRow.link == ctx.link, JobRow.state == jobs.JobState.REJECTED.value,
            JobRow.key.in_([job_key(c.invoice_id) for c, _ in page])))
    }
    queue: list[jobs.JobSpec] = []
    blocked: list[dict[str, Any]] = []
    excluded: list[ClaimRow] = []
    today = ctx.today()
    for claim, inv_row in page:
        customer = customers.get(claim.customer_id)
        if customer is not None and not customer.transfer_to_agency:
            excluded.append(claim)  # R11, seen on the fresh card even if a pull was missed
            continue
        if inv_row is None:
            found = [unread(claim.invoice_no)]
        else:
            found = obstacles(as_invoice(inv_row), customer, ctx.agency.requirements)
        if not found and customer is not None:
            invoice = as_invoice(inv_row)
            payload = case_request(invoice, customer).model_dump(mode="json")
            previous = rejected.get(job_key(claim.invoice_id))
            # The same request is not sent again the same day; a new day may change the
            # agency's answer (a claim it found not overdue enough yesterday).
            if (previous is not None
                    and previous.payload.get("fingerprint") == fingerprint(payload)
                    and local_date(previous.updated_at, ctx.zone) == today):
                found = [Obstacle("agency_rejected", previous.last_error or "rejected")]
            elif ctx.pm is not None and (veto := ctx.pm.hook.connector_veto_transfer(
                    link=ctx.link, claim=view(claim))):
                found = [Obstacle("vetoed", f"held by a plugin: {veto}")]
            else:
                queue.append(jobs.JobSpec(KIND, job_key(claim.invoice_id),
                                          {"claim_id": claim.id, "request": payload,
                                           "fingerprint": fingerprint(payload)}))
        as_dicts = [o.as_dict() for o in found]
        status = status_for(ClaimList.APPROVED, as_dicts) if found else claim.status
        if as_dicts != list(claim.obstacles or []) or status != claim.status:
            blocked.append({"id": claim.id, "obstacles": as_dicts, "status": status})
        if found:
            ctx.report.blocked.append({**view(claim), "obstacles": as_dicts,
                                       "status": status})
    ctx.claims.update(session, blocked, now)
    dropped = ctx.claims.move(
        session, excluded, ClaimState.DROPPED, now,
        "Customer excluded from collection (R11); no longer a claim",
        status="Customer excluded from collection (R11)")
    if dropped:
        ctx.report.moved[ClaimList.DROPPED.value] += len(dropped)
    ctx.queue(session, queue, now)


def run_transfers(ctx: LinkContext) -> None:
    """Carry out due transfer jobs of this link, one agency call (or lookup) each.

    Each claimed batch first records every transfer's intent in one transaction (``_Batch.
    start``); then each job makes its call, and its result is written with the batch's
    others in the worker's one transaction per batch."""
    batch = _Batch(ctx)
    worker.run(ctx, KIND, batch.handle, lambda job, reason, state: _failed(ctx, job, reason, state),
               prepare=batch.start, write_all=batch.write_all)


@dataclass(frozen=True)
class _Started:
    """A transfer whose intent is recorded (or that has nothing left to do)."""

    claim: ClaimRow | None
    request: dict[str, Any]
    """The job's request as JSON, with the balance the transfer started with."""
    still_owed: bool = False
    ended: jobs.JobState | None = None
    """Set when the job ends without a call: its claim is gone, open already or moved."""
    unread: bool = False
    """The claim's invoice is not in the mirror: the agency is asked whether an earlier
    try sent it; if not, the job fails and is tried again, nothing sent."""


class _Batch:
    """The transfers of the worker's current batch, as ``start`` recorded them."""

    def __init__(self, ctx: LinkContext) -> None:
        self.ctx = ctx
        self.started: dict[int, _Started] = {}

    def start(self, claimed: list[jobs.Job]) -> None:
        """Record the intent of every job of the batch before any call, in one transaction:
        from here the ERP side cannot cancel (R6). A claim cancelled this instant is not
        moved, and its job ends without a call."""
        ctx, now = self.ctx, self.ctx.now()
        with ctx.tx() as session:
            claims = {row.id: row for chunk in chunks([j.payload["claim_id"] for j in claimed])
                      for row in session.scalars(select(ClaimRow).where(ClaimRow.id.in_(chunk)))}
            # Only what the intent needs of each invoice, as columns: building the ORM rows
            # (and decoding their JSON) cost more than the rest of the step.
            invoices: dict[str, tuple[bool, Decimal]] = {
                erp_id: (is_open, balance) for chunk in chunks(sorted(
                    {c.invoice_id for c in claims.values()})) for erp_id, is_open, balance in
                session.execute(select(InvoiceRow.erp_id, InvoiceRow.is_open,
                                       InvoiceRow.balance).where(
                    InvoiceRow.link == ctx.link, InvoiceRow.erp_id.in_(chunk)))}
            starting = [(job, claim) for job in claimed
                        if (claim := claims.get(job.payload["claim_id"])) is not None
                        and claim.state in STARTABLE]
            # An invoice not in the mirror (set aside since) of a claim never started (its
            # intent moves it, so one still in Approved never reached the agency): not
            # started, so it stays in Approved, cancellable, with the reason.
            unknown = {claim.id: [unread(claim.invoice_no).as_dict()]
                       for _, claim in starting if claim.invoice_id not in invoices
                       and claim.state == ClaimState.APPROVED.value}
            ctx.claims.update(session, [
                {"id": claim_id, "obstacles": found,
                 "status": status_for(ClaimList.APPROVED, found)}
                for claim_id, found in unknown.items()], now)
            ctx.claims.move_each(session, [
                (claim, f"Transfer to the agency started (try {job.attempts})",
                 {"status": "Being sent to the agency"})
                for job, claim in starting if claim.id not in unknown],
                ClaimState.TRANSFERRING, now)
            payloads: list[dict[str, Any]] = []
            for job in claimed:
                self.started[job.id] = self._started(job, claims.get(job.payload["claim_id"]),
                                                     invoices, payloads)
            if payloads:
                session.execute(update(JobRow), payloads)

    def _started(self, job: jobs.Job, claim: ClaimRow | None,
                 invoices: dict[str, tuple[bool, Decimal]],
                 payloads: list[dict[str, Any]]) -> _Started:
        """The request stays the job's JSON until its call (``handle`` validates it)."""
        request: dict[str, Any] = job.payload["request"]
        if claim is None or claim.state != ClaimState.TRANSFERRING.value:
            done = claim is not None and claim.state == ClaimState.OPEN.value
            return _Started(claim, request, ended=jobs.JobState.DONE if done
                            else jobs.JobState.CANCELLED)
        if claim.invoice_id not in invoices:  # an earlier try may have sent it
            return _Started(claim, request, unread=True)
        is_open, balance = invoices[claim.invoice_id]
        if is_open and job.attempts == 1:
            # Paid in part since the job was queued: the agency gets the balance as the
            # transfer starts, kept for every retry. A payment after this moment is
            # reported to the agency on its own (ledger), never folded in twice.
            request = {**request, "balance": str(balance)}  # Money's JSON: its exact text
            payloads.append({"id": job.id, "payload": {**job.payload, "request": request}})
        return _Started(claim, request, is_open)

    def handle(self, job: jobs.Job) -> _Result | None:
        """The job's one agency call; its result is written with the batch's others."""
        ctx = self.ctx
        begun = self.started.pop(job.id)
        claim, request = begun.claim, CaseRequest.model_validate(begun.request)
        if begun.ended is not None or claim is None:
            return _Result(job.payload["claim_id"], request, None, begun.ended)

        def find() -> AgencyCase | None:
            return ctx.agency.find_case(request.reference, since=claim.transfer_started_at,
                                        request=request)

        def create() -> AgencyCase | None:
            """Register, unless the invoice stopped being a claim: then never create it."""
            return ctx.agency.register_case(request) if begun.still_owed else None

        if begun.unread:  # whether it is still owed is unknown: only an earlier try counts
            case = worker.call(ctx, find)
            if case is None:
                _not_sent(ctx, job, claim)
                return None
        else:
            try:
                case = worker.ensure(ctx, job, find, create)
            except CaseRejected as exc:
                _rejected(ctx, job, claim, exc)
                return None
        if case is None:
            ctx.report.moved[ClaimList.DROPPED.value] += 1
        else:
            ctx.report.moved[ClaimList.OPEN.value] += 1
            ctx.report.transferred.append(view(claim))
        return _Result(claim.id, request, case)

    def write_all(self, session: Session,
                  results: list[_Result | None]) -> list[jobs.JobState | None]:
        """The batch's results in a few statements: claims with a case go Open (and their
        status to the ERP), those whose invoice stopped being a claim go Dropped. Reads the
        claims afresh: after a rollback it runs again, a result at a time."""
        ctx, now = self.ctx, self.ctx.now()
        ids = [r.claim_id for r in results if r is not None and r.ended is None]
        claims = {row.id: row for chunk in chunks(ids) for row in session.scalars(
            select(ClaimRow).where(ClaimRow.id.in_(chunk),
                                   ClaimRow.state == ClaimState.TRANSFERRING.value))}
        opened: list[tuple[ClaimRow, str, dict[str, Any]]] = []
        dropped: list[tuple[ClaimRow, str, dict[str, Any]]] = []
        statuses: list[jobs.JobSpec] = []
        states: list[jobs.JobState | None] = []
        for result in results:
            if result is None or result.ended is not None:
                states.append(result.ended if result is not None else None)
                continue
            case, claim = result.case, claims.get(result.claim_id)
            states.append(jobs.JobState.CANCELLED if case is None else None)
            if claim is None:
                continue  # moved meanwhile: nothing left to record
            if case is None:
                dropped.append((claim, f"Invoice {claim.invoice_no} was paid, credited or "
                                "deleted before it reached the agency; not sent",
                                {"status": "No longer a claim"}))
                continue
            balance = result.request.balance
            opened.append((claim, f"Transferred to the agency as case {case.id}", {
                "status": case.status, "agency_case_id": case.id, "transferred_at": now,
                "obstacles": [], "balance_at_agency": balance}))
            statuses.append(status_job(claim, CaseStatus(
                invoice_id=claim.invoice_id, case_id=case.id, status_text=case.status,
                closed=False, balance_at_agency=balance)))
        ctx.claims.move_each(session, dropped, ClaimState.DROPPED, now)
        ctx.claims.move_each(session, opened, ClaimState.OPEN, now)
        show_in_erp(ctx, session, statuses, now)
        return states


@dataclass(frozen=True)
class _Result:
    """A transfer's outcome, written with its batch's others (``_Batch.write_all``)."""

    claim_id: int
    request: CaseRequest
    case: AgencyCase | None
    ended: jobs.JobState | None = None
    """Set when the job ended without a call."""


def _rejected(ctx: LinkContext, job: jobs.Job, claim: ClaimRow, exc: CaseRejected) -> None:
    """The agency refused: the claim goes back to Approved with the agency's reason (R7)."""
    _back_to_approved(ctx, job, claim, Obstacle(
        "agency_rejected", f"the agency rejected the case: {exc.reason}", exc.field),
        jobs.JobState.REJECTED, source="agency")


def _not_sent(ctx: LinkContext, job: jobs.Job, claim: ClaimRow) -> None:
    """An earlier try did not reach the agency, and the invoice is not in the mirror: the
    claim goes back to Approved with the reason, cancellable, until the invoice reads."""
    _back_to_approved(ctx, job, claim, unread(claim.invoice_no), jobs.JobState.CANCELLED,
                      source="connector")


def _back_to_approved(ctx: LinkContext, job: jobs.Job, claim: ClaimRow, obstacle: Obstacle,
                      end: jobs.JobState, source: str) -> None:
    """The claim back in Approved, blocked by ``obstacle``; its job ended as ``end``."""
    now = ctx.now()
    found = [obstacle.as_dict()]
    with ctx.tx() as session:
        ctx.claims.move(session, [claim], ClaimState.APPROVED, now, obstacle.message,
                        source=source, status=status_for(ClaimList.APPROVED, found),
                        values={"obstacles": found})
        jobs.finish(session, job.id, end, now, obstacle.message)
    ctx.report.blocked.append({**view(claim), "obstacles": found})


def _failed(ctx: LinkContext, job: jobs.Job, reason: str, state: jobs.JobState) -> None:
    """Unknown whether the agency got it: the claim stays uncancellable (R6) and shows that
    its transfer failed, with what happens next or the command that retries it."""
    now = ctx.now()
    if state is jobs.JobState.QUEUED:
        with ctx.tx() as session:
            run_after = session.scalar(select(JobRow.run_after).where(JobRow.id == job.id))
        when = ctx.local_time(run_after or now)
        then = f"the next `connector sync` after {when} tries again"
    else:
        then = f"gave up; `connector retry {job.id}` tries again"
    text = f"Transfer attempt {job.attempts} failed ({reason}); {then}"
    with ctx.tx() as session:
        claim = session.get(ClaimRow, job.payload["claim_id"])
        if claim is None:
            return
        if claim.state == ClaimState.TRANSFERRING.value:
            ctx.claims.move(session, [claim], ClaimState.TRANSFER_FAILED, now, text,
                            status=f"Transfer failed: {then}")
        else:  # failed before the transfer started: the claim is as it was
            ctx.claims.record(session, [HistoryLine(claim.id, now, "connector",
                                                    "transfer_failed", text)])


def pending_transfers(session: Session, link: str, now: datetime) -> list[ClaimRow]:
    """Claims whose transfer job is due now: what a dry run would send."""
    keys = select(JobRow.payload).where(
        JobRow.link == link, JobRow.kind == KIND, JobRow.state == jobs.JobState.QUEUED.value,
        JobRow.run_after <= now)
    ids: list[int] = [p["claim_id"] for p in session.scalars(keys)]
    rows: list[ClaimRow] = []
    for chunk in chunks(ids):  # one whose invoice is not in the mirror is not sent
        rows.extend(session.scalars(select(ClaimRow).join(
            InvoiceRow, (InvoiceRow.link == ClaimRow.link)
            & (InvoiceRow.erp_id == ClaimRow.invoice_id)).where(ClaimRow.id.in_(chunk))))
    return rows


def failures(session: Session, link: str, claims: Sequence[ClaimRow]) -> dict[int, dict[str, Any]]:
    """For each claim whose transfer failed: its job as it stands now, and the command that
    tries it again (``connector retry`` once it gave up, else the next ``connector sync``)."""
    failed = {job_key(c.invoice_id): c.id for c in claims
              if c.state == ClaimState.TRANSFER_FAILED.value}
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(sorted(failed)):
        for job in session.scalars(select(JobRow).where(JobRow.link == link,
                                                        JobRow.key.in_(chunk))):
            dead = job.state == jobs.JobState.DEAD.value
            found[failed[job.key]] = {
                "job_id": job.id, "job_state": job.state, "attempts": job.attempts,
                "error": job.last_error, "next_try": None if dead else job.run_after.isoformat(),
                "retry": f"connector retry {job.id}" if dead else "connector sync"}
    return found
