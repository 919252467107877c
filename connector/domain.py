"""Domain models: the contract between the engine and every adapter.

Money is always ``Decimal`` (two decimals, never float); times are timezone-aware.
Adapters translate their wire formats into these models and nothing else.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

CENT = Decimal("0.01")


def to_money(value: Decimal | int | str) -> Decimal:
    """Round to whole øre, the unit both the ERP and the agency book in."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money must be Decimal, int or str, never float")
    return value


MAX_MONEY = Decimal("1e15")
"""Past any invoice a company sends: a larger amount is a broken record, not money."""


def _money(value: Decimal) -> Decimal:
    """Whole øre or refused: an amount with a third decimal is a record to fix at its source
    (an item error keeping the raw record), never rounded silently."""
    if not value.is_finite():
        raise ValueError("money must be a finite number")
    if abs(value) >= MAX_MONEY:
        raise ValueError("money must be less than 10^15 in size")
    if value != value.quantize(CENT):
        raise ValueError(f"money has more than two decimals: {value}")
    return to_money(value)


Money = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_money)]

KEY_LENGTH = 100
"""The longest id or number of an ERP or agency record the store keeps (its key columns)."""
Key = Annotated[str, Field(max_length=KEY_LENGTH)]
"""An id or number the store keys or searches by: a longer one is a record set aside with
its reason, never cut short (two long keys cut alike would merge two records)."""
REFERENCE_LENGTH = 200
"""The longest reference or agency event id the store keeps."""


def fitted(value: str, length: int) -> str:
    """``value`` if it fits ``length``; else cut and given its digest, so that two values
    that differ stay apart (an id compared or de-duplicated, never shown for its text)."""
    if len(value) <= length:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[:length - 18]}…#{digest}"


Reference = Annotated[str, AfterValidator(lambda value: fitted(value, REFERENCE_LENGTH))]
"""A reference or an agency event's id: compared and de-duplicated, so one longer than the
store keeps is fitted (``fitted``), never refused: it may come back from a call that has
already acted (a paused case's history)."""
EVENT_KIND_LENGTH = 40
"""The longest kind of a history line (an agency's event kind, or the connector's own)."""


def _shortened(label: str) -> str:
    return label if len(label) <= EVENT_KIND_LENGTH else label[:EVENT_KIND_LENGTH - 1] + "…"


EventKind = Annotated[str, AfterValidator(_shortened)]
"""An agency's name for a kind of event: only shown, so one longer than the store keeps is
shortened, and the case's update it came with is kept."""


class Model(BaseModel):
    """Base for every domain model: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Model):
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


class DunningSetup(Model):
    """Which reminder steps are enabled (purreoppsett), company-wide or per customer (R1)."""

    reminder: bool = False
    dunning_letter: bool = False
    collection_notice: bool = False

    @property
    def letters_enabled(self) -> bool:
        return self.dunning_letter or self.collection_notice


DEFAULT_TIMEZONE = "Europe/Oslo"
"""The zone of a company whose ERP names none, and of a link whose company is not read yet."""


class Company(Model):
    """The ERP client a link serves: its clock zone and collection settings (R1, R2)."""

    name: str
    timezone: str = DEFAULT_TIMEZONE
    dunning: DunningSetup | None = None
    """None: the ERP's API does not say (PowerOffice Go's does not); the link's
    ``collection`` settings apply."""
    auto_transfer: bool | None = None
    """R2, "approve automatic transfer"; None as for ``dunning``."""


class Customer(Model):
    id: Key
    number: Key
    name: str
    is_person: bool = False
    organization_number: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address = Address()
    transfer_to_agency: bool = True
    """False excludes the customer from collection (R11)."""
    send_reminders: bool = True
    """PowerOffice ``SendPaymentReminders``: False means the reminder flow sends this
    customer no letters, so no reminder step applies (R1a)."""
    dunning: DunningSetup | None = None
    """The customer's own dunning setup, overriding the company's (R1)."""
    changed_at: AwareDatetime


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Invoice(Model):
    id: Key
    invoice_no: Key
    customer_id: Key
    """The ERP's own id of the customer: invoices join customers by it."""
    customer_no: Key
    """The customer number, for display and search (an ERP may renumber a customer)."""
    invoice_date: date
    due_date: date
    amount: Money
    balance: Money
    currency: str = Field(min_length=3, max_length=3)
    kid: str | None = None
    kind: InvoiceKind = InvoiceKind.INVOICE
    deleted: bool = False
    next_action: NextAction | None = None
    collect_requested: bool = False
    """The user sent it to collection from the reminder flow in the ERP (R10)."""
    changed_at: AwareDatetime


