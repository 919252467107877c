"""The ``connector`` command: a thin shell over the engine, the actions and the store."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from connector import actions, engine
from connector.agency_pull import claim_view_with_agency
from connector.claims import history, view
from connector.config import load_settings
from connector.context import LinkContext
from connector.domain import ClaimList
from connector.errors import ConnectorError
from connector.item_errors import open_errors
from connector.logs import configure_logging
from connector.plain import error_line
from connector.report import SyncReport
from connector.runtime import Runtime
from connector.secrets import scrub
from connector.store.schema import ClaimRow, JobRow, PayoutRow

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
mock_app = typer.Typer(help="Drive the mock world: load a scenario, move its clock, look at it.",
                       no_args_is_help=True)
app.add_typer(mock_app, name="mock")
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)

LIST_ORDER = [ClaimList.DRAFT, ClaimList.APPROVED, ClaimList.OPEN, ClaimList.ARCHIVED]

LinkOpt = Annotated[str | None, typer.Option(
    "--link", "-l", help="Link name (default: every link, or the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class State:
    config: Path | None = None


@app.callback()
def main_options(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Config file (else $CONNECTOR_CONFIG, ./connector.toml, "
        "the built-in mock demo link).")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="More log output on stderr (-v, -vv).")] = 0,
) -> None:
    """Connect an ERP with a debt-collection agency: overdue invoices become collection cases,
    and the agency's status comes back."""
    State.config = config
    configure_logging(verbose)


def runtime() -> Runtime:
    return Runtime(load_settings(State.config))


@contextmanager
def link_context(name: str | None, dry_run: bool = False) -> Iterator[LinkContext]:
    with runtime().link(name, dry_run=dry_run) as ctx:
        yield ctx


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


Column = tuple[str, str | Callable[[dict[str, Any]], Any]]


def render_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
                 right: Sequence[str] = ()) -> Table:
    """A table of ``rows``; each column reads a key of the row or computes from it."""
    table = Table(title=title, title_justify="left")
    for header, _ in columns:
        table.add_column(header, justify="right" if header in right else "left")
    for row in rows:
        cells = [get(row) if callable(get) else row.get(get) for _, get in columns]
        table.add_row(*("" if cell is None else str(cell) for cell in cells))
    return table


# ---------------------------------------------------------------- sync


