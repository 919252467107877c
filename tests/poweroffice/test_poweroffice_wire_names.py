"""The wire matches the public description: every name the adapter and the emulator put on
or read from the wire is on ``wire_names.txt``, which ``scripts/poweroffice_wire_names.py``
regenerates from PowerOffice's OpenAPI file (and the guide's and v1's names it cites)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pydantic import BaseModel

from connector_adapters.poweroffice import wire

PACKAGE = Path(wire.__file__).parent
LISTED = {line for line in (PACKAGE / "wire_names.txt").read_text(encoding="utf-8").splitlines()
          if line and not line.startswith("#")}
PASCAL = re.compile(r"[A-Z][a-z][A-Za-z0-9]*")
"""A string that looks like a PowerOffice field name (``Balance``, ``VoucherType``)."""
NOT_WIRE = {"Customer", "CustomerLedger", "GeneralLedgerAccount", "AccountTransaction",
            "BankJournalVoucher", "JournalEntryVoucher"}
"""PascalCase words in the sources that are values, not names: the privileges the emulator
lists in InvalidPrivileges (PowerOffice's own are not public)."""


def test_every_dto_field_is_a_published_name() -> None:
    models = [m for m in vars(wire).values() if isinstance(m, type)
              and issubclass(m, BaseModel) and m.__module__ == wire.__name__]
    assert len(models) > 15
    unlisted = sorted(f"{m.__name__}.{name}" for m in models for name in m.model_fields
                      if name not in LISTED)
    assert unlisted == []


def test_every_path_and_parameter_constant_is_a_published_name() -> None:
    constants = {name: value for name, value in vars(wire).items()
                 if name.isupper() and isinstance(value, str) and "://" not in value}
    assert {"CUSTOMERS", "PAGE_NUMBER", "BALANCE_CHANGED_AFTER"} <= set(constants)
    unlisted = sorted(f"{name} = {value!r}" for name, value in constants.items()
                      if value not in LISTED)
    assert unlisted == []


def test_the_adapter_and_the_emulator_name_nothing_unpublished() -> None:
    """Field names written as text (the emulator's answers, the adapter's cursor fields)."""
    found: list[str] = []
    for module in ("adapter.py", "emulator.py", "mapping.py", "guesses.py"):
        tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and PASCAL.fullmatch(node.value) and node.value not in LISTED
                    and node.value not in NOT_WIRE):
                found.append(f"{module}:{node.lineno} {node.value!r}")
    assert found == []


def test_a_misspelt_name_would_be_caught() -> None:
    """The list is the spec's, not everything: near misses are not on it."""
    assert "LastChangedDateTimeOffset" in LISTED and "LastChangedDateTime" not in LISTED
    assert "SubledgerAccountId" in LISTED and "SubLedgerAccountId" not in LISTED
