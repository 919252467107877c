"""Scenario files: a hand-written world in TOML (format in docs/mock.md).

A scenario is checked before anything is built, and every mistake is reported with the file
and the field (``invoices[2].due_in_days``), because a silently wrong test world is worse
than none. Broken ERP data is allowed only where asked for with ``malformed = true``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from connector.config import parse_duration
from connector.domain import Company, DunningSetup, LetterKind, Money
from connector.errors import ConfigError, UserError
from connector.ports import Capability
from connector_adapters.mock.agency_world import valid_agency_capabilities
from connector_adapters.mock.collection import Behaviour
from connector_adapters.mock.erp_world import MockCustomer
from connector_adapters.mock.events import EVENTS, first_problem
from connector_adapters.mock.state import parse_date
from connector_adapters.mock.world import World

Fail = Callable[[str, str], ConfigError]
"""Builds the error for a field path and a message, with the file name in front."""


MAX_DAYS = 36_500
"""A day offset beyond a hundred years is a typing error, not a test world."""
Days = Annotated[int, Field(ge=-MAX_DAYS, le=MAX_DAYS)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class ScenarioWorld(_Section):
    start: AwareDatetime = Field(ge=datetime(1900, 1, 1, tzinfo=UTC),
                                 le=datetime(9000, 1, 1, tzinfo=UTC))
    """Far from the calendar's ends, so that every day offset stays a real date."""
    seed: int | None = None
    backfill: bool = True
    """Send, backdated, the letters the reminder flow would have sent before the start."""
    agency_passes_fees: bool = False
    """Payouts pass interest and fees on to the creditor (default: the agency keeps them)."""
    agency_capabilities: list[Capability] | None = None
    """What the agency's API offers; default all of AGENCY_CAPABILITIES."""

    @field_validator("agency_capabilities")
    @classmethod
    def _agency_can(cls, value: list[Capability] | None) -> list[Capability] | None:
        return valid_agency_capabilities(value)


class ScenarioCompany(_Section):
    name: str
    timezone: str = "Europe/Oslo"
    auto_transfer: bool = False
    dunning: DunningSetup = DunningSetup()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Oslo)") from None
        return value


class ScenarioCustomer(MockCustomer):
    """A customer card as a scenario gives it, with the debtor's script at the agency: the
    world assigns the id and change time."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    id: str = ""
    changed_at: AwareDatetime = datetime(1970, 1, 1, tzinfo=UTC)
    behaviour: Behaviour | None = None
    pays_after_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    instalments: int | None = Field(default=None, ge=2, le=24)
    """As in DebtorScript, which checks them again when the world is built."""

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioCustomer:
        if self.instalments is not None and self.behaviour is not Behaviour.INSTALMENTS:
            raise ValueError('instalments is only for behaviour = "instalments"')
        if self.pays_after_days is not None and self.behaviour is Behaviour.NEVER:
            raise ValueError('a debtor with behaviour = "never" has no pays_after_days')
        if self.pays_after_days is not None and self.behaviour is None:
            raise ValueError("pays_after_days needs a behaviour")
        return self


class ScenarioInvoice(_Section):
    customer_no: str
    amount: Money
    invoice_no: str | None = None
    invoice_date: date | str | None = None
    invoice_in_days: Days | None = None
    due_date: date | str | None = None
    due_in_days: Days | None = None
    balance: Money | None = None
    currency: str = "NOK"
    kid: str | None = None
    collect_requested: bool = False
    deleted: bool = False
    malformed: bool = False
    """Deliberately bad ERP data: keep a malformed date or an unknown customer as given."""


class ScenarioLetter(_Section):
    invoice_no: str
    kind: LetterKind
    sent_on: date | None = None
    sent_in_days: Days | None = None
    due_date: date | None = None
    due_in_days: Days | None = None


class Scenario(_Section):
    world: ScenarioWorld
    company: ScenarioCompany
    customers: list[ScenarioCustomer] = []
    invoices: list[ScenarioInvoice] = []
    letters: list[ScenarioLetter] = []
    events: list[dict[str, Any]] = []
    """Timed events: ``at`` (a time with its offset, or a date) or ``after`` (a duration
    from the start), a ``kind`` and its fields (docs/mock.md, "Events")."""


def load_scenario(path: Path) -> World:
    """Read, check and build the world a scenario file describes."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the scenario: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a scenario: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return build_scenario(data, str(path))


