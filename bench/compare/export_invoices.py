"""Write the invoices of the big-company world, exactly as the mock ERP serves them, to JSONL.

    .venv/bin/python bench/compare/export_invoices.py [--open 100000] [--out FILE]

The comparison scripts run in a separate virtualenv without the connector, so they read
the same rows from this file: every issued invoice of ``build_world(--open)`` (the world
bench/sync_big_company.py syncs), one JSON object per line, as ``Invoice.model_dump``
gives it after the mock ERP's ``parse_page``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync_big_company import build_world

from connector_adapters.mock.erp import MockErp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--out", type=Path,
                        default=Path(tempfile.gettempdir()) / "connector-bench-invoices.jsonl")
    args = parser.parse_args()
    world, info = build_world(args.open)
    n = 0
    with args.out.open("w") as out:
        for page in MockErp(world).invoices(None):
            for invoice in page.items:
                out.write(json.dumps(invoice.model_dump(mode="json")) + "\n")
                n += 1
    print(f"{n:,} invoices of a world with {info['open_invoices']:,} open ones -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