@app.command()
def sync(
    link: LinkOpt = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would move; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run one sync pass for each link (or the one named), then exit.

    Exits with status 1 when any item failed; the failures are listed."""
    from connector.daemon import leased

    rt = runtime()
    reports: list[SyncReport] = []
    for name in rt.link_names(link):
        with leased(rt.store, name) as renew, rt.link(name, dry_run=dry_run) as ctx:
            ctx.keepalive = renew
            reports.append(engine.sync(ctx))
    if as_json:
        print_json([r.as_dict() for r in reports])
    else:
        for report in reports:
            show_report(report)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


SHOWN = 30
"""Failures printed per link; --json and `connector errors` have them all."""


def show_report(report: SyncReport) -> None:
    title = f"[bold]{report.link}[/]" + (" [yellow](dry run: nothing written)[/]"
                                         if report.dry_run else "")
    out.print(title)
    pulled = ", ".join(f"{n} {k}" for k, n in sorted(report.pulled.items())) or "nothing new"
    out.print(f"  pulled: {pulled}")
    moved = ", ".join(f"{n} → {k}" for k, n in sorted(report.moved.items())) or "no claim moved"
    out.print(f"  moved: {moved}")
    verb = "would transfer" if report.dry_run else "transferred"
    out.print(f"  {verb}: {len(report.transferred)}")
    if report.blocked:
        out.print(f"  [yellow]blocked in Approved: {len(report.blocked)}[/]")
        for claim in report.blocked[:20]:
            reasons = "; ".join(o["message"] for o in claim["obstacles"])
            out.print(f"    #{claim['id']} invoice {claim['invoice_no']}: {reasons}")
    if report.failures:
        out.print(f"  [red]failed items: {len(report.failures)}[/]")
        for failure in report.failures[:SHOWN]:
            out.print(f"    {failure.resource} {failure.key}: {failure.reason}")
        if len(report.failures) > SHOWN:
            out.print(f"    … and {len(report.failures) - SHOWN} more: connector errors, "
                      "connector jobs, or --json")


@app.command()
def daemon(
    interval: Annotated[str, typer.Option(help="Pause between rounds over all links.")] = "5m",
    lease: Annotated[str, typer.Option(help="How long a link stays leased to this "
                                       "process while it syncs it.")] = "15m",
    rounds: Annotated[int | None, typer.Option(help="Stop after this many rounds "
                                               "(default: run until stopped).")] = None,
) -> None:
    """Sync every link in turn, again and again, beside other daemons on the same store.

    SIGTERM or Ctrl-C finishes the link in hand and stops."""
    import threading

    from connector import daemon as daemon_mod
    from connector.config import parse_duration

    try:
        every = parse_duration(interval, positive=True)
    except ValueError as exc:
        raise ConnectorError(f"--interval: {exc}") from None
    try:
        hold = parse_duration(lease, positive=True)
    except ValueError as exc:
        raise ConnectorError(f"--lease: {exc}") from None
    stop = threading.Event()
    daemon_mod.stop_on_signals(stop)
    failed = daemon_mod.run(runtime(), every, hold, stop, rounds)
    if rounds is not None and failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------- lists


CLAIM_COLUMNS: list[Column] = [
    ("id", "id"), ("invoice", "invoice_no"), ("customer", "customer_no"),
    ("amount", lambda r: f"{r['balance']} {r['currency']}"), ("due", "due_date"),
    ("status", "status")]


def claims_table(rows: list[dict[str, Any]], title: str) -> Table:
    return render_table(title, rows, CLAIM_COLUMNS, right=("id", "amount"))


def fetch_claims(ctx: LinkContext, lists: list[ClaimList]) -> list[dict[str, Any]]:
    with ctx.tx() as session:
        rows = session.scalars(select(ClaimRow).where(
            ClaimRow.link == ctx.link, ClaimRow.list_name.in_([x.value for x in lists]))
            .order_by(ClaimRow.id))
        return [view(r) for r in rows]


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
def case(claim_id: int, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Show one claim with its obstacles and whole history."""
    with link_context(link) as ctx, ctx.tx() as session:
        row = session.get(ClaimRow, claim_id)
        if row is None or row.link != ctx.link:
            raise ConnectorError(f"no claim {claim_id} in link {ctx.link}")
        data = claim_view_with_agency(row)
        data["history"] = [
            {"at": e.at.isoformat(), "source": e.source, "kind": e.kind, "text": e.text}
            for e in history(session, claim_id)]
    if as_json:
        print_json(data)
        return
    out.print(f"[bold]Claim {data['id']}[/] — invoice {data['invoice_no']}, customer "
              f"{data['customer_no']}, {data['balance']} of {data['amount']} {data['currency']}, "
              f"due {data['due_date']}")
    out.print(f"List: {data['list'].title()}   Status: {data['status']}")
    if data["agency_case_id"]:
        paused = " (paused)" if data["paused"] else ""
        out.print(f"Agency case: {data['agency_case_id']}{paused}   balance at the agency: "
                  f"{data['balance_at_agency']}   remaining principal: "
                  f"{data['remaining_principal']}")
    if data["outcome"]:
        out.print(f"Outcome: {data['outcome'].replace('_', ' ')}")
    if data["written_off"] != "0.00":
        out.print(f"Written off in the ERP: {data['written_off']} (R12)")
    for obstacle in data["obstacles"]:
        out.print(f"[yellow]Obstacle:[/] {obstacle['message']}")
    out.print(render_table("History", data["history"], [
        ("at", lambda e: e["at"][:16].replace("T", " ")), ("by", "source"), ("what", "text")]))


# ---------------------------------------------------------------- actions


def report_outcome(outcome: actions.Outcome, verb: str, as_json: bool = False) -> None:
    if as_json:
        print_json({"done": outcome.done, "refused": outcome.refused})
    else:
        if outcome.done:
            out.print(f"{verb}: " + ", ".join(f"#{i}" for i in outcome.done))
        for key, reason in outcome.refused.items():
            err.print(f"[red]refused[/] {key}: {reason}")
    if not outcome.ok:
        raise typer.Exit(1)


IdsArg = Annotated[list[int], typer.Argument(help="Claim ids, as `connector cases` shows them.")]


@app.command()
def approve(
    ids: Annotated[list[int] | None, typer.Argument(help="Claim ids to approve.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Approve every draft.")] = False,
    link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Approve drafts for transfer (R3); they wait the grace window first (R5)."""
    if not ids and not all_:
        raise ConnectorError("name claim ids to approve, or pass --all")
    with link_context(link) as ctx:
        report_outcome(actions.approve(ctx, None if all_ else ids or []), "approved", as_json)


@app.command()
def hold(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Hold drafts back from collection (R4); they stay held until restored."""
    with link_context(link) as ctx:
        report_outcome(actions.hold(ctx, ids), "held back", as_json)


@app.command()
def restore(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Put held-back claims back in Draft (R4)."""
    with link_context(link) as ctx:
        report_outcome(actions.restore(ctx, ids), "restored", as_json)


@app.command()
def cancel(ids: IdsArg, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Stop approved claims inside their grace window (R5); refused once transferred (R6)."""
    with link_context(link) as ctx:
        report_outcome(actions.cancel(ctx, ids), "cancelled", as_json)


@app.command()
def collect(
    invoice_nos: Annotated[list[str], typer.Argument(help="Invoice numbers.")],
    link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Send invoices from the reminder flow to collection now (R10)."""
    with link_context(link) as ctx:
        report_outcome(actions.collect(ctx, invoice_nos), "entered", as_json)


def _at_agency(action: str, ids: list[int], link: str | None, as_json: bool) -> None:
    with link_context(link) as ctx:
        report_outcome(actions.at_agency(ctx, action, ids), actions.AGENCY_ACTIONS[action][1],
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


# ---------------------------------------------------------------- inspection


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


@app.command(name="jobs")
def jobs_(
    state: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
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


@app.command()
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Job ids, as `connector jobs` "
                                                    "shows them.")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Every dead job.")] = False,
    link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Queue dead jobs again; the next try first asks the other side whether it is done."""
    from connector import jobs as jobs_mod

    if not ids and not all_dead:
        raise ConnectorError("name job ids to retry, or pass --all")
    rt = runtime()
    with rt.store.session() as session:
        queued = jobs_mod.retry(session, rt.link_names(link), None if all_dead else ids,
                                datetime.now(UTC))
    missing = sorted(set(ids or []) - set(queued))
    if as_json:
        print_json({"queued": queued, "not_dead": missing})
    else:
        out.print("queued again: " + (", ".join(f"#{i}" for i in queued) or "none"))
        for job_id in missing:
            err.print(f"[red]refused[/] {job_id}: no dead job {job_id}")
    if missing:
        raise typer.Exit(1)


@app.command()
def adapters(as_json: JsonOpt = False) -> None:
    """List installed adapters: side, name, package, capabilities."""
    from connector.registry import load_registry

    infos = load_registry().all()
    rows = [{"side": a.side, "name": a.name, "package": a.package, "plugin": a.plugin,
             "capabilities": sorted(a.capabilities), "usable": a.usable, "summary": a.summary}
            for a in infos]
    if as_json:
        print_json(rows)
        return
    out.print(render_table("Installed adapters", rows, [
        ("side", "side"), ("name", "name"), ("package", "package"),
        ("capabilities", lambda r: ", ".join(r["capabilities"]) or "—"),
        ("usable", lambda r: "yes" if r["usable"] else "not yet"), ("summary", "summary")]))


DEMO_ROWS = 10


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, max=365, help="Simulated days to run.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the generated world and user.")] = 7,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the world.")] = 60,
    start: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="First simulated day (default: the day that makes the "
        "run end on a Monday morning).")] = None,
    link: LinkOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a fresh mock world through N simulated days, syncing every simulated hour.

    A scripted user approves most drafts each weekday at 09:00 and holds a few back.
    Ends with the four lists, the named obstacles and a summary."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from connector.demo import run_demo

    rt = runtime()
    with Progress(TextColumn("[bold]demo[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} h"), TimeRemainingColumn(),
                  console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"{days} simulated days", total=days * 24)
        result = run_demo(rt, link, days, seed, customers, start.date() if start else None,
                          tick=lambda: progress.advance(task))
    with rt.link(result.link) as ctx:
        rows = fetch_claims(ctx, [*LIST_ORDER])
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
        out.print(f"  #{row['id']} invoice {row['invoice_no']} ({row['list']}): {reasons}")
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


