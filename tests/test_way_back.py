"""The way back (R6, R8, R9, R12, R13, docs/rules.md): 120 simulated days against the mock world."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from connector import actions
from connector.bookkeeping import REVERSAL_FLAG
from connector.domain import LedgerKind, Voucher, VoucherReceipt
from connector.ports import Capability
from connector.store.db import Store
from connector.store.schema import ClaimRow, PayoutRow
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.scenario import load_scenario
from connector_adapters.mock.world import World
from tests.support import FULL_ADDRESS, Harness

SCENARIO = Path(__file__).parent.parent / "config" / "scenarios" / "way-back.toml"
DAYS = 120


def world_with_extras() -> World:
    """The way-back scenario plus debtors to credit (7), to withdraw (8) and one who never
    pays and is told of nothing (9)."""
    world = load_scenario(SCENARIO)
    for number, name in (("7", "Vik Maling AS"), ("8", "Kyst Auto AS"), ("9", "Dal Vekst AS")):
        world.add_customer(number, name, organization_number="923609016",
                           address=FULL_ADDRESS, behaviour="never")
        world.erp.add_invoice(number, "1800.00", invoice_no=f"4000{number}",
                          invoice_date=world.today - timedelta(days=30),
                          due_date=world.today - timedelta(days=10))
    return world


def send_everything(h: Harness) -> None:
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    h.sync()
    assert {c["list"] for c in h.claims()} == {"open"}


def accountant_approves(world: World) -> None:
    for voucher in list(world.erp.vouchers.values()):
        if not voucher.posted and voucher.origin == "import":
            world.erp.approve_proposal(voucher.id)


def run_days(h: Harness, days: int, step: timedelta, syncs_per_step: int,
             events: dict[int, list[str]]) -> None:
    steps_per_day = int(timedelta(days=1) / step)
    for day in range(days):
        for what in events.get(day, []):
            do(h, what)
        for _ in range(steps_per_day):
            h.world.advance(step)
            for _ in range(syncs_per_step):
                h.sync()
        accountant_approves(h.world)


def do(h: Harness, what: str) -> None:
    """The creditor's own actions during the run."""
    if what == "direct payment":
        h.world.erp.pay("40005", "1000.00")
    elif what == "write off":
        h.world.erp.write_off(["40002"], h.world.today, account="7830",
                          description="Customer declared unable to pay")
    elif what == "credit":
        h.world.erp.credit("40007", "1800.00")
    elif what == "withdraw":
        claim = h.claim("40008")
        outcome = actions.at_agency(h.ctx(), "withdraw", [claim["id"]])
        if Capability.WITHDRAW not in h.agency.capabilities:
            # R6: the agency's API cannot; the user withdraws it in its customer web.
            assert "cannot withdraw" in outcome.refused[str(claim["id"])]
            h.world.agency.withdraw_case(claim["agency_case_id"])
        else:
            assert outcome.ok, outcome.refused


EVENTS = {1: ["direct payment", "write off"], 5: ["credit"], 12: ["withdraw"]}


@pytest.mark.parametrize(("step", "syncs"), [(timedelta(hours=6), 1)])
def test_120_days_every_outcome_each_payout_booked_once(store: Store, step: timedelta,
                                                        syncs: int) -> None:
    check_round_trip(store, step, syncs)


@pytest.mark.slow
def test_120_days_with_two_syncs_every_simulated_hour(sqlite_store: Store) -> None:
    """The long form of the test above: every hour, two syncs (about two minutes)."""
    check_round_trip(sqlite_store, timedelta(hours=1), 2)


