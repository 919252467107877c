"""Base classes for adapter authors: implement what your API has, inherit the rest.

``ErpAdapterBase`` and ``AgencyAdapterBase`` satisfy ``connector.ports.ErpAdapter`` and
``AgencyAdapter``. The abstract methods are the ones every adapter needs; every other
method has the default that fits an API without that ability: an empty read, "nothing
found", or ``Unsupported`` naming where a user can act instead. The engine calls a
capability's methods only when the adapter declares the capability, so the defaults of an
undeclared ability are never reached in a sync.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

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
    Payout,
    ReminderLetter,
    Voucher,
    VoucherReceipt,
)
from connector.errors import ConfigError, Unsupported
from connector.ports import Capability, Page
from connector.rules import AgencyRequirements

SettingsT = TypeVar("SettingsT", bound=BaseModel)


def parse_settings(model: type[SettingsT], options: Mapping[str, Any], adapter: str) -> SettingsT:
    """An adapter's settings, or a ConfigError naming every bad key (never echoing a value,
    which may be a secret)."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_input=False))
        raise ConfigError(f"{adapter} settings: {problems}") from None


class ErpAdapterBase(ABC):
    """An accounting system. Implement ``company``, ``customers`` and ``invoices``; add
    ``letters`` if the ERP has a reminder flow, ``ledger`` so direct payments reach the
    agency, and ``find_voucher`` + ``post_voucher`` (declaring ``vouchers`` or
    ``proposals``) to book the agency's payouts. A ledger payment booked from a payout
    voucher must carry the voucher's reference: see "The payout mark" in docs/plugins.md."""

    capabilities: frozenset[Capability] = frozenset()

    @abstractmethod
    def company(self) -> Company:
        """The company settings: time zone, dunning setup, auto-transfer (R1, R2)."""

    @abstractmethod
    def customers(self, changed_since: datetime | None) -> Iterator[Page[Customer]]:
        """Customers changed strictly after ``changed_since`` (all if None), page by page."""

    @abstractmethod
    def invoices(self, changed_since: datetime | None) -> Iterator[Page[Invoice]]:
        """Outgoing invoices and credit notes changed strictly after, page by page."""

    def customers_by_number(self, numbers: Sequence[str]) -> list[Customer]:
        """Default: every customer read page by page, keeping those asked for. Override
        it when the API looks customers up by number (it is called before each transfer)."""
        wanted = set(numbers)
        return [c for page in self.customers(None) for c in page.items if c.number in wanted]

    def letters(self, changed_since: datetime | None) -> Iterator[Page[ReminderLetter]]:
        """Default: no reminder flow, so no letters (R1a: ready the day after the due date)."""
        return iter(())

    def ledger(self, changed_since: datetime | None) -> Iterator[Page[LedgerEntry]]:
        """Default: no ledger, so no direct payment or write-off is seen (docs/rules.md, R12)."""
        return iter(())

    def write_status(self, statuses: Sequence[CaseStatus]) -> None:
        """Called only with ``status_writeback`` declared (R8)."""
        raise Unsupported("this ERP's API cannot show the agency's status")

    def find_voucher(self, reference: str) -> VoucherReceipt | None:
        """Default: no voucher booking, so nothing is ever found."""
        return None

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        """Called only with ``vouchers`` or ``proposals`` declared (R13)."""
        raise Unsupported("this ERP's API cannot book vouchers: set booking = \"none\"")

    def close(self) -> None:
        """Release connections; nothing to release by default."""
        return None


class AgencyAdapterBase(ABC):
    """A debt-collection agency. Set ``portal`` and implement ``find_case``,
    ``register_case`` and ``changes``; add ``payouts`` + ``mark_booked`` if the agency
    pays out through its API, and each optional action with its capability."""

    capabilities: frozenset[Capability] = frozenset()
    requirements: AgencyRequirements = AgencyRequirements()
    portal: str
    """Where a user does what the API cannot (R6), e.g. the agency's customer web."""

    @abstractmethod
    def find_case(self, reference: str) -> AgencyCase | None:
        """The case registered under ``reference``, if any: asked before every retry."""

    @abstractmethod
    def register_case(self, request: CaseRequest) -> AgencyCase:
        """Register a case; raise ``CaseRejected`` for data the creditor must fix."""

    @abstractmethod
    def changes(self, changed_since: datetime | None) -> Iterator[Page[CaseUpdate]]:
        """Cases whose status or history changed strictly after, page by page."""

    def payouts(self) -> Iterator[Page[Payout]]:
        """Default: the agency pays out outside the API, so there is nothing to book."""
        return iter(())

    def mark_booked(self, payout_id: str, accounting_id: str) -> None:
        """Called only for payouts that ``payouts`` yielded."""
        raise Unsupported(f"this agency's API takes no booking marks: use {self.portal}")

    def reduction_reported(self, reference: str) -> bool:
        """Default: nothing is reported through the API, so nothing is known."""
        return False

    def report_reduction(self, reduction: ClaimReduction) -> None:
        """Called only with ``direct_payments`` or ``credit_notes`` declared."""
        raise Unsupported(f"this agency's API takes no payments or credit notes: tell the "
                          f"agency at {self.portal}")

    def pause(self, case_id: str) -> CaseUpdate:
        """Called only with ``pause`` declared (R6)."""
        raise Unsupported(f"this agency's API cannot pause a case: pause it at {self.portal}")

    def resume(self, case_id: str) -> CaseUpdate:
        """Called only with ``resume`` declared (R6)."""
        raise Unsupported(f"this agency's API cannot resume a case: resume it at {self.portal}")

    def withdraw(self, case_id: str) -> CaseUpdate:
        """Called only with ``withdraw`` declared (R6)."""
        raise Unsupported(f"this agency's API cannot withdraw a case: withdraw it at "
                          f"{self.portal}")

    def close(self) -> None:
        """Release connections; nothing to release by default."""
        return None
