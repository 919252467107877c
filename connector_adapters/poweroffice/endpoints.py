"""PowerOffice Go wire facts: URLs, paths, query parameters and field names.

Sources, cited per block:
  [v2-spec]  repo stianwe/PowerOfficeGoV2, api/openapi.yaml and its generated docs/apis/*.md,
             docs/models/*.md (an OpenAPI dump of the v2 API).
  [v2-guide] developer.poweroffice.net/documentation/requests (throttling, polling) and
             .../authentication; developer-betatest.poweroffice.net/resources/postman (URLs).
  [v1-dc]    repo PowerOffice/go-api-documentation, files
             docs/api/reference/rest/route_*_debtcollection_*.md (the v1 partner API).
Anything marked "inferred" was not found in those sources; check it against the live API.
"""

from __future__ import annotations

from typing import Final, NotRequired, TypedDict

# --- API v2: hosts and authentication [v2-guide] -------------------------------------------
BASE_URL: Final = "https://goapi.poweroffice.net/v2"
DEMO_BASE_URL: Final = "https://goapi.poweroffice.net/Demo/v2"
TOKEN_URL: Final = "https://goapi.poweroffice.net/OAuth/Token"
DEMO_TOKEN_URL: Final = "https://goapi.poweroffice.net/Demo/OAuth/Token"
# Token request: POST, Authorization: Basic base64(application_key:client_key),
# body grant_type=client_credentials, plus the subscription key header. Response carries
# access_token and expires_in (20 minutes in v2 per the Postman guide). Calls then send
# Authorization: Bearer <access_token> and the subscription key header.
SUBSCRIPTION_KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"
GRANT_TYPE: Final = "client_credentials"

# --- API v2: limits and paging -------------------------------------------------------------
RATE_LIMIT_PER_SECOND: Final = 10  # per subscription key, then 429 [v2-guide]
PAGE_NUMBER_PARAM: Final = "PageNumber"  # ResourceParameters [v2-spec]
PAGE_SIZE_PARAM: Final = "PageSize"  # default 5000, at most MaxPageSize [v2-spec]
DEFAULT_PAGE_SIZE: Final = 5000
MAX_PAGE_SIZE: Final = 20000
PAGINATION_HEADER: Final = "X-Pagination"  # inferred: JSON with the next page link
# Lists are bare JSON arrays; 204 No Content when empty. Errors are ProblemDetails
# {Type, Title, Status, Detail, Instance} [v2-spec].

# --- API v2: paths [v2-spec] ---------------------------------------------------------------
CUSTOMERS: Final = "/Customers"
OUTGOING_INVOICES: Final = "/OutgoingInvoices"
CUSTOMER_LEDGER_OPEN_ITEMS: Final = "/Customerledger/OpenItems"  # needs ?date=
CUSTOMER_LEDGER_STATEMENT: Final = "/Customerledger/Statement"  # needs ?fromDate=&toDate=
CUSTOMER_LEDGER_BY_MATCH_ID: Final = "/Customerledger/EntriesByMatchId"  # needs ?matchId=
ACCOUNT_TRANSACTIONS: Final = "/AccountTransactions"  # needs ?fromDate=&toDate=
POSTED_MANUAL_JOURNALS: Final = "/Vouchers/ManualJournals"
POSTED_BANK_JOURNALS: Final = "/Vouchers/BankJournals"
REVERSE_VOUCHER: Final = "/Vouchers/Reverse/{id}"  # only vouchers this integration posted
JOURNAL_ENTRY_VOUCHERS: Final = "/JournalEntryVouchers"  # list, filter isPosted
UNPOSTED_MANUAL_JOURNALS: Final = "/JournalEntryVouchers/ManualJournals"
UNPOSTED_BANK_JOURNALS: Final = "/JournalEntryVouchers/BankJournals"
VOUCHER_PAGES: Final = "/JournalEntryVouchers/{id}/VoucherPages"  # multipart "file"

# --- API v2: query filters [v2-spec] (all "greater than" filters are exclusive) ------------
LAST_CHANGED_AFTER: Final = "lastChangedDateTimeOffsetGreaterThan"
BALANCE_CHANGED_AFTER: Final = "balanceLastChangedDateTimeOffsetGreaterThan"  # invoices
CREATED_AFTER: Final = "createdDateTimeOffsetGreaterThan"
CUSTOMER_NOS: Final = "customerNos"  # "10000-11000, 12000, 13000-"
INVOICE_NOS: Final = "invoiceNos"
INVOICE_IDS: Final = "invoiceIds"
ONLY_UNPAID: Final = "onlyUnpaidInvoices"
VOUCHER_TYPES: Final = "voucherTypes"  # comma-separated VoucherType names
IS_POSTED: Final = "isPosted"  # JournalEntryVouchers

