"""A two-way connector between accounting systems (ERPs) and debt-collection agencies."""

from connector.hookspecs import hookimpl

__all__ = ["hookimpl"]
