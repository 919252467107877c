"""The mock agency after registration: its timeline, debtors, pause / resume / withdraw,
reductions, payouts and the change cursor (docs/mock.md, "The agency's process")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.domain import (
    CaseOutcome,
    CaseRequest,
    ClaimReduction,
    Debtor,
    LedgerKind,
    PayoutLineKind,
)
from connector.errors import ConfigError, TransientError, Unsupported, UserError
from connector.ports import AdapterContext, AgencyAdapter, Capability
from connector_adapters.mock import collection as agency_process
from connector_adapters.mock import plugin
from connector_adapters.mock.agency import NEW_CASE_STATUS, MockAgency
from connector_adapters.mock.agency_world import MockCase
from connector_adapters.mock.collection import Behaviour, Stage, drawn_behaviour
from connector_adapters.mock.erp_world import MockInvoice
from connector_adapters.mock.scenario import load_scenario
from connector_adapters.mock.world import World

SCENARIOS = Path(__file__).parents[2] / "config" / "scenarios"
Register = Callable[..., MockCase]


def request_for(world: World, invoice: MockInvoice) -> CaseRequest:
    """The request the engine would send for ``invoice``."""
    customer = world.erp.customers[invoice.customer_no]
    return CaseRequest(
        reference=invoice.id, invoice_id=invoice.id, invoice_no=invoice.invoice_no,
        invoice_date=date.fromisoformat(invoice.invoice_date),
        due_date=date.fromisoformat(invoice.due_date), amount=invoice.amount,
        balance=invoice.balance, currency=invoice.currency,
        debtor=Debtor(number=customer.number, name=customer.name,
                      is_person=customer.is_person,
                      organization_number=customer.organization_number, email=customer.email,
                      phone=customer.phone, address=customer.address),
    )


@pytest.fixture
def register(world: World) -> Register:
    """``register(behaviour=…, amount=…, overdue=…)``: a new customer with that behaviour,
    an invoice ``overdue`` days past its due date, registered at the agency."""
    made = iter(range(20001, 20100))

    def make(behaviour: Behaviour | None = Behaviour.NEVER, amount: str = "1000.00",
             overdue: int = 10, person: bool = False, **customer: Any) -> MockCase:
        number = str(next(made))
        base = world.erp.customers["10001"]
        world.add_customer(number, f"Kunde {number}", is_person=person,
                           organization_number=None if person else base.organization_number,
                           address=base.address, behaviour=behaviour, **customer)
        due = world.today - timedelta(days=overdue)
        invoice = world.erp.add_invoice(number, amount, invoice_date=due - timedelta(days=14),
                                    due_date=due)
        agency_case = MockAgency(world).register_case(request_for(world, invoice))
        return world.agency.cases[agency_case.id]

    return make


def nights(world: World, n: int = 1) -> None:
    """Move ``n`` days on: the world starts at 09:00, so each day crosses one midnight."""
    world.advance(timedelta(days=n))


def reduction(case: MockCase, reference: str, amount: str,
              kind: LedgerKind = LedgerKind.PAYMENT) -> ClaimReduction:
    return ClaimReduction(reference=reference, kind=kind, case_id=case.id,
                          invoice_reference=case.reference, on=date(2025, 3, 3),
                          amount=Decimal(amount))


def to_monday(world: World) -> None:
    """Move to the next Monday morning: its nightly run has made the week's payout."""
    nights(world, 7 - world.today.weekday())


# -- conformance -------------------------------------------------------------------------


def test_both_adapters_conform_to_the_ports(world: World) -> None:
    from connector.ports import ErpAdapter
    from connector_adapters.mock.erp import MockErp

    agency: AgencyAdapter = MockAgency(world)
    erp: ErpAdapter = MockErp(world)
    assert isinstance(agency, AgencyAdapter) and isinstance(erp, ErpAdapter)
    assert agency.capabilities == {Capability.PAUSE, Capability.RESUME, Capability.WITHDRAW,
                                   Capability.DIRECT_PAYMENTS, Capability.CREDIT_NOTES}


# -- the timeline --------------------------------------------------------------------------