def check_round_trip(store: Store, step: timedelta, syncs: int,
                     make: Callable[[Store, World], Harness] = Harness) -> None:
    """The round trip; ``make`` puts real adapters over emulators in place of the mocks."""
    h = make(store, world_with_extras())
    world = h.world
    send_everything(h)
    run_days(h, DAYS, step, syncs, EVENTS)
    world.agency.make_payout()  # pay out what was collected after the last Monday
    h.sync()
    accountant_approves(world)
    h.advance(hours=1)
    h.sync()

    # Every outcome, with the agency's remaining principal (R9).
    with store.session() as s:
        claims = {c.invoice_no: c for c in s.scalars(select(ClaimRow))}
    cases = {c.reference: c for c in world.agency.cases.values()}
    outcomes = {claim.outcome for claim in claims.values()}
    assert outcomes == {"paid", "partly_paid", "unresolved", "withdrawn", "credited"}
    for claim in claims.values():
        case = cases[claim.invoice_id]
        assert claim.list_name == "archived" and case.closed
        assert claim.outcome == case.outcome.value  # type: ignore[union-attr]
        assert claim.remaining_principal == case.principal
        assert "Closed by the agency" in h.history(claim.id)[-1] or any(
            "Closed by the agency" in line for line in h.history(claim.id))

    # R13: each payout booked exactly once, marked booked once, every voucher balanced.
    assert world.agency.payouts and all(p.accounting_id for p in world.agency.payouts.values())
    assert set(world.agency.payouts_booked.values()) == {1}
    assert world.erp.duplicate_vouchers == 0 and world.agency.duplicates == 0
    imported = [v for v in world.erp.vouchers.values() if v.origin == "import"]
    assert len(imported) == len(world.agency.payouts)
    for voucher in imported:
        debits = sum((ln.amount for ln in voucher.lines if ln.amount > 0), Decimal(0))
        credits = -sum((ln.amount for ln in voucher.lines if ln.amount < 0), Decimal(0))
        assert debits == credits > 0
    with store.session() as s:
        assert {p.state for p in s.scalars(select(PayoutRow))} == {"marked"}

    # The principal booked per invoice is what the agency collected.
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for voucher in imported:
        for ln in voucher.lines:
            if ln.account == "1500" and ln.flag != REVERSAL_FLAG and ln.invoice_no:
                booked[ln.invoice_no] -= ln.amount
    for claim in claims.values():
        assert booked.get(claim.invoice_no, Decimal(0)) == cases[claim.invoice_id].paid_principal

    # docs/rules.md: the direct payment reported once; the agency's payouts never reported back.
    reported = [r.reduction for r in world.agency.reductions.values()]
    payments = [r for r in reported if r.kind is LedgerKind.PAYMENT]
    assert [(r.amount, r.invoice_reference) for r in payments] == [
        (Decimal("1000.00"), world.erp.invoice("40005").id)]
    assert world.agency.duplicate_reductions == 0
    own = {e.id for e in world.erp.ledger if (e.external_reference or "").startswith("payout:")}
    assert own, "approved proposals put the payouts on the customer ledger"
    assert not any(r.reference.split(":", 1)[1] in own for r in reported)
    assert cases[world.erp.invoice("40005").id].reduced_by_payment == Decimal("1000.00")

    # R12: written off in the ERP, collected later, the reversal proposed and flagged.
    written = claims["40002"]
    assert written.written_off == Decimal("780.50")
    flagged = [v for v in imported if v.flagged]
    assert flagged and any(ln.flag == REVERSAL_FLAG and ln.invoice_no == "40002"
                           for v in flagged for ln in v.lines)
    assert written.write_off_reversed == cases[written.invoice_id].paid_principal > 0
    assert any("write-off reversal" in line for line in h.history(written.id))

    # R8: the ERP shows the agency's last status per case.
    for claim in claims.values():
        shown = world.erp.case_status[claim.invoice_id]
        assert shown.closed and shown.status_text == claim.status


class CrashAfterPost(MockErp):
    """The ERP accepts the voucher; the connector dies before it records that."""

    crashes = 1

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        receipt = super().post_voucher(voucher)
        if self.crashes:
            self.crashes -= 1
            raise Crash
        return receipt


class Crash(BaseException):
    """The process dying: nothing on the way catches it."""


def test_crash_between_erp_accepting_the_voucher_and_the_store_recording_it(
        store: Store) -> None:
    world = world_with_extras()
    h = Harness(store, world)
    h.erp = CrashAfterPost(world)
    send_everything(h)
    crashed = False
    for _ in range(40 * 24):
        h.advance(hours=1)
        try:
            h.sync()
        except Crash:
            crashed = True
        if world.agency.payouts_booked:
            break
    assert crashed and world.agency.payouts
    h.advance(hours=1)
    h.sync()
    booked = [p for p in world.agency.payouts.values() if p.accounting_id]
    assert booked
    for payout in booked:
        vouchers = [v for v in world.erp.vouchers.values() if v.reference == f"payout:{payout.id}"]
        assert len(vouchers) == 1
        assert payout.accounting_id == vouchers[0].id
    assert world.erp.duplicate_vouchers == 0
    assert set(world.agency.payouts_booked.values()) == {1}


def test_pause_resume_withdraw_on_the_mock(store: Store) -> None:
    h = Harness(store, world_with_extras())
    send_everything(h)
    claim_id = h.claim("40005")["id"]
    case = h.world.agency.case(h.claim("40005")["agency_case_id"])
    assert actions.at_agency(h.ctx(), "pause", [claim_id]).done == [claim_id]
    days_before = case.days
    h.advance(days=5)
    h.sync()
    assert h.world.agency.case(case.id).days == days_before
    with store.session() as s:
        assert s.get(ClaimRow, claim_id).paused  # type: ignore[union-attr]
    assert actions.at_agency(h.ctx(), "resume", [claim_id]).done == [claim_id]
    h.advance(days=2)
    h.sync()
    assert h.world.agency.case(case.id).days > days_before
    assert actions.at_agency(h.ctx(), "withdraw", [claim_id]).done == [claim_id]
    claim = h.claim("40005")
    assert claim["list"] == "archived"
    with store.session() as s:
        assert s.get(ClaimRow, claim_id).outcome == "withdrawn"  # type: ignore[union-attr]
    history = h.history(claim_id)
    assert any("Paused at the agency by the user" in line for line in history)
    assert any("Withdrawn at the agency by the user" in line for line in history)


def test_without_the_capability_a_plain_message_and_nothing_done(store: Store) -> None:
    world = world_with_extras()
    h = Harness(store, world)
    from connector.ports import Capability
    from connector_adapters.mock.agency import MockAgency

    h.agency = MockAgency(world, capabilities=[Capability.DIRECT_PAYMENTS,
                                               Capability.CREDIT_NOTES])
    send_everything(h)
    claim_id = h.claim("40005")["id"]
    for action in ("pause", "resume", "withdraw"):
        outcome = actions.at_agency(h.ctx(), action, [claim_id])
        assert not outcome.ok and outcome.done == []
        reason = outcome.refused[str(claim_id)]
        assert f"cannot {action}" in reason and h.agency.portal in reason
    assert not h.world.agency.case(h.claim("40005")["agency_case_id"]).paused
