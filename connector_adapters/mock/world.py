"""The mock world: one ERP company, its customers and invoices, the agency's cases, a clock.

Everything lives in one pydantic model saved as JSON, so separate CLI calls, the engine and
the tests see the same world. Time moves only through ``advance``, which runs the ERP's
reminder flow and the agency's collection process at every local midnight it crosses. Every
write takes one microsecond of world time, so a change is always strictly later than any read
before it, as on a real server.

The ERP keeps invoices, a customer ledger (payments, credit notes, write-offs, posted
vouchers), vouchers and proposals with unique external references, and the status it shows
per case. The agency keeps cases with their history, the debtors' payments, reductions the
creditor reported, and payouts. The two meet only through the adapters: money the agency
collects reaches the ERP's ledger only when the payout is booked there.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from connector.clock import local_date
from connector.domain import (
    Address,
    AgencyEvent,
    CaseRequest,
    CaseStatus,
    ClaimReduction,
    Company,
    Customer,
    DunningSetup,
    InvoiceKind,
    LedgerEntry,
    LedgerKind,
    LetterKind,
    Money,
    NextAction,
    Outcome,
    Payout,
    PayoutLine,
    PayoutLineKind,
    ReminderLetter,
    Voucher,
    VoucherKind,
    VoucherLine,
    to_money,
)
from connector.errors import TransientError, UserError
from connector.ports import Capability
from connector_adapters.mock import collection as agency_process
from connector_adapters.mock import flow
from connector_adapters.mock.collection import ZERO, Behaviour, Stage, nok
from connector_adapters.mock.norway import kid as make_kid

FAULT_OPERATIONS = frozenset({
    "erp.company", "erp.customers", "erp.customers_by_number", "erp.invoices", "erp.letters",
    "erp.ledger", "erp.write_status", "erp.find_voucher", "erp.post_voucher",
    "erp.post_voucher.lost_reply",
    "agency.find_case", "agency.register", "agency.register.lost_reply",
    "agency.changes", "agency.payouts", "agency.mark_booked", "agency.mark_booked.lost_reply",
    "agency.reduction_reported", "agency.report_reduction",
    "agency.report_reduction.lost_reply", "agency.pause", "agency.resume", "agency.withdraw",
})
"""Operations a fault can be injected into. A ``.lost_reply`` operation does the work and then
fails: the window where the other side acted but the caller never heard back."""

AGENCY_CAPABILITIES = frozenset({
    Capability.PAUSE, Capability.RESUME, Capability.WITHDRAW, Capability.DIRECT_PAYMENTS,
    Capability.CREDIT_NOTES,
})
"""What the mock agency's API can do; a world or an adapter setting may offer fewer."""

CUSTOMER_LEDGER = "1500"
"""The customer-ledger account (kundefordringer): voucher lines on it match invoices."""
PAYOUT_WEEKDAY = 0
"""Payouts are made in the nightly run of this weekday (Monday)."""
_DROPS_COSTS = (Outcome.PAID, Outcome.CREDITED, Outcome.WITHDRAWN)
"""Outcomes on which the agency drops the interest and fees the debtor still owes."""
_CLOSED_STATUS = {
    Outcome.PAID: "Closed: paid in full",
    Outcome.PARTLY_PAID: "Closed: partly paid",
    Outcome.UNRESOLVED: "Closed: unresolved",
    Outcome.WITHDRAWN: "Closed: withdrawn by the creditor",
    Outcome.CREDITED: "Closed: credited by the creditor",
}

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


def valid_agency_capabilities(value: list[Capability] | None) -> list[Capability] | None:
    """Only what the mock agency can do may be switched on (a world or scenario setting)."""
    if value is not None:
        unknown = [c.value for c in value if c not in AGENCY_CAPABILITIES]
        if unknown:
            known = ", ".join(sorted(c.value for c in AGENCY_CAPABILITIES))
            raise ValueError(f"the mock agency has no capability {', '.join(unknown)} "
                             f"(known: {known})")
    return value


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MockCustomer(Customer):
    """The ERP's customer card (the domain's), plus how the debtor answers the agency."""

    model_config = ConfigDict(frozen=False, extra="forbid")
    behaviour: Behaviour | None = None
    """How the debtor answers the agency; None: drawn from the world's seed."""
    pays_after_days: int | None = Field(default=None, ge=1)
    """The case day of the (first) payment, overriding the behaviour's drawn day."""
    instalments: int | None = Field(default=None, ge=2, le=24)
    """Payments in an instalment plan (behaviour ``instalments``); None: drawn, 2 to 4."""


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


MockLetter = ReminderLetter
"""A letter the mock's reminder flow sent: exactly the domain's, never changed once sent."""


