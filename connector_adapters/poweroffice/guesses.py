"""Everything about PowerOffice Go that no public source states: the one place for guesses.

Each item is listed in ``docs/adapters/poweroffice.md`` under "To confirm with the vendor".
The emulator serves these same guesses, so a wrong one is corrected here, once, for the
adapter and the emulator together.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from connector.domain import LetterKind
from connector_adapters.poweroffice import wire

# --- paging -------------------------------------------------------------------------------

# ``OrderBy`` takes a field name and sorts ascending by it (the spec types it as a string
# only): the cursor reads order by their cursor field.
PAGINATION_KEYS: Final = ("TotalCount", "PageSize", "CurrentPage", "TotalPages",
                          "NextPageLink")
"""The ``X-Pagination`` header, when sent, is JSON with these keys (not in the spec); the
HTTP kit reads ``NextPageLink`` or ``CurrentPage``/``TotalPages``."""

# --- the reminder flow on the customer ledger ----------------------------------------------

LETTER_KINDS: Final = {
    wire.OUTGOING_PAYMENT_REMINDER: LetterKind.DUNNING_LETTER,
    wire.OUTGOING_NOTICE_OF_DEBT_COLLECTION: LetterKind.COLLECTION_NOTICE,
}
"""Which reminder-flow voucher is which letter. A plain reminder (påminnelse) carries no
fee, so it leaves no voucher on the ledger and is not read (R1b counts days only)."""

# --- vouchers -----------------------------------------------------------------------------

DEFAULT_VAT_CODE: Final = "0"
"""The VAT code of a voucher line that names none: "no VAT treatment" in Norway."""
REFERENCE_MARK: Final = re.compile(r"\[ref ([^\]\s]+)\]")
"""A bookkeeping proposal has no external reference and never returns ``Comment``: our
reference travels in its ``Description`` as ``[ref payout:123]``, which the retry check and
the ledger read back. PowerOffice is assumed to keep the description when it is posted."""
FLAG_MARK: Final = "[check: {flag}] "
"""A line the accountant must look at (a write-off reversal, R12) starts its description
with this: PowerOffice has no flag field."""
FIND_CREATED_WINDOW: Final = timedelta(days=14)
"""How far back the retry check looks for a voucher created by an earlier attempt."""
FIND_VOUCHER_DATES: Final = timedelta(days=400)
"""The voucher date of a payout is its pay date, which may lie well before the booking:
the account transactions are read over this many days back (``fromDate`` is required)."""

# --- status write-back (v1) -----------------------------------------------------------------

V1_TOKEN_PATH: Final = "/OAuth/Token"
"""The v1 partner API issues its tokens as v2 does (client credentials, Basic auth), on its
own host and without a subscription key."""
CASE_CODE: Final = "{case_id}"
"""The ``code`` of a PowerOffice-side case: the agency's case id, unique per creditor, so
the case is found again by ``$filter=code eq '…'`` after a crash."""


def describe(description: str, reference: str) -> str:
    """A proposal's description carrying its reference."""
    return f"{description} [ref {reference}]".strip()


def reference_in(description: str | None) -> str | None:
    """The reference a description carries, if any."""
    found = REFERENCE_MARK.search(description or "")
    return found.group(1) if found else None


def flagged(description: str, flag: str | None) -> str:
    return FLAG_MARK.format(flag=flag) + description if flag else description


def flag_of(description: str | None) -> tuple[str | None, str]:
    """(flag, the rest) of a line description made by ``flagged``."""
    text = description or ""
    match = re.match(r"\[check: ([^\]]+)\] ", text)
    return (match.group(1), text[match.end():]) if match else (None, text)
