"""The mock agency adapter: takes cases the way Kravia does, refuses what Kravia would, and
tells what happened to them afterwards.

Validation follows docs/rules.md and names the field at fault with the same paths the engine's
obstacles use (``address.postal_code``, ``organization_number``, ``currency`` …), so a
rejection reads like an obstacle (R7). The way back (case updates, payouts, reductions,
pause / resume / withdraw) reads and writes the world's agency books; what the API cannot do
when a capability is off raises ``Unsupported`` naming the customer web (R6).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from connector.domain import AgencyCase, CaseRequest, CaseUpdate, ClaimReduction, LedgerKind, Payout
from connector.errors import CaseRejected, Unsupported
from connector.ports import Capability, Page, parse_page
from connector.rules import AgencyRequirements
from connector_adapters.mock.agency_world import AGENCY_CAPABILITIES, MockCase
from connector_adapters.mock.norway import valid_org_number
from connector_adapters.mock.service import Served
from connector_adapters.mock.world import World

T = TypeVar("T", bound=BaseModel)
NEW_CASE_STATUS = "Registered: collection notice will be sent"
DEFAULT_PAGE_SIZE = 100
MAX_LENGTHS = {"name": 100, "address.line1": 100, "address.city": 50}
"""The longest debtor name, address line and city the mock agency stores (docs/mock.md)."""

_ADDRESS = (
    ("line1", "address line"),
    ("postal_code", "postal code"),
    ("city", "city"),
    ("country", "country"),
)
_DOING = {
    Capability.PAUSE: "pause cases",
    Capability.RESUME: "resume cases",
    Capability.WITHDRAW: "withdraw cases",
    Capability.DIRECT_PAYMENTS: "take direct payments",
    Capability.CREDIT_NOTES: "take credit notes",
}


def agency_capabilities(values: Iterable[Any]) -> frozenset[Capability]:
    """Capabilities from settings (names like ``"pause"``); ValueError names a bad one."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValueError(f"capabilities must be a list of names, not {values!r}")
    chosen: set[Capability] = set()
    known = ", ".join(sorted(c.value for c in AGENCY_CAPABILITIES))
    for value in values:
        try:
            capability = Capability(value)
        except ValueError:
            capability = None
        if capability not in AGENCY_CAPABILITIES:
            raise ValueError(f"the mock agency has no capability {value!r} (known: {known})")
        chosen.add(capability)
    return frozenset(chosen)


