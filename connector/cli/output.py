"""How commands print: the two consoles, JSON, and tables built from row dicts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from connector.plain import plain

out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
"""Emoji codes off: ``:warning:`` in a debtor's name stays text."""

Column = tuple[str, str | Callable[[dict[str, Any]], Any]]
"""A table column: its header, and the key of the row it shows or a function of the row."""


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def render_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
                 right: Sequence[str] = ()) -> Table:
    """A table of ``rows``; each column reads a key of the row or computes from it. Every
    cell is data (from the ERP, the agency or the store), shown as plain text."""
    table = Table(title=title, title_justify="left")
    for header, _ in columns:
        table.add_column(header, justify="right" if header in right else "left")
    for row in rows:
        cells = [get(row) if callable(get) else row.get(get) for _, get in columns]
        table.add_row(*(plain(cell) for cell in cells))
    return table