class MockCase(Record):
    """A case at the mock agency: the request it was registered from, where it stands in the
    collection process, its money and its history (docs/mock.md, "The agency's process")."""

    id: str
    reference: str
    request: CaseRequest
    status: str
    registered_at: AwareDatetime
    stage: Stage = Stage.REGISTERED
    stage_status: str = ""
    """The status of the last step, shown again when a paused case resumes."""
    days: int = 0
    """Case days: nightly runs the case took part in, unpaused (day 0 is registration)."""
    paused: bool = False
    closed: bool = False
    outcome: Outcome | None = None
    original_amount: Money
    """The principal the agency took over: the request's balance."""
    principal: Money
    """Remaining principal."""
    interest: Money = ZERO
    fees: Money = ZERO
    """Interest and fees the debtor owes the agency now."""
    paid_principal: Money = ZERO
    paid_interest: Money = ZERO
    paid_fees: Money = ZERO
    """What the debtor has paid the agency, in total."""
    reduced_by_payment: Money = ZERO
    reduced_by_credit: Money = ZERO
    """Principal reduced by direct payments and credit notes the creditor reported."""
    pending_principal: Money = ZERO
    pending_interest: Money = ZERO
    pending_fees: Money = ZERO
    """Collected and not yet paid out."""
    withdraw_fee: Money = ZERO
    pending_charge: Money = ZERO
    """The withdraw fee, until a payout deducts it."""
    commission: bool = False
    """Registered more than 90 days after the due date: 10 % commission on principal."""
    behaviour: Behaviour | None = None
    pays_on_day: int | None = None
    instalments: int = 1
    instalments_paid: int = 0
    instalment_amount: Money = ZERO
    share: int = 50
    phone_day: int = 14
    events: list[AgencyEvent] = []
    changed_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _from_older_world(cls, data: Any) -> Any:
        """A case saved before the agency's process existed starts it afresh."""
        if isinstance(data, dict) and "principal" not in data:
            request = data.get("request")
            balance = request.get("balance") if isinstance(request, dict) else (
                getattr(request, "balance", None))
            data = {"original_amount": balance, "principal": balance,
                    "changed_at": data.get("registered_at"), **data}
        return data

    @property
    def balance(self) -> Decimal:
        """What the debtor owes the agency now: principal, interest and fees."""
        return self.principal + self.interest + self.fees

    @property
    def balance_at_agency(self) -> Decimal:
        """As shown to the creditor: nothing once withdrawn, else ``balance``."""
        return ZERO if self.outcome is Outcome.WITHDRAWN else self.balance

    @property
    def plan_running(self) -> bool:
        return self.instalments_paid > 0


class MockReduction(Record):
    """A direct payment or credit note the creditor reported, and what it took off."""

    reduction: ClaimReduction
    applied: Money
    at: AwareDatetime


class MockPayout(Record):
    """A settlement from the agency; booked once the creditor says so."""

    id: str
    paid_on: date
    currency: str = "NOK"
    lines: list[PayoutLine]
    changed_at: AwareDatetime
    accounting_id: str | None = None
    booked_at: AwareDatetime | None = None

    def payout(self) -> Payout:
        return Payout(id=self.id, paid_on=self.paid_on, currency=self.currency,
                      lines=self.lines, changed_at=self.changed_at)


class MockVoucher(Record):
    """A voucher in the ERP: imported (posted or a proposal) or made by a write-off."""

    id: str
    reference: str | None
    """The external import reference; unique. None for vouchers made in the ERP itself."""
    kind: VoucherKind
    posted: bool
    on: date
    description: str
    lines: list[VoucherLine]
    flagged: bool = False
    origin: Literal["import", "write_off"] = "import"
    department: str | None = None
    project: str | None = None
    attachment: str | None = None
    created_at: AwareDatetime
    posted_at: AwareDatetime | None = None