@mock_app.command("load")
def mock_load(
    file: Annotated[Path, typer.Argument(help="Scenario TOML file (see docs/mock.md).")],
    link: LinkOpt = None,
) -> None:
    """Replace the mock world with the one a scenario file describes."""
    from connector_adapters.mock.plugin import reset_world
    from connector_adapters.mock.scenario import load_scenario

    path = mock_world_path(link)
    world = reset_world(path, load_scenario(file))
    out.print(f"loaded {file} into {path}: {len(world.customers)} customers, "
              f"{len(world.invoices)} invoices, now {world.now.isoformat()}")


@mock_app.command("advance")
def mock_advance(
    duration: Annotated[str, typer.Argument(help="How far to move the clock: 2h, 14d, 1h30m.")],
    link: LinkOpt = None,
) -> None:
    """Move the mock world's clock forward; its reminder flow runs as days pass."""
    from connector.config import parse_duration
    from connector_adapters.mock.plugin import open_world

    try:
        delta = parse_duration(duration)
    except ValueError as exc:
        raise ConnectorError(str(exc)) from None
    path = mock_world_path(link)
    world = open_world(path)
    world.advance(delta)
    world.save(path)
    out.print(f"mock world now {world.now.isoformat()} (company day {world.today})")


@mock_app.command("show")
def mock_show(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Show the mock world: its time, company, counts, agency cases and duplicates."""
    from connector_adapters.mock.plugin import open_world

    summary = open_world(mock_world_path(link)).summary()
    if as_json:
        print_json(summary)
        return
    table = Table(title="Mock world", title_justify="left", show_header=False)
    for key, value in summary.items():
        table.add_row(key, json.dumps(value, default=str) if isinstance(value, dict)
                      else str(value))
    out.print(table)


def mock_world_path(link: str | None) -> Path:
    from connector.ports import AdapterContext
    from connector_adapters.mock.plugin import world_path

    settings = load_settings(State.config)
    chosen = settings.link(link)
    if chosen.erp.adapter != "mock":
        raise ConnectorError(f"link {chosen.name!r} does not use the mock ERP")
    return world_path(chosen.erp.options, AdapterContext(chosen.name, settings.state_dir))


def main() -> None:
    """Console entry point: known errors become one plain line and exit status 2; anything
    else a traceback without local variables and with every secret scrubbed."""
    try:
        app()
    except ConnectorError as exc:
        fail(error_line(exc))
    except SQLAlchemyError as exc:
        # The driver's first line names the problem; never the URL, which may hold a password.
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"the store cannot be used: {type(exc).__name__}: {error_line(first)}")
    except Exception:
        err.print(scrub(traceback.format_exc()), markup=False, highlight=False,
                  soft_wrap=True, emoji=False)
        sys.exit(1)


def fail(message: str) -> NoReturn:
    err.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True, highlight=False)
    sys.exit(2)
