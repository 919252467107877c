"""Who writes the claim tables: a static check of the source and a guard on the SQL sent.

Only ``connector/lifecycle.py`` writes claims and their history; ``connector/events.py``
also deletes the outbox rows it delivered. The static check reads every module's syntax
tree; the guard watches every INSERT, UPDATE and DELETE that reaches a database during the
tests (an ORM flush of a changed claim row included) and names the code that sent it. A
name for a claim table other than its own (``C = ClaimRow``, ``import ... as C``) is itself
a finding, so an alias cannot hide a write.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from connector.store.schema import CLAIM_TABLES, ClaimEventRow, ClaimOutboxRow, ClaimRow

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("connector", "connector_adapters")
OWNER = ROOT / "connector" / "lifecycle.py"
OUTBOX_READER = ROOT / "connector" / "events.py"
MIGRATIONS = ROOT / "connector" / "store" / "migrations"
STORE_HELPERS = ROOT / "connector" / "store" / "db.py"

CLASSES = {"ClaimRow": "claims", "ClaimEventRow": "claim_events",
           "ClaimOutboxRow": "claim_outbox"}
COLUMNS = frozenset(name for row in (ClaimRow, ClaimEventRow, ClaimOutboxRow)
                    for name in row.__table__.columns.keys())  # noqa: SIM118 - a ColumnCollection
READERS = frozenset({"select", "get", "join", "outerjoin", "isinstance", "exists"})
"""Calls a claim class may be passed to: reading, never writing."""
TABLES = "|".join(CLAIM_TABLES)
_GAP = r"(?:\s|/\*.*?\*/|--[^\n]*\n)+"
"""White space or SQL comments between words (``UPDATE/**/claims``)."""
WRITE_SQL = re.compile(
    rf"\b(?:insert{_GAP}(?:or{_GAP}\w+{_GAP})?into|replace{_GAP}into|update|delete{_GAP}from"
    rf"|truncate(?:{_GAP}table)?|merge{_GAP}into|copy){_GAP}(?:only{_GAP})?"
    rf"(?:[\"`]?\w+[\"`]?\.)?[\"`]?(?P<table>{TABLES})\b",
    re.IGNORECASE | re.DOTALL)
"""A statement writing a claim table, however spelled: any schema (``main.claims``),
``ONLY``, quotes, comments, ``REPLACE``, ``TRUNCATE``, ``MERGE``, ``COPY``."""
INSTANCE_WRITERS = frozenset({"setattr", "__setattr__", "set_committed_value",
                              "bulk_update_mappings", "bulk_insert_mappings",
                              "bulk_save_objects"})
"""Calls that change a mapped row without naming its class (``object.__setattr__``)."""


def _is_ref(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id in CLASSES) or (
        isinstance(node, ast.Attribute) and node.attr in CLASSES)


def _literal_text(node: ast.JoinedStr) -> str:
    """An f-string's literal parts, each value standing as ``x``."""
    return "".join(str(part.value) if isinstance(part, ast.Constant) else "x"
                   for part in node.values)


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def findings(source: str, path: str, core: bool = True) -> list[str]:
    """Every place in ``source`` that writes a claim table, or could hide a write."""
    tree = ast.parse(source, path)
    parents: dict[ast.AST, ast.AST] = {}
    annotations: set[ast.AST] = set()
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
        for annotation in _annotations(node):
            annotations.update(ast.walk(annotation))
    refers = any(_is_ref(node) for node in ast.walk(tree))
    found: list[str] = []

    def say(node: ast.AST, what: str) -> None:
        found.append(f"{path}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                if alias.name.rsplit(".", 1)[-1] in CLASSES and alias.asname:
                    say(node, f"{alias.name} imported as {alias.asname}")
        elif _is_ref(node) and node not in annotations:
            problem = _not_a_read(node, parents.get(node))
            if problem:
                say(node, problem)
        elif isinstance(node, ast.JoinedStr) and WRITE_SQL.search(_literal_text(node)):
            say(node, "SQL that writes a claim table, in an f-string")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if WRITE_SQL.search(node.value):
                say(node, f"SQL that writes a claim table: {node.value[:60]!r}")
            elif node.value in CLAIM_TABLES or node.value in CLASSES:
                parent = parents.get(node)
                if isinstance(parent, ast.Subscript) or (
                        isinstance(parent, ast.Call) and _call_name(parent) in ("getattr",
                                                                                 "table")):
                    say(node, f"claim table reached by name {node.value!r}")
        elif isinstance(node, ast.Call) and _call_name(node) in INSTANCE_WRITERS:
            if core or refers:
                say(node, f"{_call_name(node)}() on an object outside the owner")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and (core or refers):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) \
                            and sub.attr in COLUMNS \
                            and not (isinstance(sub.value, ast.Name) and sub.value.id in (
                                "self", "cls")):
                        say(sub, f"assignment to {ast.unparse(sub)} (a claim column)")
    return found


def _not_a_read(node: ast.AST, parent: ast.AST | None) -> str | None:
    """Why this mention of a claim class is more than a read, or None when it is a read:
    a column (``ClaimRow.link``), an argument of a reading call (``select(ClaimRow)``), a
    type argument (``list[ClaimRow]``)."""
    if isinstance(parent, ast.Attribute) and parent.value is node:
        if parent.attr in COLUMNS:
            return None
        return f"{ast.unparse(parent)} reaches past the columns"
    if isinstance(parent, ast.Call) and node in parent.args and _call_name(parent) in READERS:
        return None
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return None
    if isinstance(parent, ast.Tuple) and all(_is_ref(e) or isinstance(e, ast.Name)
                                             for e in parent.elts):
        return None  # in a type argument: dict[int, ClaimRow]
    where = ast.unparse(parent)[:60] if parent is not None else ""
    return f"{ast.unparse(node)} used outside a read ({where})"


def _annotations(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.arg) and node.annotation is not None:
        return [node.annotation]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
        return [node.returns]
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


def project_findings() -> list[str]:
    """Findings in every module of the project except the owner and the migrations."""
    found: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == OWNER or MIGRATIONS in path.parents:
                continue
            text = path.read_text(encoding="utf-8")
            found += [f for f in findings(text, str(path.relative_to(ROOT)),
                                          core=package == "connector")
                      if not (path == OUTBOX_READER and "ClaimOutboxRow" in f)]
    return found


# ---------------------------------------------------------------- the guard on the SQL sent


def _table_written(statement: str) -> str | None:
    match = WRITE_SQL.search(statement[:200])
    return match.group("table").lower() if match else None


def _sender(frame: FrameType | None) -> Path | None:
    """The innermost project file on the stack, past the store's helpers (``upsert``): the
    code that caused the statement."""
    while frame is not None:
        file = Path(frame.f_code.co_filename)
        if file.is_relative_to(ROOT) and ".venv" not in file.parts and file != STORE_HELPERS:
            return file
        frame = frame.f_back
    return None


class Guard:
    """Collects writes to a claim table whose sender is neither the owner nor a test."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                 context: Any, executemany: bool) -> None:
        table = _table_written(statement)
        if table is None:
            return
        sender = _sender(sys._getframe(1))
        if sender is None or sender == OWNER or MIGRATIONS in sender.parents:
            return
        if sender == OUTBOX_READER and table == "claim_outbox":
            return
        if not any((ROOT / p) in sender.parents for p in PACKAGES):
            return  # a test setting the scene
        self.found.append(f"{sender.relative_to(ROOT)} wrote {table}: {statement[:80]}")


GUARD = Guard()
"""Listens to every engine of the test run (``tests/conftest.py``)."""