class NextAction(StrEnum):
    """What the ERP's reminder flow will do next with an invoice (R10)."""

    NONE = "none"
    WAIT = "wait"
    REMINDER = "reminder"
    DUNNING_LETTER = "dunning_letter"
    COLLECTION_NOTICE = "collection_notice"
    COLLECTION = "collection"


class LetterKind(StrEnum):
    REMINDER = "reminder"
    DUNNING_LETTER = "dunning_letter"
    COLLECTION_NOTICE = "collection_notice"


class ReminderLetter(Model):
    """A letter of the reminder flow sent for one invoice, with its own due date (R1c)."""

    id: Key
    invoice_id: Key
    kind: LetterKind
    sent_on: date
    due_date: date
    changed_at: AwareDatetime


class ClaimList(StrEnum):
    """The list a claim is in (docs/rules.md), plus the two a user sees only on request."""

    DRAFT = "draft"
    APPROVED = "approved"
    OPEN = "open"
    ARCHIVED = "archived"
    HELD = "held"
    DROPPED = "dropped"
    """No longer a claim before transfer: paid, credited to zero or deleted."""


class ClaimState(StrEnum):
    """Where a claim is in its lifecycle; ``connector.lifecycle`` says which moves exist.

    Finer than the list: a claim being sent, or whose sending failed, is still in Approved.
    """

    DRAFT = "draft"
    HELD = "held"
    APPROVED = "approved"
    TRANSFERRING = "transferring"
    """The transfer started: from here the ERP side cannot cancel (R5, R6)."""
    TRANSFER_FAILED = "transfer_failed"
    """The last try to send it failed; it is tried again, or waits for ``connector retry``."""
    OPEN = "open"
    ARCHIVED = "archived"
    DROPPED = "dropped"

    @property
    def list(self) -> ClaimList:
        """The list the user sees it in."""
        if self in (ClaimState.TRANSFERRING, ClaimState.TRANSFER_FAILED):
            return ClaimList.APPROVED
        return ClaimList(self.value)


class Debtor(Model):
    """What the agency needs to know about whom it collects from."""

    number: str
    name: str
    is_person: bool
    organization_number: str | None
    email: str | None
    phone: str | None
    address: Address


class CaseRequest(Model):
    """A claim as sent to the agency; ``reference`` is the idempotency key (docs/guarantees.md)."""

    reference: str
    invoice_id: str
    invoice_no: str
    invoice_date: date
    due_date: date
    amount: Money
    balance: Money
    currency: str
    kid: str | None = None
    debtor: Debtor
    description: str = ""


class AgencyCase(Model):
    """The agency's answer to a registered case."""

    id: str
    reference: str
    status: str
    url: str | None = None


# ---------------------------------------------------------------- the way back (docs/rules.md)


class CaseOutcome(StrEnum):
    """How the agency closed a case (R9)."""

    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    UNRESOLVED = "unresolved"
    WITHDRAWN = "withdrawn"
    CREDITED = "credited"


class AgencyEvent(Model):
    """One line of the agency's case history, with the agency's own id for de-duplication."""

    id: Reference
    at: AwareDatetime
    kind: EventKind
    text: str


