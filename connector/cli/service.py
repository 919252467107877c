"""Running the connector as a service: ``status`` of every link, the ``runs`` history,
the configured ``links``, and ``db upgrade``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from connector import runs
from connector.cli.output import out, print_json, render_table
from connector.cli.root import JsonOpt, LinkOpt, app, runtime
from connector.clock import SystemClock


def _failure_text(run: dict[str, Any] | None) -> str:
    if not run or not run["failures"]:
        return ""
    first = run["failures"][0]
    more = run["failure_count"] - 1
    return f"{first['item']}: {first['reason']}" + (f" (+{more} more)" if more else "")


@app.command()
def status(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Per link: last run and its outcome, last success, lag, failures, due and dead jobs,
    and the process holding its lease."""
    rt = runtime()
    rows = runs.status(rt.store, rt.link_names(link), SystemClock().now(), rt.clock.now())
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Links ({len(rows)})", rows, [
        ("link", "link"),
        ("last run", lambda r: r["last_run"]["outcome"] if r["last_run"] else "never"),
        ("at", lambda r: r["last_run"]["started_at"][:19] if r["last_run"] else ""),
        ("last success", lambda r: (r["last_success"] or "never")[:19]),
        ("lag", lambda r: "" if r["lag_s"] is None else f"{r['lag_s']:.0f}s"),
        ("failures", lambda r: _failure_text(r["last_run"])),
        ("errors", "open_item_errors"), ("due", "jobs_due"), ("dead", "jobs_dead"),
        ("lease", lambda r: r["lease_holder"] or "")], right=("errors", "due", "dead")))


@app.command(name="runs")
def runs_(
    link: LinkOpt = None,
    limit: Annotated[int, typer.Option(help="How many runs, newest first.", min=1,
                                       max=100_000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The history of sync passes: when, by which process, outcome, counts, failures."""
    rt = runtime()
    rows = runs.history(rt.store, rt.link_names(link), limit)
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Sync runs ({len(rows)})", rows, [
        ("id", "id"), ("link", "link"), ("started", lambda r: r["started_at"][:19]),
        ("took", lambda r: "" if r["duration_s"] is None else f"{r['duration_s']:.1f}s"),
        ("outcome", "outcome"),
        ("pulled", lambda r: sum(r["pulled"].values())),
        ("moved", lambda r: ", ".join(f"{n} → {k}" for k, n in sorted(r["moved"].items()))),
        ("sent", "transferred"), ("failed", "failure_count"),
        ("first failure", lambda r: _failure_text(r) or (r["error"] or "")),
        ("by", "holder")], right=("id", "pulled", "sent", "failed")))


@app.command()
def links(as_json: JsonOpt = False) -> None:
    """List the configured links (the main config's and each link file's): adapters, the
    file, the last run and the process syncing it now."""
    rt = runtime()
    names = [link.name for link in rt.settings.links]
    state = {row["link"]: row for row in runs.status(rt.store, names, SystemClock().now(),
                                                     rt.clock.now())}
    rows = [{"name": link.name, "erp": link.erp.adapter, "agency": link.agency.adapter,
             "file": link.file or rt.settings.source,
             "last_run": (state[link.name]["last_run"] or {}).get("outcome"),
             "last_success": state[link.name]["last_success"],
             "lease_holder": state[link.name]["lease_holder"]} for link in rt.settings.links]
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Links ({len(rows)})", rows, [
        ("name", "name"), ("erp", "erp"), ("agency", "agency"), ("file", "file"),
        ("last run", lambda r: r["last_run"] or "never"),
        ("synced by", lambda r: r["lease_holder"] or "")]))


db_app = typer.Typer(help="The store: bring its schema up to this connector's version.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Run the migrations the store lacks; safe while other processes start (they wait)."""
    from connector.cli.root import settings
    from connector.service import upgrade_store

    before, after = upgrade_store(settings().database_url)
    if as_json:
        print_json({"from": before, "to": after})
    elif before == after:
        out.print(f"the store's schema is current (revision {after})")
    else:
        out.print(f"the store's schema went from revision {before or 'none'} to {after}")
