"""Kravia API v2 as its how-to guides publish it: paths, query parameters and request bodies.

Only facts live here, each block citing its guide on developer.kravia.ai/api-guide/how-to-guides/:
  [create]   manage-collection-cases/create-a-collection-case
  [updates]  process-invoice-updates
  [payment]  manage-collection-cases/register-direct-payments
  [credit]   manage-collection-cases/credit-a-collection-case
  [settle]   reconcile-payments
  [webhook]  configure-webhooks
The guides show requests, never responses: every response shape, the error format, the
webhook signature's exact input and the limits are guesses, kept in ``guesses``.
Field names are the wire's own, casing included (the payment body is camelCase except
``AccountingPaymentId``; the credit-note body is PascalCase), so a body is built by name and
the emulator refuses any field the guides do not show (``extra="forbid"``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

BASE_URL: Final = "https://api.kravia.ai/api/v2"
AUTH_HEADER: Final = "Authorization"  # the token itself, no "Bearer " in any guide
PORTAL: Final = "Kravia Kundeweb"  # where pause, resume and withdraw are done (no API)

# --- paths -----------------------------------------------------------------------------------
REGISTER: Final = "/invoice/register"  # POST [create]
SEARCH: Final = "/invoice/search"  # GET [updates]
DETAILS: Final = "/invoice/{id}/details"  # GET [updates]: timeline, activities, outstanding
#                                           amount, payment details, available actions
PAYMENT: Final = "/invoice/payment"  # POST [payment]
CREDIT_NOTE: Final = "/invoice/creditnote"  # POST [credit]
SETTLEMENTS: Final = "/settlements"  # GET [settle]
BOOKKEEP: Final = "/settlements/{id}/bookkeep"  # PATCH [settle]
WEBHOOK: Final = "/creditor/{id}/webhook"  # PUT [webhook]

# --- query parameters ------------------------------------------------------------------------
# [updates] "filters invoices to only include invoices updated after a specific date";
# the example value is 2021-06-01T15:13:14.4044853, with no zone.
LAST_UPDATED_TIME: Final = "lastUpdatedTime"
ORDER_BY: Final = "orderBy"
ORDER_BY_LAST_UPDATED: Final = 11  # "Value 11 sort invoices by last updated time"
BY_ASCENDING: Final = "byAscending"  # the example sends "True"
SKIP: Final = "skip"
TOP: Final = "top"
# [settle] Only payouts "not yet reconciled in the accounting system"; then mark one booked.
EXCLUDE_CLOSED: Final = "ExcludeClosed"
INTERNAL_ACCOUNTING_ID: Final = "internalAccountingId"


class Body(BaseModel):
    """A request body: exactly the guide's fields, nothing else."""

    model_config = ConfigDict(extra="forbid")


class PostalAddress(Body):
    """[create] One address line only is documented."""

    addressAddressLine1: str
    addressPostalCode: str
    addressCity: str
    addressCountryCode: str


class RegisterCase(Body):
    """POST /invoice/register for a collection case [create]. The guide advises the ERP
    customer number as ``debtorNumber`` and "your internal identifier" as
    ``accountingInvoiceId``; "Organization number is required for B2B claims"; the amount
    is the overdue amount including VAT."""

    claimType: Literal["CollectionCase"]
    creditorId: int
    accountingInvoiceId: str | None
    debtorName: str
    debtorNumber: str
    email: str | None
    ssn: str | None = None
    organizationNumber: str | None
    isPrivateIndividual: Literal["true", "false"]  # a string in the guide's example
    postalAddress: PostalAddress
    invoiceNo: str
    invoiceDate: str  # YYYY-MM-DD
    dueDate: str  # YYYY-MM-DD
    originalAmount: Decimal
    currencyCode: str
    description: str


class PaymentLine(Body):
    invoiceId: int  # Kravia's invoice id
    amount: Decimal


class DirectPayment(Body):
    """POST /invoice/payment [payment]. Covers the original capital only: any amount above
    the remaining capital is ignored. Kravia's own disbursements must never be sent here."""

    date: str  # YYYY-MM-DD
    description: str
    AccountingPaymentId: str
    amount: Decimal
    invoices: list[PaymentLine]


class CreditLine(Body):
    InvoiceId: int
    Amount: Decimal  # negative


class CreditNote(Body):
    """POST /invoice/creditnote [credit], PascalCase with negative amounts. Crediting the
    whole remaining capital may close the case and void its fees and interest."""

    Date: str  # "2024-09-16T00:00:00"
    Amount: Decimal
    AccountingPaymentId: str
    Description: str
    Invoices: list[CreditLine]


class WebhookConfig(Body):
    """PUT /creditor/{id}/webhook [webhook]: one per creditor, every event type. The URL
    "must be public and should not require any authentication"."""

    secret: str
    enabled: bool
    url: str


class WebhookHeader(BaseModel):
    algorithm: str  # "MD5" in the example


class WebhookData(BaseModel):
    timestamp: int  # Unix seconds in the example (1663063069)
    eventType: str  # "CaseUpdate"
    claimId: int


class WebhookEvent(BaseModel):
    """What Kravia POSTs on any change to a creditor's invoices [webhook]: a signal that
    carries no case data, signed with the shared secret (how: ``guesses.signature``)."""

    header: WebhookHeader
    data: WebhookData
    signature: str  # hex digest, 32 characters in the example
