"""``connector sync`` (one pass) and ``connector daemon`` (pass after pass)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from connector.cli.output import out, print_json
from connector.cli.root import JsonOpt, LinkOpt, app, runtime, settings
from connector.errors import ConnectorError
from connector.plain import plain
from connector.report import SyncReport
from connector.secrets import scrub


@app.command()
def sync(
    link: LinkOpt = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would move; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run one sync pass for each link (or the one named), then exit.

    Exits with status 1 when any item failed; the failures are listed."""
    from connector.passes import run_pass

    rt = runtime()
    reports = [run_pass(rt, name, dry_run=dry_run, warn=False) for name in rt.link_names(link)]
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
    title = f"[bold]{plain(report.link)}[/]" + (" [yellow](dry run: nothing written)[/]"
                                         if report.dry_run else "")
    out.print(title)
    pulled = ", ".join(f"{n} {k}" for k, n in sorted(report.pulled.items())) or "nothing new"
    out.print(f"  pulled: {pulled}")
    moved = ", ".join(f"{n} → {k}" for k, n in sorted(report.moved.items())) or "no claim moved"
    out.print(f"  moved: {moved}")
    if report.adopted:
        out.print(f"  [bold yellow]warning: the store did not know {report.adopted} of the "
                  "agency's cases (a new, emptied, restored or replaced store): adopted them "
                  "as claims, none is sent again[/]")
    verb = "would transfer" if report.dry_run else "transferred"
    out.print(f"  {verb}: {len(report.transferred)}")
    if report.blocked:
        out.print(f"  [yellow]blocked in Approved: {len(report.blocked)}[/]")
        for claim in report.blocked[:20]:
            reasons = "; ".join(o["message"] for o in claim["obstacles"])
            out.print(f"    #{claim['id']} invoice {plain(claim['invoice_no'])}: "
                      f"{plain(reasons)}")
    if report.failures:
        out.print(f"  [red]failed items: {len(report.failures)}[/]")
        for failure in report.failures[:SHOWN]:
            out.print(f"    {plain(failure.resource)} {plain(failure.key)}: "
                      f"{plain(failure.reason)}")
        if len(report.failures) > SHOWN:
            out.print(f"    … and {len(report.failures) - SHOWN} more: connector errors, "
                      "connector jobs, or --json")


def duration_option(name: str, value: str) -> timedelta:
    from connector.config import parse_duration

    try:
        return parse_duration(value, positive=True)
    except ValueError as exc:
        raise ConnectorError(f"{name}: {exc}") from None


@app.command()
def daemon(
    interval: Annotated[str, typer.Option(help="Pause between rounds over all links.")] = "5m",
    lease: Annotated[str, typer.Option(help="How long a link stays leased to this "
                                       "process while it syncs it.")] = "15m",
    rounds: Annotated[int | None, typer.Option(help="Stop after this many rounds "
                                               "(default: run until stopped).", min=1)] = None,
    stop_timeout: Annotated[str, typer.Option(
        help="After SIGTERM or Ctrl-C, how long the link in hand may take to finish before "
        "its work is handed back.")] = "30s",
    listen: Annotated[str | None, typer.Option(
        help="Serve /healthz, /readyz, /metrics and agency webhooks on HOST:PORT, e.g. "
        "127.0.0.1:8080 (default: no listener).")] = None,
) -> None:
    """Sync every link in turn, again and again, beside other daemons on the same store.

    SIGTERM or Ctrl-C finishes the link in hand (within --stop-timeout, else hands its
    work back) and exits 0; a second signal hands it back at once. Prints a summary when
    it stops; with --rounds, exits 1 if a link failed."""
    from connector import daemon as daemon_mod

    every = duration_option("--interval", interval)
    hold = duration_option("--lease", lease)
    from connector import budget, service
    from connector.runtime import Runtime

    stop = daemon_mod.Stop(duration_option("--stop-timeout", stop_timeout))
    config = settings(skip_broken=True)
    store = service.store_for_daemon(config.database_url)
    service.one_daemon_per_sqlite_store(store)
    budget.share_through(store)
    rt = Runtime(config, store=store)
    served = None
    if listen is not None:
        from connector import listener

        host, port = listener.parse_address(listen)
        served = listener.Listener(listener.app(rt, stop.wake), host, port)
        served.start()
    daemon_mod.stop_on_signals(stop)
    try:
        summary = daemon_mod.run(rt, every, hold, stop, rounds,
                                 reload=lambda: settings(skip_broken=True))
    finally:
        if served is not None:
            served.stop()
    for line in summary.lines():
        out.print(plain(scrub(line)), highlight=False, soft_wrap=True)
    if rounds is not None and summary.failed and not summary.interrupted:
        raise typer.Exit(1)
