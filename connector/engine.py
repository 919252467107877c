"""One sync pass of a link: the steps in order, each restartable from the store.

pull ERP changes (customers, invoices, letters, ledger) → pull agency changes, adopting
cases the store does not know → reconcile known claims → enter newly ready invoices →
queue transfers past their grace window → carry out due transfers → pull payouts → write
status back → book payouts → report direct payments and credit notes. The agency is read
before anything is entered or sent, so a store that lost claims the agency has never sends
them again (``connector.adoption``). A step that cannot reach its side is reported and the
pass goes on with what it has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from sqlalchemy import text

from connector import (
    agency_pull,
    classify,
    item_errors,
    jobs,
    ledger,
    pass_start,
    payouts,
    pull,
    transfer,
)
from connector.claims import view
from connector.clock import local_date
from connector.context import LinkContext
from connector.domain import ClaimState
from connector.errors import AdapterError, ConfigError
from connector.report import SyncReport
from connector.store.db import Store

log = structlog.get_logger(__name__)
T = TypeVar("T")

ANALYZE_AFTER = 10_000
"""Records read in one pass after which PostgreSQL's planner statistics are refreshed: right
after a first load it still believes the tables empty and plans every page as a full scan."""
CLASSIFIED = "classified"
"""Cursor marking the last classification: on a new local day every open invoice is re-read."""


def analyze(store: Store) -> None:
    if store.dialect == "postgresql":
        with store.session() as session:
            session.execute(text("ANALYZE customers, invoices, letters, claims"))


def _step(ctx: LinkContext, name: str, fn: Callable[[], T]) -> T | None:
    """Run a step that talks to one side; if that side fails, report it and go on."""
    ctx.keepalive()
    try:
        return fn()
    except (AdapterError, ConfigError) as exc:
        log.warning("step failed", link=ctx.link, step=name,
                    error=f"{type(exc).__name__}: {exc}")
        ctx.report.fail(name, ctx.link, f"{type(exc).__name__}: {exc}", f"{name} step")
        return None


def _read_agency(ctx: LinkContext, erp_read: bool) -> bool:
    """Pull the agency's changes, adopting cases the store lost; whether it was done.

    A case is adopted by the invoice its reference names, so only after the ERP's invoices
    were read in full; until the agency's cases are read nothing is sent (``adoption``)."""
    if not erp_read:
        ctx.report.fail("agency", ctx.link, "not read, and nothing sent: the agency's cases "
                        "are read only after the ERP's invoices")
        return False
    def pull_agency() -> bool:
        agency_pull.pull_agency(ctx)
        return True

    return _step(ctx, "agency", pull_agency) is not None


def sync(ctx: LinkContext) -> SyncReport:
    """Run one pass; in a dry run nothing reaches the store, the ERP or the agency."""
    report = ctx.report = SyncReport(ctx.link, ctx.dry_run, ctx.now())
    try:
        if not ctx.dry_run:
            ctx.deliver_events()  # those a crash left behind, before any new ones
        _pass(ctx)
        _report_open_failures(ctx)
    finally:
        ctx.known = None
        if ctx.dry_run:
            ctx.discard()
        report.finished_at = ctx.now()
    log.info("sync done", link=ctx.link, dry_run=ctx.dry_run, pulled=dict(report.pulled),
             moved=dict(report.moved), failures=len(report.failures))
    return report


def _report_open_failures(ctx: LinkContext) -> None:
    """Every record that cannot be handled right now is a failure of the pass, until fixed.

    Read only where there can be any: the pass start saw open item errors or dead jobs, or
    the pass stored item errors or had jobs to do (only those can have died). An idle link
    with nothing open reads nothing here."""
    known, report = ctx.known, ctx.report
    if known is None or not (known.errors_open or known.dead or known.unfinished):
        return
    with ctx.statement() as session:
        if known.errors_open:
            for error in item_errors.open_errors(session, ctx.link):
                report.fail(error.resource, error.key, error.reason,
                            item_errors.item_of(error.resource, error.key, error.raw))
        if known.dead or known.unfinished:
            for job in jobs.dead(session, ctx.link):
                report.fail(job.kind, job.key, f"gave up after {job.attempts} attempts "
                            f"({job.last_error}); `connector retry {job.id}` tries again",
                            jobs.item_of(job.kind, job.key, job.payload))


def _pass(ctx: LinkContext) -> None:
    with ctx.statement() as session:  # reads only: no transaction needed around them
        ctx.known = known = pass_start.read(session, ctx.link)
    before = known.company
    last = known.cursors.get(CLASSIFIED, (None, None))[0]
    ctx.company = _step(ctx, "company", lambda: pull.pull_company(ctx, before))
    if ctx.company is None:
        return
    erp_read = _step(ctx, "erp", lambda: pull.pull_erp(ctx))
    touched = erp_read or pull.Touched()
    if sum(ctx.report.pulled.values()) >= ANALYZE_AFTER and not ctx.dry_run:
        analyze(ctx.store)
    _step(ctx, "ledger", lambda: ledger.pull_ledger(ctx))
    agency_read = _read_agency(ctx, erp_read is not None)
    classify.reconcile(ctx, sorted(touched.invoices), sorted(touched.customers))
    new_day = last is None or local_date(last, ctx.company.timezone) != ctx.today()
    if new_day or before != ctx.company:
        classify.classify(ctx)
    else:
        classify.classify(ctx, sorted(touched.invoices), sorted(touched.customers))
    if new_day:  # only the local day of the last classification is ever compared
        with ctx.tx() as session:
            pull.set_cursor(session, ctx.link, CLASSIFIED, ctx.now(), ctx.now())
    if known.approved or ClaimState.APPROVED in ctx.claims.entered:
        _step(ctx, "schedule", lambda: transfer.schedule(ctx))
    if not ctx.dry_run and agency_read:
        _step(ctx, "transfer", lambda: transfer.run_transfers(ctx))
    _step(ctx, "payouts", lambda: payouts.fetch_payouts(ctx))
    if ctx.dry_run:
        with ctx.tx() as session:
            ctx.report.transferred = [
                view(c) for c in transfer.pending_transfers(session, ctx.link, ctx.now())]
            ctx.report.pending = jobs.due_counts(session, ctx.link, ctx.now())
        return
    _step(ctx, "status", lambda: agency_pull.write_statuses(ctx))
    _step(ctx, "payouts", lambda: payouts.book_payouts(ctx))
    _step(ctx, "reductions", lambda: ledger.report_reductions(ctx))