class MockLedgerEntry(LedgerEntry):
    """Money matched against an invoice on the customer ledger (the domain's entry), with the
    invoice number the ERP's screens show."""

    invoice_no: str


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
    agency_passes_fees: bool = False
    """True: payouts pass the interest and fees collected on to the creditor. False (Kravia's
    way): the agency keeps them."""
    agency_capabilities: list[Capability] | None = None
    """What the agency's API offers (None: everything the mock can); adapters follow it."""
    payouts: dict[str, MockPayout] = {}
    payouts_booked: dict[str, int] = {}
    """Calls of ``mark_booked`` per payout id: exactly-once tests assert 1."""
    reductions: dict[str, MockReduction] = {}
    """Direct payments and credit notes reported to the agency, by their reference."""
    duplicate_reductions: int = 0
    vouchers: dict[str, MockVoucher] = {}
    duplicate_vouchers: int = 0
    """Vouchers refused because their external reference was taken."""
    ledger: list[MockLedgerEntry] = []
    case_status: dict[str, CaseStatus] = {}
    """The status the ERP shows per case, by invoice id (PowerOffice UpdateStatus, R8)."""
    status_writes: int = 0
    faults: dict[str, int] = {}
    last_id: int = 0
    last_invoice_no: int = 10000

    _letters_of: dict[str, list[MockLetter]] = PrivateAttr(default_factory=dict)
    _wake: dict[str, date | None] = PrivateAttr(default_factory=dict)
    _invoice_by_id: dict[str, str] = PrivateAttr(default_factory=dict)
    _case_by_reference: dict[str, str] = PrivateAttr(default_factory=dict)
    _open_cases: dict[str, None] = PrivateAttr(default_factory=dict)
    """Ids of cases not closed, in registration order (a dict keeps the order; a set would
    not, and the order of a night's changes must repeat)."""
    _unsettled: dict[str, None] = PrivateAttr(default_factory=dict)
    """Ids of cases with money or a charge not yet in a payout."""
    _voucher_by_reference: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("agency_capabilities")
    @classmethod
    def _agency_can(cls, value: list[Capability] | None) -> list[Capability] | None:
        return valid_agency_capabilities(value)

    def model_post_init(self, context: Any, /) -> None:
        self.now = self.now.astimezone(UTC)
        for letter in self.letters:
            self._letters_of.setdefault(letter.invoice_id, []).append(letter)
        today = self.today
        for invoice in self.invoices.values():
            self._wake[invoice.invoice_no] = self._state(invoice, today).wake
            self._invoice_by_id[invoice.id] = invoice.invoice_no
        for case in self.cases.values():
            self._case_by_reference.setdefault(case.reference, case.id)
            if case.behaviour is None:
                self._plan(case)
            if not case.closed:
                self._open_cases[case.id] = None
            if _unsettled(case):
                self._unsettled[case.id] = None
        for voucher in self.vouchers.values():
            if voucher.reference is not None:
                self._voucher_by_reference[voucher.reference] = voucher.id

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
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # debtors' data
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
        """Move time forward, running the nightly run at each local midnight crossed: the
        ERP's reminder flow, then the agency's collection process and payouts."""
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

    @property
    def dunning(self) -> DunningSetup:
        """The company's setup; a company that does not say sends no reminders."""
        return self.company.dunning or DunningSetup()

    def dunning_for(self, customer: MockCustomer) -> DunningSetup:
        return customer.dunning if customer.dunning is not None else self.dunning

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
        """The nightly run: the ERP sends every letter due today and updates next actions;
        the agency takes each open case one day further, and pays out on Mondays."""
        for number, wake in list(self._wake.items()):
            if wake is not None and wake <= day:
                self._refresh(self.invoices[number], day, send=True)
        self._agency_day(day)

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
        self._invoice_by_id[invoice.id] = number
        self._refresh(invoice, self.today)
        return invoice

    def pay(self, invoice_no: str, amount: Decimal | int | str) -> MockInvoice:
        """A payment from the debtor straight to the creditor, matched against the invoice's
        balance; it shows on the customer ledger as a ``payment`` entry."""
        invoice = self._open_invoice(invoice_no)
        paid = _positive(amount, invoice.balance, f"payment on invoice {invoice_no}")
        invoice.balance -= paid
        invoice.changed_at = self._tick()
        self._refresh(invoice, self.today)
        self._ledger_entry(invoice, LedgerKind.PAYMENT, paid, self.today,
                           description="Payment from the debtor")
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
        self._invoice_by_id[note.id] = note.invoice_no
        self._wake[note.invoice_no] = None
        invoice.balance -= credited
        invoice.changed_at = self._tick()
        self._refresh(invoice, today)
        self._ledger_entry(invoice, LedgerKind.CREDIT_NOTE, credited, today,
                           description=f"Credit note {note.invoice_no}")
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

    def invoice_by_id(self, invoice_id: str) -> MockInvoice | None:
        number = self._invoice_by_id.get(invoice_id)
        return self.invoices[number] if number is not None else None

    # -- the ERP's books: ledger, vouchers, write-offs, case status ------------------------

    def _ledger_entry(self, invoice: MockInvoice, kind: LedgerKind, amount: Decimal, on: date,
                      external_reference: str | None = None,
                      description: str = "") -> MockLedgerEntry:
        entry = MockLedgerEntry(
            id=f"LE{self._next_id()}", invoice_id=invoice.id, invoice_no=invoice.invoice_no,
            kind=kind, amount=amount, on=on, external_reference=external_reference,
            description=description, changed_at=self._tick(),
        )
        self.ledger.append(entry)
        return entry

    def voucher(self, voucher_id: str) -> MockVoucher:
        try:
            return self.vouchers[voucher_id]
        except KeyError:
            raise UserError(f"the mock ERP has no voucher {voucher_id}") from None

    def find_voucher(self, reference: str) -> MockVoucher | None:
        """The voucher imported under ``reference``, posted or a proposal."""
        voucher_id = self._voucher_by_reference.get(reference)
        return self.vouchers[voucher_id] if voucher_id is not None else None

    def post_voucher(self, voucher: Voucher) -> MockVoucher:
        """Import a voucher: ``posted`` is booked at once, a ``proposal`` waits for the
        accountant (``approve_proposal``). Refused, as PowerOffice refuses them: a reference
        already used (counted in ``duplicate_vouchers``), no lines, lines that do not
        balance, a customer-ledger line without a matching invoice of its customer."""
        reference = voucher.reference.strip()
        if not reference:
            raise UserError("a voucher needs an external reference")
        taken = self._voucher_by_reference.get(reference)
        if taken is not None:
            self.duplicate_vouchers += 1
            raise UserError(f"a voucher with external reference {reference!r} exists already "
                            f"({taken}); the ERP refuses a second one")
        if not voucher.lines:
            raise UserError(f"voucher {reference!r} has no lines")
        if voucher.balance != 0:
            raise UserError(f"voucher {reference!r} does not balance: its lines sum to "
                            f"{nok(voucher.balance)}, not 0 (debit positive, credit negative)")
        for i, line in enumerate(voucher.lines):
            if line.account == CUSTOMER_LEDGER:
                self._ledger_invoice(line, f"voucher {reference!r} line {i + 1}")
        record = MockVoucher(
            id=f"V{self._next_id()}", reference=reference, kind=voucher.kind, posted=False,
            on=voucher.date, description=voucher.description, lines=voucher.lines,
            flagged=voucher.flagged, created_at=self._tick(),
        )
        self.vouchers[record.id] = record
        self._voucher_by_reference[reference] = record.id
        if voucher.kind is VoucherKind.POSTED:
            self._post(record)
        return record

    def _ledger_invoice(self, line: VoucherLine, where: str) -> MockInvoice:
        if not line.customer_no or not line.invoice_no:
            raise UserError(f"{where}: a line on the customer ledger {CUSTOMER_LEDGER} needs "
                            "a customer number and an invoice number")
        invoice = self.invoices.get(line.invoice_no)
        if invoice is None or invoice.kind is not InvoiceKind.INVOICE:
            raise UserError(f"{where}: the mock ERP has no invoice {line.invoice_no}")
        if invoice.customer_no != line.customer_no:
            raise UserError(f"{where}: invoice {line.invoice_no} is customer "
                            f"{invoice.customer_no}'s, not {line.customer_no}'s")
        return invoice

    def approve_proposal(self, voucher_id: str) -> MockVoucher:
        """The accountant approves a bookkeeping proposal: it is posted now (R13)."""
        voucher = self.voucher(voucher_id)
        if voucher.posted:
            raise UserError(f"voucher {voucher_id} is posted already")
        self._post(voucher)
        return voucher

    def discard_proposal(self, voucher_id: str) -> MockVoucher:
        """The accountant deletes a proposal; its external reference is free again."""
        voucher = self.voucher(voucher_id)
        if voucher.posted:
            raise UserError(f"voucher {voucher_id} is posted; reverse it instead")
        del self.vouchers[voucher_id]
        if voucher.reference is not None:
            self._voucher_by_reference.pop(voucher.reference, None)
        self._tick()
        return voucher

    def _post(self, voucher: MockVoucher) -> None:
        """Book the voucher: each customer-ledger line is matched against its invoice. A
        credit lowers the balance (a ``payment`` entry); a debit raises it again (a
        ``write_off`` entry with a negative amount: a write-off reversed, R12)."""
        voucher.posted = True
        voucher.posted_at = self._tick()
        today = self.today
        for line in voucher.lines:
            if line.account != CUSTOMER_LEDGER or not line.invoice_no or line.amount == 0:
                continue
            invoice = self.invoices[line.invoice_no]
            invoice.balance += line.amount
            invoice.changed_at = self._tick()
            self._refresh(invoice, today)
            kind = LedgerKind.PAYMENT if line.amount < 0 else LedgerKind.WRITE_OFF
            self._ledger_entry(invoice, kind, -line.amount, voucher.on, voucher.reference,
                               line.description or voucher.description)

    def write_off(
        self,
        invoice_nos: list[str],
        on: date | str,
        account: str,
        vat_code: str | None = None,
        department: str | None = None,
        project: str | None = None,
        description: str = "",
        attachment: str | None = None,
    ) -> MockVoucher:
        """Write off the open balance of invoices ("avskriv saldo på reskontro", R12).

        The invoices must be open lines of one customer's ledger, the posting date not before
        today. The amount is each invoice's open balance and cannot be given. Posts a journal
        (debit ``account``, credit the customer ledger) and ``write_off`` ledger entries; the
        balances go to 0. The agency is not told: it keeps collecting.
        """
        if not invoice_nos:
            raise UserError("a write-off needs at least one invoice")
        invoices: list[MockInvoice] = []
        for number in invoice_nos:
            invoice = self.invoice(number)
            if invoice in invoices:
                raise UserError(f"invoice {number} is listed twice")
            if not invoice.is_open:
                raise UserError(f"invoice {number} has no open balance to write off")
            invoices.append(invoice)
        first = invoices[0]
        for invoice in invoices[1:]:
            if invoice.customer_no != first.customer_no:
                raise UserError(
                    "a write-off takes open lines of one customer ledger: invoice "
                    f"{first.invoice_no} is customer {first.customer_no}'s, invoice "
                    f"{invoice.invoice_no} is customer {invoice.customer_no}'s")
        day = on if isinstance(on, date) else parse_date(on)
        if day is None:
            raise UserError(f"the posting date {on!r} is not a date (YYYY-MM-DD)")
        if day < self.today:
            raise UserError(f"the posting date {day} is before today {self.today}")
        account = account.strip()
        if not (len(account) == 4 and account.isdigit()):
            raise UserError(f"the account must be a four-digit account number, not {account!r}")
        if account == CUSTOMER_LEDGER:
            raise UserError(f"the loss account cannot be the customer ledger {CUSTOMER_LEDGER}")
        text = description or "Write-off of invoice " + ", ".join(invoice_nos)
        lines: list[VoucherLine] = []
        for invoice in invoices:
            lines.append(VoucherLine(account=account, amount=invoice.balance, vat_code=vat_code,
                                     description=text))
            lines.append(VoucherLine(account=CUSTOMER_LEDGER, amount=-invoice.balance,
                                     customer_no=invoice.customer_no,
                                     invoice_no=invoice.invoice_no, description=text))
        voucher = MockVoucher(
            id=f"V{self._next_id()}", reference=None, kind=VoucherKind.POSTED, posted=True,
            on=day, description=text, lines=lines, origin="write_off", department=department,
            project=project, attachment=attachment, created_at=self._tick(),
        )
        voucher.posted_at = voucher.created_at
        self.vouchers[voucher.id] = voucher
        for invoice in invoices:
            amount = invoice.balance
            invoice.balance = ZERO
            invoice.changed_at = self._tick()
            self._refresh(invoice, self.today)
            self._ledger_entry(invoice, LedgerKind.WRITE_OFF, amount, day, None, text)
        return voucher

    def write_status(self, statuses: list[CaseStatus]) -> None:
        """Show the agency's status per case in the ERP: the latest one per invoice wins.
        Every status must name an invoice the ERP has; otherwise nothing is stored."""
        unknown = [s.invoice_id for s in statuses if s.invoice_id not in self._invoice_by_id]
        if unknown:
            raise UserError(f"the mock ERP has no invoice with id {', '.join(unknown)}")
        for status in statuses:
            self.case_status[status.invoice_id] = status
            self.status_writes += 1
            self._tick()

    # -- the agency's books ----------------------------------------------------------------

    def find_case(self, reference: str) -> MockCase | None:
        """The first case registered under ``reference``."""
        case_id = self._case_by_reference.get(reference)
        return self.cases[case_id] if case_id is not None else None

    def case(self, case_id: str) -> MockCase:
        try:
            return self.cases[case_id]
        except KeyError:
            raise UserError(f"the mock agency has no case {case_id}") from None

    def open_case(self, request: CaseRequest, status: str) -> MockCase:
        """Record a case as the agency does: blindly, so a repeated reference is a duplicate.

        The collection notice goes out in the next nightly run (case day 1)."""
        self.registrations += 1
        if self.find_case(request.reference) is not None:
            self.duplicates += 1
        at = self._tick()
        case = MockCase(id=str(self._next_id()), reference=request.reference, request=request,
                        status=status, stage_status=status, registered_at=at,
                        original_amount=request.balance, principal=request.balance,
                        changed_at=at)
        self.cases[case.id] = case
        self._case_by_reference.setdefault(case.reference, case.id)
        self._open_cases[case.id] = None
        self._plan(case)
        self._event(case, "registered",
                    f"Case registered for invoice {request.invoice_no}: principal "
                    f"{nok(case.principal)}, due date {request.due_date}")
        return case

    def _plan(self, case: MockCase) -> None:
        """Fix what the debtor will do, and whether the claim carries commission."""
        number = case.request.debtor.number
        customer = self.customers.get(number)
        chosen = agency_process.plan(
            self.seed, number, case.reference,
            customer.behaviour if customer else None,
            customer.pays_after_days if customer else None,
            customer.instalments if customer else None,
        )
        case.behaviour = chosen.behaviour
        case.pays_on_day = chosen.pays_on_day
        case.instalments = chosen.instalments
        case.share = chosen.share
        case.phone_day = chosen.phone_day
        registered_on = local_date(case.registered_at, self.company.timezone)
        late_by = (registered_on - case.request.due_date).days
        case.commission = late_by > agency_process.COMMISSION_AFTER_DAYS
        if not case.stage_status:
            case.stage_status = case.status

    def _event(self, case: MockCase, kind: str, text: str, status: str | None = None) -> None:
        """Add a line to the case's history; every change moves ``changed_at``."""
        at = self._tick()
        case.events.append(AgencyEvent(id=f"{case.id}-{len(case.events) + 1}", at=at,
                                       kind=kind, text=text))
        if status is not None:
            case.status = status
        case.changed_at = at

    def _step(self, case: MockCase, stage: Stage, text: str, status: str) -> None:
        case.stage = stage
        case.stage_status = status
        self._event(case, stage.value, text, status)

    def _agency_day(self, day: date) -> None:
        for case_id in list(self._open_cases):
            case = self.cases[case_id]
            if not case.paused:
                self._case_day(case, day)
        if day.weekday() == PAYOUT_WEEKDAY:
            self.make_payout(day)

    def _case_day(self, case: MockCase, day: date) -> None:
        """One day of an open, unpaused case: interest, the step due today, the debtor."""
        p = agency_process
        case.days += 1
        n = case.days
        if n > p.NOTICE_DAY:
            case.interest += p.interest(case.principal, 1)
        if not case.plan_running:
            self._step_of_day(case, n, day)
        self._debtor_day(case, n)
        if not case.closed and n >= p.CLOSE_DAY and not case.plan_running:
            paid = case.paid_principal + case.reduced_by_payment
            self._close(case, Outcome.PARTLY_PAID if paid > 0 else Outcome.UNRESOLVED)

    def _step_of_day(self, case: MockCase, n: int, day: date) -> None:
        p = agency_process
        pay_by = day + timedelta(days=p.TIME_TO_PAY)
        if n == p.NOTICE_DAY:
            overdue = max((day - case.request.due_date).days, 0)
            owed = p.interest(case.principal, overdue)
            person = case.request.debtor.is_person
            fee = p.NOTICE_FEE if person else p.B2B_COMPENSATION
            case.interest += owed
            case.fees += fee
            what = "notice fee" if person else "standard compensation"
            self._step(case, Stage.NOTICE,
                       f"Collection notice sent to the debtor: {p.TIME_TO_PAY} days to pay; "
                       f"{what} {nok(fee)}, interest {nok(owed)} for {overdue} days since the "
                       "due date", f"Collection notice sent: pay by {pay_by}")
        elif n == case.phone_day:
            self._step(case, Stage.PHONE, "Caseworker called the debtor",
                       "Caseworker called the debtor")
        elif n == p.DEMAND_DAY:
            fee = p.light_fee(case.principal)
            case.fees += fee
            self._step(case, Stage.DEMAND,
                       f"Payment demand sent: {p.TIME_TO_PAY} days to pay; light collection fee "
                       f"{nok(fee)}", f"Payment demand sent: pay by {pay_by}")
        elif n == p.SMS_DAY:
            self._step(case, Stage.SMS, "SMS reminder sent to the debtor",
                       "SMS reminder sent to the debtor")
        elif n == p.LEGAL_NOTICE_DAY:
            self._step(case, Stage.LEGAL_NOTICE,
                       f"Notice of legal steps sent: {p.TIME_TO_PAY} days to pay; legal steps "
                       "need the creditor's approval", f"Notice of legal steps: pay by {pay_by}")
        elif n == p.HEAVY_FEE_DAY:
            more = p.heavy_fee(case.principal) - p.light_fee(case.principal)
            case.fees += more
            self._step(case, Stage.HEAVY_FEE,
                       f"Heavy collection fee charged: {nok(more)} more; legal steps await the "
                       "creditor's approval", "Heavy fee charged: awaiting the creditor's "
                       "approval of legal steps")
        elif n == p.SURVEILLANCE_DAY:
            self._step(case, Stage.SURVEILLANCE,
                       "Case moved to surveillance: the agency watches for the debtor's means "
                       "to pay", "In surveillance")

    def _debtor_day(self, case: MockCase, n: int) -> None:
        """The debtor's payment due on case day ``n`` by its plan, if any."""
        first = case.pays_on_day
        if case.closed or first is None:
            return
        if case.behaviour is Behaviour.INSTALMENTS:
            k = case.instalments_paid
            if k >= case.instalments or n != first + agency_process.INSTALMENT_EVERY * k:
                return
            if k == 0:
                case.instalment_amount = to_money(case.balance / case.instalments)
                self._event(case, "instalment_plan",
                            f"Instalment plan agreed with the debtor: {case.instalments} "
                            f"payments of {nok(case.instalment_amount)} every "
                            f"{agency_process.INSTALMENT_EVERY} days")
            case.instalments_paid = k + 1
            last = case.instalments_paid == case.instalments
            amount = case.balance if last else min(case.instalment_amount, case.balance)
            self._debtor_pays(case, amount, f"Instalment {k + 1} of {case.instalments} paid")
            if not case.closed:
                status = f"Instalment plan: {k + 1} of {case.instalments} paid"
                case.stage_status = case.status = status
            return
        if n != first:
            return
        if case.behaviour is Behaviour.PARTIAL:
            amount = case.fees + case.interest + to_money(case.principal * case.share / 100)
            self._debtor_pays(case, amount, "Debtor paid part of the claim")
        else:
            self._debtor_pays(case, case.balance, "Debtor paid the claim in full")

    def _debtor_pays(self, case: MockCase, amount: Decimal, what: str) -> None:
        """A payment from the debtor to the agency: fees first, then interest, then
        principal (docs/mock.md). Closes the case as paid when no principal is left."""
        if amount <= 0:
            return
        part = agency_process.split(amount, case.fees, case.interest, case.principal)
        case.fees -= part.fees
        case.interest -= part.interest
        case.principal -= part.principal
        case.paid_fees += part.fees
        case.paid_interest += part.interest
        case.paid_principal += part.principal
        case.pending_fees += part.fees
        case.pending_interest += part.interest
        case.pending_principal += part.principal
        self._unsettled[case.id] = None
        self._event(case, "payment",
                    f"{what}: {nok(amount)} (fees {nok(part.fees)}, interest "
                    f"{nok(part.interest)}, principal {nok(part.principal)})")
        if case.principal == 0:
            self._close(case, Outcome.PAID)

    def _close(self, case: MockCase, outcome: Outcome, text: str | None = None) -> None:
        if outcome in _DROPS_COSTS:
            case.interest = case.fees = ZERO
        case.closed = True
        case.paused = False
        case.outcome = outcome
        self._open_cases.pop(case.id, None)
        after = "after surveillance" if case.stage is Stage.SURVEILLANCE else (
            f"on case day {case.days}")
        texts = {
            Outcome.PAID: "Case closed in full",
            Outcome.PARTLY_PAID: f"Case closed as partly paid {after}: {nok(case.principal)} "
                                 f"of {nok(case.original_amount)} principal outstanding",
            Outcome.UNRESOLVED: f"Case closed as unresolved {after}: {nok(case.principal)} "
                                "principal outstanding",
            Outcome.CREDITED: "Case closed: credited in full by the creditor",
            Outcome.WITHDRAWN: "Case withdrawn by the creditor",
        }
        self._event(case, "closed", text or texts[outcome], _CLOSED_STATUS[outcome])

    # -- the customer web: what the creditor does at the agency (R6) -------------------------

    def pause_case(self, case_id: str) -> MockCase:
        """Pause collection: the case takes no steps, accrues no interest and sees no
        payments until resumed. Pausing a paused case changes nothing."""
        case = self._open_case_for(case_id, "paused")
        if not case.paused:
            case.paused = True
            self._event(case, "paused", "Case paused by the creditor",
                        "Paused by the creditor")
        return case

    def resume_case(self, case_id: str) -> MockCase:
        """Resume a paused case where it stood. Resuming a running case changes nothing."""
        case = self._open_case_for(case_id, "resumed")
        if case.paused:
            case.paused = False
            self._event(case, "resumed", "Case resumed by the creditor", case.stage_status)
        return case

    def withdraw_case(self, case_id: str) -> MockCase:
        """Withdraw a case: it closes as withdrawn. After the collection notice the creditor
        pays a withdraw fee: the fees the debtor still owed, deducted (with VAT) from the next
        payout that can carry it. Withdrawing a withdrawn case changes nothing."""
        case = self.case(case_id)
        if case.outcome is Outcome.WITHDRAWN:
            return case
        case = self._open_case_for(case_id, "withdrawn")
        fee = case.fees if case.stage is not Stage.REGISTERED else ZERO
        case.withdraw_fee = case.pending_charge = fee
        if fee > 0:
            self._unsettled[case.id] = None
        text = "Case withdrawn by the creditor" + (
            f"; withdraw fee {nok(fee)} (the fees the debtor owed) charged to the creditor"
            if fee > 0 else "; no fee before the collection notice")
        self._close(case, Outcome.WITHDRAWN, text)
        return case

    def _open_case_for(self, case_id: str, verb: str) -> MockCase:
        case = self.case(case_id)
        if case.closed:
            outcome = case.outcome.value if case.outcome else "closed"
            raise UserError(f"case {case_id} is closed ({outcome}); it cannot be {verb}")
        return case

    def report_reduction(self, reduction: ClaimReduction) -> MockReduction:
        """A direct payment or credit note reported by the creditor: it reduces the principal
        only. A reference seen before is a duplicate: counted, applied nothing. Principal
        reduced to 0 closes the case: paid by a payment, credited by a credit note."""
        known = self.reductions.get(reduction.reference)
        if known is not None:
            self.duplicate_reductions += 1
            return known
        case = self.case(reduction.case_id)
        if reduction.invoice_reference != case.reference:
            raise UserError(f"case {case.id} is for {case.reference}, not "
                            f"{reduction.invoice_reference}")
        if reduction.amount <= 0:
            raise UserError(f"reduction {reduction.reference}: the amount must be above 0, "
                            f"not {reduction.amount}")
        if reduction.kind is LedgerKind.PAYMENT:
            what, kind, outcome = "direct payment", "direct_payment", Outcome.PAID
        elif reduction.kind is LedgerKind.CREDIT_NOTE:
            what, kind, outcome = "credit note", "credit_note", Outcome.CREDITED
        else:
            raise UserError(f"reduction {reduction.reference}: a {reduction.kind.value} is not "
                            "reported to the agency; only direct payments and credit notes")
        applied = ZERO if case.closed else min(reduction.amount, case.principal)
        record = MockReduction(reduction=reduction, applied=applied, at=self._tick())
        self.reductions[reduction.reference] = record
        if case.closed:
            self._event(case, kind, f"Creditor reported a {what} of {nok(reduction.amount)} "
                                    "after the case closed: no effect")
            return record
        case.principal -= applied
        if reduction.kind is LedgerKind.PAYMENT:
            case.reduced_by_payment += applied
        else:
            case.reduced_by_credit += applied
        extra = reduction.amount - applied
        self._event(case, kind,
                    f"Creditor reported a {what} of {nok(reduction.amount)} on {reduction.on}: "
                    f"principal now {nok(case.principal)}"
                    + (f"; {nok(extra)} above the remaining principal not applied"
                       if extra > 0 else ""))
        if case.principal == 0:
            self._close(case, outcome)
        return record

    # -- payouts ---------------------------------------------------------------------------

    def payout(self, payout_id: str) -> MockPayout:
        try:
            return self.payouts[payout_id]
        except KeyError:
            raise UserError(f"the mock agency has no payout {payout_id}") from None

    def make_payout(self, day: date | None = None) -> MockPayout | None:
        """Settle what the agency collected: per case the principal (with the interest and
        fees when ``agency_passes_fees``), commission and its VAT where due, and withdraw
        fees with their VAT when the money collected covers them. Runs every Monday night;
        returns None when there is nothing to pay out."""
        p = agency_process
        collected: list[PayoutLine] = []
        charges: list[PayoutLine] = []
        charged: list[MockCase] = []
        cases = sorted((self.cases[case_id] for case_id in self._unsettled),
                       key=lambda case: case.registered_at)  # the same after a reload
        for case in cases:
            ids = {"case_id": case.id, "reference": case.reference}
            invoice = f"invoice {case.request.invoice_no}"
            principal = case.pending_principal
            if principal > 0:
                collected.append(PayoutLine(kind=PayoutLineKind.PRINCIPAL, amount=principal,
                                            description=f"Principal collected, {invoice}",
                                            **ids))
            if self.agency_passes_fees:
                if case.pending_interest > 0:
                    collected.append(PayoutLine(
                        kind=PayoutLineKind.INTEREST, amount=case.pending_interest,
                        description=f"Interest collected, {invoice}", **ids))
                if case.pending_fees > 0:
                    collected.append(PayoutLine(
                        kind=PayoutLineKind.FEE, amount=case.pending_fees,
                        description=f"Fees collected, {invoice}", **ids))
            if case.commission and principal > 0:
                cut = p.commission(principal)
                collected.append(PayoutLine(
                    kind=PayoutLineKind.COMMISSION, amount=cut,
                    description=f"Commission 10 % of {nok(principal)}, {invoice}: registered "
                                f"more than {p.COMMISSION_AFTER_DAYS} days after the due date",
                    **ids))
                collected.append(PayoutLine(kind=PayoutLineKind.VAT, amount=p.vat(cut),
                                            description=f"VAT 25 % on commission, {invoice}",
                                            **ids))
            if case.pending_charge > 0:
                charged.append(case)
                charges.append(PayoutLine(
                    kind=PayoutLineKind.FEE, amount=-case.pending_charge,
                    description=f"Withdraw fee, {invoice}: the fees the debtor owed", **ids))
                charges.append(PayoutLine(kind=PayoutLineKind.VAT,
                                          amount=p.vat(case.pending_charge),
                                          description=f"VAT 25 % on withdraw fee, {invoice}",
                                          **ids))
        if not self.agency_passes_fees:
            for case in cases:  # the agency keeps them
                case.pending_interest = case.pending_fees = ZERO
        if not collected:
            for case in cases:
                if not _unsettled(case):
                    self._unsettled.pop(case.id, None)
            return None
        lines = collected
        if _net(collected) + _net(charges) >= 0:
            lines = collected + charges
            for case in charged:
                case.pending_charge = ZERO
        for case in cases:
            case.pending_principal = case.pending_interest = case.pending_fees = ZERO
            if not _unsettled(case):
                self._unsettled.pop(case.id, None)
        record = MockPayout(id=f"S{self._next_id()}", paid_on=day or self.today, lines=lines,
                            changed_at=self._tick())
        self.payouts[record.id] = record
        return record

    def mark_booked(self, payout_id: str, accounting_id: str) -> MockPayout:
        """The creditor booked the payout under ``accounting_id``. Again with the same id is
        harmless; with another id it is refused. Every call counts in ``payouts_booked``."""
        payout = self.payout(payout_id)
        if not accounting_id.strip():
            raise UserError(f"payout {payout_id}: the accounting id is empty")
        if payout.accounting_id is not None and payout.accounting_id != accounting_id:
            raise UserError(f"payout {payout_id} is booked already under "
                            f"{payout.accounting_id}, not {accounting_id}")
        self.payouts_booked[payout_id] = self.payouts_booked.get(payout_id, 0) + 1
        if payout.accounting_id is None:
            payout.accounting_id = accounting_id
            payout.booked_at = payout.changed_at = self._tick()
        return payout

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
        stages: dict[str, int] = {}
        outcomes: dict[str, int] = {}
        behaviours: dict[str, int] = {}
        for case in self.cases.values():
            if case.outcome is not None:
                outcomes[case.outcome.value] = outcomes.get(case.outcome.value, 0) + 1
            else:
                stages[case.stage.value] = stages.get(case.stage.value, 0) + 1
            if case.behaviour is not None:
                behaviours[case.behaviour.value] = behaviours.get(case.behaviour.value, 0) + 1
        vouchers = self.vouchers.values()
        return {
            "now": self.now.isoformat(), "today": self.today.isoformat(),
            "company": self.company.name, "dunning": self.dunning.model_dump(),
            "customers": len(self.customers),
            "excluded": sum(not c.transfer_to_agency for c in self.customers.values()),
            "invoices": len(self.invoices),
            "open_by_next_action": dict(sorted(actions.items())),
            "letters": len(self.letters), "cases": len(self.cases),
            "registrations": self.registrations, "duplicates": self.duplicates,
            "cases_open_by_stage": dict(sorted(stages.items())),
            "cases_paused": sum(c.paused for c in self.cases.values()),
            "cases_closed_by_outcome": dict(sorted(outcomes.items())),
            "debtor_behaviours": dict(sorted(behaviours.items())),
            "payouts": len(self.payouts),
            "payouts_unbooked": sum(p.accounting_id is None for p in self.payouts.values()),
            "payouts_booked": sum(p.accounting_id is not None for p in self.payouts.values()),
            "mark_booked_calls": sum(self.payouts_booked.values()),
            "reductions": len(self.reductions),
            "duplicate_reductions": self.duplicate_reductions,
            "vouchers_posted": sum(v.posted and v.origin == "import" for v in vouchers),
            "proposals_waiting": sum(not v.posted for v in vouchers),
            "write_offs": sum(v.origin == "write_off" for v in vouchers),
            "duplicate_vouchers": self.duplicate_vouchers,
            "ledger_entries": len(self.ledger),
            "status_writes": self.status_writes,
            "agency_passes_fees": self.agency_passes_fees,
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


def _unsettled(case: MockCase) -> bool:
    """Whether the case has money or a charge waiting for a payout."""
    return bool(case.pending_principal or case.pending_interest or case.pending_fees
                or case.pending_charge)


_DEDUCTED = (PayoutLineKind.COMMISSION, PayoutLineKind.VAT)


def _net(lines: list[PayoutLine]) -> Decimal:
    """What ``lines`` add to a payout's net, as ``Payout.net`` counts it."""
    return sum((-ln.amount if ln.kind in _DEDUCTED else ln.amount for ln in lines), ZERO)
