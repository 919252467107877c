"""The mock ERP adapter: reads the world the way the PowerOffice adapter reads PowerOffice,
and writes vouchers and case statuses the way PowerOffice takes them.

Records are built as raw dicts and validated by ``parse_page``, so bad ERP data in the world
(a malformed date) comes out as a ``Rejected`` item, exactly as from a real ERP. A voucher
whose external reference is taken is refused, as PowerOffice refuses a repeated
``ExternalImportReference``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from connector.domain import (
    CaseStatus,
    Company,
    Customer,
    Invoice,
    LedgerEntry,
    ReminderLetter,
    Voucher,
    VoucherKind,
    VoucherReceipt,
)
from connector.ports import Capability, Page, parse_page
from connector_adapters.mock.world import MockInvoice, MockVoucher, World, WorldClock, parse_date

T = TypeVar("T", bound=BaseModel)
DEFAULT_PAGE_SIZE = 500


class MockErp:
    """An ``ErpAdapter`` over a World; ``close`` saves the world when it has a file."""

    capabilities: frozenset[Capability] = frozenset({
        Capability.STATUS_WRITEBACK, Capability.VOUCHERS, Capability.PROPOSALS,
        Capability.WRITE_OFFS,
    })

    def __init__(self, world: World, path: Path | None = None,
                 page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.world = world
        self.path = path
        self.page_size = page_size

    @property
    def clock(self) -> WorldClock:
        """The engine reads time from here, so rules see the world's days."""
        return self.world.clock

    def company(self) -> Company:
        self.world.trip("erp.company")
        return self.world.company

    def customers(self, changed_since: datetime | None) -> Iterator[Page[Customer]]:
        self.world.trip("erp.customers")
        return self._pages(Customer, "customer", self.world.customers.values(),
                           changed_since, _customer_raw)

    def customers_by_number(self, numbers: Sequence[str]) -> list[Customer]:
        self.world.trip("erp.customers_by_number")
        found = [self.world.customers[n] for n in numbers if n in self.world.customers]
        return parse_page(Customer, "customer", [_customer_raw(c) for c in found]).items

    def invoices(self, changed_since: datetime | None) -> Iterator[Page[Invoice]]:
        """Invoices and credit notes, hiding those dated after today (not issued yet)."""
        self.world.trip("erp.invoices")
        today = self.world.today
        issued = [i for i in self.world.invoices.values() if not _future(i, today)]
        return self._pages(Invoice, "invoice", issued, changed_since,
                           lambda i: i.model_dump(exclude={"credits"}))

    def letters(self, changed_since: datetime | None) -> Iterator[Page[ReminderLetter]]:
        self.world.trip("erp.letters")
        return self._pages(ReminderLetter, "letter", self.world.letters, changed_since,
                           lambda letter: letter.model_dump())

    def ledger(self, changed_since: datetime | None) -> Iterator[Page[LedgerEntry]]:
        """Payments, credit notes, write-offs and posted voucher lines matched to invoices."""
        self.world.trip("erp.ledger")
        return self._pages(LedgerEntry, "ledger entry", self.world.ledger, changed_since,
                           lambda entry: entry.model_dump(exclude={"invoice_no"}))

    def write_status(self, statuses: Sequence[CaseStatus]) -> None:
        self.world.trip("erp.write_status")
        self.world.write_status(list(statuses))

    def find_voucher(self, reference: str) -> VoucherReceipt | None:
        self.world.trip("erp.find_voucher")
        voucher = self.world.find_voucher(reference)
        return _receipt(voucher) if voucher else None

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        """Post or propose; a taken reference raises UserError (and is counted)."""
        self.world.trip("erp.post_voucher")
        record = self.world.post_voucher(voucher)
        self.world.trip("erp.post_voucher.lost_reply")
        return _receipt(record)

    def _pages(self, model: type[T], resource: str, records: Iterable[Any],
               changed_since: datetime | None,
               raw: Callable[[Any], dict[str, Any]]) -> Iterator[Page[T]]:
        """Records changed strictly after the cursor, oldest first, ``page_size`` at a time."""
        chosen = sorted(
            (r for r in records if changed_since is None or r.changed_at > changed_since),
            key=lambda r: r.changed_at,
        )
        size = self.page_size
        for start in range(0, len(chosen), size):
            yield parse_page(model, resource, [raw(r) for r in chosen[start:start + size]])

    def close(self) -> None:
        if self.path is not None:
            self.world.save(self.path)


def _customer_raw(customer: Any) -> dict[str, Any]:
    return customer.model_dump(
        exclude={"behaviour", "pays_after_days", "instalments"})


def _receipt(voucher: MockVoucher) -> VoucherReceipt:
    """A proposal the accountant approved is posted now."""
    kind = VoucherKind.POSTED if voucher.posted else VoucherKind.PROPOSAL
    return VoucherReceipt(id=voucher.id, reference=voucher.reference or "", kind=kind)


def _future(invoice: MockInvoice, today: Any) -> bool:
    issued = parse_date(invoice.invoice_date)
    return issued is not None and issued > today
