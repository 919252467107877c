"""The agency's half of the mock world: cases registered from the connector, each taken
through the agency's collection process as days pass, the debtors' payments, the reductions
the creditor reported, and payouts. Stored in its own file (``agency.sqlite``); a Kravia
emulator serves this side alone.

The agency never reads the ERP: what the debtor will do comes from the debtor's script
(``DebtorScript``, by customer number, set by a scenario or ``connector mock``) or is drawn
from the world's seed. Time moves only through ``advance_to``; the agency's nightly run takes
every open case one day further and pays out on Mondays.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from connector.clock import local_date
from connector.domain import (
    AgencyEvent,
    CaseOutcome,
    CaseRequest,
    ClaimReduction,
    LedgerKind,
    Money,
    Payout,
    PayoutLine,
    PayoutLineKind,
    to_money,
)
from connector.errors import UserError
from connector.ports import Capability
from connector_adapters.mock import collection as agency_process
from connector_adapters.mock import events as ev
from connector_adapters.mock.collection import ZERO, Behaviour, Stage, nok
from connector_adapters.mock.events import Scheduled
from connector_adapters.mock.state import Head, Record, Side, build, reads, writes

AGENCY_FAULTS = frozenset({
    "agency.find_case", "agency.register", "agency.register.lost_reply",
    "agency.changes", "agency.payouts", "agency.mark_booked", "agency.mark_booked.lost_reply",
    "agency.reduction_reported", "agency.report_reduction",
    "agency.report_reduction.lost_reply", "agency.pause", "agency.resume", "agency.withdraw",
})
"""Agency operations a fault can be injected into (``.lost_reply``: done, then the answer
lost)."""

AGENCY_CAPABILITIES = frozenset({
    Capability.PAUSE, Capability.RESUME, Capability.WITHDRAW, Capability.DIRECT_PAYMENTS,
    Capability.CREDIT_NOTES,
})
"""What the mock agency's API can do; a world or an adapter setting may offer fewer."""

PAYOUT_WEEKDAY = 0
"""Payouts are made in the nightly run of this weekday (Monday)."""
_DROPS_COSTS = (CaseOutcome.PAID, CaseOutcome.CREDITED, CaseOutcome.WITHDRAWN)
"""Outcomes on which the agency drops the interest and fees the debtor still owes."""
_CLOSED_STATUS = {
    CaseOutcome.PAID: "Closed: paid in full",
    CaseOutcome.PARTLY_PAID: "Closed: partly paid",
    CaseOutcome.UNRESOLVED: "Closed: unresolved",
    CaseOutcome.WITHDRAWN: "Closed: withdrawn by the creditor",
    CaseOutcome.CREDITED: "Closed: credited by the creditor",
}


def valid_agency_capabilities(value: list[Capability] | None) -> list[Capability] | None:
    """Only what the mock agency can do may be switched on (a world or scenario setting)."""
    if value is not None:
        unknown = [c.value for c in value if c not in AGENCY_CAPABILITIES]
        if unknown:
            known = ", ".join(sorted(c.value for c in AGENCY_CAPABILITIES))
            raise ValueError(f"the mock agency has no capability {', '.join(unknown)} "
                             f"(known: {known})")
    return value


class DebtorScript(Record):
    """How one debtor (by customer number) answers the agency."""

    number: str
    behaviour: Behaviour | None = None
    """None: drawn from the world's seed."""
    pays_after_days: int | None = Field(default=None, ge=1)
    """The case day of the (first) payment, overriding the behaviour's drawn day."""
    instalments: int | None = Field(default=None, ge=2, le=24)
    """Payments in an instalment plan (behaviour ``instalments``); None: drawn, 2 to 4."""


