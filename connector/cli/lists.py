"""The listings: claims (``cases``, ``case``), ``payouts``, ``errors`` and ``jobs``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from connector import transfer
from connector.agency_pull import claim_view_with_agency
from connector.claims import history, view
from connector.cli.output import Column, out, print_json, render_table
from connector.cli.root import JsonOpt, LinkOpt, app, checked_ids, link_context, runtime
from connector.context import LinkContext
from connector.domain import ClaimList
from connector.errors import ConnectorError
from connector.item_errors import open_errors
from connector.jobs import JobState
from connector.plain import plain
from connector.store.schema import ClaimRow, JobRow, PayoutRow

LIST_ORDER = [ClaimList.DRAFT, ClaimList.APPROVED, ClaimList.OPEN, ClaimList.ARCHIVED]

CLAIM_COLUMNS: list[Column] = [
    ("id", "id"), ("invoice", "invoice_no"), ("customer", "customer_no"),
    ("amount", lambda r: f"{r['balance']} {r['currency']}"), ("due", "due_date"),
    ("status", "status")]


def claims_table(rows: list[dict[str, Any]], title: str) -> Table:
    return render_table(title, rows, CLAIM_COLUMNS, right=("id", "amount"))


def fetch_claims(ctx: LinkContext, lists: list[ClaimList]) -> list[dict[str, Any]]:
    """The claims of ``lists``; one whose transfer failed carries its job and the command
    that retries it (``transfer``)."""
    with ctx.tx() as session:
        rows = list(session.scalars(select(ClaimRow).where(
            ClaimRow.link == ctx.link, ClaimRow.list_name.in_([x.value for x in lists]))
            .order_by(ClaimRow.id)))
        failed = transfer.failures(session, ctx.link, rows)
        return [{**view(r), "transfer": failed.get(r.id)} for r in rows]


@app.command()
def cases(
    list_name: Annotated[ClaimList | None, typer.Option(
        "--list", help="Only this list (held and dropped are shown only when asked).")] = None,
    link: LinkOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List claims: Draft, Approved, Open and Archived, or the one list asked for."""
    rt = runtime()
    lists = [list_name] if list_name else LIST_ORDER
    rows: list[dict[str, Any]] = []
    for name in rt.link_names(link):
        with rt.link(name) as ctx:
            rows.extend(fetch_claims(ctx, lists))
    if as_json:
        print_json(rows)
        return
    for which in lists:
        chosen = [r for r in rows if r["list"] == which.value]
        out.print(claims_table(chosen, f"{which.value.title()} ({len(chosen)})"))


