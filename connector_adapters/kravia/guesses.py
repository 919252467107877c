"""Everything about Kravia's API that no public source states: the one place for guesses.

Kravia's guides show requests only (``wire``). What the adapter must still assume is here,
each item named in ``docs/adapters/kravia.md`` under "To confirm with Kravia": response
shapes, the zone of timestamps, the error body, page and rate limits, field lengths and
currencies, how a case is found again without a lookup by ``accountingInvoiceId``, and how
a webhook's signature is built. The emulator serves these same shapes, so a wrong guess is
corrected here, once, for the adapter and the emulator together.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from connector.domain import CaseOutcome, CaseRequest, PayoutLineKind
from connector.rules import DEBTOR_FIELDS

# --- time ---------------------------------------------------------------------------------

SERVER_ZONE: Final = ZoneInfo("UTC")
"""The zone of ``lastUpdatedTime`` and every time without an offset (the guide's example,
``2021-06-01T15:13:14.4044853``, has none)."""


def wire_time(moment: datetime) -> str:
    """An aware time as Kravia's timestamps are written: server zone, no offset."""
    return moment.astimezone(SERVER_ZONE).replace(tzinfo=None).isoformat()


def parse_wire_time(text: str) -> datetime:
    """A Kravia timestamp (with up to 7 fractional digits, .NET ticks) as an aware time."""
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", text.strip())
    if match is None:
        raise ValueError(f"not a timestamp: {text!r}")
    head, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    moment = datetime.fromisoformat(f"{head}.{micro}{'+00:00' if zone == 'Z' else zone or ''}")
    return moment if moment.tzinfo else moment.replace(tzinfo=SERVER_ZONE)


# --- limits ---------------------------------------------------------------------------------

MAX_TOP: Final = 100
"""The largest ``top`` the search takes."""
REQUESTS_PER_SECOND: Final = 5.0
"""No rate limit is published: the adapter stays under this per API token, and the emulator
answers 429 with ``Retry-After`` above it."""
CURRENCIES: Final = frozenset({"NOK"})
"""The guides show NOK only."""
FIELD_LIMITS: Final = {
    "debtorName": 100,
    "addressAddressLine1": 100,
    "addressPostalCode": 10,
    "addressCity": 50,
    "invoiceNo": 50,
    "email": 100,
    "description": 250,
}
"""Longest text Kravia stores per field of the registration body."""
POSTAL_CODE_DIGITS: Final = {"NO": 4}
"""Postal codes Kravia checks for form, by country."""

# --- responses --------------------------------------------------------------------------------


class Reply(BaseModel):
    """A response body: fields we do not use are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")


class RegisterReply(Reply):
    """The answer to POST /invoice/register: the new invoice's id (and its status)."""

    id: int
    status: str | None = None


class SearchItem(Reply):
    """One invoice of GET /invoice/search. The guide says the response carries each
    invoice's last updated time; the other names are guessed."""

    id: int
    invoiceNo: str
    accountingInvoiceId: str | None = None
    debtorNumber: str | None = None
    status: str | None = None
    lastUpdatedTime: str


class SearchResult(Reply):
    items: list[SearchItem]
    totalCount: int | None = None


def search_items(body: Any) -> list[SearchItem]:
    """The invoices of a search response: an object with ``items``, or a bare list."""
    if isinstance(body, list):
        return [SearchItem.model_validate(item) for item in body]
    return SearchResult.model_validate(body).items


class Entry(Reply):
    """One line of a case's timeline or activities."""

    id: str | int | None = None
    time: str
    type: str
    description: str


class PaymentEntry(Reply):
    """A payment or credit note on the case; ``accountingPaymentId`` is what we sent."""

    accountingPaymentId: str | None = None
    type: str  # DirectPayment, CreditNote, Collected
    amount: Decimal
    date: str


class Details(Reply):
    """GET /invoice/{id}/details: "invoice details and timeline, documents & activities,
    outstanding amount and payment details, available actions"."""

    id: int
    invoiceNo: str
    accountingInvoiceId: str | None = None
    debtorNumber: str | None = None
    status: str
    isPaused: bool = False
    isClosed: bool = False
    closedReason: str | None = None
    originalAmount: Decimal
    remainingCapital: Decimal
    outstandingAmount: Decimal
    currencyCode: str = "NOK"
    lastUpdatedTime: str
    timeline: list[Entry] = []
    activities: list[Entry] = []
    payments: list[PaymentEntry] = []
    availableActions: list[str] = []


CLOSED_REASONS: Final = {
    "Paid": CaseOutcome.PAID,
    "PartlyPaid": CaseOutcome.PARTLY_PAID,
    "Unresolved": CaseOutcome.UNRESOLVED,
    "Withdrawn": CaseOutcome.WITHDRAWN,
    "Credited": CaseOutcome.CREDITED,
}
"""``closedReason`` of a closed case, as our outcomes (R9)."""


