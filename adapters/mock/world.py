"""The mock world: one ERP company, its customers and invoices, the agency's cases, a clock.

Everything lives in one pydantic model saved as JSON, so separate CLI calls, the engine and
the tests see the same world. Time moves only through ``advance``, which runs the ERP's
reminder flow at every local midnight it crosses. Every write takes one microsecond of world
time, so a change is always strictly later than any read before it, as on a real server.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, PrivateAttr
from pydantic import ValidationError as PydanticValidationError

from adapters.mock import flow
from adapters.mock.norway import kid as make_kid
from connector.clock import local_date
from connector.domain import (
    Address,
    CaseRequest,
    Company,
    DunningSetup,
    InvoiceKind,
    LetterKind,
    Money,
    NextAction,
)
from connector.errors import TransientError, UserError

FAULT_OPERATIONS = frozenset({
    "erp.company", "erp.customers", "erp.customers_by_number", "erp.invoices", "erp.letters",
    "agency.find_case", "agency.register", "agency.register.lost_reply",
})
"""Operations a fault can be injected into; ``agency.register.lost_reply`` registers the case
and then fails, the window where the agency accepted but the caller never heard back."""

M = TypeVar("M", bound=BaseModel)
_TICK = timedelta(microseconds=1)
_LETTER_ACTIONS = {NextAction(kind.value) for kind in LetterKind}
_ID_NAMESPACE = uuid.UUID("6f1c9a52-3f0e-4c55-9d0b-6b7a3c2e8d41")


def _date_text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


DateText = Annotated[str, BeforeValidator(_date_text)]
"""A date kept as the ERP gave it, so a scenario can hold a malformed one."""


def parse_date(text: str) -> date | None:
    """The date in ``text``, or None when it is malformed (it stays as bad ERP data)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MockCustomer(Record):
    id: str
    number: str
    name: str
    is_person: bool = False
    organization_number: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address = Address()
    transfer_to_agency: bool = True
    """False excludes the customer from collection (R11)."""
    send_reminders: bool = True
    """PowerOffice ``SendPaymentReminders``: off means the reminder flow skips the customer."""
    dunning: DunningSetup | None = None
    changed_at: AwareDatetime


class MockInvoice(Record):
    id: str
    invoice_no: str
    customer_no: str
    invoice_date: DateText
    due_date: DateText
    amount: Money
    balance: Money
    currency: str = "NOK"
    kid: str | None = None
    kind: InvoiceKind = InvoiceKind.INVOICE
    credits: str | None = None
    """For a credit note: the invoice number it credits."""
    deleted: bool = False
    next_action: NextAction = NextAction.NONE
    collect_requested: bool = False
    changed_at: AwareDatetime

    @property
    def is_open(self) -> bool:
        return self.kind is InvoiceKind.INVOICE and not self.deleted and self.balance > 0


class MockLetter(Record):
    id: str
    invoice_id: str
    kind: LetterKind
    sent_on: date
    due_date: date
    changed_at: AwareDatetime


class MockCase(Record):
    """A case at the mock agency, with the request it was registered from."""

    id: str
    reference: str
    request: CaseRequest
    status: str
    registered_at: AwareDatetime


class WorldClock:
    """The world's time as a ``connector.clock.Clock``: the engine reads it, never sets it."""

    def __init__(self, world: World) -> None:
        self._world = world

    def now(self) -> datetime:
        return self._world.now


