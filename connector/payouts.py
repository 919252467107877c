"""Booking the agency's payouts in the ERP exactly once (R12, R13).

Each payout is recorded before anything is booked; then a ``payout:<agency id>`` job books
its voucher (after asking the ERP for one under the same external reference) and, once the
voucher is recorded, marks the payout booked at the agency. A crash between any two steps
resumes at the step that is missing.
"""

from __future__ import annotations

from sqlalchemy import select, update

from connector import item_errors, jobs, worker
from connector.bookkeeping import ClaimRef, payout_booking, voucher_reference
from connector.context import LinkContext
from connector.domain import Payout, PayoutLine, VoucherKind
from connector.errors import ConfigError
from connector.lifecycle import HistoryLine
from connector.ports import VOUCHER_CAPABILITY
from connector.store.db import upsert
from connector.store.schema import ClaimRow, PayoutRow

KIND = "payout"
PAYOUTS = "payouts"
"""The resource name of payouts, for the report and per-item errors alike."""
RECEIVED, BOOKED, MARKED, SKIPPED = "received", "booked", "marked", "skipped"


def fetch_payouts(ctx: LinkContext) -> None:
    """Record every unbooked payout the agency lists and queue its booking job; one that
    cannot be read is kept as an item error with its data, until it reads."""
    for page in ctx.agency.payouts():
        now = ctx.now()
        with ctx.tx() as session:
            upsert(session, PayoutRow, [
                {"link": ctx.link, "agency_id": p.id, "paid_on": p.paid_on,
                 "currency": p.currency, "net": p.net,
                 "lines": [ln.model_dump(mode="json") for ln in p.lines], "state": RECEIVED,
                 "voucher_reference": voucher_reference(p.id), "flagged": False,
                 "received_at": now} for p in page.items], keys=("link", "agency_id"))
            ctx.queue(session, [
                jobs.JobSpec(KIND, voucher_reference(p.id), {"payout_id": p.id})
                for p in page.items], now)
            if ctx.known is None or PAYOUTS in ctx.known.errors_open:
                item_errors.resolve(session, ctx.link, PAYOUTS, [p.id for p in page.items],
                                    now)
            item_errors.store(session, ctx.link, PAYOUTS,
                              [(r.key, r.reason, r.raw) for r in page.rejected], now)
        ctx.report.pulled[PAYOUTS] += len(page.items)


def book_payouts(ctx: LinkContext) -> None:
    booking = ctx.settings.booking
    if booking != "none" and VOUCHER_CAPABILITY[VoucherKind(booking)] not in ctx.erp.capabilities:
        raise ConfigError(
            f"link {ctx.link}: booking = {booking!r} but the ERP adapter cannot book "
            f"{'proposals' if booking == 'proposal' else 'posted vouchers'}; "
            "choose another booking or 'none'")
    worker.run(ctx, KIND, lambda job: _book(ctx, job))


def _load(ctx: LinkContext, agency_id: str) -> tuple[PayoutRow, Payout]:
    with ctx.tx() as session:
        row = session.scalars(select(PayoutRow).where(
            PayoutRow.link == ctx.link, PayoutRow.agency_id == agency_id)).one()
    return row, _as_payout(row)


def _as_payout(row: PayoutRow) -> Payout:
    """The payout as recorded: checked when it was read, not again (a check added since
    must not strand a payout recorded before it)."""
    return Payout.model_construct(
        id=row.agency_id, paid_on=row.paid_on, currency=row.currency,
        lines=[PayoutLine.model_validate(line) for line in row.lines],
        changed_at=row.received_at)


def _book(ctx: LinkContext, job: jobs.Job) -> None:
    row, payout = _load(ctx, job.payload["payout_id"])
    if row.state == RECEIVED:
        if ctx.settings.booking == "none":
            _skip(ctx, job, row)
            return
        _book_voucher(ctx, job, row, payout)
        row, payout = _load(ctx, payout.id)
    if row.state == BOOKED:
        voucher_id = row.voucher_id or ""
        worker.call(ctx, lambda: ctx.agency.mark_booked(payout.id, voucher_id))
        with ctx.tx() as session:
            session.execute(update(PayoutRow).where(PayoutRow.id == row.id).values(
                state=MARKED, marked_at=ctx.now()))
    with ctx.tx() as session:
        jobs.finish(session, job.id, jobs.JobState.DONE, ctx.now())


def _claims_for(ctx: LinkContext, payout: Payout) -> dict[str, ClaimRef]:
    references = {ln.reference for ln in payout.lines if ln.reference}
    with ctx.tx() as session:
        return {c.invoice_id: ClaimRef(c.id, c.customer_no, c.invoice_no,
                                       c.written_off - c.write_off_reversed)
                for c in session.scalars(select(ClaimRow).where(
                    ClaimRow.link == ctx.link, ClaimRow.invoice_id.in_(references)))}


def _book_voucher(ctx: LinkContext, job: jobs.Job, row: PayoutRow, payout: Payout) -> None:
    kind = VoucherKind(ctx.settings.booking)
    booking = payout_booking(payout, _claims_for(ctx, payout), ctx.settings.accounts, kind)
    voucher = booking.voucher
    receipt = worker.ensure(ctx, job, lambda: ctx.erp.find_voucher(voucher.reference),
                            lambda: ctx.erp.post_voucher(voucher))
    now = ctx.now()
    with ctx.tx() as session:
        done = session.execute(update(PayoutRow).where(
            PayoutRow.id == row.id, PayoutRow.state == RECEIVED).values(
            state=BOOKED, voucher_id=receipt.id, voucher_kind=receipt.kind.value,
            voucher=voucher.model_dump(mode="json"), flagged=voucher.flagged, booked_at=now))
        if not done.rowcount:  # type: ignore[attr-defined]
            return
        claims = {c.id: c for c in session.scalars(select(ClaimRow).where(
            ClaimRow.id.in_(list(booking.principal))))}
        ctx.claims.update(session, [
            {"id": cid, "write_off_reversed": claims[cid].write_off_reversed + amount}
            for cid, amount in booking.reversed.items()], now)
        ctx.claims.record(session, [
            HistoryLine(cid, now, "connector", "payout",
                        f"Payout {payout.id}: principal {amount} booked as "
                        f"{receipt.kind.value} voucher {receipt.id}"
                        + (f"; write-off reversal of {booking.reversed[cid]} proposed, flagged "
                           "for the accountant (R12)" if cid in booking.reversed else ""))
            for cid, amount in booking.principal.items()])
    ctx.report.moved["payouts booked"] += 1
    _notify(ctx, payout, receipt.kind.value, receipt.id)


def _skip(ctx: LinkContext, job: jobs.Job, row: PayoutRow) -> None:
    """``booking = "none"``: the payout is listed, not booked, and not marked at the agency."""
    with ctx.tx() as session:
        session.execute(update(PayoutRow).where(PayoutRow.id == row.id).values(state=SKIPPED))
        jobs.finish(session, job.id, jobs.JobState.DONE, ctx.now())
    _notify(ctx, _as_payout(row), SKIPPED, None)


def _notify(ctx: LinkContext, payout: Payout, state: str, voucher_id: str | None) -> None:
    if ctx.pm is not None:
        ctx.pm.hook.connector_payout_booked(link=ctx.link, payout={
            **payout.model_dump(mode="json"), "state": state, "voucher_id": voucher_id})

