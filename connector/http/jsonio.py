"""JSON with money intact: numbers with a fraction become ``Decimal``, never ``float``.

ERPs send amounts as JSON numbers (``1250.5``); parsing them through ``float`` can change
the øre. ``simplejson`` reads and writes ``Decimal`` as plain JSON numbers.
"""

from __future__ import annotations

from typing import Any

import simplejson


def loads(text: str | bytes) -> Any:
    """Parse JSON; every number with a fraction or exponent becomes a ``Decimal``."""
    return simplejson.loads(text, use_decimal=True)


def dumps(value: Any) -> bytes:
    """Serialise to UTF-8 JSON; ``Decimal`` is written as a number, exactly."""
    text: str = simplejson.dumps(value, use_decimal=True, ensure_ascii=False,
                                 separators=(",", ":"), default=_default)
    return text.encode("utf-8")


def _default(value: Any) -> Any:
    """Dates and times as ISO 8601 text, the way every JSON API here spells them."""
    isoformat = getattr(value, "isoformat", None)
    if isoformat is None:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    return isoformat()