class SettlementLine(Reply):
    type: str  # Capital, Interest, Fee, Commission, Vat
    amount: Decimal
    invoiceId: int | None = None
    accountingInvoiceId: str | None = None
    description: str = ""


class Settlement(Reply):
    """One payout of GET /settlements, itemised as the bank statement's "bookkeeping
    suggestion". Amounts are positive; commission and VAT are deducted from the net."""

    id: int
    paymentDate: str  # YYYY-MM-DD
    currencyCode: str = "NOK"
    amount: Decimal
    lastUpdatedTime: str
    lines: list[SettlementLine]


def settlements(body: Any) -> list[Settlement]:
    """GET /settlements answers with a bare list, unpaged."""
    return [Settlement.model_validate(item) for item in body]


LINE_KINDS: Final = {
    "Capital": PayoutLineKind.PRINCIPAL,
    "Interest": PayoutLineKind.INTEREST,
    "Fee": PayoutLineKind.FEE,
    "Commission": PayoutLineKind.COMMISSION,
    "Vat": PayoutLineKind.VAT,
}

# --- errors --------------------------------------------------------------------------------

ERROR_FIELDS: Final = {
    "DebtorName": "name",
    "PostalAddress.AddressAddressLine1": "address.line1",
    "PostalAddress.AddressPostalCode": "address.postal_code",
    "PostalAddress.AddressCity": "address.city",
    "PostalAddress.AddressCountryCode": "address.country",
    "OrganizationNumber": "organization_number",
    "CurrencyCode": "currency",
    "InvoiceNo": "invoice_no",
    "DueDate": "due_date",
    "OriginalAmount": "amount",
    "Email": "email",
}
"""A refusal is ASP.NET's ValidationProblemDetails, ``{"title", "status": 400, "errors":
{"PostalAddress.AddressPostalCode": ["..."]}}``; its keys (in any casing) name the claim's
field, as our obstacles do (R7)."""
_FIELD_OF = {key.lower(): value for key, value in ERROR_FIELDS.items()}


def field_of(wire_key: str) -> str | None:
    """The claim's field an error key of Kravia names, if we know it."""
    return _FIELD_OF.get(wire_key.lower())


def limited_field(name: str) -> str | None:
    """The claim's field a ``FIELD_LIMITS`` name (of the body or its postal address) holds."""
    return field_of(f"PostalAddress.{name}") or field_of(name)


DEBTOR_LIMITS: Final = {debtor: limit for name, limit in FIELD_LIMITS.items()
                        if (debtor := limited_field(name)) in DEBTOR_FIELDS}
"""``FIELD_LIMITS`` of the debtor's fields, declared to the engine (``max_lengths``): a debtor
who does not fit is an obstacle named before sending (R7), not a refusal after."""


def refusal(problem: dict[str, Any]) -> tuple[str, str | None]:
    """The reason and the first field named by a 400 on registration."""
    errors = problem.get("errors")
    if isinstance(errors, dict) and errors:
        reasons = [f"{key}: {'; '.join(map(str, v)) if isinstance(v, list) else v}"
                   for key, v in errors.items()]
        first = field_of(str(next(iter(errors))))
        return "; ".join(reasons), first
    return str(problem.get("title") or problem.get("detail") or "refused"), None


# --- finding a case again -------------------------------------------------------------------

FIND_MARGIN: Final = timedelta(minutes=10)
"""How far before the first attempt the search starts: the two clocks may differ."""


def matches(item: SearchItem, reference: str, request: CaseRequest | None) -> bool:
    """Whether a search result is the case registered under ``reference``.

    No lookup by ``accountingInvoiceId`` is public, nor whether Kravia keeps it unique. A
    result carrying it is matched on it; one without it is matched on the invoice number
    plus the debtor number (the ERP customer number we send as ``debtorNumber``)."""
    if item.accountingInvoiceId is not None:
        return item.accountingInvoiceId == reference
    return (request is not None and item.invoiceNo == request.invoice_no
            and item.debtorNumber == request.debtor.number)


# --- webhooks -------------------------------------------------------------------------------

def signature(data: dict[str, Any], secret: str) -> str:
    """The MD5 hex digest of the event's ``data`` serialised as compact JSON (keys in the
    order received, as Newtonsoft writes an object), followed by the secret.

    The guide's C# shows only that the serialised event and the secret go into an MD5."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False) + secret
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def event_time(timestamp: int) -> datetime:
    """``data.timestamp``: Unix seconds, as the example's 1663063069 reads."""
    return datetime.fromtimestamp(timestamp, UTC)
