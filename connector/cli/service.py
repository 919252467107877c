"""Running the connector as a service: ``status`` of every link, the ``runs`` history,
the configured ``links``."""

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
