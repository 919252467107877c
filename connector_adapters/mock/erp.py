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
from connector_adapters.mock.erp_world import MockInvoice, MockVoucher
from connector_adapters.mock.state import parse_date
from connector_adapters.mock.world import World, WorldClock

T = TypeVar("T", bound=BaseModel)
DEFAULT_PAGE_SIZE = 500


class MockErp:
    """An ``ErpAdapter`` over the ERP side of a World (its clock is the world's)."""

    capabilities: frozenset[Capability] = frozenset({
        Capability.STATUS_WRITEBACK, Capability.VOUCHERS, Capability.PROPOSALS,
        Capability.WRITE_OFFS,
    })

    def __init__(self, world: World, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.world = world
        self.side = world.erp
        self.page_size = page_size

    @property
    def clock(self) -> WorldClock:
        """The engine reads time from here, so rules see the world's days."""
        return self.world.clock

    def company(self) -> Company:
        self.side.trip("erp.company")
        return self.side.company

    def customers(self, changed_since: datetime | None) -> Iterator[Page[Customer]]:
        self.side.trip("erp.customers")
        return self._pages(Customer, "customer", self.side.customers.values(),
                           changed_since, _customer_raw)

    def customers_by_number(self, numbers: Sequence[str]) -> list[Customer]:
        self.side.trip("erp.customers_by_number")
        found = [self.side.customers[n] for n in numbers if n in self.side.customers]
        return parse_page(Customer, "customer", [_customer_raw(c) for c in found]).items

    def invoices(self, changed_since: datetime | None) -> Iterator[Page[Invoice]]:
        """Invoices and credit notes, hiding those dated after today (not issued yet)."""
        self.side.trip("erp.invoices")
        today = self.side.today
        issued = [i for i in self.side.invoices.values() if not _future(i, today)]
        return self._pages(Invoice, "invoice", issued, changed_since, self._invoice_raw)

    def _invoice_raw(self, invoice: MockInvoice) -> dict[str, Any]:
        """The invoice as the ERP's API gives it: naming its customer by the card's id."""
        customer = self.side.customers.get(invoice.customer_no)
        return {**invoice.model_dump(exclude={"credits"}),
                "customer_id": customer.id if customer is not None else ""}

    def letters(self, changed_since: datetime | None) -> Iterator[Page[ReminderLetter]]:
        self.side.trip("erp.letters")
        return self._pages(ReminderLetter, "letter", self.side.letters, changed_since,
                           lambda letter: letter.model_dump())

    def ledger(self, changed_since: datetime | None) -> Iterator[Page[LedgerEntry]]:
        """Payments, credit notes, write-offs and posted voucher lines matched to invoices."""
        self.side.trip("erp.ledger")
        return self._pages(LedgerEntry, "ledger entry", self.side.ledger, changed_since,
                           lambda entry: entry.model_dump(exclude={"invoice_no"}))

    def write_status(self, statuses: Sequence[CaseStatus]) -> None:
        self.side.trip("erp.write_status")
        self.side.write_status(list(statuses))

    def find_voucher(self, reference: str) -> VoucherReceipt | None:
        self.side.trip("erp.find_voucher")
        voucher = self.side.find_voucher(reference)
        return _receipt(voucher) if voucher else None

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        """Post or propose; a taken reference raises UserError (and is counted)."""
        self.side.trip("erp.post_voucher")
        record = self.side.post_voucher(voucher)
        self.side.trip("erp.post_voucher.lost_reply")
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
        """Nothing to save: the mock ERP stores every write as it takes it."""


def _customer_raw(customer: Any) -> dict[str, Any]:
    return customer.model_dump()


def _receipt(voucher: MockVoucher) -> VoucherReceipt:
    """A proposal the accountant approved is posted now."""
    kind = VoucherKind.POSTED if voucher.posted else VoucherKind.PROPOSAL
    return VoucherReceipt(id=voucher.id, reference=voucher.reference or "", kind=kind)


def _future(invoice: MockInvoice, today: Any) -> bool:
    issued = parse_date(invoice.invoice_date)
    return issued is not None and issued > today
