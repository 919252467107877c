"""``connector mock <event>``: one command per kind of event in the mock world (``events``).

Each acts now, or at ``--at`` a time of the world's clock (kept in the world and run by
``connector mock advance``); each prints what changed, or with ``--json`` the event and
its result. A bad argument is one line naming the field, and nothing changes.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

from connector.cli.output import out, print_json, render_table
from connector.cli.root import JsonOpt, LinkOpt
from connector.config import parse_duration
from connector.errors import UserError
from connector.plain import visible
from connector_adapters.mock.events import EVENTS, Event, Scheduled, first_problem
from connector_adapters.mock.plugin import open_world
from connector_adapters.mock.world import World

AtOpt = Annotated[str | None, typer.Option(
    "--at", help="When it happens: +2h or +3d from the world's time, or a date or time "
    "(2026-03-05, 2026-03-05T10:00) in the company's zone. Default: now.")]
AmountArg = Annotated[str | None, typer.Argument(
    help="Amount, e.g. 250.00 (default: the whole balance).")]

agency_app = typer.Typer(help="What the agency does: a debtor pays it, it closes, rejects, "
                         "pays out.", no_args_is_help=True)
proposals_app = typer.Typer(help="The accountant and the bookkeeping proposals (R13).",
                            no_args_is_help=True)
invoice_app = typer.Typer(help="Issue invoices in the mock ERP.", no_args_is_help=True)


def register(mock_app: typer.Typer) -> None:
    for name, command in (("pay", pay), ("credit", credit), ("write-off", write_off),
                          ("book", book),
                          ("delete", delete), ("customer", customer), ("exclude", exclude),
                          ("include", include), ("reminders", reminders), ("fault", fault),
                          ("events", events)):
        mock_app.command(name)(command)
    mock_app.add_typer(invoice_app, name="invoice")
    mock_app.add_typer(agency_app, name="agency")
    mock_app.add_typer(proposals_app, name="proposals")


def parse_event(data: dict[str, Any]) -> Event:
    """The event ``data`` describes; a bad field is one line naming it."""
    try:
        return EVENTS.validate_python({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        field, problem = first_problem(exc)
        raise UserError(f"{field}: {problem}") from None


def parse_at(text: str, world: World) -> datetime:
    """``+2h`` / ``+3d`` from the world's time, or an ISO date or time (company zone when
    it names none)."""
    spec = text.strip()
    if spec.startswith("+"):
        try:
            return world.now + parse_duration(spec[1:])
        except ValueError as exc:
            raise UserError(f"at: {exc}") from None
    zone = ZoneInfo(world.erp.company.timezone)
    try:
        moment = datetime.fromisoformat(spec)
    except ValueError:
        raise UserError(f"at: {text!r} is not +DURATION, a date or a time "
                        "(2026-03-05T10:00)") from None
    if len(spec) == 10:
        moment = datetime.combine(moment.date(), time(), tzinfo=zone)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def act(link: str | None, data: dict[str, Any], at: str | None, as_json: bool) -> None:
    """Run the event now or keep it for ``at``; print what changed."""
    from connector_adapters.mock.commands import mock_world_path

    event = parse_event(data)
    world = open_world(mock_world_path(link))
    if at is None:
        changed = world.apply(event)
        if as_json:
            print_json({"event": event.model_dump(mode="json"), "at": world.now.isoformat(),
                        "state": "done", "result": changed})
        else:
            out.print(visible(changed), markup=False, highlight=False)
        return
    scheduled = world.schedule(event, parse_at(at, world))
    if as_json:
        print_json(scheduled.model_dump(mode="json"))
    else:
        out.print(visible(f"{scheduled.id} at {scheduled.at.isoformat()}: "
                          f"{describe(scheduled.event)}"), markup=False, highlight=False)


def describe(event: Event) -> str:
    """An event in one line, as ``mock show`` and ``mock events`` list it."""
    fields = event.model_dump(mode="json", exclude={"kind"}, exclude_defaults=True)
    return " ".join([event.kind, *(f"{k}={v}" for k, v in fields.items())])


def event_rows(chosen: list[Scheduled]) -> list[dict[str, Any]]:
    return [{"id": s.id, "at": s.at.isoformat(), "state": s.state, "event": describe(s.event),
             "result": s.result} for s in chosen]


def pay(invoice: Annotated[str, typer.Argument(help="Invoice number.")],
        amount: AmountArg = None, at: AtOpt = None, link: LinkOpt = None,
        as_json: JsonOpt = False) -> None:
    """The debtor pays the creditor directly, in full or in part (reported to the agency
    when the claim is Open)."""
    act(link, {"kind": "pay", "invoice_no": invoice, "amount": amount}, at, as_json)


def credit(invoice: Annotated[str, typer.Argument(help="Invoice number.")],
           amount: AmountArg = None, at: AtOpt = None, link: LinkOpt = None,
           as_json: JsonOpt = False) -> None:
    """The creditor issues a credit note against the invoice."""
    act(link, {"kind": "credit", "invoice_no": invoice, "amount": amount}, at, as_json)


def write_off(
    invoices: Annotated[list[str], typer.Argument(help="Invoice numbers, one customer's.")],
    account: Annotated[str, typer.Option(help="The loss account.")] = "7830",
    on: Annotated[str | None, typer.Option(help="Posting date (default: today).")] = None,
    description: Annotated[str, typer.Option(help="Text on the voucher.")] = "",
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Write off the open balance in the ERP (R12); the agency keeps collecting."""
    act(link, {"kind": "write-off", "invoice_nos": invoices, "account": account, "on": on,
               "description": description}, at, as_json)