def test_a_case_walks_the_timeline_day_by_day(world: World, register: Register) -> None:
    case = register(Behaviour.NEVER, amount="1000.00")
    assert case.stage is Stage.REGISTERED and case.status == NEW_CASE_STATUS
    assert [e.kind for e in case.events] == ["registered"]
    steps = {1: Stage.NOTICE, case.phone_day: Stage.PHONE, 19: Stage.DEMAND, 26: Stage.SMS,
             34: Stage.LEGAL_NOTICE, 48: Stage.HEAVY_FEE, 90: Stage.SURVEILLANCE}
    assert 10 <= case.phone_day <= 18
    expected = Stage.REGISTERED
    for n in range(1, 100):
        nights(world)
        expected = steps.get(n, expected)
        assert (case.days, case.stage, case.closed) == (n, expected, False), n
    nights(world)
    assert case.closed and case.outcome is CaseOutcome.UNRESOLVED
    assert case.principal == case.original_amount == Decimal("1000.00")
    kinds = [e.kind for e in case.events]
    assert kinds == ["registered", "notice", "phone", "demand", "sms", "legal_notice",
                     "heavy_fee", "surveillance", "closed"]
    assert [e.id for e in case.events] == [f"{case.id}-{k}" for k in range(1, 10)]
    stamps = [e.at for e in case.events]
    assert stamps == sorted(stamps) and case.changed_at == stamps[-1]
    assert "Caseworker called the debtor" in [e.text for e in case.events]


def test_fees_follow_the_2025_rates(world: World, register: Register) -> None:
    business = register(Behaviour.NEVER, amount="1000.00")
    person = register(Behaviour.NEVER, amount="20000.00", person=True)
    nights(world)
    assert business.fees == Decimal("470.00")  # B2B standard compensation
    assert person.fees == Decimal("35.00")  # notice fee
    nights(world, 18)  # day 19: payment demand, light fee
    assert business.fees == Decimal("470.00") + Decimal("350.00")  # 0.5 x 700 up to 2 500
    assert person.fees == Decimal("35.00") + Decimal("1400.00")  # 2 x 700 up to 50 000
    nights(world, 29)  # day 48: heavy fee, twice the light one in all
    assert business.fees == Decimal("470.00") + Decimal("700.00")
    assert person.fees == Decimal("35.00") + Decimal("2800.00")


def test_interest_is_12_5_percent_a_year_from_the_due_date(world: World,
                                                          register: Register) -> None:
    case = register(Behaviour.NEVER, amount="36500.00", overdue=10)
    assert case.interest == 0
    nights(world)  # notice night: 11 days since the due date
    assert case.interest == Decimal("137.50")
    nights(world, 2)
    assert case.interest == Decimal("137.50") + 2 * Decimal("12.50")


# -- debtors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        (Behaviour.FULL, CaseOutcome.PAID),
        (Behaviour.LATE, CaseOutcome.PAID),
        (Behaviour.INSTALMENTS, CaseOutcome.PAID),
        (Behaviour.PARTIAL, CaseOutcome.PARTLY_PAID),
        (Behaviour.NEVER, CaseOutcome.UNRESOLVED),
    ],
)
def test_each_behaviour_ends_in_its_outcome_within_120_days(
    world: World, register: Register, behaviour: Behaviour, outcome: CaseOutcome
) -> None:
    cases = [register(behaviour, amount=amount) for amount in ("480.00", "2300.00", "9999.90")]
    nights(world, 120)
    for case in cases:
        assert case.closed and case.outcome is outcome, case.events
        paid = [e for e in case.events if e.kind == "payment"]
        if outcome is CaseOutcome.PAID:
            assert case.principal == 0 and case.paid_principal == case.original_amount
            assert case.balance_at_agency == 0
            assert case.events[-1].text == "Case closed in full"
        elif outcome is CaseOutcome.PARTLY_PAID:
            assert 0 < case.principal < case.original_amount and len(paid) == 1
        else:
            assert case.principal == case.original_amount and paid == []
        if behaviour is Behaviour.LATE:
            (payment,) = paid
            assert payment.at.date() > (case.registered_at + timedelta(days=33)).date()
        if behaviour is Behaviour.INSTALMENTS:
            assert len(paid) == case.instalments >= 2
            assert [e.kind for e in case.events].count("instalment_plan") == 1


