"""The adapter contract: what an ERP adapter and an agency adapter must offer the engine.

Adapters only translate between a wire format and the domain models; they never decide
what a case is. Reads come as pages (streamed, never a whole company at once) filtered by
a change-time cursor; writes carry an idempotency ``reference`` derived from stable ids.
Optional abilities are declared as capabilities, so the engine and the CLI can say
"this agency's API cannot withdraw" up front instead of failing late (R6).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from connector.domain import (
    AgencyCase,
    CaseRequest,
    CaseStatus,
    CaseUpdate,
    ClaimReduction,
    Company,
    Customer,
    Invoice,
    LedgerEntry,
    LedgerKind,
    Payout,
    ReminderLetter,
    Voucher,
    VoucherKind,
    VoucherReceipt,
)
from connector.rules import AgencyRequirements

T = TypeVar("T", bound=BaseModel)


class Capability(StrEnum):
    """Optional abilities an adapter may declare."""

    PAUSE = "pause"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    WEBHOOKS = "webhooks"
    STATUS_WRITEBACK = "status_writeback"
    VOUCHERS = "vouchers"
    PROPOSALS = "proposals"
    WRITE_OFFS = "write_offs"
    DIRECT_PAYMENTS = "direct_payments"
    CREDIT_NOTES = "credit_notes"


ERP_CAPABILITIES = frozenset({
    Capability.STATUS_WRITEBACK, Capability.VOUCHERS, Capability.PROPOSALS,
    Capability.WRITE_OFFS,
})
"""The capabilities an ERP adapter may declare."""
AGENCY_CAPABILITIES = frozenset({
    Capability.PAUSE, Capability.RESUME, Capability.WITHDRAW, Capability.WEBHOOKS,
    Capability.DIRECT_PAYMENTS, Capability.CREDIT_NOTES,
})
"""The capabilities an agency adapter may declare."""
VOUCHER_CAPABILITY = {VoucherKind.POSTED: Capability.VOUCHERS,
                      VoucherKind.PROPOSAL: Capability.PROPOSALS}
"""What an ERP adapter must declare to book a voucher of each kind (R13)."""
REDUCTION_CAPABILITY = {LedgerKind.PAYMENT: Capability.DIRECT_PAYMENTS,
                        LedgerKind.CREDIT_NOTE: Capability.CREDIT_NOTES}
"""What an agency adapter must declare to take each kind of claim reduction (docs/rules.md)."""


@dataclass(frozen=True)
class Rejected:
    """A record the adapter received but could not turn into a domain model."""

    resource: str
    key: str
    reason: str
    raw: dict[str, Any]


@dataclass
class Page(Generic[T]):
    """One page of a read: the records that parsed, and those that did not."""

    items: list[T]
    rejected: list[Rejected] = field(default_factory=list)


def parse_page(
    model: type[T], resource: str, raws: Sequence[dict[str, Any]], key_field: str = "id"
) -> Page[T]:
    """Validate a page of translated records; a bad one is set aside, never fatal."""
    page: Page[T] = Page(items=[])
    for raw in raws:
        try:
            page.items.append(model.model_validate(raw))
        except ValidationError as exc:
            reason = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            page.rejected.append(
                Rejected(resource, str(raw.get(key_field, "?")), reason, dict(raw))
            )
    return page


@runtime_checkable
class ErpAdapter(Protocol):
    """An accounting system, read by change-time cursor and written with idempotency keys.

    An adapter whose reminder flow makes invoices ready otherwise than R1a–c may declare a
    ``ready_policy`` (a ``connector.rules.ReadyPolicy``); without one R1a–c apply.
    """

    capabilities: frozenset[Capability]

    def company(self) -> Company:
        """The company settings: time zone, and the dunning setup and auto-transfer (R1, R2)
        where the ERP's API has them (else the defaults; the link's settings override)."""
        ...

    def customers(self, changed_since: datetime | None) -> Iterator[Page[Customer]]:
        """Customers changed after ``changed_since`` (all if None), page by page."""
        ...

    def customers_by_number(self, numbers: Sequence[str]) -> list[Customer]:
        """Fresh customer cards by number: address edits may not move the change time."""
        ...

    def invoices(self, changed_since: datetime | None) -> Iterator[Page[Invoice]]:
        """Outgoing invoices and credit notes whose balance or data changed, page by page."""
        ...

    def letters(self, changed_since: datetime | None) -> Iterator[Page[ReminderLetter]]:
        """Reminder-flow letters (reminder, dunning letter, notice) sent since, page by page."""
        ...

    def ledger(self, changed_since: datetime | None) -> Iterator[Page[LedgerEntry]]:
        """Payments, credit notes and write-offs matched to invoices since, page by page."""
        ...

    def write_status(self, statuses: Sequence[CaseStatus]) -> None:
        """Show the agency's latest status per case in the ERP (``status_writeback``, R8)."""
        ...

    def find_voucher(self, reference: str) -> VoucherReceipt | None:
        """The voucher booked under ``reference``, if any: the retry check before posting."""
        ...

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        """Book a voucher, posted or as a proposal; a repeated reference is refused."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class AgencyAdapter(Protocol):
    """A debt-collection agency: registers cases idempotently by reference."""

    capabilities: frozenset[Capability]
    requirements: AgencyRequirements
    portal: str
    """Where a user does what the API cannot (R6), e.g. the agency's customer web."""

    def find_case(self, reference: str, *, since: datetime | None = None,
                  request: CaseRequest | None = None) -> AgencyCase | None:
        """The case registered under ``reference``, if any: the retry check of docs/guarantees.md.

        ``since`` is the earliest moment a registration could have been sent (None: the
        store cannot vouch for one, look back as far as the adapter bounds it); ``request``
        is what was sent, for an agency that can only match on its other fields."""
        ...

    def register_case(self, request: CaseRequest) -> AgencyCase:
        """Register a case; raises CaseRejected for data the creditor must fix."""
        ...

    def changes(self, changed_since: datetime | None) -> Iterator[Page[CaseUpdate]]:
        """Cases whose status or history changed since, with their events, page by page."""
        ...

    def payouts(self) -> Iterator[Page[Payout]]:
        """Settlements not yet marked booked, itemised (R13)."""
        ...

    def mark_booked(self, payout_id: str, accounting_id: str) -> None:
        """Tell the agency a payout is booked in the ERP under ``accounting_id``."""
        ...

    def reduction_reported(self, reference: str, *, case_id: str | None = None) -> bool:
        """Whether a direct payment or credit note with this reference is known already;
        ``case_id`` is the agency case it was reported on, for an agency that can only
        look there."""
        ...

    def report_reduction(self, reduction: ClaimReduction) -> None:
        """Reduce a claim by a direct payment or credit note (docs/rules.md)."""
        ...

    def pause(self, case_id: str) -> CaseUpdate:
        """Pause collection (``pause``); raises Unsupported when the API cannot (R6)."""
        ...

    def resume(self, case_id: str) -> CaseUpdate:
        """Resume a paused case (``resume``); raises Unsupported when the API cannot."""
        ...

    def withdraw(self, case_id: str) -> CaseUpdate:
        """Withdraw a case (``withdraw``); raises Unsupported when the API cannot (R6)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class AdapterContext:
    """What every adapter factory receives besides its own settings."""

    link: str
    state_dir: Path
    """A folder the adapter may keep files in (the mock world lives here)."""
