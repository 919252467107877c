"""The Kravia plugin's commands: ``connector kravia webhook register``.

Added to the ``connector`` command through the ``connector_register_commands`` hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from connector.cli.output import out, print_json
from connector.cli.root import JsonOpt, LinkOpt, settings
from connector.config import LinkSettings
from connector.errors import UserError
from connector_adapters.kravia.adapter import KraviaAgency
from connector_adapters.kravia.settings import KraviaSettings

kravia_app = typer.Typer(help="Kravia: set up its webhook for a link.", no_args_is_help=True)
webhook_app = typer.Typer(help="The webhook Kravia calls when a creditor's case changes.",
                          no_args_is_help=True)
kravia_app.add_typer(webhook_app, name="webhook")


def register(app: typer.Typer) -> None:
    app.add_typer(kravia_app, name="kravia")


@webhook_app.command("register")
def register_webhook(
    url: Annotated[str | None, typer.Option(
        help="The public URL Kravia calls (default: the link's webhook_url setting).")] = None,
    disable: Annotated[bool, typer.Option(
        "--disable", help="Register it switched off: Kravia stops calling, polling goes on."
    )] = False,
    link: LinkOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Tell Kravia where to send case updates for the link's creditor, signed with the link's
    webhook_secret (PUT /creditor/{id}/webhook: one webhook per creditor, every event)."""
    config = settings()
    chosen = config.link(link) if link is not None else _only_kravia_link(config.links)
    if chosen.agency.adapter != "kravia":
        raise UserError(f"link {chosen.name} does not use the kravia agency adapter "
                        f"(it uses {chosen.agency.adapter!r})")
    kravia = KraviaSettings.parse(chosen.agency.options)
    target = url or kravia.webhook_url
    if not target:
        raise UserError(f"link {chosen.name}: give --url or set webhook_url in its agency "
                        "settings")
    if not target.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise UserError(f"the webhook URL must be https (got {target[:60]!r})")
    agency = KraviaAgency(kravia)
    try:
        agency.register_webhook(target, enabled=not disable)
    finally:
        agency.close()
    result = {"link": chosen.name, "creditor_id": kravia.creditor_id, "url": target,
              "enabled": not disable}
    if as_json:
        print_json(result)
    else:
        state = "switched off" if disable else "registered"
        out.print(f"Webhook {state} for creditor {kravia.creditor_id} of link {chosen.name}: "
                  f"{target}", markup=False, highlight=False)


def _only_kravia_link(links: Sequence[LinkSettings]) -> LinkSettings:
    """Without ``--link``: the one link on Kravia, or an error naming the choice."""
    chosen = [link for link in links if link.agency.adapter == "kravia"]
    if len(chosen) != 1:
        names = ", ".join(link.name for link in chosen) or "none"
        raise UserError(f"choose the link with --link (links on kravia: {names})")
    return chosen[0]