def book(
    invoice: Annotated[str, typer.Argument(help="Invoice number.")],
    amount: Annotated[str, typer.Argument(help="Amount received, e.g. 1000.00.")],
    reference: Annotated[str | None, typer.Option(help="The voucher's reference.")] = None,
    account: Annotated[str, typer.Option(help="The bank account.")] = "1920",
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """The accountant books money received (an agency payout) by hand in the ERP."""
    act(link, {"kind": "book", "invoice_no": invoice, "amount": amount,
               "reference": reference, "account": account}, at, as_json)


def delete(invoice: Annotated[str, typer.Argument(help="Invoice number.")],
           at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Delete an invoice in the ERP."""
    act(link, {"kind": "delete", "invoice_no": invoice}, at, as_json)


@invoice_app.command("add")
def invoice_add(
    customer_no: Annotated[str, typer.Argument(help="Customer number.")],
    amount: Annotated[str, typer.Argument(help="Amount, e.g. 1250.00.")],
    number: Annotated[str | None, typer.Option(help="Invoice number (default: next).")] = None,
    date: Annotated[str | None, typer.Option(help="Invoice date (default: today).")] = None,
    due: Annotated[str | None, typer.Option(help="Due date (default: 14 days on).")] = None,
    currency: Annotated[str, typer.Option(help="Currency code.")] = "NOK",
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Issue a new invoice."""
    act(link, {"kind": "invoice", "customer_no": customer_no, "amount": amount,
               "invoice_no": number, "invoice_date": date, "due_date": due,
               "currency": currency}, at, as_json)


def customer(
    number: Annotated[str, typer.Argument(help="Customer number.")],
    name: Annotated[str | None, typer.Option(help="Name.")] = None,
    person: Annotated[bool | None, typer.Option("--person/--business",
                                                help="A person or a business.")] = None,
    org: Annotated[str | None, typer.Option(help="Organisation number.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    line1: Annotated[str | None, typer.Option(help="Address line 1.")] = None,
    line2: Annotated[str | None, typer.Option(help="Address line 2.")] = None,
    postal_code: Annotated[str | None, typer.Option(help="Postal code.")] = None,
    city: Annotated[str | None, typer.Option(help="City.")] = None,
    country: Annotated[str | None, typer.Option(help="Country code, e.g. NO.")] = None,
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Edit a customer card. An address edit does not move the card's change time, as in
    PowerOffice Go; any other edit does."""
    act(link, {"kind": "customer", "number": number, "name": name, "is_person": person,
               "organization_number": org, "email": email, "phone": phone, "line1": line1,
               "line2": line2, "postal_code": postal_code, "city": city, "country": country},
        at, as_json)


def exclude(number: Annotated[str, typer.Argument(help="Customer number.")],
            at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Exclude a customer from collection (R11)."""
    act(link, {"kind": "exclude", "number": number}, at, as_json)


def include(number: Annotated[str, typer.Argument(help="Customer number.")],
            at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Include an excluded customer in collection again."""
    act(link, {"kind": "include", "number": number}, at, as_json)


def reminders(
    number: Annotated[str, typer.Argument(help="Customer number.")],
    send: Annotated[bool | None, typer.Option("--on/--off",
                                              help="Send the customer reminders or not.")] = None,
    dunning: Annotated[str | None, typer.Option(
        help="The customer's own steps: reminder,dunning_letter,collection_notice or none.")
    ] = None,
    company: Annotated[bool, typer.Option(help="Follow the company's setup again.")] = False,
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """Switch a customer's reminder flow."""
    setup: dict[str, bool] | None = None
    if dunning is not None:
        steps = {s.strip() for s in dunning.split(",") if s.strip()} - {"none"}
        setup = dict.fromkeys(steps, True)
    act(link, {"kind": "reminders", "number": number, "send": send, "dunning": setup,
               "company": company}, at, as_json)


def fault(operation: Annotated[str, typer.Argument(help="e.g. agency.register, erp.invoices.")],
          times: Annotated[int, typer.Option(help="Calls that fail (0 clears).")] = 1,
          at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Make the next calls of an adapter operation fail."""
    act(link, {"kind": "fault", "operation": operation, "times": times}, at, as_json)


@agency_app.command("pay")
def agency_pay(invoice: Annotated[str, typer.Argument(help="Invoice number of the case.")],
               amount: AmountArg = None, at: AtOpt = None, link: LinkOpt = None,
               as_json: JsonOpt = False) -> None:
    """The debtor pays the agency (fees, then interest, then principal)."""
    act(link, {"kind": "agency-pay", "invoice_no": invoice, "amount": amount}, at, as_json)


@agency_app.command("close")
def agency_close(
    invoice: Annotated[str, typer.Argument(help="Invoice number of the case.")],
    outcome: Annotated[str | None, typer.Option(
        help="partly_paid or unresolved (default: by what was paid).")] = None,
    text: Annotated[str, typer.Option(help="The line in the case's history.")] = "",
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """The agency closes the case."""
    act(link, {"kind": "agency-close", "invoice_no": invoice, "outcome": outcome,
               "text": text}, at, as_json)


@agency_app.command("reject")
def agency_reject(
    invoice: Annotated[str, typer.Argument(help="Invoice number.")],
    reason: Annotated[str, typer.Argument(help="Why, as the agency says it.")],
    times: Annotated[int, typer.Option(help="Registrations refused.")] = 1,
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """The agency refuses the invoice's next registrations with a reason (R7)."""
    act(link, {"kind": "agency-reject", "invoice_no": invoice, "reason": reason,
               "times": times}, at, as_json)


@agency_app.command("payout")
def agency_payout(at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """The agency pays out what it collected (otherwise every Monday night)."""
    act(link, {"kind": "agency-payout"}, at, as_json)


@proposals_app.command("approve")
def proposals_approve(
    voucher: Annotated[str | None, typer.Argument(help="Voucher id (default: all).")] = None,
    at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False,
) -> None:
    """The accountant approves bookkeeping proposals: they are posted."""
    act(link, {"kind": "approve", "voucher": voucher}, at, as_json)


@proposals_app.command("discard")
def proposals_discard(voucher: Annotated[str, typer.Argument(help="Voucher id.")],
                      at: AtOpt = None, link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """The accountant deletes a bookkeeping proposal."""
    act(link, {"kind": "discard", "voucher": voucher}, at, as_json)


@proposals_app.command("list")
def proposals_list(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Bookkeeping proposals waiting for the accountant."""
    from connector_adapters.mock.commands import mock_world_path

    world = open_world(mock_world_path(link))
    rows = [{"id": v.id, "reference": v.reference, "on": v.on.isoformat(),
             "description": v.description, "flagged": v.flagged,
             "lines": [ln.model_dump(mode="json") for ln in v.lines]}
            for v in world.erp.proposals()]
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Proposals waiting ({len(rows)})", rows,
                           [("id", "id"), ("reference", "reference"), ("on", "on"),
                            ("flagged", "flagged"), ("description", "description")]))


def events(link: LinkOpt = None, as_json: JsonOpt = False) -> None:
    """Timed events: those to come and those that ran, with what they did."""
    from connector_adapters.mock.commands import mock_world_path

    rows = event_rows(open_world(mock_world_path(link)).events())
    if as_json:
        print_json(rows)
        return
    out.print(render_table(f"Timed events ({len(rows)})", rows,
                           [("id", "id"), ("at", "at"), ("state", "state"),
                            ("event", "event"), ("result", "result")]))
