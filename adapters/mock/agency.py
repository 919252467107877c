"""The mock agency adapter: takes cases the way Kravia does, and refuses what Kravia would.

Validation follows SPEC §6 and names the field at fault with the same paths the engine's
obstacles use (``address.postal_code``, ``organization_number``, ``currency`` …), so a
rejection reads like an obstacle (R7).
"""

from __future__ import annotations

from pathlib import Path

from adapters.mock.norway import valid_org_number
from adapters.mock.world import MockCase, World
from connector.domain import AgencyCase, CaseRequest
from connector.errors import CaseRejected
from connector.ports import Capability
from connector.rules import AgencyRequirements

NEW_CASE_STATUS = "Registered: collection notice will be sent"

_ADDRESS = (
    ("line1", "address line"),
    ("postal_code", "postal code"),
    ("city", "city"),
    ("country", "country"),
)


class MockAgency:
    """An ``AgencyAdapter`` over a World; counts a repeated reference as a duplicate case."""

    capabilities: frozenset[Capability] = frozenset()
    requirements = AgencyRequirements(currencies=frozenset({"NOK"}))
    portal = "the mock agency's customer web"

    def __init__(self, world: World, path: Path | None = None) -> None:
        self.world = world
        self.path = path

    def find_case(self, reference: str) -> AgencyCase | None:
        self.world.trip("agency.find_case")
        case = self.world.find_case(reference)
        return _answer(case) if case else None

    def register_case(self, request: CaseRequest) -> AgencyCase:
        """Register blindly, as a real agency does: idempotency is the caller's job."""
        self.world.trip("agency.register")
        problems = self.problems(request)
        if problems:
            raise CaseRejected("; ".join(reason for _, reason in problems), problems[0][0])
        case = self.world.open_case(request, NEW_CASE_STATUS)
        self.world.trip("agency.register.lost_reply")
        return _answer(case)

    def problems(self, request: CaseRequest) -> list[tuple[str, str]]:
        """Every (field, reason) the agency would refuse the case for (SPEC §6)."""
        found: list[tuple[str, str]] = []
        debtor = request.debtor
        invoice = f"invoice {request.invoice_no or '?'}"
        if not request.invoice_no.strip():
            found.append(("invoice_no", "the invoice number is missing"))
        if request.due_date < request.invoice_date:
            found.append(("due_date", f"{invoice}: due date {request.due_date} is before the "
                                      f"invoice date {request.invoice_date}"))
        elif request.due_date >= self.world.today:
            found.append(("due_date", f"{invoice} is not overdue: due {request.due_date}"))
        if request.amount <= 0 or request.balance <= 0:
            found.append(("amount", f"{invoice}: amount and balance must be above 0 "
                                    f"(amount {request.amount}, balance {request.balance})"))
        if request.currency not in self.requirements.currencies:
            found.append(("currency", f"{invoice}: currency {request.currency} is not taken; "
                                      "the agency takes NOK only"))
        who = f"debtor {debtor.number}"
        if not debtor.name.strip():
            found.append(("name", f"{who}: the debtor's name is missing"))
        for field, label in _ADDRESS:
            if not (getattr(debtor.address, field) or "").strip():
                found.append((f"address.{field}", f"{who}: the postal address has no {label}"))
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

    def close(self) -> None:
        if self.path is not None:
            self.world.save(self.path)


def _answer(case: MockCase) -> AgencyCase:
    return AgencyCase(id=case.id, reference=case.reference, status=case.status,
                      url=f"https://agency.mock.invalid/cases/{case.id}")