class MockAgency:
    """An ``AgencyAdapter`` over a World; counts a repeated reference as a duplicate case.

    ``capabilities`` narrows what the API offers (default: the world's
    agency ``capabilities``, else all the mock can); what is off raises ``Unsupported``.
    """

    capabilities: frozenset[Capability] = AGENCY_CAPABILITIES
    requirements = AgencyRequirements(currencies=frozenset({"NOK"}), max_lengths=MAX_LENGTHS)
    portal = "the mock agency's customer web"

    def __init__(self, world: World, capabilities: Iterable[Capability | str] | None = None,
                 page_size: int = DEFAULT_PAGE_SIZE, served: Served | None = None) -> None:
        self.world = world
        self.side = world.agency
        self.page_size = page_size
        self.served = served or Served()
        if capabilities is None and self.side.capabilities is not None:
            capabilities = self.side.capabilities
        if capabilities is not None:
            self.capabilities = agency_capabilities(capabilities)

    def _call(self, operation: str) -> None:
        """Pace and record the call, then raise its injected fault if one is left."""
        self.served.call(operation)
        self.side.trip(operation)

    def find_case(self, reference: str, *, since: datetime | None = None,
                  request: CaseRequest | None = None) -> AgencyCase | None:
        self._call("agency.find_case")
        case = self.side.find_case(reference)
        return _answer(case) if case else None

    def register_case(self, request: CaseRequest) -> AgencyCase:
        """Register blindly, as a real agency does: idempotency is the caller's job."""
        self._call("agency.register")
        problems = self.problems(request)
        if problems:
            raise CaseRejected("; ".join(reason for _, reason in problems), problems[0][0])
        refused = self.side.take_refusal(request.invoice_no)
        if refused is not None:
            raise CaseRejected(refused)
        case = self.side.open_case(request, NEW_CASE_STATUS)
        self.side.trip("agency.register.lost_reply")
        return _answer(case)

    def problems(self, request: CaseRequest) -> list[tuple[str, str]]:
        """Every (field, reason) the agency would refuse the case for (docs/rules.md)."""
        found: list[tuple[str, str]] = []
        debtor = request.debtor
        invoice = f"invoice {request.invoice_no or '?'}"
        if not request.invoice_no.strip():
            found.append(("invoice_no", "the invoice number is missing"))
        if request.due_date < request.invoice_date:
            found.append(("due_date", f"{invoice}: due date {request.due_date} is before the "
                                      f"invoice date {request.invoice_date}"))
        elif request.due_date >= self.side.today:
            found.append(("due_date", f"{invoice} is not overdue: due {request.due_date}"))
        if request.amount <= 0 or request.balance <= 0:
            found.append(("amount", f"{invoice}: amount and balance must be above 0 "
                                    f"(amount {request.amount}, balance {request.balance})"))
        if request.currency not in self.requirements.currencies:
            taken = ", ".join(sorted(self.requirements.currencies))
            found.append(("currency", f"{invoice}: currency {request.currency} is not taken; "
                                      f"the agency takes {taken} only"))
        who = f"debtor {debtor.number}"
        if not debtor.name.strip():
            found.append(("name", f"{who}: the debtor's name is missing"))
        for field, label in _ADDRESS:
            if not (getattr(debtor.address, field) or "").strip():
                found.append((f"address.{field}", f"{who}: the postal address has no {label}"))
        for field, limit in self.requirements.max_lengths.items():
            value = _text(debtor, field)
            if len(value) > limit:
                found.append((field, f"{who}: the {field} has {len(value)} characters; the "
                                     f"agency takes at most {limit}"))
        code = (debtor.address.postal_code or "").strip()
        if code and debtor.address.country == "NO" and not (len(code) == 4 and code.isdigit()):
            found.append(("address.postal_code",
                          f"{who}: postal code {code!r} is not four digits"))
        org = (debtor.organization_number or "").replace(" ", "")
        if not debtor.is_person and not org:
            found.append(("organization_number",
                           f"{who}: a business debtor needs an organisation number"))
        elif org and not valid_org_number(org):
            found.append(("organization_number",
                          f"{who}: {org!r} is not a valid organisation number"))
        return found

    # -- the way back --------------------------------------------------------------------

    def changes(self, changed_since: datetime | None) -> Iterator[Page[CaseUpdate]]:
        """Cases changed strictly after the cursor, oldest change first, with full history.
        (Interest accruing overnight does not count as a change.)"""
        self._call("agency.changes")
        chosen = sorted(
            (c for c in self.side.cases.values()
             if changed_since is None or c.changed_at > changed_since),
            key=lambda c: c.changed_at,
        )
        return self._pages(CaseUpdate, "case", [_update_raw(c) for c in chosen], "case_id")

    def payouts(self) -> Iterator[Page[Payout]]:
        """Payouts not yet marked booked, oldest first."""
        self._call("agency.payouts")
        chosen = sorted((p for p in self.side.payouts.values() if p.accounting_id is None),
                        key=lambda p: p.changed_at)
        return self._pages(Payout, "payout", [p.payout().model_dump() for p in chosen])

    def mark_booked(self, payout_id: str, accounting_id: str) -> None:
        self._call("agency.mark_booked")
        self.side.mark_booked(payout_id, accounting_id)
        self.side.trip("agency.mark_booked.lost_reply")

    def reduction_reported(self, reference: str, *, case_id: str | None = None) -> bool:
        self._call("agency.reduction_reported")
        return reference in self.side.reductions

    def report_reduction(self, reduction: ClaimReduction) -> None:
        """Reduce the principal; a reference reported before is counted and ignored."""
        need = (Capability.DIRECT_PAYMENTS if reduction.kind is LedgerKind.PAYMENT
                else Capability.CREDIT_NOTES)
        self._can(need)
        self._call("agency.report_reduction")
        self.side.report_reduction(reduction)
        self.side.trip("agency.report_reduction.lost_reply")

    def pause(self, case_id: str) -> CaseUpdate:
        self._can(Capability.PAUSE)
        self._call("agency.pause")
        return _update(self.side.pause_case(case_id))

    def resume(self, case_id: str) -> CaseUpdate:
        self._can(Capability.RESUME)
        self._call("agency.resume")
        return _update(self.side.resume_case(case_id))

    def withdraw(self, case_id: str) -> CaseUpdate:
        self._can(Capability.WITHDRAW)
        self._call("agency.withdraw")
        return _update(self.side.withdraw_case(case_id))

    def _can(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise Unsupported(f"this agency's API cannot {_DOING[capability]}: "
                              f"use {self.portal}")

    def _pages(self, model: type[T], resource: str, raws: list[dict[str, Any]],
               key_field: str = "id") -> Iterator[Page[T]]:
        size = self.page_size
        for start in range(0, len(raws), size):
            yield parse_page(model, resource, raws[start:start + size], key_field)

    def close(self) -> None:
        """Nothing to save: the mock agency stores every write as it takes it."""
        if self.served.activity is not None:
            self.served.activity.close()


def _text(debtor: Any, field: str) -> str:
    """A debtor field by its dotted name (``address.city``), stripped."""
    for part in field.split("."):
        debtor = getattr(debtor, part)
    return str(debtor or "").strip()


def _answer(case: MockCase) -> AgencyCase:
    return AgencyCase(id=case.id, reference=case.reference, status=case.status,
                      url=f"https://agency.mock.invalid/cases/{case.id}")


def _update_raw(case: MockCase) -> dict[str, Any]:
    return {
        "case_id": case.id, "reference": case.reference, "status": case.status,
        "paused": case.paused, "closed": case.closed, "outcome": case.outcome,
        "original_amount": case.original_amount, "remaining_principal": case.principal,
        "balance_at_agency": case.balance_at_agency, "events": list(case.events),
        "changed_at": case.changed_at,
    }


def _update(case: MockCase) -> CaseUpdate:
    return CaseUpdate.model_validate(_update_raw(case))