def build_scenario(data: dict[str, Any], source: str = "scenario") -> World:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + "; ".join(
            f"{_where(err['loc'])}: {err['msg']}" for err in exc.errors())) from None
    try:
        return _build(scenario, source)
    except UserError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except (OverflowError, ValueError) as exc:  # a date or a day count out of range
        raise ConfigError(f"{source}: out of range: {exc}") from None


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _build(scenario: Scenario, source: str) -> World:
    world = World.new(scenario.world.start, Company(**scenario.company.model_dump()),
                      seed=scenario.world.seed,
                      agency_passes_fees=scenario.world.agency_passes_fees,
                      agency_capabilities=scenario.world.agency_capabilities)
    today = world.today

    def fail(where: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {where}: {message}")

    for i, customer in enumerate(scenario.customers):
        if customer.number in world.erp.customers:
            raise fail(f"customers[{i}].number", f"customer {customer.number} is listed twice")
        world.add_customer(**customer.model_dump(exclude={"id", "changed_at"}))
    for i, spec in enumerate(scenario.invoices):
        where = f"invoices[{i}]"
        if spec.invoice_no is not None and spec.invoice_no in world.erp.invoices:
            raise fail(f"{where}.invoice_no", f"invoice {spec.invoice_no} is listed twice")
        if spec.customer_no not in world.erp.customers and not spec.malformed:
            raise fail(f"{where}.customer_no", f"no customer {spec.customer_no} in [[customers]]"
                       " (set malformed = true to stage an unknown customer)")
        issued = _day(fail, f"{where}.invoice", spec.invoice_date, spec.invoice_in_days, today,
                      spec.malformed)
        due = _day(fail, f"{where}.due", spec.due_date, spec.due_in_days, today, spec.malformed)
        if issued is None and due is None:
            raise fail(where, "give due_date or due_in_days (invoice_date defaults to 14 days "
                              "before it)")
        if issued is None and isinstance(due, date):
            issued = due - timedelta(days=14)
        invoice = world.erp.add_invoice(
            spec.customer_no, spec.amount, invoice_no=spec.invoice_no, invoice_date=issued,
            due_date=due, balance=spec.balance, currency=spec.currency, kid=spec.kid,
            collect_requested=spec.collect_requested,
        )
        if spec.deleted:
            world.erp.delete_invoice(invoice.invoice_no)
    for i, letter in enumerate(scenario.letters):
        where = f"letters[{i}]"
        if letter.invoice_no not in world.erp.invoices:
            raise fail(f"{where}.invoice_no", f"no invoice {letter.invoice_no} in [[invoices]]")
        sent = _day(fail, f"{where}.sent", letter.sent_on, letter.sent_in_days, today, False)
        if not isinstance(sent, date):
            raise fail(where, "give sent_on or sent_in_days")
        if sent > today:
            raise fail(f"{where}.sent_on", f"{sent} is after the start day {today}")
        due = _day(fail, f"{where}.due", letter.due_date, letter.due_in_days, today, False)
        world.erp.add_letter(letter.invoice_no, letter.kind, sent,
                         due if isinstance(due, date) else None)
    if scenario.world.backfill:
        world.erp.settle()
    for i, raw in enumerate(scenario.events):
        _schedule(world, fail, f"events[{i}]", dict(raw), scenario.world.start)
    return world


def _schedule(world: World, fail: Fail, where: str, data: dict[str, Any],
              start: datetime) -> None:
    at, after = data.pop("at", None), data.pop("after", None)
    if (at is None) == (after is None):
        raise fail(where, "give at (a time or a date) or after (a duration from the start)")
    try:
        event = EVENTS.validate_python(data)
    except ValidationError as exc:
        field, problem = first_problem(exc)
        raise fail(f"{where}.{field}", problem) from None
    if after is not None:
        try:
            when = start + parse_duration(after if isinstance(after, str) else str(after))
        except ValueError as exc:
            raise fail(f"{where}.after", str(exc)) from None
    elif isinstance(at, datetime):
        if at.tzinfo is None:
            raise fail(f"{where}.at", "give the time with its offset, e.g. "
                                      "2026-03-05T10:00:00+01:00")
        when = at
    elif isinstance(at, date):
        when = world.midnight(at)
    else:
        raise fail(f"{where}.at", f"{at!r} is not a time or a date")
    try:
        world.schedule(event, when)
    except UserError as exc:
        raise fail(f"{where}.at" if str(exc).startswith("at:") else where,
                   str(exc).removeprefix("at: ")) from None


def _day(fail: Fail, stem: str, absolute: date | str | None, relative: int | None,
         today: date, malformed: bool) -> date | str | None:
    """A date given as ``<stem>_date`` / ``sent_on`` or as ``<stem>_in_days`` from the start.

    A malformed date string is kept as it is only when the record says ``malformed = true``.
    """
    name = "sent_on" if stem.endswith(".sent") else f"{stem}_date"
    if absolute is not None and relative is not None:
        raise fail(name, f"give {name.rsplit('.', 1)[-1]} or {stem.rsplit('.', 1)[-1]}_in_days,"
                         " not both")
    if relative is not None:
        return today + timedelta(days=relative)
    if isinstance(absolute, str):
        parsed = parse_date(absolute)
        if parsed is None and not malformed:
            raise fail(name, f"{absolute!r} is not a date (YYYY-MM-DD); set malformed = true "
                             "to stage it as bad ERP data")
        return parsed or absolute
    return absolute