# --- API v2: VoucherType names [v2-spec, docs/models/VoucherType.md] -----------------------
OUTGOING_INVOICE: Final = "OutgoingInvoice"
OUTGOING_CREDIT_NOTE: Final = "OutgoingCreditNote"
# Reminder-flow vouchers; each "contains fees and interest due to late payment", so a step
# sent without a fee may leave no ledger entry (inferred). Which of them is the purring and
# which the påminnelse of the Norwegian user interface is inferred from the names.
OUTGOING_PAYMENT_REMINDER: Final = "OutgoingPaymentReminder"
OUTGOING_NOTICE_OF_DEBT_COLLECTION: Final = "OutgoingNoticeOfDebtCollection"
OUTGOING_PAYMENT_DEMAND: Final = "OutgoingPaymentDemand"
REVERSAL_VOUCHER: Final = "ReversalVoucher"


class MailAddress(TypedDict, total=False):
    """ContactAddressDto, the customer's postal address [v2-spec]."""

    AddressLine1: str
    AddressLine2: str
    ZipCode: str
    City: str
    CountryCode: str  # ISO 3166-1 alpha-2, "NO" when unset


class Customer(TypedDict, total=False):
    """The CustomerDto fields the adapter reads [v2-spec]."""

    Id: int
    Number: int
    Name: str
    IsPerson: bool
    OrganizationNumber: str
    EmailAddress: str
    PhoneNumber: str
    MailAddress: MailAddress
    TransferToDebtCollectionAgency: bool  # False excludes the customer (R11)
    SendPaymentReminders: bool
    LastChangedDateTimeOffset: str  # does not move when only the address changes


class OutgoingInvoice(TypedDict, total=False):
    """The OutgoingInvoiceDto fields the adapter reads [v2-spec]."""

    Id: str  # uuid, shared with the posted voucher
    InvoiceNo: int
    VoucherDate: str
    DueDate: str
    CustomerNo: int
    CustomerId: int
    Cid: str  # KID
    TotalAmount: float  # invoice currency, VAT included
    Balance: float  # client currency, remaining to pay
    CurrencyCode: str
    VoucherType: str  # OutgoingInvoice | OutgoingCreditNote
    MatchId: int
    IsReversed: bool
    LastChangedDateTimeOffset: str  # also moves when a reminder stage is triggered
    BalanceLastChangedDateTimeOffset: str


class CustomerLedgerEntry(TypedDict, total=False):
    """The CustomerLedgerEntryDto fields the adapter reads [v2-spec]."""

    Id: int
    CustomerAccountNo: int  # equals the customer number
    VoucherType: str
    VoucherId: str
    VoucherNo: int
    InvoiceNo: str  # set on OutgoingInvoice / OutgoingCreditNote entries only
    Cid: str
    DueDate: str
    PostingDate: str
    Amount: float
    Balance: float
    MatchId: int  # shared by entries matched together
    IsWriteOff: bool  # made by Go's write-off function (R12)
    ExternalImportReference: str
    LastChangedDateTimeOffset: str  # moves when the match state changes


# Posted vouchers (ManualVoucherPostDto, BankVoucherPostDto) take ExternalImportReference:
# "only one instance of the reference can exist on the client" [v2-spec]. Reversing a
# voucher frees its reference for a corrected one. The unposted JournalEntryVouchers post
# DTOs have no ExternalImportReference field [v2-spec]; bank journal lines, posted and
# unposted, take InvoiceNo to match a payment line with the invoice's ledger entry.
EXTERNAL_IMPORT_REFERENCE: Final = "ExternalImportReference"

# --- v1 debt-collection partner API [v1-dc] ------------------------------------------------
V1_BASE_URL: Final = "https://api.poweroffice.net"
V1_DEMO_BASE_URL: Final = "https://api-demo.poweroffice.net"  # [v2-guide] Postman page
# v1 responses wrap results as {"data": ..., "count": n, "success": bool}; list endpoints
# take OData $filter, $orderby, $skip, $top.
DEBT_COLLECTION_CASES: Final = "/DebtCollection/"  # GET list, POST create
DEBT_COLLECTION_CASE: Final = "/DebtCollection/{id}/"  # GET one; DELETE when the agency rejects
AVAILABLE_INVOICES: Final = "/DebtCollection/Invoices/AvailableInvoices/"
UPDATE_STATUS: Final = "/DebtCollection/UpdateStatus/"
MATCHED_ITEMS: Final = "/DebtCollection/GetAllMatchedItems"  # ?fromDateTime=
INVOICE_PDF: Final = "/DebtCollection/GetInvoicePdf/{id}/"
IS_ACTIVE: Final = "/DebtCollection/IsActiveDebtCollection/"


class DebtCollectionInvoice(TypedDict, total=False):
    """An invoice available for collection, or one inside a case [v1-dc]."""

    id: str
    customerCode: int
    invoiceDate: str
    invoiceNo: int
    dueDate: str
    originalAmount: float
    remainingAmount: float
    currencyCode: str
    cID: str
    lastChanged: str
    lastReminderSentDate: str  # the last reminder-flow letter, for R1c
    lastReminderDueDate: str
    lastReminderVoucherType: str  # a VoucherType name
    externalImportReference: str
    originalPostedAmount: float


class StatusUpdate(TypedDict):
    """The body of POST DebtCollection/UpdateStatus/ [v1-dc]. Without isCaseClosed the
    case is set Active; rejection is DELETE DebtCollection/{id}/ instead."""

    caseId: str
    statusText: str
    isCaseClosed: NotRequired[bool]
    updatedBalanceAgency: NotRequired[float]