def test_a_payment_covers_fees_then_interest_then_principal(world: World,
                                                            register: Register) -> None:
    case = register(Behaviour.PARTIAL, pays_after_days=20, amount="2000.00", person=True)
    nights(world, 19)
    fees, interest = case.fees, case.interest
    nights(world)
    (payment,) = [e for e in case.events if e.kind == "payment"]
    assert case.paid_fees == fees and case.paid_interest == interest + Decimal("0.68")
    assert case.fees == 0 and case.interest == 0
    assert case.paid_principal == Decimal("2000.00") * case.share / 100
    assert f"principal NOK {case.paid_principal}" in payment.text


def test_the_customers_day_is_kept_and_others_are_drawn_repeatably(world: World) -> None:
    world.agency.configure(seed=5)
    drawn = {drawn_behaviour(5, str(n)) for n in range(200)}
    assert drawn == set(Behaviour)
    assert [drawn_behaviour(5, str(n)) for n in range(50)] == [
        drawn_behaviour(5, str(n)) for n in range(50)]
    assert [drawn_behaviour(5, str(n)) for n in range(50)] != [
        drawn_behaviour(6, str(n)) for n in range(50)]
    plan = agency_process.plan(5, "1", "ref", Behaviour.FULL, 7, None)
    assert plan.pays_on_day == 7 and plan.instalments == 1
    assert agency_process.plan(5, "1", "ref", None, None, None) == agency_process.plan(
        5, "1", "ref", None, None, None)


def test_the_same_world_plays_out_the_same_way() -> None:
    runs = []
    for _ in range(2):
        world = load_scenario(SCENARIOS / "way-back.toml")
        agency = MockAgency(world)
        for invoice in list(world.erp.invoices.values()):
            agency.register_case(request_for(world, invoice))
        nights(world, 60)
        runs.append(world.snapshot())
    assert runs[0] == runs[1]


def test_the_way_back_scenario_shows_every_closing_outcome() -> None:
    world = load_scenario(SCENARIOS / "way-back.toml")
    agency = MockAgency(world)
    cases = {invoice.invoice_no: agency.register_case(request_for(world, invoice)).id
             for invoice in list(world.erp.invoices.values())}
    nights(world, 120)
    outcomes = {no: world.agency.cases[case_id].outcome for no, case_id in cases.items()}
    assert outcomes == {"40001": CaseOutcome.PAID, "40002": CaseOutcome.PAID,
                        "40003": CaseOutcome.PAID,
                        "40004": CaseOutcome.PARTLY_PAID, "40005": CaseOutcome.UNRESOLVED,
                        "40006": CaseOutcome.PAID}
    assert world.agency.cases[cases["40006"]].commission
    commission = [ln for p in world.agency.payouts.values() for ln in p.lines
                  if ln.kind is PayoutLineKind.COMMISSION]
    assert [ln.case_id for ln in commission] == [cases["40006"]]


# -- pause, resume, withdraw ---------------------------------------------------------------


def test_pause_freezes_a_case_and_resume_goes_on(world: World, register: Register) -> None:
    case = register(Behaviour.FULL, pays_after_days=10)
    agency = MockAgency(world)
    nights(world, 5)
    update = agency.pause(case.id)
    assert update.paused and update.status == "Paused by the creditor"
    frozen = (case.days, case.stage, case.interest, case.fees, len(case.events))
    nights(world, 30)
    assert (case.days, case.stage, case.interest, case.fees, len(case.events)) == frozen
    assert agency.pause(case.id).paused  # again: no change
    assert len(case.events) == frozen[-1]

    update = agency.resume(case.id)
    assert not update.paused and update.status.startswith("Collection notice sent")
    nights(world, 4)
    assert case.days == 9 and not case.closed
    nights(world)
    assert case.outcome is CaseOutcome.PAID
    assert [e.kind for e in case.events][-4:] == ["paused", "resumed", "payment", "closed"]


def test_withdraw_before_the_notice_is_free(world: World, register: Register) -> None:
    case = register(Behaviour.NEVER)
    update = MockAgency(world).withdraw(case.id)
    assert update.closed and update.outcome is CaseOutcome.WITHDRAWN
    assert update.balance_at_agency == 0 and update.remaining_principal == case.original_amount
    assert case.withdraw_fee == 0 and "no fee" in case.events[-1].text


