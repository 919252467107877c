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
from enum import StrEnum
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


class LogFormat(StrEnum):
    AUTO = "auto"
    """JSON when stderr is not a terminal (a service manager, a container), else console."""
    JSON = "json"
    CONSOLE = "console"


def renderer(fmt: LogFormat) -> Any:
    """structlog's own renderer for the format: one JSON object per line, or text."""
    if fmt is LogFormat.AUTO:
        fmt = LogFormat.CONSOLE if sys.stderr.isatty() else LogFormat.JSON
    if fmt is LogFormat.JSON:
        return structlog.processors.JSONRenderer(default=str)
    return structlog.dev.ConsoleRenderer(colors=False)


class _ThroughStructlog(logging.Handler):
    """Lines that libraries log through the standard library (uvicorn's) as this process's
    own lines: in the chosen format, through ``SAFE_PROCESSORS``."""

    def emit(self, record: logging.LogRecord) -> None:
        structlog.get_logger(record.name).log(record.levelno, record.getMessage(),
                                              exc_info=record.exc_info or False)


LIBRARIES = ("uvicorn",)
"""Libraries whose standard-library logs are passed on (the listener's server)."""


def configure_logging(verbosity: int = 0, fmt: LogFormat = LogFormat.AUTO) -> None:
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbosity, 2)]
    for name in LIBRARIES:
        library = logging.getLogger(name)
        library.handlers = [_ThroughStructlog()]
        library.propagate = False
        library.setLevel(level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *SAFE_PROCESSORS,
            renderer(fmt),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
