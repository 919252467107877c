"""The user's actions on claims: approve, hold, restore, cancel, collect, and the agency's
pause, resume and withdraw."""

from __future__ import annotations

from typing import Annotated

import typer

from connector import actions
from connector.cli.output import err, out, print_json
from connector.cli.root import JsonOpt, LinkOpt, app, checked_ids, link_context
from connector.errors import ConnectorError
from connector.plain import plain


def report_result(outcome: actions.ActionResult, verb: str, as_json: bool = False) -> None:
    if as_json:
        print_json({"done": outcome.done, "refused": outcome.refused})
    else:
        if outcome.done:
            out.print(f"{verb}: " + ", ".join(f"#{i}" for i in outcome.done))
        for key, reason in outcome.refused.items():
            err.print(f"[red]refused[/] {plain(key)}: {plain(reason)}")
    if not outcome.ok:
        raise typer.Exit(1)


IdsArg = Annotated[list[int], typer.Argument(help="Claim ids, as `connector cases` shows them.",
                                              callback=checked_ids)]


@app.command()
def approve(
    ids: Annotated[list[int] | None, typer.Argument(help="Claim ids to approve.",
                                                    callback=checked_ids)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Approve every draft.")] = False,
    link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Approve drafts for transfer (R3); they wait the grace window first (R5)."""
    if not ids and not all_:
        raise ConnectorError("name claim ids to approve, or pass --all")
    with link_context(link) as ctx:
        report_result(actions.approve(ctx, None if all_ else ids or []), "approved", as_json)


@app.command()
def hold(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Hold drafts back from collection (R4); they stay held until restored."""
    with link_context(link) as ctx:
        report_result(actions.hold(ctx, ids), "held back", as_json)


@app.command()
def restore(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Put held-back claims back in Draft (R4)."""
    with link_context(link) as ctx:
        report_result(actions.restore(ctx, ids), "restored", as_json)


@app.command()
def cancel(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Stop approved claims inside their grace window (R5); refused once transferred (R6)."""
    with link_context(link) as ctx:
        report_result(actions.cancel(ctx, ids), "cancelled", as_json)


@app.command()
def collect(
    invoice_nos: Annotated[list[str], typer.Argument(help="Invoice numbers.")],
    link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Send invoices from the reminder flow to collection now (R10)."""
    with link_context(link) as ctx:
        report_result(actions.collect(ctx, invoice_nos), "entered", as_json)


def _at_agency(action: str, ids: list[int], link: str | None, as_json: bool) -> None:
    with link_context(link) as ctx:
        report_result(actions.at_agency(ctx, action, ids), actions.AGENCY_ACTIONS[action][1],
                       as_json)


@app.command()
def pause(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Pause Open cases at the agency, where its API allows it (R6)."""
    _at_agency("pause", ids, link, as_json)


@app.command()
def resume(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Resume paused cases at the agency, where its API allows it (R6)."""
    _at_agency("resume", ids, link, as_json)


@app.command()
def withdraw(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Withdraw Open cases from the agency, where its API allows it (R6)."""
    _at_agency("withdraw", ids, link, as_json)