class MockCase(Record):
    """A case at the mock agency: the request it was registered from, where it stands in the
    collection process, its money and its history (docs/mock.md, "The agency's process")."""

    id: str
    reference: str
    request: CaseRequest
    status: str
    registered_at: AwareDatetime
    stage: Stage = Stage.REGISTERED
    stage_status: str = ""
    """The status of the last step, shown again when a paused case resumes."""
    days: int = 0
    """Case days: nightly runs the case took part in, unpaused (day 0 is registration)."""
    paused: bool = False
    closed: bool = False
    outcome: CaseOutcome | None = None
    original_amount: Money
    """The principal the agency took over: the request's balance."""
    principal: Money
    """Remaining principal."""
    interest: Money = ZERO
    fees: Money = ZERO
    """Interest and fees the debtor owes the agency now."""
    paid_principal: Money = ZERO
    paid_interest: Money = ZERO
    paid_fees: Money = ZERO
    """What the debtor has paid the agency, in total."""
    reduced_by_payment: Money = ZERO
    reduced_by_credit: Money = ZERO
    """Principal reduced by direct payments and credit notes the creditor reported."""
    pending_principal: Money = ZERO
    pending_interest: Money = ZERO
    pending_fees: Money = ZERO
    """Collected and not yet paid out."""
    withdraw_fee: Money = ZERO
    pending_charge: Money = ZERO
    """The withdraw fee, until a payout deducts it."""
    commission: bool = False
    """Registered more than 90 days after the due date: 10 % commission on principal."""
    behaviour: Behaviour | None = None
    pays_on_day: int | None = None
    instalments: int = 1
    instalments_paid: int = 0
    instalment_amount: Money = ZERO
    share: int = 50
    phone_day: int = 14
    events: list[AgencyEvent] = Field(default_factory=list)
    changed_at: AwareDatetime

    @property
    def balance(self) -> Decimal:
        """What the debtor owes the agency now: principal, interest and fees."""
        return self.principal + self.interest + self.fees

    @property
    def balance_at_agency(self) -> Decimal:
        """As shown to the creditor: nothing once withdrawn, else ``balance``."""
        return ZERO if self.outcome is CaseOutcome.WITHDRAWN else self.balance

    @property
    def plan_running(self) -> bool:
        return self.instalments_paid > 0


class MockReduction(Record):
    """A direct payment or credit note the creditor reported, and what it took off."""

    reduction: ClaimReduction
    applied: Money
    at: AwareDatetime


class MockPayout(Record):
    """A settlement from the agency; booked once the creditor says so."""

    id: str
    paid_on: date
    currency: str = "NOK"
    lines: list[PayoutLine]
    changed_at: AwareDatetime
    accounting_id: str | None = None
    booked_at: AwareDatetime | None = None

    def payout(self) -> Payout:
        return Payout(id=self.id, paid_on=self.paid_on, currency=self.currency,
                      lines=self.lines, changed_at=self.changed_at)


class Refusal(Record):
    reason: str
    times: int


class AgencyHead(Head):
    timezone: str = "Europe/Oslo"
    """The agency's calendar: its nightly run is at local midnight."""
    seed: int | None = None
    passes_fees: bool = False
    """True: payouts pass the interest and fees collected on to the creditor. False (Kravia's
    way): the agency keeps them."""
    capabilities: list[Capability] | None = None
    """What the agency's API offers (None: everything the mock can); adapters follow it."""
    registrations: int = 0
    duplicates: int = 0
    """Second cases for one reference: what a real agency would create on a blind retry."""
    payouts_booked: dict[str, int] = Field(default_factory=dict)
    """Calls of ``mark_booked`` per payout id: exactly-once tests assert 1."""
    duplicate_reductions: int = 0
    refusals: dict[str, Refusal] = Field(default_factory=dict)
    """Registrations the agency will refuse, by invoice number (``agency-reject`` events)."""

    @field_validator("capabilities")
    @classmethod
    def _agency_can(cls, value: list[Capability] | None) -> list[Capability] | None:
        return valid_agency_capabilities(value)


