"""Text from the ERP, the agency or the store, made safe to show: plain text, never markup,
never terminal control.

Every printer passes such values through ``plain`` (rich markup escaped, control characters
made visible) and prints on a console with emoji codes off; ``error_line`` is the one
format of a one-line error, secrets scrubbed.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape
from sqlalchemy.exc import DBAPIError

from connector.secrets import scrub

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (ESC, BEL, CR, newline…) and the bidirectional overrides and isolates,
which reorder what follows them on screen."""


def visible(text: str) -> str:
    """Control characters shown as escapes: ``\\x1b`` instead of an ANSI sequence."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def plain(value: Any) -> str:
    """``value`` as text a rich console prints literally: markup escaped, controls visible."""
    return escape(visible("" if value is None else str(value)))


def error_line(exc: BaseException | str) -> str:
    """The text of a one-line ``error: …``: secrets scrubbed, one line, printable. A
    database error says only the database's first line: its detail may quote a row
    (a debtor's name and address), and the statement's parameters are never shown."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = (str(exc.orig).strip().splitlines() or [""])[0]
        exc = f"{type(exc.orig).__name__}: {first}"
    text = scrub(str(exc)).strip()
    return visible(" ".join(text.splitlines()) or type(exc).__name__)