@app.command()
def case(claim_id: Annotated[int, typer.Argument(help="The claim's id, as `connector cases` "
                                                 "shows it.", callback=checked_ids)],
         link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Show one claim with its obstacles and whole history."""
    with link_context(link) as ctx, ctx.tx() as session:
        row = session.get(ClaimRow, claim_id)
        if row is None or row.link != ctx.link:
            raise ConnectorError(f"no claim {claim_id} in link {ctx.link}")
        data = claim_view_with_agency(row)
        data["transfer"] = transfer.failures(session, ctx.link, [row]).get(row.id)
        data["history"] = [
            {"at": e.at.isoformat(), "source": e.source, "kind": e.kind, "text": e.text}
            for e in history(session, claim_id)]
    if as_json:
        print_json(data)
        return
    shown = {k: plain(v) for k, v in data.items() if not isinstance(v, list | dict)}
    out.print(f"[bold]Claim {shown['id']}[/] — invoice {shown['invoice_no']}, customer "
              f"{shown['customer_no']}, {shown['balance']} of {shown['amount']} "
              f"{shown['currency']}, due {shown['due_date']}")
    out.print(f"List: {shown['list'].title()}   Status: {shown['status']}")
    if data["transfer"]:
        failed = data["transfer"]
        out.print(f"[red]Transfer failed[/] after {failed['attempts']} attempt(s): "
                  f"{plain(failed['error'])}; job {failed['job_id']} is "
                  f"{failed['job_state']}; `{plain(failed['retry'])}` tries again")
    if data["agency_case_id"]:
        paused = " (paused)" if data["paused"] else ""
        out.print(f"Agency case: {shown['agency_case_id']}{paused}   balance at the agency: "
                  f"{shown['balance_at_agency']}   remaining principal: "
                  f"{shown['remaining_principal']}")
    if data["outcome"]:
        out.print(f"Outcome: {shown['outcome'].replace('_', ' ')}")
    if data["written_off"] != "0.00":
        out.print(f"Written off in the ERP: {shown['written_off']} (R12)")
    for obstacle in data["obstacles"]:
        out.print(f"[yellow]Obstacle:[/] {plain(obstacle['message'])}")
    out.print(render_table("History", data["history"], [
        ("at", lambda e: e["at"][:16].replace("T", " ")), ("by", "source"), ("what", "text")]))


@app.command(name="payouts")
def payouts_(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """List the agency's payouts: lines, net, and how each was booked (R13)."""
    rt = runtime()
    names = rt.link_names(link)
    with rt.store.session() as session:
        rows = [payout_view(p) for p in session.scalars(
            select(PayoutRow).where(PayoutRow.link.in_(names)).order_by(PayoutRow.id))]
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Payouts ({len(rows)})", rows, [
        ("id", "agency_id"), ("link", "link"), ("paid on", "paid_on"),
        ("net", lambda r: f"{r['net']} {r['currency']}"),
        ("lines", lambda r: ", ".join(f"{ln['kind']} {ln['amount']}" for ln in r["lines"])),
        ("voucher", lambda r: {"received": "not booked yet", "skipped": "skipped (booking = none)"}
         .get(r["state"], f"{r['voucher_kind']} {r['voucher_id']}")),
        ("agency told", lambda r: "yes" if r["state"] == "marked" else "no"),
        ("check", lambda r: "write-off reversal" if r["flagged"] else "")], right=("net",)))


def payout_view(row: PayoutRow) -> dict[str, Any]:
    return {"id": row.id, "agency_id": row.agency_id, "link": row.link,
            "paid_on": row.paid_on.isoformat(), "currency": row.currency, "net": str(row.net),
            "lines": row.lines, "state": row.state, "voucher_reference": row.voucher_reference,
            "voucher_id": row.voucher_id, "voucher_kind": row.voucher_kind,
            "voucher": row.voucher, "flagged": row.flagged}


@app.command()
def errors(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """List records that could not be handled, with the reason, until they come through."""
    rt = runtime()
    rows: list[dict[str, Any]] = []
    for name in rt.link_names(link):
        with rt.store.session() as session:
            rows.extend({"link": e.link, "resource": e.resource, "key": e.key,
                         "reason": e.reason, "first_seen": e.first_seen.isoformat(),
                         "last_seen": e.last_seen.isoformat(), "raw": e.raw}
                        for e in open_errors(session, name))
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Open item errors ({len(rows)})", rows, [
        ("link", "link"), ("resource", "resource"), ("key", "key"), ("reason", "reason")]))


def job_state(value: str | None) -> str | None:
    """A typer callback: an unknown state is refused, naming the ones there are."""
    if value is not None and value not in set(JobState):
        raise ConnectorError(f"--state: {value!r} is not a job state; use one of "
                             + ", ".join(JobState))
    return value


@app.command(name="jobs")
def jobs_(
    state: Annotated[str | None, typer.Option(help="Only jobs in this state: "
                                              + ", ".join(JobState), callback=job_state)] = None,
    link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """List durable jobs (transfers…) with their state, attempts and last error."""
    rt = runtime()
    names = rt.link_names(link)
    with rt.store.session() as session:
        query = select(JobRow).where(JobRow.link.in_(names)).order_by(JobRow.id)
        if state:
            query = query.where(JobRow.state == state)
        rows = [{"id": j.id, "link": j.link, "kind": j.kind, "key": j.key, "state": j.state,
                 "attempts": j.attempts, "run_after": j.run_after.isoformat(),
                 "last_error": j.last_error} for j in session.scalars(query)]
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Jobs ({len(rows)})", rows, [
        (c, c) for c in ("id", "link", "kind", "key", "state", "attempts", "last_error")]))
