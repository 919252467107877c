"""Kravia API v2 wire facts: URLs, paths, query parameters and payload field names.

Source: the how-to guides on developer.kravia.ai/api-guide/how-to-guides/, cited per block:
  [create]   manage-collection-cases/create-a-collection-case
  [updates]  process-invoice-updates
  [payment]  manage-collection-cases/register-direct-payments
  [credit]   manage-collection-cases/credit-a-collection-case
  [settle]   reconcile-payments
  [webhook]  configure-webhooks
The guides show requests, not responses: response shapes (search results, details,
settlements), error format and rate limits are not public. No endpoint to pause, resume or
withdraw a case is documented; Kravia's help pages send users to Kravia Kundeweb for that.
"""

from __future__ import annotations

from typing import Final, Literal, TypedDict

BASE_URL: Final = "https://api.kravia.ai/api/v2"
AUTH_HEADER: Final = "Authorization"  # the token itself, no "Bearer " in the guides
PORTAL: Final = "Kravia Kundeweb"  # where pause, resume and withdraw are done

# --- paths -----------------------------------------------------------------------------------
REGISTER: Final = "/invoice/register"  # POST [create]
SEARCH: Final = "/invoice/search"  # GET [updates]
DETAILS: Final = "/invoice/{id}/details"  # GET: timeline, documents, activities,
#                                           outstanding amount, payments, available actions
PAYMENT: Final = "/invoice/payment"  # POST [payment]
CREDIT_NOTE: Final = "/invoice/creditnote"  # POST [credit]
SETTLEMENTS: Final = "/settlements"  # GET [settle]
BOOKKEEP: Final = "/settlements/{id}/bookkeep"  # PATCH [settle]
WEBHOOK: Final = "/creditor/{id}/webhook"  # PUT [webhook]

# --- query parameters ------------------------------------------------------------------------
# [updates] Changes since a cursor: keep the last update time seen and ask again from it.
LAST_UPDATED_TIME: Final = "lastUpdatedTime"  # e.g. 2021-06-01T15:13:14.4044853
ORDER_BY: Final = "orderBy"
ORDER_BY_LAST_UPDATED: Final = 11
BY_ASCENDING: Final = "byAscending"  # "True"
SKIP: Final = "skip"
TOP: Final = "top"
# [settle] Only payouts not yet marked booked; then mark one booked with our voucher id.
EXCLUDE_CLOSED: Final = "ExcludeClosed"
INTERNAL_ACCOUNTING_ID: Final = "internalAccountingId"

CLAIM_TYPE_COLLECTION_CASE: Final = "CollectionCase"


class PostalAddress(TypedDict, total=False):
    """[create]"""

    addressAddressLine1: str
    addressPostalCode: str
    addressCity: str
    addressCountryCode: str


class RegisterCase(TypedDict, total=False):
    """Body of POST /invoice/register for a collection case [create]. The guide advises the
    ERP customer number as debtorNumber and our own id as accountingInvoiceId."""

    claimType: Literal["CollectionCase"]
    creditorId: int
    accountingInvoiceId: str | None
    debtorName: str
    debtorNumber: str
    email: str | None
    ssn: str | None
    organizationNumber: str | None  # required for businesses (B2B)
    isPrivateIndividual: str  # the guide sends "true" as a string
    postalAddress: PostalAddress
    invoiceNo: str
    invoiceDate: str
    dueDate: str
    originalAmount: float  # overdue amount including VAT
    currencyCode: str
    description: str


class PaymentLine(TypedDict):
    invoiceId: int  # Kravia's invoice id, as in the guide's example
    amount: float


class DirectPayment(TypedDict):
    """Body of POST /invoice/payment, camelCase but for AccountingPaymentId [payment].
    Reduces principal only; Kravia's own payouts must never be reported here."""

    date: str
    description: str
    AccountingPaymentId: str
    amount: float
    invoices: list[PaymentLine]


class CreditLine(TypedDict):
    InvoiceId: int
    Amount: float  # negative


class CreditNote(TypedDict):
    """Body of POST /invoice/creditnote, PascalCase, negative amounts [credit]. Crediting
    the whole principal may close the case and void fees and interest."""

    Date: str  # "2024-09-16T00:00:00"
    Amount: float
    AccountingPaymentId: str
    Description: str
    Invoices: list[CreditLine]


class WebhookConfig(TypedDict):
    """Body of PUT /creditor/{id}/webhook [webhook]. The URL must be public, without auth."""

    secret: str
    enabled: bool
    url: str


class WebhookHeader(TypedDict):
    algorithm: str  # "MD5" in the example


class WebhookData(TypedDict):
    timestamp: int  # Unix seconds
    eventType: str  # "CaseUpdate"
    claimId: int


class WebhookEvent(TypedDict):
    """What Kravia POSTs on any change to a creditor's invoices [webhook]: a signal only,
    signed with the shared secret; fetch the details to learn what changed. How the signed
    string is built is shown only in C# (serialised data plus secret): inferred."""

    header: WebhookHeader
    data: WebhookData
    signature: str  # hex digest
