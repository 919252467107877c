"""PowerOffice Go as its public sources describe it: hosts, paths, query parameters, DTOs.

Only facts live here, each block citing its source:
  [v2-spec]  the public OpenAPI description of API v2 (``api/openapi.yaml`` of the
             ``stianwe/PowerOfficeGoV2`` repository);
  [v2-guide] PowerOffice's developer guide (authentication, throttling, paging);
  [v1-dc]    the v1 debt-collection routes (``PowerOffice/go-api-documentation``).
What no source states is in ``guesses``. Every path, query parameter and field name used
on the wire is on ``wire_names.txt``, regenerated from the OpenAPI file by
``scripts/poweroffice_wire_names.py``; a test refuses a name that is not.

The DTOs' field names are the wire's own, PascalCase (camelCase in v1) included. Request
bodies refuse unknown fields (the emulator validates with them); responses ignore the fields
the connector does not read.
Money is ``Decimal``: the HTTP kit parses JSON numbers without float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Final

from pydantic import BaseModel, ConfigDict

# --- hosts and authentication [v2-guide] -----------------------------------------------------
ROOT_URL: Final = "https://goapi.poweroffice.net"
DEMO_PREFIX: Final = "/Demo"  # the demo environment: its own keys, never mixed with production
API_PREFIX: Final = "/v2"
TOKEN_PATH: Final = "/OAuth/Token"  # POST, form grant_type=client_credentials, Basic auth
SUBSCRIPTION_KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"
GRANT_TYPE: Final = "client_credentials"
TOKEN_LIFETIME_SECONDS: Final = 20 * 60  # a v2 token lives 20 minutes

# --- limits and paging [v2-guide, v2-spec ResourceParameters] --------------------------------
RATE_LIMIT_PER_SECOND: Final = 10  # per subscription key, across all client keys; then 429
PAGE_NUMBER: Final = "PageNumber"
PAGE_SIZE: Final = "PageSize"
ORDER_BY: Final = "OrderBy"
DEFAULT_PAGE_SIZE: Final = 5000
MAX_PAGE_SIZE: Final = 20000
# Lists are bare JSON arrays; an empty result is 204 without a body.

# --- paths [v2-spec] -------------------------------------------------------------------------
CLIENT_INTEGRATION_INFORMATION: Final = "/ClientIntegrationInformation"
CUSTOMERS: Final = "/Customers"
OUTGOING_INVOICES: Final = "/OutgoingInvoices"
CUSTOMER_LEDGER_STATEMENT: Final = "/Customerledger/Statement"
CUSTOMER_LEDGER_BY_MATCH_ID: Final = "/Customerledger/EntriesByMatchId"
GENERAL_LEDGER_ACCOUNTS: Final = "/GeneralLedgerAccounts"
VAT_CODES: Final = "/VatCodes"
ACCOUNT_TRANSACTIONS: Final = "/AccountTransactions"
POSTED_BANK_JOURNALS: Final = "/Vouchers/BankJournals"  # lines may carry InvoiceNo
POSTED_BANK_JOURNAL: Final = "/Vouchers/BankJournals/{id}"
JOURNAL_ENTRY_VOUCHERS: Final = "/JournalEntryVouchers"  # every unposted and posted one
UNPOSTED_BANK_JOURNALS: Final = "/JournalEntryVouchers/BankJournals"
UNPOSTED_BANK_JOURNAL: Final = "/JournalEntryVouchers/BankJournals/{id}"

# --- query parameters [v2-spec]; every "GreaterThan" filter is exclusive ----------------------
LAST_CHANGED_AFTER: Final = "lastChangedDateTimeOffsetGreaterThan"
BALANCE_CHANGED_AFTER: Final = "balanceLastChangedDateTimeOffsetGreaterThan"
CREATED_AFTER: Final = "createdDateTimeOffsetGreaterThan"
CUSTOMER_NOS: Final = "customerNos"  # "10000-11000, 12000, 13000-"
INVOICE_NOS: Final = "invoiceNos"
ACCOUNT_NOS: Final = "accountNos"
FROM_DATE: Final = "fromDate"  # required by the statement and account transactions
TO_DATE: Final = "toDate"
VOUCHER_TYPES: Final = "voucherTypes"  # comma-separated VoucherType names
MATCH_ID: Final = "matchId"  # required by EntriesByMatchId
IS_ACTIVE: Final = "isActive"

# --- VoucherType names [v2-spec] -------------------------------------------------------------
OUTGOING_INVOICE: Final = "OutgoingInvoice"
OUTGOING_CREDIT_NOTE: Final = "OutgoingCreditNote"
OUTGOING_PAYMENT_REMINDER: Final = "OutgoingPaymentReminder"  # purring
OUTGOING_NOTICE_OF_DEBT_COLLECTION: Final = "OutgoingNoticeOfDebtCollection"  # inkassovarsel
BANK_JOURNAL: Final = "BankJournal"
INCOMING_PAYMENTS: Final = "IncomingPayments"
MANUAL_JOURNAL: Final = "ManualJournal"


class Reply(BaseModel):
    """A response body: the fields the connector reads, by their wire names."""

    model_config = ConfigDict(extra="ignore")


class Body(BaseModel):
    """A request body: exactly the spec's fields, nothing else."""

    model_config = ConfigDict(extra="forbid")