def test_withdraw_after_the_notice_costs_the_fees_owed(world: World,
                                                       register: Register) -> None:
    withdrawn = register(Behaviour.NEVER, person=True)
    payer = register(Behaviour.FULL, pays_after_days=3)
    agency = MockAgency(world)
    nights(world, 2)
    update = agency.withdraw(withdrawn.id)
    assert update.outcome is CaseOutcome.WITHDRAWN and withdrawn.withdraw_fee == Decimal("35.00")
    assert "withdraw fee NOK 35.00" in update.events[-1].text
    assert agency.withdraw(withdrawn.id) == update  # again: no change, no second fee
    nights(world)
    assert payer.outcome is CaseOutcome.PAID
    to_monday(world)
    (payout,) = world.agency.payouts.values()
    fee = [ln for ln in payout.lines if ln.case_id == withdrawn.id]
    assert [(ln.kind, ln.amount) for ln in fee] == [
        (PayoutLineKind.FEE, Decimal("-35.00")), (PayoutLineKind.VAT, Decimal("8.75"))]
    assert payout.payout().net == payer.original_amount - Decimal("43.75")
    assert withdrawn.pending_charge == 0


def test_a_withdraw_fee_waits_for_a_payout_that_can_carry_it(world: World,
                                                            register: Register) -> None:
    case = register(Behaviour.NEVER)
    nights(world)
    MockAgency(world).withdraw(case.id)
    nights(world, 14)
    assert world.agency.payouts == {} and case.pending_charge == Decimal("470.00")


def test_closed_cases_cannot_be_paused_or_resumed(world: World, register: Register) -> None:
    case = register(Behaviour.NEVER)
    agency = MockAgency(world)
    agency.withdraw(case.id)
    for act in (agency.pause, agency.resume):
        with pytest.raises(UserError, match=r"closed \(withdrawn\)"):
            act(case.id)
    with pytest.raises(UserError, match="no case 999"):
        agency.pause("999")


# -- reductions ----------------------------------------------------------------------------


def test_a_direct_payment_reduces_the_principal_only(world: World, register: Register) -> None:
    case = register(Behaviour.NEVER)
    agency = MockAgency(world)
    nights(world)
    fees, interest = case.fees, case.interest
    assert not agency.reduction_reported("payment:1")
    agency.report_reduction(reduction(case, "payment:1", "300.00"))
    assert agency.reduction_reported("payment:1")
    assert case.principal == Decimal("700.00") and case.reduced_by_payment == Decimal("300.00")
    assert (case.fees, case.interest) == (fees, interest)
    assert case.events[-1].kind == "direct_payment"

    agency.report_reduction(reduction(case, "payment:1", "300.00"))  # a blind retry
    assert case.principal == Decimal("700.00") and world.agency.duplicate_reductions == 1


def test_a_full_credit_closes_the_case_as_credited(world: World, register: Register) -> None:
    case = register(Behaviour.NEVER)
    agency = MockAgency(world)
    nights(world, 3)
    agency.report_reduction(reduction(case, "credit:1", "400.00", LedgerKind.CREDIT_NOTE))
    agency.report_reduction(reduction(case, "credit:2", "650.00", LedgerKind.CREDIT_NOTE))
    assert case.outcome is CaseOutcome.CREDITED and case.principal == 0
    assert case.reduced_by_credit == Decimal("1000.00")
    assert case.balance_at_agency == 0  # the agency drops its fees and interest
    assert "NOK 50.00 above the remaining principal" in case.events[-2].text
    agency.report_reduction(reduction(case, "payment:9", "10.00"))
    assert "after the case closed: no effect" in case.events[-1].text


def test_a_direct_payment_of_everything_closes_the_case_as_paid(world: World,
                                                                register: Register) -> None:
    case = register(Behaviour.NEVER)
    MockAgency(world).report_reduction(reduction(case, "payment:1", "1000.00"))
    assert case.outcome is CaseOutcome.PAID


def test_bad_reductions_are_refused(world: World, register: Register) -> None:
    case = register(Behaviour.NEVER)
    other = register(Behaviour.NEVER)
    agency = MockAgency(world)
    wrong = reduction(case, "payment:1", "10.00").model_copy(update={"case_id": other.id})
    with pytest.raises(UserError, match="is for"):
        agency.report_reduction(wrong)
    with pytest.raises(UserError, match="not reported to the agency"):
        agency.report_reduction(reduction(case, "w:1", "10.00", LedgerKind.WRITE_OFF))
    assert world.agency.reductions == {}


# -- payouts -------------------------------------------------------------------------------


