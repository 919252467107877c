"""Operating the connector: ``retry`` dead jobs, list the installed ``adapters``,
``check`` the store, show and break link ``lease``s."""

from __future__ import annotations

from typing import Annotated

import typer

from connector.cli.output import err, out, print_json, render_table
from connector.cli.root import JsonOpt, LinkOpt, app, checked_ids, runtime
from connector.errors import ConnectorError
from connector.plain import plain


@app.command()
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Job ids, as `connector jobs` "
                                                    "shows them.", callback=checked_ids)] = None,
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
                                rt.clock.now())
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


@app.command()
def check(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Check the store's integrity and each link against its agency; exit 1 on a problem.

    Reads the agency's cases once per link (paged): every Open claim must have its case,
    and every case of the link must be a claim in the store."""
    from connector.check import check_link, check_store

    rt = runtime()
    problems = check_store(rt.store)
    for name in rt.link_names(link):
        with rt.link(name) as ctx:
            problems += check_link(ctx)
    if as_json:
        print_json([{"where": p.where, "problem": p.text} for p in problems])
    elif problems:
        for problem in problems:
            err.print(f"[red]problem[/] {plain(problem.where)}: {plain(problem.text)}")
    else:
        out.print("store and links consistent")
    if problems:
        raise typer.Exit(1)


lease_app = typer.Typer(help="Link leases: which process syncs a link now; break a stale one.",
                        no_args_is_help=True)
app.add_typer(lease_app, name="lease")


@lease_app.command("show")
def lease_show(as_json: JsonOpt = False) -> None:
    """List the link leases in the store: holder (host:pid) and when each runs out (one
    already run out is free for the next process)."""
    from connector.daemon import leases

    rows = [{"link": r.link, "holder": r.holder, "until": r.until.isoformat()}
            for r in leases(runtime().store)]
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Leases ({len(rows)})", rows,
                           [("link", "link"), ("holder", "holder"), ("until", "until")]))


@lease_app.command("break")
def lease_break(link: Annotated[str, typer.Argument(help="The link whose lease to break.")]
                ) -> None:
    """Free a link whose holder is gone (kill -9, a crash on another host) without waiting
    for the lease to run out. A holder still running stops at its next renewal."""
    from connector.daemon import break_lease

    rt = runtime()
    rt.link_names(link)
    broken = break_lease(rt.store, link)
    if broken is None:
        out.print(f"link {plain(link)} was not leased")
    else:
        out.print(f"lease of link {plain(link)} broken (was held by {plain(broken.holder)} "
                  f"until {broken.until.isoformat()})")