class World(BaseModel):
    """The whole simulated state; see the module docstring for how time moves."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    now: AwareDatetime
    seed: int | None = None
    company: Company
    customers: dict[str, MockCustomer] = {}
    invoices: dict[str, MockInvoice] = {}
    letters: list[MockLetter] = []
    cases: dict[str, MockCase] = {}
    registrations: int = 0
    duplicates: int = 0
    """Second cases for one reference: what a real agency would create on a blind retry."""
    faults: dict[str, int] = {}
    last_id: int = 0
    last_invoice_no: int = 10000

    _letters_of: dict[str, list[MockLetter]] = PrivateAttr(default_factory=dict)
    _wake: dict[str, date | None] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self.now = self.now.astimezone(UTC)
        for letter in self.letters:
            self._letters_of.setdefault(letter.invoice_id, []).append(letter)
        today = self.today
        for invoice in self.invoices.values():
            self._wake[invoice.invoice_no] = self._state(invoice, today).wake

    # -- persistence and time ------------------------------------------------------------

    @classmethod
    def empty(cls, now: datetime | None = None, company: Company | None = None) -> World:
        """A world with no customers: an Oslo company with every reminder step off."""
        return cls(now=now or datetime.now(UTC), company=company or Company(name="Mock AS"))

    @classmethod
    def load(cls, path: Path) -> World:
        return cls.model_validate_json(path.read_bytes())

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as out:
                out.write(self.model_dump_json(indent=1).encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @property
    def clock(self) -> WorldClock:
        return WorldClock(self)

    @property
    def today(self) -> date:
        """The company's calendar day: the reminder flow counts local days (R1)."""
        return local_date(self.now, self.company.timezone)

    def midnight(self, day: date) -> datetime:
        """The instant ``day`` starts in the company's zone, in UTC."""
        tz = ZoneInfo(self.company.timezone)
        return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward, running the reminder flow at each local midnight crossed."""
        if delta < timedelta(0):
            raise UserError("the mock world's clock only moves forward")
        target = self.now + delta
        day = self.today + timedelta(days=1)
        while (start := self.midnight(day)) <= target:
            self.now = max(self.now, start)
            self._run_day(day)
            day += timedelta(days=1)
        self.now = max(self.now, target)
        return self.now

    def _tick(self) -> datetime:
        self.now += _TICK
        return self.now

    def _next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    # -- the reminder flow -------------------------------------------------------------------

    def dunning_for(self, customer: MockCustomer) -> DunningSetup:
        return customer.dunning if customer.dunning is not None else self.company.dunning

    def letters_of(self, invoice: MockInvoice) -> list[MockLetter]:
        return list(self._letters_of.get(invoice.id, ()))

    def _state(self, invoice: MockInvoice, today: date) -> flow.FlowState:
        if not invoice.is_open:
            return flow.FlowState(NextAction.NONE, None)
        if invoice.collect_requested:
            return flow.FlowState(NextAction.COLLECTION, None)
        customer = self.customers.get(invoice.customer_no)
        due = parse_date(invoice.due_date)
        if customer is None or due is None or not customer.send_reminders:
            return flow.FlowState(NextAction.NONE, None)
        sent = self._letters_of.get(invoice.id, [])
        return flow.state(self.dunning_for(customer), due, sent, today)

    def _refresh(self, invoice: MockInvoice, today: date, *, send: bool = False,
                 backdate: bool = False) -> None:
        """Bring the invoice's next action up to date; with ``send``, send letters now due.

        ``backdate`` dates each letter on its scheduled day instead of ``today``, as if the
        flow had run every midnight up to now (used when a world is built).
        """
        state = self._state(invoice, today)
        while send and state.action in _LETTER_ACTIONS and state.wake and state.wake <= today:
            self._send(invoice, LetterKind(state.action.value), state.wake if backdate else today)
            state = self._state(invoice, today)
        self._wake[invoice.invoice_no] = state.wake
        if invoice.next_action is not state.action:
            invoice.next_action = state.action
            invoice.changed_at = max(invoice.changed_at, self._tick())

    def _send(self, invoice: MockInvoice, kind: LetterKind, sent_on: date,
              due_date: date | None = None) -> MockLetter:
        letter = MockLetter(
            id=f"L{self._next_id()}", invoice_id=invoice.id, kind=kind, sent_on=sent_on,
            due_date=due_date or sent_on + flow.TIME_TO_PAY, changed_at=self._tick(),
        )
        self.letters.append(letter)
        self._letters_of.setdefault(invoice.id, []).append(letter)
        return letter

    def _run_day(self, day: date) -> None:
        """The ERP's nightly run: send every letter due today, update next actions."""
        for number, wake in list(self._wake.items()):
            if wake is not None and wake <= day:
                self._refresh(self.invoices[number], day, send=True)

    def settle(self) -> None:
        """Send, backdated, every letter the flow would have sent up to today (world building)."""
        today = self.today
        for invoice in self.invoices.values():
            self._refresh(invoice, today, send=True, backdate=True)

    def add_letter(self, invoice_no: str, kind: LetterKind, sent_on: date,
                   due_date: date | None = None) -> MockLetter:
        """Record a letter sent before the world began (scenarios)."""
        invoice = self.invoice(invoice_no)
        letter = self._send(invoice, kind, sent_on, due_date)
        self._refresh(invoice, self.today)
        return letter

    # -- ERP actions ---------------------------------------------------------------------

    def customer(self, number: str) -> MockCustomer:
        try:
            return self.customers[number]
        except KeyError:
            raise UserError(f"the mock ERP has no customer {number}") from None

    def invoice(self, invoice_no: str) -> MockInvoice:
        try:
            return self.invoices[invoice_no]
        except KeyError:
            raise UserError(f"the mock ERP has no invoice {invoice_no}") from None

    def add_customer(self, number: str, name: str, **fields: Any) -> MockCustomer:
        """Create a customer card; ``fields`` are those of MockCustomer."""
        if number in self.customers:
            raise UserError(f"the mock ERP already has a customer {number}")
        data = {"id": str(self._next_id()), **fields, "number": number, "name": name,
                "changed_at": self._tick()}
        customer = _build(MockCustomer, data)
        self.customers[number] = customer
        return customer

    def update_customer(self, number: str, **fields: Any) -> MockCustomer:
        """Edit the card; moves its change time, as every edit but an address edit does."""
        if "address" in fields:
            raise UserError("change a customer's address with set_address")
        old = self.customer(number)
        data = {**old.model_dump(), **fields, "number": number, "changed_at": self._tick()}
        customer = self.customers[number] = _build(MockCustomer, data)
        if (customer.dunning, customer.send_reminders) != (old.dunning, old.send_reminders):
            self._refresh_where(lambda invoice: invoice.customer_no == number)
        return customer

    def set_address(self, number: str, **fields: str | None) -> MockCustomer:
        """Edit the postal address without moving the change time (SPEC §7, PowerOffice)."""
        old = self.customer(number)
        address = _build(Address, {**old.address.model_dump(), **fields})
        self._tick()
        customer = self.customers[number] = old.model_copy(update={"address": address})
        return customer

    def exclude_customer(self, number: str) -> MockCustomer:
        """Uncheck "Over til inkassobyrå" (R11)."""
        return self.update_customer(number, transfer_to_agency=False)

    def include_customer(self, number: str) -> MockCustomer:
        return self.update_customer(number, transfer_to_agency=True)

    def next_invoice_no(self) -> str:
        while str(self.last_invoice_no + 1) in self.invoices:
            self.last_invoice_no += 1
        self.last_invoice_no += 1
        return str(self.last_invoice_no)

    def add_invoice(
        self,
        customer_no: str,
        amount: Decimal | int | str,
        *,
        invoice_no: str | None = None,
        invoice_date: date | str | None = None,
        due_date: date | str | None = None,
        balance: Decimal | int | str | None = None,
        currency: str = "NOK",
        kid: str | None = None,
        collect_requested: bool = False,
    ) -> MockInvoice:
        """Issue an invoice. Dates and the customer number are taken as given, so bad ERP
        data (a malformed date, an unknown customer) can be staged; the invoice date
        defaults to today and the due date to 14 days after it. An invoice dated in the
        future stays hidden from the ERP adapter until that day, and its change time is the
        moment it is issued."""
        number = invoice_no or self.next_invoice_no()
        if number in self.invoices:
            raise UserError(f"the mock ERP already has an invoice {number}")
        issued = invoice_date or self.today
        issued_on = issued if isinstance(issued, date) else parse_date(issued)
        due = due_date or (issued_on + flow.TIME_TO_PAY if issued_on else issued)
        changed_at = self._tick()
        if issued_on and issued_on > self.today:
            changed_at = self.midnight(issued_on)
        invoice = _build(MockInvoice, {
            "id": str(uuid.uuid5(_ID_NAMESPACE, f"invoice/{self._next_id()}")),
            "invoice_no": number, "customer_no": customer_no, "invoice_date": issued,
            "due_date": due, "amount": amount,
            "balance": amount if balance is None else balance, "currency": currency,
            "kid": kid or (make_kid(f"{customer_no}{number}") if customer_no.isdigit() else None),
            "collect_requested": collect_requested, "changed_at": changed_at,
        })
        self.invoices[number] = invoice
        self._refresh(invoice, self.today)
        return invoice

    def pay(self, invoice_no: str, amount: Decimal | int | str) -> MockInvoice:
        """A payment from the debtor, matched against the invoice's balance."""
        invoice = self._open_invoice(invoice_no)
        paid = _positive(amount, invoice.balance, f"payment on invoice {invoice_no}")
        invoice.balance -= paid
        invoice.changed_at = self._tick()
        self._refresh(invoice, self.today)
        return invoice

    def credit(self, invoice_no: str, amount: Decimal | int | str) -> MockInvoice:
        """Issue a credit note for part or all of the invoice's balance; returns the note."""
        invoice = self._open_invoice(invoice_no)
        credited = _positive(amount, invoice.balance, f"credit on invoice {invoice_no}")
        today = self.today
        note = _build(MockInvoice, {
            "id": str(uuid.uuid5(_ID_NAMESPACE, f"invoice/{self._next_id()}")),
            "invoice_no": self.next_invoice_no(), "customer_no": invoice.customer_no,
            "invoice_date": today, "due_date": today, "amount": -credited, "balance": 0,
            "currency": invoice.currency, "kind": InvoiceKind.CREDIT_NOTE,
            "credits": invoice_no, "changed_at": self._tick(),
        })
        self.invoices[note.invoice_no] = note
        self._wake[note.invoice_no] = None
        invoice.balance -= credited
        invoice.changed_at = self._tick()
        self._refresh(invoice, today)
        return note

    def delete_invoice(self, invoice_no: str) -> MockInvoice:
        invoice = self.invoice(invoice_no)
        invoice.deleted = True
        invoice.changed_at = self._tick()
        self._refresh(invoice, self.today)
        return invoice

    def request_collection(self, invoice_no: str) -> MockInvoice:
        """Send an invoice from the reminder flow to collection (R10): only on none or wait."""
        invoice = self._open_invoice(invoice_no)
        if invoice.next_action not in (NextAction.NONE, NextAction.WAIT):
            raise UserError(
                f"invoice {invoice_no} has next action {invoice.next_action.value}; "
                "only an invoice waiting or with no next action can be sent to collection"
            )
        invoice.collect_requested = True
        invoice.changed_at = self._tick()
        self._refresh(invoice, self.today)
        return invoice

    def set_company(self, **fields: Any) -> Company:
        """Change the company's name, time zone, dunning setup or auto-transfer (R1, R2)."""
        company = _build(Company, {**self.company.model_dump(), **fields})
        try:
            ZoneInfo(company.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UserError(f"unknown time zone {company.timezone!r}") from None
        self.company = company
        self._tick()
        self._refresh_where(lambda invoice: True)
        return company

    def _refresh_where(self, wanted: Any) -> None:
        today = self.today
        for invoice in self.invoices.values():
            if wanted(invoice):
                self._refresh(invoice, today)

    def _open_invoice(self, invoice_no: str) -> MockInvoice:
        invoice = self.invoice(invoice_no)
        if not invoice.is_open:
            raise UserError(f"invoice {invoice_no} is not an open invoice")
        return invoice

    # -- the agency's books ----------------------------------------------------------------

    def find_case(self, reference: str) -> MockCase | None:
        """The first case registered under ``reference``."""
        return next((case for case in self.cases.values() if case.reference == reference), None)

    def open_case(self, request: CaseRequest, status: str) -> MockCase:
        """Record a case as the agency does: blindly, so a repeated reference is a duplicate."""
        self.registrations += 1
        if self.find_case(request.reference) is not None:
            self.duplicates += 1
        case = MockCase(id=str(self._next_id()), reference=request.reference, request=request,
                        status=status, registered_at=self._tick())
        self.cases[case.id] = case
        return case

    # -- faults ------------------------------------------------------------------------------

    def inject(self, operation: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` fail with a TransientError."""
        if operation not in FAULT_OPERATIONS:
            known = ", ".join(sorted(FAULT_OPERATIONS))
            raise UserError(f"no mock operation {operation!r} (known: {known})")
        if times <= 0:
            self.faults.pop(operation, None)
        else:
            self.faults[operation] = times

    def trip(self, operation: str) -> None:
        """Raise the injected fault for ``operation`` if one is left; adapters call this."""
        left = self.faults.get(operation, 0)
        if left <= 0:
            return
        if left == 1:
            del self.faults[operation]
        else:
            self.faults[operation] = left - 1
        raise TransientError(f"mock fault injected into {operation} ({left - 1} more to come)")

    def summary(self) -> dict[str, Any]:
        """Counts for ``connector mock show``."""
        actions: dict[str, int] = {}
        for invoice in self.invoices.values():
            if invoice.is_open:
                actions[invoice.next_action.value] = actions.get(invoice.next_action.value, 0) + 1
        return {
            "now": self.now.isoformat(), "today": self.today.isoformat(),
            "company": self.company.name, "dunning": self.company.dunning.model_dump(),
            "customers": len(self.customers),
            "excluded": sum(not c.transfer_to_agency for c in self.customers.values()),
            "invoices": len(self.invoices),
            "open_by_next_action": dict(sorted(actions.items())),
            "letters": len(self.letters), "cases": len(self.cases),
            "registrations": self.registrations, "duplicates": self.duplicates,
            "faults": dict(self.faults),
        }


def _build(model: type[M], data: dict[str, Any]) -> M:
    """Validate an action's input; a bad field is the user's error, not a crash."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise UserError(f"invalid {model.__name__}: {detail}") from None


def _positive(amount: Decimal | int | str, limit: Decimal, what: str) -> Decimal:
    value = _build(_Amount, {"value": amount}).value
    if value <= 0 or value > limit:
        raise UserError(f"{what}: {value} must be above 0 and at most the balance {limit}")
    return value


class _Amount(BaseModel):
    value: Money
