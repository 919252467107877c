"""Secrets: typed so they never print, and scrubbed from any text that leaves the process.

This is the one place redaction lives. The configuration loader, the log processors, the
CLI's error lines and the HTTP kit all use it:

- ``Secret`` is the type of a secret setting (a pydantic ``SecretStr``): its ``str`` and
  ``repr`` are ``**********``, ``model_dump`` keeps it masked, and only
  ``get_secret_value()`` gives the value, at the moment it goes on the wire;
- every secret value the process learns (a ``Secret``, a secret-looking config key, the
  password of a store URL) is remembered, and ``scrub`` replaces it in any text: a log
  line, an exception message, a traceback;
- ``redact`` masks the values of secret-looking keys in a mapping, at any depth.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

SECRET_WORDS = frozenset({"secret", "secrets", "token", "tokens", "password", "passwd",
                          "credential", "credentials", "passphrase", "apikey", "authorization"})
"""A name holding one of these words (snake_case, kebab-case or camelCase) names a secret."""
NOT_SECRET_KEYS = frozenset({"idempotency", "job", "sort", "primary", "foreign", "cache",
                             "lookup", "partition", "dedupe"})
"""Words before ``key`` that make it an identifier, not a credential (``job_key``)."""
MASK = "***"
MIN_LENGTH = 4
"""Shorter values are not scrubbed from text: masking every "ab" would garble messages and
protect nothing a guess would not find."""

_known: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def is_secret(key: str) -> bool:
    """Whether a setting or log field of this name holds a secret, by its words:
    ``client_key``, ``subscriptionKey``, ``api-token`` do; a job's ``key`` or ``monkey``
    does not."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower())
    if any(word in SECRET_WORDS for word in words):
        return True
    return len(words) > 1 and words[-1] in ("key", "keys") and words[-2] not in NOT_SECRET_KEYS


def remember(value: str | None) -> None:
    """Scrub ``value`` from every text from now on (a secret, or a token derived from one)."""
    global _pattern
    if not value or len(value) < MIN_LENGTH or value in _known:
        return
    with _lock:
        _known.add(value)
        ordered = sorted(_known, key=len, reverse=True)  # a longer secret wins over its prefix
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def scrub(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***``."""
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


class Secret(SecretStr):
    """A secret setting: never printed, never dumped, scrubbed from text once created.

    Declare adapter settings with it (``client_key: Secret``); the loader has already
    expanded ``${VAR}`` and read ``client_key_file`` by then (docs/configuration.md).
    """

    def __init__(self, secret_value: str) -> None:
        super().__init__(secret_value)
        remember(secret_value)


def redact(value: Any) -> Any:
    """A copy safe to print or log: secret-looking keys and ``Secret`` values masked,
    remembered secrets scrubbed from strings, at any depth."""
    if isinstance(value, Mapping):
        return {k: MASK if is_secret(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, BaseException):
        return scrub(str(value))
    return value