def test_payouts_are_itemised_per_case_every_monday(world: World, register: Register) -> None:
    fresh = register(Behaviour.FULL, pays_after_days=2, amount="1000.00", overdue=90)
    old = register(Behaviour.FULL, pays_after_days=2, amount="2000.00", overdue=91)
    assert not fresh.commission and old.commission
    nights(world, 2)
    assert fresh.closed and old.closed and world.agency.payouts == {}
    to_monday(world)
    (payout,) = world.agency.payouts.values()
    assert payout.paid_on == world.today and world.today.weekday() == 0
    lines = [(ln.kind, ln.amount, ln.case_id, ln.reference) for ln in payout.lines]
    assert lines == [
        (PayoutLineKind.PRINCIPAL, Decimal("1000.00"), fresh.id, fresh.reference),
        (PayoutLineKind.PRINCIPAL, Decimal("2000.00"), old.id, old.reference),
        (PayoutLineKind.COMMISSION, Decimal("200.00"), old.id, old.reference),
        (PayoutLineKind.VAT, Decimal("50.00"), old.id, old.reference),
    ]
    assert payout.payout().net == Decimal("3000.00") - Decimal("200.00") - Decimal("50.00")
    nights(world, 7)
    assert len(world.agency.payouts) == 1  # nothing new collected: no payout


def test_fees_and_interest_are_passed_on_when_set(world: World, register: Register) -> None:
    world.agency.configure(passes_fees=True)
    case = register(Behaviour.FULL, pays_after_days=2, amount="1000.00", overdue=100)
    nights(world, 2)
    to_monday(world)
    (payout,) = world.agency.payouts.values()
    by_kind = {ln.kind: ln.amount for ln in payout.lines}
    assert by_kind[PayoutLineKind.INTEREST] == case.paid_interest > 0
    assert by_kind[PayoutLineKind.FEE] == case.paid_fees == Decimal("470.00")
    assert by_kind[PayoutLineKind.COMMISSION] == Decimal("100.00")  # on principal only
    assert by_kind[PayoutLineKind.VAT] == Decimal("25.00")
    assert payout.payout().net == (Decimal("1000.00") + case.paid_interest + case.paid_fees
                                   - Decimal("125.00"))


def test_payouts_are_listed_until_booked_and_booking_is_idempotent(
    world: World, register: Register
) -> None:
    register(Behaviour.FULL, pays_after_days=1)
    nights(world)
    to_monday(world)
    agency = MockAgency(world)
    (page,) = agency.payouts()
    (payout,) = page.items
    assert payout.lines[0].kind is PayoutLineKind.PRINCIPAL

    agency.mark_booked(payout.id, "V7")
    assert list(agency.payouts()) == []
    agency.mark_booked(payout.id, "V7")  # the same again is harmless
    assert world.agency.payouts[payout.id].accounting_id == "V7"
    assert world.agency.payouts_booked == {payout.id: 2}
    with pytest.raises(UserError, match="booked already under V7, not V8"):
        agency.mark_booked(payout.id, "V8")
    with pytest.raises(UserError, match="no payout"):
        agency.mark_booked("S404", "V1")


# -- the change cursor ---------------------------------------------------------------------


def test_changes_are_strictly_after_the_cursor_oldest_first(world: World,
                                                           register: Register) -> None:
    first = register(Behaviour.NEVER)
    second = register(Behaviour.NEVER)
    agency = MockAgency(world, page_size=1)
    pages = list(agency.changes(None))
    assert [[u.case_id for u in page.items] for page in pages] == [[first.id], [second.id]]
    update = pages[0].items[0]
    assert update.reference == first.reference and update.status == NEW_CASE_STATUS
    assert update.original_amount == update.remaining_principal == Decimal("1000.00")
    assert [e.kind for e in update.events] == ["registered"]

    cursor = pages[-1].items[-1].changed_at
    assert list(agency.changes(cursor)) == []
    agency.pause(second.id)
    (page,) = agency.changes(cursor)
    assert [u.case_id for u in page.items] == [second.id] and page.items[0].paused
    cursor = page.items[0].changed_at
    nights(world)  # the notice night changes both
    changed = [u for page in agency.changes(cursor) for u in page.items]
    assert [u.case_id for u in changed] == [first.id]  # the paused one stood still
    assert changed[0].events[-1].kind == "notice"
    assert changed[0].balance_at_agency == first.balance > Decimal("1000.00")


