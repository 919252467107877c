"""The listings: claims (``cases``, ``case``), ``payouts``, ``errors`` and ``jobs``, each read
through ``connector.queries``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from connector import queries
from connector.cli.output import Column, out, print_json, render_table
from connector.cli.root import JsonOpt, LinkOpt, app, checked_ids, runtime
from connector.domain import ClaimList
from connector.errors import ConnectorError
from connector.jobs import JobState
from connector.plain import plain

LIST_ORDER = [ClaimList.DRAFT, ClaimList.APPROVED, ClaimList.OPEN, ClaimList.ARCHIVED]

CLAIM_COLUMNS: list[Column] = [
    ("id", "id"), ("invoice", "invoice_no"), ("customer", "customer_no"),
    ("amount", lambda r: f"{r['balance']} {r['currency']}"), ("due", "due_date"),
    ("status", "status")]


def claims_table(rows: list[dict[str, Any]], title: str) -> Table:
    return render_table(title, rows, CLAIM_COLUMNS, right=("id", "amount"))


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
    rows = [row for name in rt.link_names(link) for row in queries.claims(rt.store, name, lists)]
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
    rt = runtime()
    name = rt.settings.link(link).name
    data = queries.claim(rt.store, name, claim_id)
    if data is None:
        raise ConnectorError(f"no claim {claim_id} in link {name}")
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
    rows = queries.payouts(rt.store, rt.link_names(link))
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


@app.command()
def errors(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """List records that could not be handled, with the reason, until they come through."""
    rt = runtime()
    rows = queries.item_errors(rt.store, rt.link_names(link))
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
    rows = queries.jobs(rt.store, rt.link_names(link), state)
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Jobs ({len(rows)})", rows, [
        (c, c) for c in ("id", "link", "kind", "key", "state", "attempts", "last_error")]))
