"""The error hierarchy: what a caller can catch, and what the engine retries."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """The configuration is missing, malformed or names something unknown."""


class UserError(ConnectorError):
    """A command the user gave cannot be carried out; the message says why."""


class AdapterError(ConnectorError):
    """An adapter failed to talk to its ERP or agency."""


class TransientError(AdapterError):
    """Worth retrying: a timeout, a 429, a 5xx, a dropped connection."""


class CaseRejected(AdapterError):
    """The agency refused a case for a reason the creditor must fix (R7)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class LinkBusy(UserError):
    """Another process holds the link's lease: one pass of a link at a time."""


class Unsupported(ConnectorError):
    """The adapter's API cannot do this (R6); the message names where it can be done."""


class NotYetUsable(ConnectorError):
    """An adapter that is registered but not ready to run."""


class Stopping(BaseException):
    """The process is stopping (SIGTERM, SIGINT): the pass in hand hands its work back.

    A ``BaseException``, so no ``except Exception`` of a step or a job handler takes it for
    a failure of that step or job."""