# -- capabilities and faults ---------------------------------------------------------------


def test_what_the_api_cannot_do_is_unsupported_and_names_the_customer_web(
    world: World, register: Register
) -> None:
    case = register(Behaviour.NEVER)
    agency = MockAgency(world, capabilities=["direct_payments"])
    assert agency.capabilities == {Capability.DIRECT_PAYMENTS}
    for act in (agency.pause, agency.resume, agency.withdraw):
        with pytest.raises(Unsupported, match="customer web"):
            act(case.id)
    with pytest.raises(Unsupported, match="cannot take credit notes"):
        agency.report_reduction(reduction(case, "c:1", "10.00", LedgerKind.CREDIT_NOTE))
    agency.report_reduction(reduction(case, "p:1", "10.00"))
    assert not case.closed and case.principal == Decimal("990.00")


def test_the_world_or_the_link_settings_choose_the_capabilities(tmp_path: Path,
                                                               world: World) -> None:
    world.agency.configure(capabilities=[Capability.CREDIT_NOTES])
    assert MockAgency(world).capabilities == {Capability.CREDIT_NOTES}
    context = AdapterContext(link="demo", state_dir=tmp_path)
    plugin.reset_world(tmp_path / "w", world)
    try:
        agency = plugin.agency_factory({"world": "w", "capabilities": ["pause"]}, context)
        assert agency.capabilities == {Capability.PAUSE}
        with pytest.raises(ConfigError, match="no capability 'vouchers'"):
            plugin.agency_factory({"world": "w", "capabilities": ["vouchers"]}, context)
        with pytest.raises(ConfigError, match="list of names"):
            plugin.agency_factory({"world": "w", "capabilities": "pause"}, context)
    finally:
        plugin._open.clear()


@pytest.mark.parametrize("operation", ["changes", "payouts", "reduction_reported"])
def test_injected_faults_fail_the_agency_reads(world: World, operation: str) -> None:
    agency = MockAgency(world)
    world.inject(f"agency.{operation}")
    call = getattr(agency, operation)
    args = () if operation == "payouts" else (None,) if operation == "changes" else ("x",)
    with pytest.raises(TransientError):
        call(*args)
    call(*args)


def test_a_lost_reply_leaves_the_reduction_applied_once(world: World,
                                                       register: Register) -> None:
    case = register(Behaviour.NEVER)
    agency = MockAgency(world)
    world.inject("agency.report_reduction.lost_reply")
    with pytest.raises(TransientError):
        agency.report_reduction(reduction(case, "payment:1", "100.00"))
    assert agency.reduction_reported("payment:1")
    assert case.principal == Decimal("900.00")


# -- persistence ---------------------------------------------------------------------------


def test_save_and_load_keeps_the_agency_books(tmp_path: Path, world: World,
                                             register: Register) -> None:
    register(Behaviour.FULL, pays_after_days=1)
    withdrawn = register(Behaviour.NEVER)
    nights(world)
    MockAgency(world).withdraw(withdrawn.id)
    world.bind(tmp_path / "world")
    loaded = World.open(tmp_path / "world")
    assert loaded.snapshot() == world.snapshot()
    to_monday(world)
    assert loaded.snapshot() == world.snapshot()  # another reader sees every write
    assert len(loaded.agency.payouts) == 1


def test_the_summary_counts_the_way_back(world: World, register: Register) -> None:
    paid = register(Behaviour.FULL, pays_after_days=1)
    register(Behaviour.NEVER)
    agency = MockAgency(world)
    nights(world)
    to_monday(world)
    (payout,) = world.agency.payouts.values()
    agency.mark_booked(payout.id, "V1")
    agency.report_reduction(reduction(paid, "payment:1", "1.00"))
    agency.report_reduction(reduction(paid, "payment:1", "1.00"))
    summary = world.summary()
    assert summary["cases_closed_by_outcome"] == {"paid": 1}
    assert summary["cases_open_by_stage"] == {"notice": 1}
    assert summary["debtor_behaviours"] == {"full": 1, "never": 1}
    assert (summary["payouts"], summary["payouts_booked"], summary["mark_booked_calls"]) == (
        1, 1, 1)
    assert (summary["reductions"], summary["duplicate_reductions"]) == (1, 1)
    assert summary["duplicates"] == summary["duplicate_vouchers"] == 0
