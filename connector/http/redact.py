"""Secrets never reach a log line or an exception text.

Adapters register each secret value they hold (API keys, client keys, subscription keys,
and every token as it arrives); :func:`redact` replaces any registered value in a text with
``***``. The HTTP kit runs every exception message it raises and every log line it writes
through it, and :func:`redact_processor` does the same for any structlog event.
"""

from __future__ import annotations

import re
import threading
from collections.abc import MutableMapping
from typing import Any

MASK = "***"
_MIN_LENGTH = 4
"""Shorter values are not secrets worth the name and would mask ordinary words."""

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it would be printed."""
    global _pattern
    if not value or len(value) < _MIN_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: no partial mask
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


def redact_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    """A structlog processor masking registered secrets in every string value."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
        elif isinstance(value, BaseException):
            event[key] = redact(str(value))
    return event