class ProblemDetails(Reply):
    """RFC 7807 error body [v2-spec]; the key casing varies (``Title``/``title``), so the
    HTTP kit lower-cases keys before reading it."""

    Type: str | None = None
    Title: str | None = None
    Status: int | None = None
    Detail: str | None = None


class ClientIntegrationInformation(Reply):
    """What the integration may do on this client; a 403 is explained by InvalidPrivileges."""

    ClientId: str | None = None
    ClientName: str | None = None
    ValidPrivileges: list[str] | None = None
    InvalidPrivileges: list[str] | None = None


class ContactAddress(Reply):
    AddressLine1: str | None = None
    AddressLine2: str | None = None
    ZipCode: str | None = None
    City: str | None = None
    CountryCode: str | None = None


class Customer(Reply):
    """CustomerDto. ``LastChangedDateTimeOffset`` does not move when the address changes."""

    Id: int
    Number: int | None = None
    Name: str | None = None
    IsPerson: bool | None = None
    OrganizationNumber: str | None = None
    EmailAddress: str | None = None
    PhoneNumber: str | None = None
    MailAddress: ContactAddress | None = None
    TransferToDebtCollectionAgency: bool | None = None  # False: never to collection
    SendPaymentReminders: bool | None = None
    SubledgerAccountId: int
    """The customer as an account: the AccountId of a voucher line on its ledger."""
    LastChangedDateTimeOffset: datetime


class OutgoingInvoice(Reply):
    """OutgoingInvoiceDto. ``TotalAmount`` is in the invoice's currency, ``Balance`` and
    ``TotalPostedAmount`` in the client's (NOK)."""

    Id: str  # uuid, the voucher's id on the customer ledger too
    InvoiceNo: int | None = None
    VoucherDate: date
    DueDate: date | None = None
    CustomerNo: int | None = None
    CustomerId: int | None = None
    Cid: str | None = None
    TotalAmount: Decimal
    TotalPostedAmount: Decimal
    Balance: Decimal | None = None
    CurrencyCode: str | None = None
    VoucherType: str
    MatchId: int | None = None
    IsReversed: bool = False
    LastChangedDateTimeOffset: datetime
    BalanceLastChangedDateTimeOffset: datetime | None = None


class CustomerLedgerEntry(Reply):
    """CustomerLedgerEntryDto: one entry on a customer's ledger; entries matched together
    share a ``MatchId``. ``Amount`` is signed: an invoice debits, a payment credits."""

    Id: int
    VoucherId: str
    VoucherType: str
    VoucherDate: date
    PostingDate: date
    DueDate: date | None = None
    InvoiceNo: str | None = None
    Cid: str | None = None
    CustomerAccountNo: int | None = None
    Amount: Decimal
    MatchId: int | None = None
    IsWriteOff: bool | None = None
    ExternalImportReference: str | None = None
    IsCreatedByCurrentIntegration: bool | None = None
    LastChangedDateTimeOffset: datetime


