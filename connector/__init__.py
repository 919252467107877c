"""A two-way connector between accounting systems (ERPs) and debt-collection agencies."""

import structlog

from connector.hookspecs import hookimpl
from connector.logs import configure_logging

if not structlog.is_configured():
    # Used as a library, structlog's default would print every debug line to stdout,
    # unredacted: until the host configures logging, warnings go to stderr, secrets masked.
    configure_logging()

__all__ = ["hookimpl"]
