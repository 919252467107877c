"""The mock plugin's commands: ``connector demo`` and ``connector mock load|advance|show``.

Added to the ``connector`` command through the ``connector_register_commands`` hook, the
way any plugin adds its own.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from connector import queries
from connector.cli.lists import LIST_ORDER, claims_table
from connector.cli.output import err, out, print_json, render_table
from connector.cli.root import JsonOpt, LinkOpt, runtime, settings
from connector.config import parse_duration
from connector.errors import ConnectorError
from connector.plain import plain, visible
from connector.ports import AdapterContext
from connector_adapters.mock.plugin import open_world, reset_world, world_path

mock_app = typer.Typer(help="Drive the mock world: load a scenario, move its clock, look at it.",
                       no_args_is_help=True)

DEMO_ROWS = 10


def register(app: typer.Typer) -> None:
    from connector_adapters.mock import event_commands

    app.command()(demo)
    event_commands.register(mock_app)
    app.add_typer(mock_app, name="mock")


def demo(
    days: Annotated[int, typer.Option(min=1, max=365, help="Simulated days to run.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the generated world and user.")] = 7,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the world.")] = 60,
    start: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="First simulated day (default: the day that makes the "
        "run end on a Monday morning).")] = None,
    link: LinkOpt = None,
    http: Annotated[bool, typer.Option(
        "--http", help="Run through the real PowerOffice Go and Kravia adapters, each "
        "against its emulator of the world over sockets on 127.0.0.1.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a fresh mock world through N simulated days, syncing every simulated hour.

    A scripted user approves most drafts each weekday at 09:00 and holds a few back.
    Ends with the four lists, the named obstacles and a summary."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from connector_adapters.mock.demo import run_demo

    rt = runtime()
    with Progress(TextColumn("[bold]demo[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} h"), TimeRemainingColumn(),
                  console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"{days} simulated days", total=days * 24)
        result = run_demo(rt, link, days, seed, customers, start.date() if start else None,
                          tick=lambda: progress.advance(task), http=http)
    rows = queries.claims(rt.store, result.link, LIST_ORDER)
    if as_json:
        print_json({"summary": result.__dict__, "claims": rows})
        return
    for which in LIST_ORDER:
        chosen = [r for r in rows if r["list"] == which.value]
        table = claims_table(chosen[:DEMO_ROWS], f"{which.value.title()} ({len(chosen)})")
        if len(chosen) > DEMO_ROWS:
            table.caption = (f"… and {len(chosen) - DEMO_ROWS} more: "
                             f"connector cases --list {which.value}")
        out.print(table)
    blocked = [r for r in rows if r["obstacles"]]
    out.print(f"[bold]Obstacles[/] ({len(blocked)} claims)")
    for row in blocked:
        reasons = "; ".join(o["message"] for o in row["obstacles"])
        out.print(f"  #{row['id']} invoice {plain(row['invoice_no'])} ({row['list']}): "
                  f"{plain(reasons)}")
    w, p = result.world, result.payouts
    outcomes = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(result.outcomes.items()))
    out.print(
        f"[bold]Summary[/] {result.days} days from {result.start[:10]}, {result.syncs} syncs, "
        f"seed {result.seed}: {w['customers']} customers, {w['invoices']} invoices, "
        f"{w['letters']} letters sent. The user approved {result.approved} and held back "
        f"{result.held}. Lists: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result.lists.items()))
        + f". Archived outcomes: {outcomes or 'none yet'}. Payouts: {p['received']} received, "
        f"{p['booked']} booked (net {p['net']} NOK), {p['flagged']} with a write-off reversal "
        f"to check; the accountant approved {result.proposals_approved} proposals. Direct "
        f"payments reported: {result.direct_payments}; write-offs: {result.write_offs}. "
        f"Agency cases {w['cases']}, duplicate cases {w['duplicates']}, duplicate vouchers "
        f"{w.get('duplicate_vouchers', 0)}; items with errors {result.failures}.")
    if http:
        po, kr = result.http["poweroffice"], result.http["kravia"]
        out.print(
            f"[bold]Over HTTP[/] PowerOffice Go emulator at {po['url']}: {po['requests']} "
            f"requests, {po['rate_limited']} answered 429, {po['tokens']} tokens; duplicate "
            f"vouchers {po['duplicate_vouchers']}, duplicate proposals "
            f"{po['duplicate_proposals']}. Kravia emulator at {kr['url']}: {kr['requests']} "
            f"requests, {kr['rate_limited']} answered 429; duplicate cases "
            f"{kr['duplicate_cases']}, duplicate reductions {kr['duplicate_reductions']}, "
            f"settlements bookkept twice {kr['bookkept_twice']}; webhooks accepted "
            f"{kr['webhooks_accepted']}, refused {kr['webhooks_refused']}.")


@mock_app.command("load")
def mock_load(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file (see docs/mock.md).")],
    link: LinkOpt = None,
) -> None:
    """Replace the mock world with the one a scenario file describes."""
    from connector_adapters.mock.scenario import load_scenario

    path = mock_world_path(link)
    world = reset_world(path, load_scenario(file))
    out.print(f"loaded {plain(file)} into {plain(path)}: {len(world.erp.customers)} customers, "
              f"{len(world.erp.invoices)} invoices, now {world.now.isoformat()}")


@mock_app.command("advance")
def mock_advance(
    duration: Annotated[str, typer.Argument(help="How far to move the clock: 2h, 14d, 1h30m.")],
    link: LinkOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the mock world's clock forward: the reminder flow and the agency run as days
    pass, and the timed events that fall due run in order."""
    from connector_adapters.mock.event_commands import describe, event_rows

    try:
        delta = parse_duration(duration)
    except ValueError as exc:
        raise ConnectorError(str(exc)) from None
    world = open_world(mock_world_path(link))
    ran = world.run_until(delta)
    if as_json:
        print_json({"now": world.now.isoformat(), "today": world.today.isoformat(),
                    "events": event_rows(ran)})
        return
    for scheduled in ran:
        out.print(visible(f"{scheduled.id} {scheduled.at.isoformat()} "
                          f"{describe(scheduled.event)}: {scheduled.state}: {scheduled.result}"),
                  markup=False, highlight=False)
    out.print(f"mock world now {world.now.isoformat()} (company day {world.today})")


@mock_app.command("show")
def mock_show(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Show the mock world: its time, company, counts, agency cases and duplicates, and the
    timed events still to come."""
    from connector_adapters.mock.event_commands import event_rows

    world = open_world(mock_world_path(link))
    summary = world.summary()
    coming = event_rows([s for s in world.events() if s.state == "pending"])
    if as_json:
        print_json({**summary, "events_to_come": coming})
        return
    table = Table(title="Mock world", title_justify="left", show_header=False)
    for key, value in summary.items():
        table.add_row(key, plain(json.dumps(value, default=str) if isinstance(value, dict)
                                 else value))
    out.print(table)
    out.print(render_table(f"Events to come ({len(coming)})", coming,
                           [("id", "id"), ("at", "at"), ("event", "event")]))


def mock_world_path(link: str | None) -> Path:
    chosen_settings = settings()
    chosen = chosen_settings.link(link)
    if chosen.erp.adapter != "mock":
        raise ConnectorError(f"link {chosen.name!r} does not use the mock ERP")
    return world_path(chosen.erp.options, AdapterContext(chosen.name, chosen_settings.state_dir))
