"""Operating the connector: ``retry`` dead jobs, list the installed ``adapters``."""

from __future__ import annotations

from typing import Annotated

import typer

from connector.cli.output import err, out, print_json, render_table
from connector.cli.root import JsonOpt, LinkOpt, app, runtime
from connector.errors import ConnectorError


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
