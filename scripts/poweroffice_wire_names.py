"""Regenerate ``connector_adapters/poweroffice/wire_names.txt`` from PowerOffice's OpenAPI file.

Usage::

    python scripts/poweroffice_wire_names.py path/to/openapi.yaml

The OpenAPI file is the public description of PowerOffice Go API v2 (``api/openapi.yaml``
of the ``stianwe/PowerOfficeGoV2`` repository). For every path the adapter calls (the path
constants of ``connector_adapters.poweroffice.wire``), the list gets the path, its query
parameters (an object parameter such as ``ResourceParameters`` by its properties) and the
field names of every schema its requests and answers use, at any depth. A path missing
from the description stops the script. The names of the token flow (from PowerOffice's
developer guide) and of the v1 debt-collection routes (not in the OpenAPI file) are kept
below, each block citing its source. ``tests/poweroffice/test_poweroffice_wire_names.py``
fails if the adapter or the emulator uses a name that is not on the list.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from connector_adapters.poweroffice import guesses, wire

OUTPUT = (Path(__file__).resolve().parent.parent / "connector_adapters" / "poweroffice"
          / "wire_names.txt")
PATHS = (wire.CLIENT_INTEGRATION_INFORMATION, wire.CUSTOMERS, wire.OUTGOING_INVOICES,
         wire.CUSTOMER_LEDGER_STATEMENT, wire.CUSTOMER_LEDGER_BY_MATCH_ID,
         wire.GENERAL_LEDGER_ACCOUNTS, wire.VAT_CODES, wire.ACCOUNT_TRANSACTIONS,
         wire.POSTED_BANK_JOURNALS, wire.POSTED_BANK_JOURNAL, wire.JOURNAL_ENTRY_VOUCHERS,
         wire.UNPOSTED_BANK_JOURNALS, wire.UNPOSTED_BANK_JOURNAL)
GUIDE = {
    "paths": ["/v2", "/Demo", "/OAuth/Token"],
    "names": ["Authorization", "Ocp-Apim-Subscription-Key", "grant_type", "client_credentials",
              "access_token", "expires_in", "token_type", "error", "error_description",
              "X-Pagination"],
}
"""PowerOffice's developer guide (authentication, throttling, paging)."""
V1_DEBT_COLLECTION = {
    "paths": ["/DebtCollection/", "/DebtCollection/UpdateStatus/"],
    "names": ["$filter", "data", "count", "success", "id", "code", "status", "invoices",
              "externalCaseUrl", "balanceAgency", "lastChanged", "caseId", "statusText",
              "isCaseClosed", "updatedBalanceAgency"],
}
"""The v1 routes of ``PowerOffice/go-api-documentation`` (route_*_debtcollection_*.md)."""


def names_for(spec: dict[str, Any]) -> list[str]:
    schemas = spec["components"]["schemas"]
    found: set[str] = set()

    def walk(node: Any, seen: set[str]) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    schema = schemas[name]
                    found.update(schema.get("properties", {}))
                    found.update(str(v) for v in schema.get("enum", []))
                    walk(schema, seen)
            for value in node.values():
                walk(value, seen)
        elif isinstance(node, list):
            for value in node:
                walk(value, seen)

    lines: list[str] = []
    for path in PATHS:
        item = spec["paths"].get(path)
        if item is None:
            raise SystemExit(f"{path} is not in the OpenAPI description")
        lines.append(path)
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if "$ref" in schema:
                    target = schemas[schema["$ref"].rsplit("/", 1)[-1]]
                    found.update(target.get("properties", {}))
                else:
                    found.add(parameter["name"])
            walk({k: v for k, v in operation.items() if k != "parameters"}, set())
    return lines + sorted(found)


def render(spec: dict[str, Any]) -> str:
    v2 = names_for(spec)
    blocks = [
        "# PowerOffice Go wire names the connector may use; regenerate with",
        "# scripts/poweroffice_wire_names.py (do not edit by hand).",
        "# [v2-spec] paths, then query parameters and schema fields",
        *v2,
        "# [v2-guide] token flow, subscription key, paging header",
        *GUIDE["paths"], *GUIDE["names"],
        "# [v1-dc] debt-collection routes",
        *V1_DEBT_COLLECTION["paths"], *V1_DEBT_COLLECTION["names"],
        "# [guesses] names no public source states (connector_adapters/poweroffice/guesses.py)",
        *guesses.PAGINATION_KEYS,
    ]
    return "\n".join(blocks) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: poweroffice_wire_names.py path/to/openapi.yaml", file=sys.stderr)
        return 2
    spec = yaml.safe_load(Path(argv[1]).read_text(encoding="utf-8"))
    OUTPUT.write_text(render(spec), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
