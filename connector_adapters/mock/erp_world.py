"""The ERP's half of the mock world: one company, its customers and invoices, the reminder
flow, the customer ledger, vouchers and bookkeeping proposals, and the status it shows per
collection case. Stored in its own file (``erp.sqlite``); a PowerOffice Go emulator serves
this side alone.

Time moves only through ``advance_to``, which runs the reminder flow at every local
midnight it crosses. Every write takes one microsecond of the ERP's time, so a change is
always strictly later than any read before it, as on a real server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict

from connector.domain import (
    Address,
    CaseStatus,
    Company,
    Customer,
    DunningSetup,
    InvoiceKind,
    LedgerEntry,
    LedgerKind,
    LetterKind,
    Money,
    NextAction,
    ReminderLetter,
    Voucher,
    VoucherKind,
    VoucherLine,
)
from connector.errors import UserError
from connector_adapters.mock import events as ev
from connector_adapters.mock import flow
from connector_adapters.mock.collection import ZERO, nok
from connector_adapters.mock.events import Scheduled
from connector_adapters.mock.norway import kid as make_kid
from connector_adapters.mock.state import (
    DateText,
    Head,
    Record,
    Side,
    build,
    parse_date,
    positive,
    reads,
    writes,
)

ERP_FAULTS = frozenset({
    "erp.company", "erp.customers", "erp.customers_by_number", "erp.invoices", "erp.letters",
    "erp.ledger", "erp.write_status", "erp.find_voucher", "erp.post_voucher",
    "erp.post_voucher.lost_reply",
})
"""ERP operations a fault can be injected into (``.lost_reply``: done, then the answer lost)."""
CUSTOMER_LEDGER = "1500"
"""The customer-ledger account (kundefordringer): voucher lines on it match invoices."""

_LETTER_ACTIONS = {NextAction(kind.value) for kind in LetterKind}
_ID_NAMESPACE = uuid.UUID("6f1c9a52-3f0e-4c55-9d0b-6b7a3c2e8d41")


class MockCustomer(Customer):
    """The ERP's customer card: exactly the domain's, editable."""

    model_config = ConfigDict(frozen=False, extra="forbid")


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


class ErpHead(Head):
    company: Company
    last_invoice_no: int = 10000
    duplicate_vouchers: int = 0
    """Vouchers refused because their external reference was taken."""
    status_writes: int = 0


class ErpWorld(Side):
    """The mock ERP's state; every public action is one durable write (see ``state``)."""

    KINDS: ClassVar[dict[str, tuple[type[BaseModel], str]]] = {
        "customer": (MockCustomer, "number"),
        "invoice": (MockInvoice, "invoice_no"),
        "letter": (MockLetter, "id"),
        "ledger": (MockLedgerEntry, "id"),
        "voucher": (MockVoucher, "id"),
        "status": (CaseStatus, "invoice_id"),
        "event": (Scheduled, "id"),
    }
    HEAD = ErpHead
    FAULTS = ERP_FAULTS
    NAME = "ERP"
    head: ErpHead

    def __init__(self, head: Head) -> None:
        super().__init__(head)
        self.customers: dict[str, MockCustomer] = self.tables["customer"]
        self.invoices: dict[str, MockInvoice] = self.tables["invoice"]
        self._letters: dict[str, MockLetter] = self.tables["letter"]
        self._ledger: dict[str, MockLedgerEntry] = self.tables["ledger"]
        self.vouchers: dict[str, MockVoucher] = self.tables["voucher"]
        self.case_status: dict[str, CaseStatus] = self.tables["status"]
        """The status the ERP shows per case, by invoice id (PowerOffice UpdateStatus, R8)."""
        self._letters_of: dict[str, list[MockLetter]] = {}
        self._wake: dict[str, date | None] = {}
        self._invoice_by_id: dict[str, str] = {}
        self._voucher_by_reference: dict[str, str] = {}

    @classmethod
    def new(cls, now: datetime, company: Company, last_invoice_no: int = 10000) -> ErpWorld:
        return cls(ErpHead(now=now.astimezone(UTC), company=company,
                           last_invoice_no=last_invoice_no))

    @classmethod
    def at(cls, path: Path, now: datetime | None = None) -> ErpWorld:
        """The ERP stored in ``path``; a new file holds an Oslo company, every step off."""
        head = ErpHead(now=now or datetime.now(UTC), company=Company(name="Mock AS"))
        return cls.open(path, head)

    def _index(self) -> None:
        self._letters_of.clear()
        for letter in self._letters.values():
            self._letters_of.setdefault(letter.invoice_id, []).append(letter)
        self._invoice_by_id = {i.id: number for number, i in self.invoices.items()}
        self._voucher_by_reference = {v.reference: v.id for v in self.vouchers.values()
                                      if v.reference is not None}
        today = self._today()
        self._wake = {number: self._state(i, today).wake for number, i in self.invoices.items()}

    # -- reading ---------------------------------------------------------------------------

    @property
    def company(self) -> Company:
        self.refresh()
        return self.head.company

    @property
    def letters(self) -> list[MockLetter]:
        self.refresh()
        return list(self._letters.values())

    @property
    def ledger(self) -> list[MockLedgerEntry]:
        self.refresh()
        return list(self._ledger.values())

    @property
    def duplicate_vouchers(self) -> int:
        self.refresh()
        return self.head.duplicate_vouchers

    @property
    def status_writes(self) -> int:
        self.refresh()
        return self.head.status_writes

    @property
    def timezone(self) -> str:
        """The company's zone: the reminder flow counts its local days (R1)."""
        return self.head.company.timezone

    @reads
    def customer(self, number: str) -> MockCustomer:
        try:
            return self.customers[number]
        except KeyError:
            raise UserError(f"the mock ERP has no customer {number}") from None

    @reads
    def invoice(self, invoice_no: str) -> MockInvoice:
        try:
            return self.invoices[invoice_no]
        except KeyError:
            raise UserError(f"the mock ERP has no invoice {invoice_no}") from None

    @reads
    def voucher(self, voucher_id: str) -> MockVoucher:
        try:
            return self.vouchers[voucher_id]
        except KeyError:
            raise UserError(f"the mock ERP has no voucher {voucher_id}") from None

    @reads
    def find_voucher(self, reference: str) -> MockVoucher | None:
        """The voucher imported under ``reference``, posted or a proposal."""
        voucher_id = self._voucher_by_reference.get(reference)
        return self.vouchers[voucher_id] if voucher_id is not None else None

    @reads
    def letters_of(self, invoice: MockInvoice) -> list[MockLetter]:
        return list(self._letters_of.get(invoice.id, ()))

    def dunning_for(self, customer: MockCustomer) -> DunningSetup:
        if customer.dunning is not None:
            return customer.dunning
        return self.head.company.dunning or DunningSetup()  # a company that does not say

    # -- time and the reminder flow ----------------------------------------------------------

    def _night(self, day: date) -> None:
        """The reminder flow's nightly run: every letter due today goes out."""
        for number, wake in list(self._wake.items()):
            if wake is not None and wake <= day:
                self._refresh(self.invoices[number], day, send=True)

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
            invoice.changed_at = max(invoice.changed_at, self.tick())
            self.touch("invoice", invoice)

    def _send(self, invoice: MockInvoice, kind: LetterKind, sent_on: date,
              due_date: date | None = None) -> MockLetter:
        letter = MockLetter(
            id=f"L{self.next_id()}", invoice_id=invoice.id, kind=kind, sent_on=sent_on,
            due_date=due_date or sent_on + flow.TIME_TO_PAY, changed_at=self.tick(),
        )
        self.touch("letter", letter)
        self._letters_of.setdefault(invoice.id, []).append(letter)
        return letter

    @writes
    def settle(self) -> None:
        """Send, backdated, every letter the flow would have sent up to today (world building)."""
        today = self._today()
        for invoice in self.invoices.values():
            self._refresh(invoice, today, send=True, backdate=True)

    @writes
    def add_letter(self, invoice_no: str, kind: LetterKind, sent_on: date,
                   due_date: date | None = None) -> MockLetter:
        """Record a letter sent before the world began (scenarios)."""
        invoice = self.invoice(invoice_no)
        letter = self._send(invoice, kind, sent_on, due_date)
        self._refresh(invoice, self._today())
        return letter

    # -- customers and the company -----------------------------------------------------------

    @writes
    def add_customer(self, number: str, name: str, **fields: Any) -> MockCustomer:
        """Create a customer card; ``fields`` are those of MockCustomer."""
        if number in self.customers:
            raise UserError(f"the mock ERP already has a customer {number}")
        data = {"id": str(self.next_id()), **fields, "number": number, "name": name,
                "changed_at": self.tick()}
        customer = build(MockCustomer, data)
        self.touch("customer", customer)
        return customer

    @writes
    def update_customer(self, number: str, **fields: Any) -> MockCustomer:
        """Edit the card; moves its change time, as every edit but an address edit does."""
        if "address" in fields:
            raise UserError("change a customer's address with set_address")
        old = self.customer(number)
        data = {**old.model_dump(), **fields, "number": number, "changed_at": self.tick()}
        customer = build(MockCustomer, data)
        self.touch("customer", customer)
        if (customer.dunning, customer.send_reminders) != (old.dunning, old.send_reminders):
            self._refresh_where(lambda invoice: invoice.customer_no == number)
        return customer

    @writes
    def set_address(self, number: str, **fields: str | None) -> MockCustomer:
        """Edit the postal address without moving the change time (PowerOffice's
        ``LastChangedDateTimeOffset`` ignores address edits)."""
        old = self.customer(number)
        address = build(Address, {**old.address.model_dump(), **fields})
        self.tick()
        customer = old.model_copy(update={"address": address})
        self.touch("customer", customer)
        return customer

    @writes
    def exclude_customer(self, number: str) -> MockCustomer:
        """Uncheck "Over til inkassobyrå" (R11)."""
        return self.update_customer(number, transfer_to_agency=False)

    @writes
    def include_customer(self, number: str) -> MockCustomer:
        return self.update_customer(number, transfer_to_agency=True)

    @writes
    def set_company(self, **fields: Any) -> Company:
        """Change the company's name, time zone, dunning setup or auto-transfer (R1, R2)."""
        company = build(Company, {**self.head.company.model_dump(), **fields})
        try:
            ZoneInfo(company.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UserError(f"unknown time zone {company.timezone!r}") from None
        self.head.company = company
        self.tick()
        self._refresh_where(lambda invoice: True)
        return company

    def _refresh_where(self, wanted: Callable[[MockInvoice], bool]) -> None:
        today = self._today()
        for invoice in self.invoices.values():
            if wanted(invoice):
                self._refresh(invoice, today)

    # -- invoices ------------------------------------------------------------------------------

    def _next_invoice_no(self) -> str:
        while str(self.head.last_invoice_no + 1) in self.invoices:
            self.head.last_invoice_no += 1
        self.head.last_invoice_no += 1
        return str(self.head.last_invoice_no)

    def _new_invoice_id(self) -> str:
        return str(uuid.uuid5(_ID_NAMESPACE, f"invoice/{self.next_id()}"))

    @writes
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
        number = invoice_no or self._next_invoice_no()
        if number in self.invoices:
            raise UserError(f"the mock ERP already has an invoice {number}")
        today = self._today()
        issued = invoice_date or today
        issued_on = issued if isinstance(issued, date) else parse_date(issued)
        due = due_date or (issued_on + flow.TIME_TO_PAY if issued_on else issued)
        invoice_id = self._new_invoice_id()
        changed_at = self.tick()
        if issued_on and issued_on > today:
            changed_at = self.midnight(issued_on)
        invoice = build(MockInvoice, {
            "id": invoice_id, "invoice_no": number, "customer_no": customer_no,
            "invoice_date": issued, "due_date": due, "amount": amount,
            "balance": amount if balance is None else balance, "currency": currency,
            "kid": kid or (make_kid(digits) if (digits := f"{customer_no}{number}").isdigit()
                           else None),
            "collect_requested": collect_requested, "changed_at": changed_at,
        })
        self.touch("invoice", invoice)
        self._invoice_by_id[invoice.id] = number
        self._refresh(invoice, today)
        return invoice

    @writes
    def pay(self, invoice_no: str, amount: Decimal | int | str) -> MockInvoice:
        """A payment from the debtor straight to the creditor, matched against the invoice's
        balance; it shows on the customer ledger as a ``payment`` entry."""
        invoice = self._open_invoice(invoice_no)
        paid = positive(amount, invoice.balance, f"payment on invoice {invoice_no}")
        invoice.balance -= paid
        invoice.changed_at = self.tick()
        self.touch("invoice", invoice)
        today = self._today()
        self._refresh(invoice, today)
        self._ledger_entry(invoice, LedgerKind.PAYMENT, paid, today,
                           description="Payment from the debtor")
        return invoice

    @writes
    def credit(self, invoice_no: str, amount: Decimal | int | str) -> MockInvoice:
        """Issue a credit note for part or all of the invoice's balance; returns the note."""
        invoice = self._open_invoice(invoice_no)
        credited = positive(amount, invoice.balance, f"credit on invoice {invoice_no}")
        today = self._today()
        note_id = self._new_invoice_id()
        note = build(MockInvoice, {
            "id": note_id, "invoice_no": self._next_invoice_no(),
            "customer_no": invoice.customer_no, "invoice_date": today, "due_date": today,
            "amount": -credited, "balance": 0, "currency": invoice.currency,
            "kind": InvoiceKind.CREDIT_NOTE, "credits": invoice_no, "changed_at": self.tick(),
        })
        self.touch("invoice", note)
        self._invoice_by_id[note.id] = note.invoice_no
        self._wake[note.invoice_no] = None
        invoice.balance -= credited
        invoice.changed_at = self.tick()
        self.touch("invoice", invoice)
        self._refresh(invoice, today)
        self._ledger_entry(invoice, LedgerKind.CREDIT_NOTE, credited, today,
                           description=f"Credit note {note.invoice_no}")
        return note

    @writes
    def delete_invoice(self, invoice_no: str) -> MockInvoice:
        invoice = self.invoice(invoice_no)
        invoice.deleted = True
        invoice.changed_at = self.tick()
        self.touch("invoice", invoice)
        self._refresh(invoice, self._today())
        return invoice

    @writes
    def request_collection(self, invoice_no: str) -> MockInvoice:
        """Send an invoice from the reminder flow to collection (R10): only on none or wait."""
        invoice = self._open_invoice(invoice_no)
        if invoice.next_action not in (NextAction.NONE, NextAction.WAIT):
            raise UserError(
                f"invoice {invoice_no} has next action {invoice.next_action.value}; "
                "only an invoice waiting or with no next action can be sent to collection"
            )
        invoice.collect_requested = True
        invoice.changed_at = self.tick()
        self.touch("invoice", invoice)
        self._refresh(invoice, self._today())
        return invoice

    def _open_invoice(self, invoice_no: str) -> MockInvoice:
        invoice = self.invoice(invoice_no)
        if not invoice.is_open:
            raise UserError(f"invoice {invoice_no} is not an open invoice")
        return invoice

    # -- the books: ledger, vouchers, write-offs, case status ----------------------------------

    def _ledger_entry(self, invoice: MockInvoice, kind: LedgerKind, amount: Decimal, on: date,
                      external_reference: str | None = None,
                      description: str = "") -> MockLedgerEntry:
        entry = MockLedgerEntry(
            id=f"LE{self.next_id()}", invoice_id=invoice.id, invoice_no=invoice.invoice_no,
            kind=kind, amount=amount, on=on, external_reference=external_reference,
            description=description, changed_at=self.tick(),
        )
        self.touch("ledger", entry)
        return entry

    def post_voucher(self, voucher: Voucher) -> MockVoucher:
        """Import a voucher: ``posted`` is booked at once, a ``proposal`` waits for the
        accountant (``approve_proposal``). Refused, as PowerOffice refuses them: a reference
        already used (counted in ``duplicate_vouchers``), no lines, lines that do not
        balance, a customer-ledger line without a matching invoice of its customer."""
        reference = voucher.reference.strip()
        if not reference:
            raise UserError("a voucher needs an external reference")
        with self.transaction():
            taken = self._voucher_by_reference.get(reference)
            if taken is None:
                return self._import(voucher, reference)
            self.head.duplicate_vouchers += 1  # kept: the refusal is not rolled back
            self.head_changed()
        raise UserError(f"a voucher with external reference {reference!r} exists already "
                        f"({taken}); the ERP refuses a second one")

    def _import(self, voucher: Voucher, reference: str) -> MockVoucher:
        if not voucher.lines:
            raise UserError(f"voucher {reference!r} has no lines")
        if voucher.balance != 0:
            raise UserError(f"voucher {reference!r} does not balance: its lines sum to "
                            f"{nok(voucher.balance)}, not 0 (debit positive, credit negative)")
        for i, line in enumerate(voucher.lines):
            if line.account == CUSTOMER_LEDGER:
                self._ledger_invoice(line, f"voucher {reference!r} line {i + 1}")
        record = MockVoucher(
            id=f"V{self.next_id()}", reference=reference, kind=voucher.kind, posted=False,
            on=voucher.date, description=voucher.description, lines=voucher.lines,
            flagged=voucher.flagged, created_at=self.tick(),
        )
        self.touch("voucher", record)
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

    @writes
    def approve_proposal(self, voucher_id: str) -> MockVoucher:
        """The accountant approves a bookkeeping proposal: it is posted now (R13)."""
        voucher = self.voucher(voucher_id)
        if voucher.posted:
            raise UserError(f"voucher {voucher_id} is posted already")
        self._post(voucher)
        return voucher

    @writes
    def discard_proposal(self, voucher_id: str) -> MockVoucher:
        """The accountant deletes a proposal; its external reference is free again."""
        voucher = self.voucher(voucher_id)
        if voucher.posted:
            raise UserError(f"voucher {voucher_id} is posted; reverse it instead")
        self.forget("voucher", voucher_id)
        if voucher.reference is not None:
            self._voucher_by_reference.pop(voucher.reference, None)
        self.tick()
        return voucher

    def proposals(self) -> list[MockVoucher]:
        """Bookkeeping proposals waiting for the accountant, oldest first."""
        self.refresh()
        return [v for v in self.vouchers.values() if not v.posted and v.origin == "import"]

    def _post(self, voucher: MockVoucher) -> None:
        """Book the voucher: each customer-ledger line is matched against its invoice. A
        credit lowers the balance (a ``payment`` entry); a debit raises it again (a
        ``write_off`` entry with a negative amount: a write-off reversed, R12)."""
        voucher.posted = True
        voucher.posted_at = self.tick()
        self.touch("voucher", voucher)
        today = self._today()
        for line in voucher.lines:
            if line.account != CUSTOMER_LEDGER or not line.invoice_no or line.amount == 0:
                continue
            invoice = self.invoices[line.invoice_no]
            invoice.balance += line.amount
            invoice.changed_at = self.tick()
            self.touch("invoice", invoice)
            self._refresh(invoice, today)
            kind = LedgerKind.PAYMENT if line.amount < 0 else LedgerKind.WRITE_OFF
            self._ledger_entry(invoice, kind, -line.amount, voucher.on, voucher.reference,
                               line.description or voucher.description)

    @writes
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
        today = self._today()
        day = on if isinstance(on, date) else parse_date(on)
        if day is None:
            raise UserError(f"the posting date {on!r} is not a date (YYYY-MM-DD)")
        if day < today:
            raise UserError(f"the posting date {day} is before today {today}")
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
            id=f"V{self.next_id()}", reference=None, kind=VoucherKind.POSTED, posted=True,
            on=day, description=text, lines=lines, origin="write_off", department=department,
            project=project, attachment=attachment, created_at=self.tick(),
        )
        voucher.posted_at = voucher.created_at
        self.touch("voucher", voucher)
        for invoice in invoices:
            amount = invoice.balance
            invoice.balance = ZERO
            invoice.changed_at = self.tick()
            self.touch("invoice", invoice)
            self._refresh(invoice, today)
            self._ledger_entry(invoice, LedgerKind.WRITE_OFF, amount, day, None, text)
        return voucher

    @writes
    def write_status(self, statuses: list[CaseStatus]) -> None:
        """Show the agency's status per case in the ERP: the latest one per invoice wins.
        Every status must name an invoice the ERP has; otherwise nothing is stored."""
        unknown = [s.invoice_id for s in statuses if s.invoice_id not in self._invoice_by_id]
        if unknown:
            raise UserError(f"the mock ERP has no invoice with id {', '.join(unknown)}")
        for status in statuses:
            self.touch("status", status)
            self.head.status_writes += 1
            self.tick()

    @writes
    def apply(self, event: Any) -> str:
        """Make an ERP event happen now (``events``); returns what changed, in one line."""
        match event:
            case ev.Pay(invoice_no=no, amount=amount):
                paid = self._open_invoice(no).balance if amount is None else amount
                invoice = self.pay(no, paid)
                return (f"invoice {no}: the debtor paid {nok(paid)} to the creditor; "
                        f"balance now {nok(invoice.balance)}")
            case ev.Credit(invoice_no=no, amount=amount):
                note = self.credit(no, self._open_invoice(no).balance if amount is None
                                   else amount)
                return (f"invoice {no}: credit note {note.invoice_no} for {nok(-note.amount)}; "
                        f"balance now {nok(self.invoices[no].balance)}")
            case ev.WriteOff(invoice_nos=numbers, account=account, on=on,
                             description=text):
                voucher = self.write_off(numbers, on or self._today(), account,
                                         description=text)
                total = sum((ln.amount for ln in voucher.lines if ln.account == account), ZERO)
                return (f"invoice {', '.join(numbers)}: {nok(total)} written off to account "
                        f"{account} (voucher {voucher.id}); the agency keeps collecting")
            case ev.Book():
                invoice = self._open_invoice(event.invoice_no)
                if event.amount <= 0:
                    raise UserError(f"amount: {event.amount} must be above 0")
                reference = event.reference or f"manual-{self.next_id()}"
                voucher = self.post_voucher(Voucher(
                    reference=reference, kind=VoucherKind.POSTED, date=self._today(),
                    description=event.description, lines=[
                        VoucherLine(account=event.account, amount=event.amount,
                                    description=event.description),
                        VoucherLine(account=CUSTOMER_LEDGER, amount=-event.amount,
                                    customer_no=invoice.customer_no,
                                    invoice_no=invoice.invoice_no,
                                    description=event.description)]))
                return (f"invoice {invoice.invoice_no}: {nok(event.amount)} booked by hand "
                        f"(voucher {voucher.id}, reference {reference}); balance now "
                        f"{nok(invoice.balance)}")
            case ev.Delete(invoice_no=no):
                self.delete_invoice(no)
                return f"invoice {no} deleted"
            case ev.NewInvoice():
                self.customer(event.customer_no)
                invoice = self.add_invoice(
                    event.customer_no, event.amount, invoice_no=event.invoice_no,
                    invoice_date=event.invoice_date, due_date=event.due_date,
                    currency=event.currency)
                return (f"invoice {invoice.invoice_no} for customer {invoice.customer_no}: "
                        f"{invoice.currency} {invoice.amount}, dated {invoice.invoice_date}, "
                        f"due {invoice.due_date}")
            case ev.EditCustomer():
                return self._edit_customer(event)
            case ev.Exclude(number=number):
                self.exclude_customer(number)
                return f"customer {number}: excluded from collection"
            case ev.Include(number=number):
                self.include_customer(number)
                return f"customer {number}: included in collection again"
            case ev.Reminders():
                return self._switch_reminders(event)
            case ev.Approve(voucher=voucher_id):
                chosen = [voucher_id] if voucher_id else [v.id for v in self.proposals()]
                for vid in chosen:
                    self.approve_proposal(vid)
                return ("approved " + ", ".join(chosen) if chosen
                        else "no bookkeeping proposal is waiting")
            case ev.Discard(voucher=voucher_id):
                self.discard_proposal(voucher_id)
                return f"proposal {voucher_id} discarded; its reference is free again"
            case ev.Fault(operation=operation, times=times):
                self.inject(operation, times)
                return (f"the next {times} call(s) of {operation} will fail" if times
                        else f"no more faults in {operation}")
        raise UserError(f"the mock ERP does not run {event.kind} events")

    def _edit_customer(self, event: ev.EditCustomer) -> str:
        old = self.customer(event.number)
        given = event.model_dump(exclude={"kind", "number"}, exclude_none=True)
        address = {k: v for k, v in given.items() if k in ev.ADDRESS_FIELDS}
        card = {k: v for k, v in given.items() if k not in ev.ADDRESS_FIELDS}
        if not given:
            raise UserError("customer: give at least one field to change")
        if card:
            self.update_customer(event.number, **card)
        if address:
            self.set_address(event.number, **address)
        new = self.customers[event.number]
        before, after = _flat(old), _flat(new)
        changes = [f"{k} {before[k]!s} -> {after[k]!s}" for k in given if before[k] != after[k]]
        return (f"customer {event.number}: " + (", ".join(changes) or "nothing changed")
                + ("; its change time moved" if card
                   else "; an address edit: its change time stays"))

    def _switch_reminders(self, event: ev.Reminders) -> str:
        fields: dict[str, Any] = {}
        if event.send is not None:
            fields["send_reminders"] = event.send
        if event.company:
            fields["dunning"] = None
        elif event.dunning is not None:
            fields["dunning"] = event.dunning
        if not fields:
            raise UserError("reminders: give send, dunning or company")
        customer = self.update_customer(event.number, **fields)
        setup = self.dunning_for(customer)
        steps = [name for name, on in setup.model_dump().items() if on] or ["none"]
        whose = "its own" if customer.dunning is not None else "the company's"
        return (f"customer {event.number}: reminders "
                f"{'on' if customer.send_reminders else 'off'}, {whose} dunning setup "
                f"({', '.join(steps)})")

    def summary(self) -> dict[str, Any]:
        """Counts for ``connector mock show``."""
        self.refresh()
        actions: dict[str, int] = {}
        for invoice in self.invoices.values():
            if invoice.is_open:
                actions[invoice.next_action.value] = actions.get(invoice.next_action.value, 0) + 1
        vouchers = self.vouchers.values()
        company = self.head.company
        return {
            "company": company.name,
            "dunning": (company.dunning or DunningSetup()).model_dump(),
            "customers": len(self.customers),
            "excluded": sum(not c.transfer_to_agency for c in self.customers.values()),
            "invoices": len(self.invoices),
            "open_by_next_action": dict(sorted(actions.items())),
            "letters": len(self._letters),
            "vouchers_posted": sum(v.posted and v.origin == "import" for v in vouchers),
            "proposals_waiting": sum(not v.posted for v in vouchers),
            "write_offs": sum(v.origin == "write_off" for v in vouchers),
            "duplicate_vouchers": self.head.duplicate_vouchers,
            "ledger_entries": len(self._ledger),
            "status_writes": self.head.status_writes,
        }


def _flat(customer: MockCustomer) -> dict[str, Any]:
    return {**customer.model_dump(exclude={"address"}), **customer.address.model_dump()}
