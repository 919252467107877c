"""Payout vouchers (R13) and write-off reversals (R12): balanced, itemised, flagged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from connector.bookkeeping import REVERSAL_FLAG, Accounts, ClaimRef, payout_booking
from connector.domain import Payout, PayoutLine, PayoutLineKind, VoucherKind

T0 = datetime(2026, 6, 1, tzinfo=UTC)
A = Accounts()


def payout(*lines: PayoutLine) -> Payout:
    return Payout(id="p1", paid_on=date(2026, 6, 1), lines=list(lines), changed_at=T0)


def line(kind: PayoutLineKind, amount: str, ref: str | None = "inv-1") -> PayoutLine:
    return PayoutLine(kind=kind, amount=Decimal(amount), reference=ref)


CLAIM = {"inv-1": ClaimRef(1, "10", "1001", Decimal("0"))}


def test_itemised_voucher_with_commission_and_vat() -> None:
    p = payout(line(PayoutLineKind.PRINCIPAL, "1000.00"),
               line(PayoutLineKind.COMMISSION, "100.00", None),
               line(PayoutLineKind.VAT, "25.00", None))
    booking = payout_booking(p, CLAIM, A, VoucherKind.PROPOSAL)
    v = booking.voucher
    amounts = {(ln.account, ln.invoice_no): ln.amount for ln in v.lines}
    assert amounts == {("1920", None): Decimal("875.00"), ("1500", "1001"): Decimal("-1000.00"),
                       ("7770", None): Decimal("100.00"), ("2710", None): Decimal("25.00")}
    assert v.balance == 0 and v.kind is VoucherKind.PROPOSAL
    assert v.reference == "payout:p1" and not v.flagged
    assert booking.principal == {1: Decimal("1000.00")}


def test_interest_and_fees_passed_on_are_income_a_fee_charged_is_a_cost() -> None:
    p = payout(line(PayoutLineKind.PRINCIPAL, "500.00"), line(PayoutLineKind.INTEREST, "12.50"),
               line(PayoutLineKind.FEE, "-95.00"))
    v = payout_booking(p, CLAIM, A, VoucherKind.POSTED).voucher
    by_account = {ln.account: ln.amount for ln in v.lines}
    assert by_account["8050"] == Decimal("-12.50")
    assert by_account["7770"] == Decimal("95.00")
    assert by_account["1920"] == Decimal("417.50")
    assert v.balance == 0


def test_write_off_reversal_is_proposed_and_flagged() -> None:
    written_off = {"inv-1": ClaimRef(1, "10", "1001", Decimal("800.00"))}
    booking = payout_booking(payout(line(PayoutLineKind.PRINCIPAL, "300.00")), written_off, A,
                             VoucherKind.PROPOSAL)
    flagged = [ln for ln in booking.voucher.lines if ln.flag == REVERSAL_FLAG]
    assert {(ln.account, ln.amount) for ln in flagged} == {
        ("1500", Decimal("300.00")), ("7830", Decimal("-300.00"))}
    assert booking.voucher.flagged and booking.reversed == {1: Decimal("300.00")}
    assert "R12" in flagged[0].description
    assert booking.voucher.balance == 0


def test_reversal_never_exceeds_what_was_written_off() -> None:
    partly = {"inv-1": ClaimRef(1, "10", "1001", Decimal("120.00"))}
    booking = payout_booking(payout(line(PayoutLineKind.PRINCIPAL, "300.00")), partly, A,
                             VoucherKind.PROPOSAL)
    assert booking.reversed == {1: Decimal("120.00")}


def test_unknown_reference_is_booked_unmatched() -> None:
    booking = payout_booking(payout(line(PayoutLineKind.PRINCIPAL, "50.00", "stranger")),
                             CLAIM, A, VoucherKind.POSTED)
    assert booking.principal == {} and booking.reversed == {}
    [unmatched] = [ln for ln in booking.voucher.lines if ln.account == A.customers]
    assert (unmatched.amount, unmatched.customer_no, unmatched.invoice_no) == (
        Decimal("-50.00"), None, None)
    assert booking.voucher.balance == 0


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@given(principals=st.lists(money, min_size=1, max_size=6), interest=money, fee=money,
       commission_share=st.integers(0, 20), written_off=money)
def test_every_voucher_balances(principals: list[Decimal], interest: Decimal, fee: Decimal,
                                commission_share: int, written_off: Decimal) -> None:
    lines = [line(PayoutLineKind.PRINCIPAL, str(p), f"inv-{i % 3}")
             for i, p in enumerate(principals)]
    commission = (sum(principals, Decimal(0)) * commission_share / 100).quantize(Decimal("0.01"))
    lines += [line(PayoutLineKind.INTEREST, str(interest)), line(PayoutLineKind.FEE, str(fee)),
              line(PayoutLineKind.COMMISSION, str(commission), None),
              line(PayoutLineKind.VAT, str((commission / 4).quantize(Decimal("0.01"))), None)]
    claims = {f"inv-{i}": ClaimRef(i, "10", str(1000 + i), written_off) for i in range(3)}
    booking = payout_booking(payout(*lines), claims, A, VoucherKind.PROPOSAL)
    assert booking.voucher.balance == 0
    debits = sum((ln.amount for ln in booking.voucher.lines if ln.amount > 0), Decimal(0))
    credits = -sum((ln.amount for ln in booking.voucher.lines if ln.amount < 0), Decimal(0))
    assert debits == credits
    assert sum(booking.principal.values(), Decimal(0)) == sum(principals, Decimal(0))

