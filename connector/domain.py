"""Domain models: the contract between the engine and every adapter.

Money is always ``Decimal`` (two decimals, never float); times are timezone-aware.
Adapters translate their wire formats into these models and nothing else.
"""

from __future__ import annotations

from datetime import date, datetime
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


def _money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("money must be a finite number")
    return to_money(value)


Money = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_money)]


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


class Company(Model):
    """The ERP client a link serves: its clock zone and collection settings (R1, R2)."""

    name: str
    timezone: str = "Europe/Oslo"
    dunning: DunningSetup = DunningSetup()
    auto_transfer: bool = False


class Customer(Model):
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
    dunning: DunningSetup | None = None
    """The customer's own dunning setup, overriding the company's (R1)."""
    changed_at: AwareDatetime


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Invoice(Model):
    id: str
    invoice_no: str
    customer_no: str
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

    id: str
    invoice_id: str
    kind: LetterKind
    sent_on: date
    due_date: date
    changed_at: AwareDatetime


class ClaimList(StrEnum):
    """The list a claim is in (SPEC §1), plus the two a user sees only on request."""

    DRAFT = "draft"
    APPROVED = "approved"
    OPEN = "open"
    ARCHIVED = "archived"
    HELD = "held"
    DROPPED = "dropped"
    """No longer a claim before transfer: paid, credited to zero or deleted."""


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
    """A claim as sent to the agency; ``reference`` is the idempotency key (DESIGN)."""

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
