"""The conformance kit through its pytest plugin, as an adapter author uses it.

A tiny adapter package is written to a temporary folder: one ERP adapter built on
``ErpAdapterBase`` and two conftests, one building it as it should be and one building it
so that it drops the payout mark. The package switches the kit on with its one line of
pytest configuration; pytest runs in a subprocess, as in the author's own checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TINY_ERP = '''
"""An ERP kept in memory: two customers, one open invoice, posted vouchers."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from connector.adapter_base import ErpAdapterBase
from connector.domain import (Company, Customer, Invoice, LedgerEntry, LedgerKind, Voucher,
                              VoucherReceipt)
from connector.errors import AdapterError
from connector.ports import Capability, Page

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def after(items, since):
    return [Page([i for i in items if since is None or i.changed_at > since])]


class TinyErp(ErpAdapterBase):
    capabilities = frozenset({Capability.VOUCHERS})

    def __init__(self, keeps_mark: bool) -> None:
        self.keeps_mark = keeps_mark
        self.ticks = 0
        self.people = [Customer(id=f"c{n}", number=n, name=f"Kunde {n} AS",
                                changed_at=T0 + timedelta(minutes=i))
                       for i, n in enumerate(("10", "11"))]
        self.bills = [Invoice(id="i1", invoice_no="501", customer_id="c10", customer_no="10",
                              invoice_date=date(2026, 1, 5), due_date=date(2026, 1, 19),
                              amount=Decimal("500.00"), balance=Decimal("500.00"),
                              currency="NOK", changed_at=T0)]
        self.entries: list[LedgerEntry] = []
        self.receipts: dict[str, VoucherReceipt] = {}

    def company(self) -> Company:
        return Company(name="Tiny AS")

    def customers(self, changed_since):
        return iter(after(self.people, changed_since))

    def invoices(self, changed_since):
        return iter(after(self.bills, changed_since))

    def ledger(self, changed_since):
        return iter(after(self.entries, changed_since))

    def find_voucher(self, reference):
        return self.receipts.get(reference)

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        if voucher.reference in self.receipts:
            raise AdapterError(f"reference {voucher.reference} is taken")
        for line in voucher.lines:
            if line.invoice_no and line.amount < 0:
                self.ticks += 1
                self.entries.append(LedgerEntry(
                    id=f"le{self.ticks}", invoice_id="i1", kind=LedgerKind.PAYMENT,
                    amount=-line.amount, on=voucher.date,
                    changed_at=T0 + timedelta(days=1, seconds=self.ticks),
                    external_reference=voucher.reference if self.keeps_mark else None))
        receipt = VoucherReceipt(id=f"v{len(self.receipts) + 1}", reference=voucher.reference,
                                 kind=voucher.kind)
        self.receipts[voucher.reference] = receipt
        return receipt
'''

CONFTEST = '''
import pytest

from tiny_erp import TinyErp


@pytest.fixture
def erp_adapter():
    return TinyErp(keeps_mark={keeps})
'''

PYPROJECT = '''
[project]
name = "tiny-erp"
version = "0.1"

[tool.pytest.ini_options]
pythonpath = ["."]
connector_contract = ["erp"]
'''


def run_kit(root: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                           "-q", "-W", "error::pytest.PytestUnknownMarkWarning"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_the_kit_catches_an_erp_adapter_that_drops_the_payout_mark(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "tiny_erp.py").write_text(TINY_ERP, encoding="utf-8")
    for folder, keeps in (("keeps", True), ("drops", False)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "conftest.py").write_text(CONFTEST.format(keeps=keeps),
                                                       encoding="utf-8")
    code, output = run_kit(tmp_path)
    assert code == 1, output
    results = {line.split(" ", 1)[1].split(" - ")[0]: line.split(" ", 1)[0]
               for line in output.splitlines() if line.startswith(("PASSED ", "FAILED "))}
    mark = "connector-contract::TestErpAdapterContract::test_payout_payment_carries_the_payout_mark"
    assert results[f"keeps/{mark}[posted]"] == "PASSED"
    assert results[f"drops/{mark}[posted]"] == "FAILED"
    assert [test for test, outcome in results.items() if outcome == "FAILED"] == [
        f"drops/{mark}[posted]"], output
    passed_each = {folder: sum(1 for t, o in results.items()
                               if t.startswith(folder) and o == "PASSED")
                   for folder in ("keeps", "drops")}
    assert passed_each["keeps"] == passed_each["drops"] + 1 >= 8, passed_each
    assert "payout mark (echo prevention): a ledger payment booked from an agency payout " \
           "must carry the payout voucher's reference 'payout:conformance-" in output
    assert "external_reference=None" in output


def test_the_kit_stays_off_without_its_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.replace('connector_contract = ["erp"]\n', ""), encoding="utf-8")
    (tmp_path / "tiny_erp.py").write_text(TINY_ERP, encoding="utf-8")
    (tmp_path / "conftest.py").write_text(CONFTEST.format(keeps=True), encoding="utf-8")
    code, output = run_kit(tmp_path)
    assert code == 5, output  # nothing collected: the kit did not switch itself on