class CaseUpdate(Model):
    """The agency's view of a case as it changed (R8, R9)."""

    case_id: str
    reference: str
    status: str
    paused: bool = False
    closed: bool = False
    outcome: CaseOutcome | None = None
    original_amount: Money
    remaining_principal: Money
    balance_at_agency: Money
    """What the debtor still owes the agency, fees and interest included."""
    events: list[AgencyEvent] = []
    changed_at: AwareDatetime

    @property
    def final_outcome(self) -> CaseOutcome:
        """How a closed case ended; for an agency that closes without saying how, paid in
        full means nothing is owed (R9)."""
        if self.outcome is not None:
            return self.outcome
        if self.balance_at_agency == 0 and self.remaining_principal == 0:
            return CaseOutcome.PAID
        return (CaseOutcome.PARTLY_PAID if self.remaining_principal < self.original_amount
                else CaseOutcome.UNRESOLVED)


class PayoutLineKind(StrEnum):
    PRINCIPAL = "principal"
    INTEREST = "interest"
    FEE = "fee"
    COMMISSION = "commission"
    VAT = "vat"
    """VAT on the agency's commission and costs, deducted from the payout."""


class PayoutLine(Model):
    kind: PayoutLineKind
    amount: Money
    """Positive: money to the creditor (principal, interest, fees); positive for deductions
    too (commission, VAT), which the payout's net subtracts."""
    case_id: str | None = None
    reference: str | None = None
    """The claim's reference (the ERP invoice id) for principal, interest and fees."""
    description: str = ""


class Payout(Model):
    """One settlement from the agency to the creditor, itemised (R13)."""

    id: Key
    paid_on: date
    currency: str = Field(default="NOK", min_length=3, max_length=3)
    lines: list[PayoutLine]
    changed_at: AwareDatetime

    @property
    def net(self) -> Decimal:
        """What reaches the creditor's bank."""
        deducted = (PayoutLineKind.COMMISSION, PayoutLineKind.VAT)
        return to_money(sum((-ln.amount if ln.kind in deducted else ln.amount
                             for ln in self.lines), Decimal(0)))


class VoucherLine(Model):
    account: str
    amount: Money
    """Debit positive, credit negative."""
    vat_code: str | None = None
    customer_no: str | None = None
    invoice_no: str | None = None
    description: str = ""
    flag: str | None = None
    """Set on a line the accountant must look at (a write-off reversal, R12)."""


class VoucherKind(StrEnum):
    PROPOSAL = "proposal"
    """An unposted voucher (bookkeeping proposal) the accountant approves (R13 default)."""
    POSTED = "posted"


class Voucher(Model):
    reference: str
    """Unique per ERP client: PowerOffice ``ExternalImportReference``; the idempotency key."""
    kind: VoucherKind
    date: date
    description: str
    lines: list[VoucherLine]
    flagged: bool = False

    @property
    def balance(self) -> Decimal:
        return to_money(sum((ln.amount for ln in self.lines), Decimal(0)))


class VoucherReceipt(Model):
    """The ERP's answer to a voucher: its own id and whether it is posted or a proposal."""

    id: str
    reference: str
    kind: VoucherKind


class LedgerKind(StrEnum):
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    WRITE_OFF = "write_off"


class LedgerEntry(Model):
    """Money matched against an invoice on the customer ledger: what the ERP saw happen."""

    id: Key
    invoice_id: Key
    kind: LedgerKind
    amount: Money
    """Positive: how much the invoice's balance went down."""
    on: date
    external_reference: Reference | None = None
    """Set when the entry came from a voucher with an external reference (ours: payout:…)."""
    description: str = ""
    changed_at: AwareDatetime


class CaseStatus(Model):
    """What the ERP shows per case (PowerOffice debt-collection UpdateStatus, R8)."""

    invoice_id: str
    case_id: str
    status_text: str
    closed: bool
    balance_at_agency: Money


class ClaimReduction(Model):
    """A direct payment or a credit note reported to the agency (docs/rules.md)."""

    reference: str
    """``payment:<ledger id>`` or ``credit_note:<ledger id>``: Kravia ``AccountingPaymentId``."""
    kind: LedgerKind
    case_id: str
    invoice_reference: str
    on: date
    amount: Money
    description: str = ""
