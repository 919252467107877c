"""What can happen in the mock world, as data: one model per kind of event.

The same event runs now (``connector mock pay …``) or at a time of the world's clock (a
scenario's ``[[events]]`` or ``--at``); a timed event waits in the file of the side it acts
on and runs when ``advance`` passes its time, in order with the nightly runs. Each kind is
checked field by field when it is given, so a bad one is refused before anything changes;
what can only be known when it runs (the invoice is paid already) is recorded as a failed
event. See docs/mock.md, "Events".
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from connector.domain import CaseOutcome, DunningSetup, Money
from connector_adapters.mock.state import Record


class _Event(Record):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class Pay(_Event):
    """The debtor pays the creditor: in full (no amount) or in part. On an invoice Open at
    the agency this is a direct payment the connector reports."""

    kind: Literal["pay"] = "pay"
    invoice_no: str
    amount: Money | None = None


class Credit(_Event):
    """The creditor issues a credit note against the invoice: its whole balance or part."""

    kind: Literal["credit"] = "credit"
    invoice_no: str
    amount: Money | None = None


class WriteOff(_Event):
    """The open balance of one customer's invoices is written off (R12)."""

    kind: Literal["write-off"] = "write-off"
    invoice_nos: list[str] = Field(min_length=1)
    account: str = "7830"
    on: date | None = None
    """The posting date; default the day it runs."""
    description: str = ""


class Book(_Event):
    """The accountant books money received (an agency payout, say) by hand: a posted bank
    voucher, debit the bank, credit the invoice on the customer ledger."""

    kind: Literal["book"] = "book"
    invoice_no: str
    amount: Money
    reference: str | None = None
    """The voucher's external reference (default: ``manual-`` and a number)."""
    account: str = "1920"
    description: str = "Payment from the debt-collection agency, booked by hand"


class Delete(_Event):
    kind: Literal["delete"] = "delete"
    invoice_no: str


class NewInvoice(_Event):
    """A new invoice; dates default to today and 14 days after."""

    kind: Literal["invoice"] = "invoice"
    customer_no: str
    amount: Money
    invoice_no: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str = Field(default="NOK", pattern=r"^[A-Z]{3}$")
    """An ISO 4217 code, as the ERP's currency list allows no other."""

    @model_validator(mode="after")
    def _due_after_issue(self) -> NewInvoice:
        if self.invoice_date and self.due_date and self.due_date < self.invoice_date:
            raise ValueError(f"due_date {self.due_date} is before invoice_date "
                             f"{self.invoice_date}")
        return self


class EditCustomer(_Event):
    """A customer card edited. Address fields do not move the card's change time (as in
    PowerOffice Go); every other field does."""

    kind: Literal["customer"] = "customer"
    number: str
    name: str | None = None
    is_person: bool | None = None
    organization_number: str | None = None
    email: str | None = None
    phone: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    """An ISO 3166 code (NO, SE), as the ERP's country list allows no other."""


ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "country")


class Exclude(_Event):
    """The customer is excluded from collection (R11)."""

    kind: Literal["exclude"] = "exclude"
    number: str


class Include(_Event):
    kind: Literal["include"] = "include"
    number: str


class Reminders(_Event):
    """The customer's reminder flow switched: letters on or off, or the customer's own
    dunning setup (``company = true`` goes back to the company's)."""

    kind: Literal["reminders"] = "reminders"
    number: str
    send: bool | None = None
    dunning: DunningSetup | None = None
    company: bool = False


class AgencyPay(_Event):
    """The debtor pays the agency on the invoice's case: in full (no amount) or in part."""

    kind: Literal["agency-pay"] = "agency-pay"
    invoice_no: str
    amount: Money | None = None


class AgencyClose(_Event):
    """The agency closes the invoice's case: partly paid if the debtor paid something,
    otherwise unresolved."""

    kind: Literal["agency-close"] = "agency-close"
    invoice_no: str
    outcome: Literal[CaseOutcome.PARTLY_PAID, CaseOutcome.UNRESOLVED] | None = None
    text: str = ""


class AgencyReject(_Event):
    """The agency refuses the next ``times`` registrations of the invoice, with a reason."""

    kind: Literal["agency-reject"] = "agency-reject"
    invoice_no: str
    reason: str = Field(min_length=1)
    times: int = Field(default=1, ge=1, le=1000)


class AgencyPayout(_Event):
    """The agency pays out what it collected now, not only on Monday night."""

    kind: Literal["agency-payout"] = "agency-payout"


class Approve(_Event):
    """The accountant approves a bookkeeping proposal (no voucher: every one waiting)."""

    kind: Literal["approve"] = "approve"
    voucher: str | None = None


class Discard(_Event):
    """The accountant deletes a bookkeeping proposal."""

    kind: Literal["discard"] = "discard"
    voucher: str


class Fault(_Event):
    """The next ``times`` calls of an adapter operation fail (0 clears it)."""

    kind: Literal["fault"] = "fault"
    operation: str
    times: int = Field(default=1, ge=0, le=1000)


Event = Annotated[
    Pay | Credit | WriteOff | Book | Delete | NewInvoice | EditCustomer | Exclude | Include
    | Reminders | AgencyPay | AgencyClose | AgencyReject | AgencyPayout | Approve | Discard
    | Fault,
    Field(discriminator="kind"),
]
EVENTS: TypeAdapter[Event] = TypeAdapter(Event)


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """The field of an event's first bad value (``amount``; ``kind`` when the kind is
    unknown) and what is wrong with it."""
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"][1:]] or [str(p) for p in first["loc"]] or ["kind"]
    return ".".join(loc), first["msg"]


AGENCY_KINDS = frozenset({"agency-pay", "agency-close", "agency-reject", "agency-payout"})
"""Kinds the agency runs; the ERP runs the rest (a fault runs on its operation's side)."""


class Scheduled(Record):
    """An event waiting for its time in a side's file, or one that ran (with its result)."""

    id: str
    at: AwareDatetime
    event: Event
    state: Literal["pending", "done", "failed"] = "pending"
    result: str = ""
