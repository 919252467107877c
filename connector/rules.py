"""The business rules of docs/rules.md as pure functions: no I/O, no clock of their own.

Every function takes today's date (in the company's zone) or the current time as an argument,
so a test can pin each rule on its edge days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from connector.domain import (
    ClaimList,
    Company,
    Customer,
    DunningSetup,
    Invoice,
    InvoiceKind,
    LetterKind,
    ReminderLetter,
)

REMINDER_READY_DAYS = 14
"""R1b: with only the reminder enabled, an invoice is ready on day 14 after its due date."""

DEFAULT_GRACE = timedelta(hours=2)
"""R5: how long an approved claim waits before it is transferred."""

_COLLECTION_LETTERS = {
    LetterKind.DUNNING_LETTER: "dunning_letter",
    LetterKind.COLLECTION_NOTICE: "collection_notice",
}


def dunning_for(company: Company, customer: Customer) -> DunningSetup:
    """The setup that applies to the customer: their own if set, else the company's (R1).

    A customer the ERP sends no reminders at all gets no letter that R1c could wait for:
    for them no reminder step is enabled, so R1a applies.
    """
    if not customer.send_reminders:
        return DunningSetup()
    if customer.dunning is not None:
        return customer.dunning
    return company.dunning if company.dunning is not None else DunningSetup()


def ready_date(
    invoice: Invoice, setup: DunningSetup, letters: Iterable[ReminderLetter]
) -> date | None:
    """The day the invoice becomes ready for collection, or None while it is not (R1).

    R1c reads "the last such letter sent": every enabled collection letter (dunning letter,
    collection notice) must have been sent, and the invoice is ready the day after the due
    date of the last one. Until then it is still in the reminder flow.
    """
    if setup.letters_enabled:
        enabled = {
            kind
            for kind, flag in _COLLECTION_LETTERS.items()
            if getattr(setup, flag)
        }
        sent = [letter for letter in letters if letter.kind in enabled]
        if {letter.kind for letter in sent} != enabled:
            return None
        return max(letter.due_date for letter in sent) + timedelta(days=1)
    if setup.reminder:
        return invoice.due_date + timedelta(days=REMINDER_READY_DAYS)
    return invoice.due_date + timedelta(days=1)


def ready_rule(setup: DunningSetup, collect_requested: bool = False) -> str:
    """Which rule set the ready date, in words for the claim's history."""
    if collect_requested:
        return "R10: sent to collection by the user from the reminder flow"
    if setup.letters_enabled:
        return "R1c: the day after the last collection letter fell due"
    if setup.reminder:
        return "R1b: reminder enabled, day 14 after the due date"
    return "R1a: no reminder step, day 1 after the due date"


class ReadyPolicy(Protocol):
    """R1 as one replaceable piece: when an invoice leaves the ERP's reminder flow and is
    ready for collection. An ERP whose reminder flow differs declares its own as the ERP
    adapter's ``ready_policy``."""

    def ready_date(self, invoice: Invoice, setup: DunningSetup,
                   letters: Iterable[ReminderLetter]) -> date | None:
        """The day the invoice becomes ready, or None while it is not."""
        ...

    def rule(self, setup: DunningSetup, collect_requested: bool = False) -> str:
        """Which rule set the ready date, in words for the claim's history."""
        ...


class ReminderFlow:
    """R1a–c as PowerOffice Go's reminder flow has them: the default policy."""

    def ready_date(self, invoice: Invoice, setup: DunningSetup,
                   letters: Iterable[ReminderLetter]) -> date | None:
        return ready_date(invoice, setup, letters)

    def rule(self, setup: DunningSetup, collect_requested: bool = False) -> str:
        return ready_rule(setup, collect_requested)


REMINDER_FLOW = ReminderFlow()


def is_open_claim(invoice: Invoice) -> bool:
    """An invoice that can be collected at all: a live invoice with money still owed."""
    return invoice.kind is InvoiceKind.INVOICE and not invoice.deleted and invoice.balance > 0


def invoice_problem(invoice: Invoice) -> str | None:
    """Why an ERP invoice cannot be a claim however long it waits, or None if it can."""
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        return None
    if invoice.amount <= 0:
        return f"invoice {invoice.invoice_no} has a non-positive amount {invoice.amount}"
    if invoice.balance < 0:
        return f"invoice {invoice.invoice_no} has a negative balance {invoice.balance}"
    if invoice.balance > invoice.amount:
        return (
            f"invoice {invoice.invoice_no} has a balance {invoice.balance} "
            f"above its amount {invoice.amount}"
        )
    return None


