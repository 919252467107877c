"""Structured logs on stderr, with secret-looking fields masked before they are written."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from connector.config import is_secret
from connector.http.redact import redact_processor


def mask_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    """A structlog processor: no secret reaches a log line, whatever a caller passed."""
    for key in list(event):
        if is_secret(key):
            event[key] = "***"
    return event


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
            mask_secrets,
            redact_processor,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
