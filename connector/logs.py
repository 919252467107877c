"""Structured logs on stderr: no secret and no local variable ever reaches a line.

``SAFE_PROCESSORS`` is the tail every renderer must sit behind (console or JSON): it
renders an exception as a plain traceback (file, line, code; never the frames' local
variables, where adapter settings and tokens live) and then redacts the whole event
through ``connector.secrets``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from connector.secrets import MASK, is_secret, redact


def mask_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    """A structlog processor: secret-looking fields masked, ``Secret`` values masked and
    every remembered secret scrubbed from every value, the traceback included."""
    for key in list(event):
        event[key] = MASK if is_secret(key) else redact(event[key])
    return event


SAFE_PROCESSORS: list[Any] = [structlog.processors.format_exc_info, mask_secrets]
"""Exceptions as plain text (``format_exc_info`` never shows locals), then redaction."""


class _Stderr:
    """Whatever ``sys.stderr`` is at the moment of writing (tests swap it per test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(verbosity: int = 0) -> None:
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbosity, 2)]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *SAFE_PROCESSORS,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