def entry_list(
    invoice: Invoice,
    customer: Customer,
    company: Company,
    letters: Iterable[ReminderLetter],
    today: date,
    policy: ReadyPolicy = REMINDER_FLOW,
) -> ClaimList | None:
    """The list a not-yet-known invoice enters today, or None if it enters none yet.

    R11 keeps an excluded customer's invoices out of every list; R10 lets a user send an
    invoice from the reminder flow at once; R2 sends ready invoices straight to Approved.
    ``policy`` says when an invoice is ready (R1).
    """
    if not customer.transfer_to_agency or not is_open_claim(invoice):
        return None
    if invoice_problem(invoice) is not None:
        return None
    if invoice.collect_requested:
        if today <= invoice.due_date:  # only an overdue invoice can go to collection
            return None
    else:
        ready = policy.ready_date(invoice, dunning_for(company, customer), letters)
        if ready is None or today < ready:
            return None
    return ClaimList.APPROVED if company.auto_transfer else ClaimList.DRAFT


def transfer_due(approved_at: datetime, now: datetime, grace: timedelta = DEFAULT_GRACE) -> bool:
    """R5: an approved claim is transferred once its grace window has fully passed.

    Elapsed time, not wall-clock: Python subtracts two times of the same zone by their wall
    clocks, so both go to UTC first and a DST shift changes nothing.
    """
    return now.astimezone(UTC) - approved_at.astimezone(UTC) >= grace


@dataclass(frozen=True)
class Obstacle:
    """One named reason a claim cannot be transferred (R7)."""

    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


DEBTOR_FIELDS = {
    "name": "name",
    "email": "e-mail address",
    "phone": "phone number",
    "organization_number": "organisation number",
    "address.line1": "address line",
    "address.line2": "second address line",
    "address.postal_code": "postal code",
    "address.city": "city",
    "address.country": "country",
}
"""The debtor fields an agency can require or limit, with how the user reads them."""


@dataclass(frozen=True)
class AgencyRequirements:
    """What an agency demands of a case before it takes it, as its adapter declares it.

    ``obstacles`` applies exactly this (R7): nothing about one agency is written in the core.
    """

    required: frozenset[str] = frozenset(
        {"name", "address.line1", "address.postal_code", "address.city", "address.country"})
    """Debtor fields (keys of ``DEBTOR_FIELDS``) that must not be empty."""
    currencies: frozenset[str] = frozenset({"NOK"})
    max_lengths: Mapping[str, int] = field(default_factory=dict)
    """Debtor fields the agency takes only up to so many characters."""
    business_needs_org_number: bool = True

    def __post_init__(self) -> None:
        unknown = (set(self.required) | set(self.max_lengths)) - set(DEBTOR_FIELDS)
        if unknown:
            raise ValueError(f"unknown debtor fields {sorted(unknown)}; "
                             f"known: {', '.join(DEBTOR_FIELDS)}")


def _debtor_value(customer: Customer, name: str) -> str:
    holder: Any = customer
    for part in name.split("."):
        holder = getattr(holder, part)
    return str(holder or "").strip()


def obstacles(
    invoice: Invoice, customer: Customer | None, requirements: AgencyRequirements
) -> list[Obstacle]:
    """Everything that would make the agency refuse this claim, each named exactly (R7)."""
    if customer is None:
        return [
            Obstacle(
                "unknown_customer",
                f"customer {invoice.customer_no} of invoice {invoice.invoice_no} "
                "is not known in the ERP",
                "customer_no",
            )
        ]
    found: list[Obstacle] = []
    who = f"customer {customer.number} ({customer.name})"
    for name, label in DEBTOR_FIELDS.items():
        value = _debtor_value(customer, name)
        limit = requirements.max_lengths.get(name)
        if name in requirements.required and not value:
            message = (f"customer {customer.number}: name is missing" if name == "name"
                       else f"{who}: {label} is missing on the customer card")
            found.append(Obstacle("missing_field", message, name))
        elif limit is not None and len(value) > limit:
            found.append(Obstacle(
                "too_long", f"{who}: {label} has {len(value)} characters; the agency takes "
                f"at most {limit}", name))
    if (
        requirements.business_needs_org_number
        and "organization_number" not in requirements.required
        and not customer.is_person
        and not (customer.organization_number or "").strip()
    ):
        found.append(
            Obstacle(
                "missing_field",
                f"{who}: organisation number is missing for a business customer",
                "organization_number",
            )
        )
    if invoice.currency not in requirements.currencies:
        found.append(
            Obstacle(
                "currency",
                f"invoice {invoice.invoice_no}: currency {invoice.currency} is not taken by "
                f"the agency (takes {', '.join(sorted(requirements.currencies))})",
                "currency",
            )
        )
    return found