class GeneralLedgerAccount(Reply):
    Id: int
    AccountNo: int
    Name: str | None = None
    IsActive: bool | None = None


class VatCode(Reply):
    Id: int
    Code: str | None = None
    Rate: Decimal = Decimal(0)
    IsActive: bool | None = None


class AccountTransaction(Reply):
    """AccountTransactionDto: one posted line; carries its voucher's external reference."""

    Id: int
    VoucherId: str
    AccountNo: int
    Amount: Decimal
    ExternalImportReference: str | None = None
    CreatedDateTimeOffset: datetime


class BankVoucherLinePost(Body):
    """BankVoucherLinePostDto: a signed line on one account (ids, not numbers)."""

    AccountId: int
    VatId: int
    PostingDate: date
    CurrencyAmount: Decimal
    CurrencyCode: str | None = None
    Description: str | None = None
    InvoiceNo: str | None = None


class BankVoucherPost(Body):
    """BankVoucherPostDto. ``ExternalImportReference``: "only one instance of the reference
    can exist on the client"."""

    CurrencyCode: str
    VoucherDate: date
    Description: str | None = None
    ExternalImportReference: str | None = None
    VoucherLines: list[BankVoucherLinePost] | None = None


class BankVoucher(Reply):
    """BankVoucherDto: a posted bank voucher."""

    Id: str
    Description: str | None = None
    ExternalImportReference: str | None = None
    VoucherDate: date | None = None


class JournalEntryLinePost(Body):
    """BankJournalEntryVoucherLinePostDto: a debit/credit pair, not a signed line."""

    DebitAccountId: int | None = None
    CreditAccountId: int | None = None
    DebitVatId: int | None = None
    CreditVatId: int | None = None
    CurrencyAmount: Decimal
    CurrencyCode: str | None = None
    Description: str | None = None
    InvoiceNo: str | None = None
    PostingDate: date | None = None


class JournalEntryVoucherPost(Body):
    """BankJournalEntryVoucherPostDto: an unposted voucher (bookkeeping proposal). It has no
    external reference, and ``Comment`` is never returned."""

    CurrencyCode: str
    VoucherDate: date
    Description: str | None = None
    Comment: str | None = None
    BankJournalLines: list[JournalEntryLinePost] | None = None


class JournalEntryVoucher(Reply):
    """BankJournalEntryVoucherDto, as the answer to a proposal and its GET."""

    Id: str
    Description: str | None = None
    VoucherDate: date | None = None


class JournalEntryVoucherListItem(Reply):
    """A row of GET /JournalEntryVouchers: no description, so the voucher is read by id."""

    Id: str
    VoucherType: str | None = None
    IsPosted: bool | None = None
    IsCreatedByCurrentIntegration: bool | None = None
    CreatedDateTimeOffset: datetime
    LastChangedDateTimeOffset: datetime


# --- v1 debt-collection partner API [v1-dc] --------------------------------------------------
V1_ROOT_URL: Final = "https://api.poweroffice.net"
V1_DEMO_ROOT_URL: Final = "https://api-demo.poweroffice.net"
DEBT_COLLECTION: Final = "/DebtCollection/"  # GET list ($filter), POST create
UPDATE_STATUS: Final = "/DebtCollection/UpdateStatus/"
ODATA_FILTER: Final = "$filter"


class DebtCollectionInvoiceRef(Body):
    id: str  # the invoice's id (uuid)


class DebtCollectionCasePost(Body):
    """POST DebtCollection/: "saves a new debt collection case, and returns it with an
    assigned id"."""

    code: str
    invoices: list[DebtCollectionInvoiceRef]
    externalCaseUrl: str | None = None
    balanceAgency: Decimal | None = None


class DebtCollectionCase(Reply):
    id: str
    code: str | None = None
    balanceAgency: Decimal | None = None


class StatusUpdate(Body):
    """POST DebtCollection/UpdateStatus/: sets the case Active unless ``isCaseClosed``."""

    caseId: str
    statusText: str
    isCaseClosed: bool = False
    updatedBalanceAgency: Decimal | None = None


class V1Envelope(Reply):
    """v1 answers wrap their result: ``{"data": …, "count": n, "success": bool}``."""

    success: bool = True
    count: int | None = None