class AgencyWorld(Side):
    """The mock agency's state; every public action is one durable write (see ``state``)."""

    KINDS: ClassVar[dict[str, tuple[type[BaseModel], str]]] = {
        "case": (MockCase, "id"),
        "payout": (MockPayout, "id"),
        "reduction": (MockReduction, "reduction.reference"),
        "debtor": (DebtorScript, "number"),
        "event": (Scheduled, "id"),
    }
    HEAD = AgencyHead
    FAULTS = AGENCY_FAULTS
    NAME = "agency"
    head: AgencyHead

    def __init__(self, head: Head) -> None:
        super().__init__(head)
        self.cases: dict[str, MockCase] = self.tables["case"]
        self.payouts: dict[str, MockPayout] = self.tables["payout"]
        self.reductions: dict[str, MockReduction] = self.tables["reduction"]
        """Direct payments and credit notes reported to the agency, by their reference."""
        self.debtors: dict[str, DebtorScript] = self.tables["debtor"]
        self._case_by_reference: dict[str, str] = {}
        self._open_cases: dict[str, None] = {}
        """Ids of cases not closed, in registration order (a dict keeps the order; a set would
        not, and the order of a night's changes must repeat)."""
        self._unsettled: dict[str, None] = {}
        """Ids of cases with money or a charge not yet in a payout."""

    @classmethod
    def new(cls, now: datetime, timezone: str = "Europe/Oslo", seed: int | None = None,
            passes_fees: bool = False,
            capabilities: list[Capability] | None = None) -> AgencyWorld:
        return cls(AgencyHead(now=now.astimezone(UTC), timezone=timezone, seed=seed,
                              passes_fees=passes_fees, capabilities=capabilities))

    @classmethod
    def at(cls, path: Path, now: datetime | None = None) -> AgencyWorld:
        """The agency stored in ``path``; a new file holds an agency with no cases."""
        return cls.open(path, AgencyHead(now=now or datetime.now(UTC)))

    def _index(self) -> None:
        self._case_by_reference.clear()
        self._open_cases.clear()
        self._unsettled.clear()
        for case in self.cases.values():
            self._case_by_reference.setdefault(case.reference, case.id)
            if not case.closed:
                self._open_cases[case.id] = None
            if _unsettled(case):
                self._unsettled[case.id] = None

    # -- reading and settings ----------------------------------------------------------------

    @property
    def seed(self) -> int | None:
        self.refresh()
        return self.head.seed

    @property
    def passes_fees(self) -> bool:
        self.refresh()
        return self.head.passes_fees

    @property
    def capabilities(self) -> list[Capability] | None:
        self.refresh()
        return self.head.capabilities

    @property
    def registrations(self) -> int:
        self.refresh()
        return self.head.registrations

    @property
    def duplicates(self) -> int:
        self.refresh()
        return self.head.duplicates

    @property
    def payouts_booked(self) -> dict[str, int]:
        self.refresh()
        return dict(self.head.payouts_booked)

    @property
    def duplicate_reductions(self) -> int:
        self.refresh()
        return self.head.duplicate_reductions

    @property
    def timezone(self) -> str:
        return self.head.timezone

    @writes
    def configure(self, **fields: Any) -> AgencyHead:
        """Change the agency's settings: ``seed``, ``passes_fees``, ``capabilities``,
        ``timezone``."""
        allowed = {"seed", "passes_fees", "capabilities", "timezone"}
        unknown = set(fields) - allowed
        if unknown:
            raise UserError(f"the mock agency has no setting {', '.join(sorted(unknown))}")
        head = AgencyHead.model_validate({**self.head.model_dump(), **fields})
        self.head = head
        self.tick()
        return head

    @writes
    def set_debtor(self, number: str, **fields: Any) -> DebtorScript:
        """Set how the debtor with customer number ``number`` answers the agency; applies
        to cases registered from now on."""
        old = self.debtors.get(number)
        data = {**(old.model_dump() if old else {}), **fields, "number": number}
        script = build(DebtorScript, data)
        self.touch("debtor", script)
        self.tick()
        return script

    # -- the agency's books ----------------------------------------------------------------

    @reads
    def find_case(self, reference: str) -> MockCase | None:
        """The first case registered under ``reference``."""
        case_id = self._case_by_reference.get(reference)
        return self.cases[case_id] if case_id is not None else None

    @reads
    def case(self, case_id: str) -> MockCase:
        try:
            return self.cases[case_id]
        except KeyError:
            raise UserError(f"the mock agency has no case {case_id}") from None

    @writes
    def open_case(self, request: CaseRequest, status: str) -> MockCase:
        """Record a case as the agency does: blindly, so a repeated reference is a duplicate.

        The collection notice goes out in the next nightly run (case day 1)."""
        self.head.registrations += 1
        if self.find_case(request.reference) is not None:
            self.head.duplicates += 1
        at = self.tick()
        case = MockCase(id=str(self.next_id()), reference=request.reference, request=request,
                        status=status, stage_status=status, registered_at=at,
                        original_amount=request.balance, principal=request.balance,
                        changed_at=at)
        self.touch("case", case)
        self._case_by_reference.setdefault(case.reference, case.id)
        self._open_cases[case.id] = None
        self._plan(case)
        self._event(case, "registered",
                    f"Case registered for invoice {request.invoice_no}: principal "
                    f"{nok(case.principal)}, due date {request.due_date}")
        return case

    def _plan(self, case: MockCase) -> None:
        """Fix what the debtor will do, and whether the claim carries commission."""
        number = case.request.debtor.number
        debtor = self.debtors.get(number)
        chosen = agency_process.plan(
            self.head.seed, number, case.reference,
            debtor.behaviour if debtor else None,
            debtor.pays_after_days if debtor else None,
            debtor.instalments if debtor else None,
        )
        case.behaviour = chosen.behaviour
        case.pays_on_day = chosen.pays_on_day
        case.instalments = chosen.instalments
        case.share = chosen.share
        case.phone_day = chosen.phone_day
        registered_on = local_date(case.registered_at, self.head.timezone)
        late_by = (registered_on - case.request.due_date).days
        case.commission = late_by > agency_process.COMMISSION_AFTER_DAYS
        if not case.stage_status:
            case.stage_status = case.status

    def _event(self, case: MockCase, kind: str, text: str, status: str | None = None) -> None:
        """Add a line to the case's history; every change moves ``changed_at``."""
        at = self.tick()
        case.events.append(AgencyEvent(id=f"{case.id}-{len(case.events) + 1}", at=at,
                                       kind=kind, text=text))
        if status is not None:
            case.status = status
        case.changed_at = at
        self.touch("case", case)

    def _step(self, case: MockCase, stage: Stage, text: str, status: str) -> None:
        case.stage = stage
        case.stage_status = status
        self._event(case, stage.value, text, status)

    def _night(self, day: date) -> None:
        """The agency's nightly run: every open, unpaused case one day further; payouts on
        Mondays."""
        for case_id in list(self._open_cases):
            case = self.cases[case_id]
            if not case.paused:
                self._case_day(case, day)
        if day.weekday() == PAYOUT_WEEKDAY:
            self.make_payout(day)

    def _case_day(self, case: MockCase, day: date) -> None:
        """One day of an open, unpaused case: interest, the step due today, the debtor."""
        p = agency_process
        self.touch("case", case)  # interest accrues: stored, though not a change to report
        case.days += 1
        n = case.days
        if n > p.NOTICE_DAY:
            case.interest += p.interest(case.principal, 1)
        if not case.plan_running:
            self._step_of_day(case, n, day)
        self._debtor_day(case, n)
        if not case.closed and n >= p.CLOSE_DAY and not case.plan_running:
            paid = case.paid_principal + case.reduced_by_payment
            self._close(case, CaseOutcome.PARTLY_PAID if paid > 0 else CaseOutcome.UNRESOLVED)

    def _step_of_day(self, case: MockCase, n: int, day: date) -> None:
        p = agency_process
        pay_by = day + timedelta(days=p.TIME_TO_PAY)
        if n == p.NOTICE_DAY:
            overdue = max((day - case.request.due_date).days, 0)
            owed = p.interest(case.principal, overdue)
            person = case.request.debtor.is_person
            fee = p.NOTICE_FEE if person else p.B2B_COMPENSATION
            case.interest += owed
            case.fees += fee
            what = "notice fee" if person else "standard compensation"
            self._step(case, Stage.NOTICE,
                       f"Collection notice sent to the debtor: {p.TIME_TO_PAY} days to pay; "
                       f"{what} {nok(fee)}, interest {nok(owed)} for {overdue} days since the "
                       "due date", f"Collection notice sent: pay by {pay_by}")
        elif n == case.phone_day:
            self._step(case, Stage.PHONE, "Caseworker called the debtor",
                       "Caseworker called the debtor")
        elif n == p.DEMAND_DAY:
            fee = p.light_fee(case.principal)
            case.fees += fee
            self._step(case, Stage.DEMAND,
                       f"Payment demand sent: {p.TIME_TO_PAY} days to pay; light collection fee "
                       f"{nok(fee)}", f"Payment demand sent: pay by {pay_by}")
        elif n == p.SMS_DAY:
            self._step(case, Stage.SMS, "SMS reminder sent to the debtor",
                       "SMS reminder sent to the debtor")
        elif n == p.LEGAL_NOTICE_DAY:
            self._step(case, Stage.LEGAL_NOTICE,
                       f"Notice of legal steps sent: {p.TIME_TO_PAY} days to pay; legal steps "
                       "need the creditor's approval", f"Notice of legal steps: pay by {pay_by}")
        elif n == p.HEAVY_FEE_DAY:
            more = p.heavy_fee(case.principal) - p.light_fee(case.principal)
            case.fees += more
            self._step(case, Stage.HEAVY_FEE,
                       f"Heavy collection fee charged: {nok(more)} more; legal steps await the "
                       "creditor's approval", "Heavy fee charged: awaiting the creditor's "
                       "approval of legal steps")
        elif n == p.SURVEILLANCE_DAY:
            self._step(case, Stage.SURVEILLANCE,
                       "Case moved to surveillance: the agency watches for the debtor's means "
                       "to pay", "In surveillance")

    def _debtor_day(self, case: MockCase, n: int) -> None:
        """The debtor's payment due on case day ``n`` by its plan, if any."""
        first = case.pays_on_day
        if case.closed or first is None:
            return
        if case.behaviour is Behaviour.INSTALMENTS:
            k = case.instalments_paid
            if k >= case.instalments or n != first + agency_process.INSTALMENT_EVERY * k:
                return
            if k == 0:
                case.instalment_amount = to_money(case.balance / case.instalments)
                self._event(case, "instalment_plan",
                            f"Instalment plan agreed with the debtor: {case.instalments} "
                            f"payments of {nok(case.instalment_amount)} every "
                            f"{agency_process.INSTALMENT_EVERY} days")
            case.instalments_paid = k + 1
            last = case.instalments_paid == case.instalments
            amount = case.balance if last else min(case.instalment_amount, case.balance)
            self._debtor_pays(case, amount, f"Instalment {k + 1} of {case.instalments} paid")
            if not case.closed:
                status = f"Instalment plan: {k + 1} of {case.instalments} paid"
                case.stage_status = case.status = status
            return
        if n != first:
            return
        if case.behaviour is Behaviour.PARTIAL:
            amount = case.fees + case.interest + to_money(case.principal * case.share / 100)
            self._debtor_pays(case, amount, "Debtor paid part of the claim")
        else:
            self._debtor_pays(case, case.balance, "Debtor paid the claim in full")

    def _debtor_pays(self, case: MockCase, amount: Decimal, what: str) -> None:
        """A payment from the debtor to the agency: fees first, then interest, then
        principal (docs/mock.md). Closes the case as paid when no principal is left."""
        if amount <= 0:
            return
        part = agency_process.split(amount, case.fees, case.interest, case.principal)
        case.fees -= part.fees
        case.interest -= part.interest
        case.principal -= part.principal
        case.paid_fees += part.fees
        case.paid_interest += part.interest
        case.paid_principal += part.principal
        case.pending_fees += part.fees
        case.pending_interest += part.interest
        case.pending_principal += part.principal
        self._unsettled[case.id] = None
        self._event(case, "payment",
                    f"{what}: {nok(amount)} (fees {nok(part.fees)}, interest "
                    f"{nok(part.interest)}, principal {nok(part.principal)})")
        if case.principal == 0:
            self._close(case, CaseOutcome.PAID)

    def _close(self, case: MockCase, outcome: CaseOutcome, text: str | None = None) -> None:
        if outcome in _DROPS_COSTS:
            case.interest = case.fees = ZERO
        case.closed = True
        case.paused = False
        case.outcome = outcome
        self._open_cases.pop(case.id, None)
        after = "after surveillance" if case.stage is Stage.SURVEILLANCE else (
            f"on case day {case.days}")
        texts = {
            CaseOutcome.PAID: "Case closed in full",
            CaseOutcome.PARTLY_PAID: f"Case closed as partly paid {after}: {nok(case.principal)} "
                                 f"of {nok(case.original_amount)} principal outstanding",
            CaseOutcome.UNRESOLVED: f"Case closed as unresolved {after}: {nok(case.principal)} "
                                "principal outstanding",
            CaseOutcome.CREDITED: "Case closed: credited in full by the creditor",
            CaseOutcome.WITHDRAWN: "Case withdrawn by the creditor",
        }
        self._event(case, "closed", text or texts[outcome], _CLOSED_STATUS[outcome])

    # -- the customer web: what the creditor does at the agency (R6) -------------------------

    @writes
    def pause_case(self, case_id: str) -> MockCase:
        """Pause collection: the case takes no steps, accrues no interest and sees no
        payments until resumed. Pausing a paused case changes nothing."""
        case = self._open_case_for(case_id, "paused")
        if not case.paused:
            case.paused = True
            self._event(case, "paused", "Case paused by the creditor",
                        "Paused by the creditor")
        return case

    @writes
    def resume_case(self, case_id: str) -> MockCase:
        """Resume a paused case where it stood. Resuming a running case changes nothing."""
        case = self._open_case_for(case_id, "resumed")
        if case.paused:
            case.paused = False
            self._event(case, "resumed", "Case resumed by the creditor", case.stage_status)
        return case

    @writes
    def withdraw_case(self, case_id: str) -> MockCase:
        """Withdraw a case: it closes as withdrawn. After the collection notice the creditor
        pays a withdraw fee: the fees the debtor still owed, deducted (with VAT) from the next
        payout that can carry it. Withdrawing a withdrawn case changes nothing."""
        case = self.case(case_id)
        if case.outcome is CaseOutcome.WITHDRAWN:
            return case
        case = self._open_case_for(case_id, "withdrawn")
        fee = case.fees if case.stage is not Stage.REGISTERED else ZERO
        case.withdraw_fee = case.pending_charge = fee
        if fee > 0:
            self._unsettled[case.id] = None
        text = "Case withdrawn by the creditor" + (
            f"; withdraw fee {nok(fee)} (the fees the debtor owed) charged to the creditor"
            if fee > 0 else "; no fee before the collection notice")
        self._close(case, CaseOutcome.WITHDRAWN, text)
        return case

    def _open_case_for(self, case_id: str, verb: str) -> MockCase:
        case = self.case(case_id)
        if case.closed:
            outcome = case.outcome.value if case.outcome else "closed"
            raise UserError(f"case {case_id} is closed ({outcome}); it cannot be {verb}")
        return case

    @writes
    def report_reduction(self, reduction: ClaimReduction) -> MockReduction:
        """A direct payment or credit note reported by the creditor: it reduces the principal
        only. A reference seen before is a duplicate: counted, applied nothing. Principal
        reduced to 0 closes the case: paid by a payment, credited by a credit note."""
        known = self.reductions.get(reduction.reference)
        if known is not None:
            self.head.duplicate_reductions += 1
            self.head_changed()
            return known
        case = self.case(reduction.case_id)
        if reduction.invoice_reference != case.reference:
            raise UserError(f"case {case.id} is for {case.reference}, not "
                            f"{reduction.invoice_reference}")
        if reduction.amount <= 0:
            raise UserError(f"reduction {reduction.reference}: the amount must be above 0, "
                            f"not {reduction.amount}")
        if reduction.kind is LedgerKind.PAYMENT:
            what, kind, outcome = "direct payment", "direct_payment", CaseOutcome.PAID
        elif reduction.kind is LedgerKind.CREDIT_NOTE:
            what, kind, outcome = "credit note", "credit_note", CaseOutcome.CREDITED
        else:
            raise UserError(f"reduction {reduction.reference}: a {reduction.kind.value} is not "
                            "reported to the agency; only direct payments and credit notes")
        applied = ZERO if case.closed else min(reduction.amount, case.principal)
        record = MockReduction(reduction=reduction, applied=applied, at=self.tick())
        self.touch("reduction", record)
        if case.closed:
            self._event(case, kind, f"Creditor reported a {what} of {nok(reduction.amount)} "
                                    "after the case closed: no effect")
            return record
        case.principal -= applied
        if reduction.kind is LedgerKind.PAYMENT:
            case.reduced_by_payment += applied
        else:
            case.reduced_by_credit += applied
        extra = reduction.amount - applied
        self._event(case, kind,
                    f"Creditor reported a {what} of {nok(reduction.amount)} on {reduction.on}: "
                    f"principal now {nok(case.principal)}"
                    + (f"; {nok(extra)} above the remaining principal not applied"
                       if extra > 0 else ""))
        if case.principal == 0:
            self._close(case, outcome)
        return record

    # -- payouts ---------------------------------------------------------------------------

    @reads
    def payout(self, payout_id: str) -> MockPayout:
        try:
            return self.payouts[payout_id]
        except KeyError:
            raise UserError(f"the mock agency has no payout {payout_id}") from None

    @writes
    def make_payout(self, day: date | None = None) -> MockPayout | None:
        """Settle what the agency collected: per case the principal (with the interest and
        fees when ``agency_passes_fees``), commission and its VAT where due, and withdraw
        fees with their VAT when the money collected covers them. Runs every Monday night;
        returns None when there is nothing to pay out."""
        p = agency_process
        collected: list[PayoutLine] = []
        charges: list[PayoutLine] = []
        charged: list[MockCase] = []
        cases = sorted((self.cases[case_id] for case_id in self._unsettled),
                       key=lambda case: case.registered_at)  # the same after a reload
        for case in cases:
            self.touch("case", case)
            ids = {"case_id": case.id, "reference": case.reference}
            invoice = f"invoice {case.request.invoice_no}"
            principal = case.pending_principal
            if principal > 0:
                collected.append(PayoutLine(kind=PayoutLineKind.PRINCIPAL, amount=principal,
                                            description=f"Principal collected, {invoice}",
                                            **ids))
            if self.head.passes_fees:
                if case.pending_interest > 0:
                    collected.append(PayoutLine(
                        kind=PayoutLineKind.INTEREST, amount=case.pending_interest,
                        description=f"Interest collected, {invoice}", **ids))
                if case.pending_fees > 0:
                    collected.append(PayoutLine(
                        kind=PayoutLineKind.FEE, amount=case.pending_fees,
                        description=f"Fees collected, {invoice}", **ids))
            if case.commission and principal > 0:
                cut = p.commission(principal)
                collected.append(PayoutLine(
                    kind=PayoutLineKind.COMMISSION, amount=cut,
                    description=f"Commission 10 % of {nok(principal)}, {invoice}: registered "
                                f"more than {p.COMMISSION_AFTER_DAYS} days after the due date",
                    **ids))
                collected.append(PayoutLine(kind=PayoutLineKind.VAT, amount=p.vat(cut),
                                            description=f"VAT 25 % on commission, {invoice}",
                                            **ids))
            if case.pending_charge > 0:
                charged.append(case)
                charges.append(PayoutLine(
                    kind=PayoutLineKind.FEE, amount=-case.pending_charge,
                    description=f"Withdraw fee, {invoice}: the fees the debtor owed", **ids))
                charges.append(PayoutLine(kind=PayoutLineKind.VAT,
                                          amount=p.vat(case.pending_charge),
                                          description=f"VAT 25 % on withdraw fee, {invoice}",
                                          **ids))
        if not self.head.passes_fees:
            for case in cases:  # the agency keeps them
                case.pending_interest = case.pending_fees = ZERO
        if not collected:
            for case in cases:
                if not _unsettled(case):
                    self._unsettled.pop(case.id, None)
            return None
        lines = collected
        if _net(collected) + _net(charges) >= 0:
            lines = collected + charges
            for case in charged:
                case.pending_charge = ZERO
        for case in cases:
            case.pending_principal = case.pending_interest = case.pending_fees = ZERO
            if not _unsettled(case):
                self._unsettled.pop(case.id, None)
        record = MockPayout(id=f"S{self.next_id()}", paid_on=day or self._today(), lines=lines,
                            changed_at=self.tick())
        self.touch("payout", record)
        return record

    @writes
    def mark_booked(self, payout_id: str, accounting_id: str) -> MockPayout:
        """The creditor booked the payout under ``accounting_id``. Again with the same id is
        harmless; with another id it is refused. Every call counts in ``payouts_booked``."""
        payout = self.payout(payout_id)
        if not accounting_id.strip():
            raise UserError(f"payout {payout_id}: the accounting id is empty")
        if payout.accounting_id is not None and payout.accounting_id != accounting_id:
            raise UserError(f"payout {payout_id} is booked already under "
                            f"{payout.accounting_id}, not {accounting_id}")
        self.head.payouts_booked[payout_id] = self.head.payouts_booked.get(payout_id, 0) + 1
        self.head_changed()
        if payout.accounting_id is None:
            payout.accounting_id = accounting_id
            payout.booked_at = payout.changed_at = self.tick()
            self.touch("payout", payout)
        return payout

    @writes
    def apply(self, event: Any) -> str:
        """Make an agency event happen now (``events``); returns what changed, in one line."""
        match event:
            case ev.AgencyPay(invoice_no=no, amount=amount):
                case = self._open_case_for(self.case_for_invoice(no).id, "paid")
                if case.paused:
                    raise UserError(f"case {case.id} (invoice {no}) is paused; resume it first")
                paid = case.balance if amount is None else amount
                if paid <= 0 or paid > case.balance:
                    raise UserError(f"amount: {paid} must be above 0 and at most what the "
                                    f"debtor owes on case {case.id}, {case.balance}")
                self._debtor_pays(case, paid, "Debtor paid the agency")
                return (f"invoice {no}: the debtor paid the agency {nok(paid)} on case "
                        f"{case.id}; " + (f"closed {case.outcome.value}" if case.outcome
                                          else f"owes {nok(case.balance)}"))
            case ev.AgencyClose(invoice_no=no, outcome=outcome, text=text):
                case = self._open_case_for(self.case_for_invoice(no).id, "closed")
                paid = case.paid_principal + case.reduced_by_payment
                chosen = outcome or (CaseOutcome.PARTLY_PAID if paid > 0
                                     else CaseOutcome.UNRESOLVED)
                if chosen is CaseOutcome.PARTLY_PAID and paid <= 0:
                    raise UserError(f"outcome: case {case.id} (invoice {no}) has no payment; "
                                    "close it as unresolved")
                self._close(case, chosen, text or None)
                return f"invoice {no}: case {case.id} closed {chosen.value}"
            case ev.AgencyReject(invoice_no=no, reason=reason, times=times):
                self.head.refusals[no] = Refusal(reason=reason, times=times)
                self.tick()
                return (f"invoice {no}: the agency will refuse its next {times} "
                        f"registration(s): {reason}")
            case ev.AgencyPayout():
                payout = self.make_payout()
                if payout is None:
                    return "the agency has nothing to pay out"
                return (f"payout {payout.id}: net {nok(payout.payout().net)} in "
                        f"{len(payout.lines)} lines")
            case ev.Fault(operation=operation, times=times):
                self.inject(operation, times)
                return (f"the next {times} call(s) of {operation} will fail" if times
                        else f"no more faults in {operation}")
        raise UserError(f"the mock agency does not run {event.kind} events")

    @reads
    def case_for_invoice(self, invoice_no: str) -> MockCase:
        """The invoice's case: the open one, else the last one closed."""
        found = [c for c in self.cases.values() if c.request.invoice_no == invoice_no]
        if not found:
            raise UserError(f"the mock agency has no case for invoice {invoice_no}")
        return next((c for c in found if not c.closed), found[-1])

    @writes
    def take_refusal(self, invoice_no: str) -> str | None:
        """The reason the agency refuses this registration of the invoice, if it does."""
        refusal = self.head.refusals.get(invoice_no)
        if refusal is None:
            return None
        if refusal.times <= 1:
            del self.head.refusals[invoice_no]
        else:
            refusal.times -= 1
        self.tick()
        return refusal.reason

    def summary(self) -> dict[str, Any]:
        """Counts for ``connector mock show``."""
        self.refresh()
        stages: dict[str, int] = {}
        outcomes: dict[str, int] = {}
        behaviours: dict[str, int] = {}
        for case in self.cases.values():
            if case.outcome is not None:
                outcomes[case.outcome.value] = outcomes.get(case.outcome.value, 0) + 1
            else:
                stages[case.stage.value] = stages.get(case.stage.value, 0) + 1
            if case.behaviour is not None:
                behaviours[case.behaviour.value] = behaviours.get(case.behaviour.value, 0) + 1
        head = self.head
        return {
            "cases": len(self.cases),
            "registrations": head.registrations, "duplicates": head.duplicates,
            "cases_open_by_stage": dict(sorted(stages.items())),
            "cases_paused": sum(c.paused for c in self.cases.values()),
            "cases_closed_by_outcome": dict(sorted(outcomes.items())),
            "debtor_behaviours": dict(sorted(behaviours.items())),
            "payouts": len(self.payouts),
            "payouts_unbooked": sum(p.accounting_id is None for p in self.payouts.values()),
            "payouts_booked": sum(p.accounting_id is not None for p in self.payouts.values()),
            "mark_booked_calls": sum(head.payouts_booked.values()),
            "reductions": len(self.reductions),
            "duplicate_reductions": head.duplicate_reductions,
            "agency_passes_fees": head.passes_fees,
        }


def _unsettled(case: MockCase) -> bool:
    """Whether the case has money or a charge waiting for a payout."""
    return bool(case.pending_principal or case.pending_interest or case.pending_fees
                or case.pending_charge)


_DEDUCTED = (PayoutLineKind.COMMISSION, PayoutLineKind.VAT)


def _net(lines: list[PayoutLine]) -> Decimal:
    """What ``lines`` add to a payout's net, as ``Payout.net`` counts it."""
    return sum((-ln.amount if ln.kind in _DEDUCTED else ln.amount for ln in lines), ZERO)
