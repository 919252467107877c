"""The rules of docs/rules.md pinned on their edge days (pure functions, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connector.domain import (
    Address,
    ClaimList,
    Company,
    Customer,
    DunningSetup,
    Invoice,
    InvoiceKind,
    LetterKind,
    ReminderLetter,
)
from connector.rules import (
    AgencyRequirements,
    dunning_for,
    entry_list,
    invoice_problem,
    obstacles,
    ready_date,
    transfer_due,
)

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
DUE = date(2026, 3, 10)
FULL = Address(line1="Storgata 1", postal_code="0155", city="Oslo", country="NO")
NONE = DunningSetup()
REMINDER = DunningSetup(reminder=True)
DUNNING = DunningSetup(reminder=True, dunning_letter=True)
NOTICE = DunningSetup(collection_notice=True)
BOTH = DunningSetup(dunning_letter=True, collection_notice=True)


def invoice(**kw: object) -> Invoice:
    data: dict[str, object] = dict(
        id="inv-1", invoice_no="1001", customer_id="c10", customer_no="10",
        invoice_date=date(2026, 2, 24),
        due_date=DUE, amount=Decimal("1250.00"), balance=Decimal("1250.00"), currency="NOK",
        changed_at=T0)
    data.update(kw)
    return Invoice.model_validate(data)


def customer(**kw: object) -> Customer:
    data: dict[str, object] = dict(id="c-10", number="10", name="Fjordkraft Rør AS",
                                   organization_number="912345678", address=FULL,
                                   changed_at=T0)
    data.update(kw)
    return Customer.model_validate(data)


def letter(kind: LetterKind, due: date, n: int = 1) -> ReminderLetter:
    return ReminderLetter(id=f"l{n}", invoice_id="inv-1", kind=kind,
                          sent_on=due - timedelta(days=14), due_date=due, changed_at=T0)


def enters(day: date, setup: DunningSetup = NONE, letters: list[ReminderLetter] | None = None,
           auto: bool = False, **inv: object) -> ClaimList | None:
    return entry_list(invoice(**inv), customer(),
                      Company(name="Demo AS", dunning=setup, auto_transfer=auto),
                      letters or [], day)


class TestReadyDate:
    def test_r1a_day_one_after_due_not_day_zero(self) -> None:
        assert ready_date(invoice(), NONE, []) == DUE + timedelta(days=1)
        assert enters(DUE) is None
        assert enters(DUE + timedelta(days=1)) is ClaimList.DRAFT

    def test_r1b_day_fourteen_not_thirteen(self) -> None:
        assert ready_date(invoice(), REMINDER, []) == DUE + timedelta(days=14)
        assert enters(DUE + timedelta(days=13), REMINDER) is None
        assert enters(DUE + timedelta(days=14), REMINDER) is ClaimList.DRAFT

    def test_r1c_not_ready_before_the_letter_is_sent(self) -> None:
        assert ready_date(invoice(), DUNNING, []) is None
        assert enters(DUE + timedelta(days=400), DUNNING) is None

    def test_r1c_day_after_the_letters_due_date(self) -> None:
        letter_due = DUE + timedelta(days=30)
        sent = [letter(LetterKind.REMINDER, DUE + timedelta(days=20), 1),
                letter(LetterKind.DUNNING_LETTER, letter_due, 2)]
        assert ready_date(invoice(), DUNNING, sent) == letter_due + timedelta(days=1)
        assert enters(letter_due, DUNNING, sent) is None
        assert enters(letter_due + timedelta(days=1), DUNNING, sent) is ClaimList.DRAFT

    def test_r1c_with_both_letters_waits_for_the_last_one(self) -> None:
        first = letter(LetterKind.DUNNING_LETTER, DUE + timedelta(days=28), 1)
        assert ready_date(invoice(), BOTH, [first]) is None
        notice = letter(LetterKind.COLLECTION_NOTICE, DUE + timedelta(days=50), 2)
        assert ready_date(invoice(), BOTH, [first, notice]) == DUE + timedelta(days=51)

    def test_r1c_notice_only_ignores_reminder_letters(self) -> None:
        reminder = letter(LetterKind.REMINDER, DUE + timedelta(days=21), 1)
        assert ready_date(invoice(), NOTICE, [reminder]) is None

    def test_customer_without_reminders_is_r1a_whatever_the_setup(self) -> None:
        silent = customer(send_reminders=False, dunning=DUNNING)
        setup = dunning_for(Company(name="X", dunning=NOTICE), silent)
        assert setup == DunningSetup()
        assert ready_date(invoice(), setup, []) == DUE + timedelta(days=1)

    def test_customer_setup_overrides_company(self) -> None:
        cust = customer(dunning=REMINDER)
        assert dunning_for(Company(name="X", dunning=NONE), cust) == REMINDER
        assert dunning_for(Company(name="X", dunning=NOTICE), customer()) == NOTICE

    @given(st.integers(min_value=-30, max_value=60))
    def test_r1a_holds_on_every_day(self, offset: int) -> None:
        day = DUE + timedelta(days=offset)
        assert (enters(day) is ClaimList.DRAFT) == (offset >= 1)


class TestLists:
    def test_r2_auto_transfer_goes_straight_to_approved(self) -> None:
        assert enters(DUE + timedelta(days=1), auto=True) is ClaimList.APPROVED
        assert enters(DUE, auto=True) is None

    def test_r10_override_enters_at_once_once_overdue(self) -> None:
        assert enters(DUE, DUNNING, collect_requested=True) is None
        assert enters(DUE + timedelta(days=1), DUNNING, collect_requested=True) is ClaimList.DRAFT
        assert enters(DUE + timedelta(days=3), DUNNING, collect_requested=True,
                      auto=True) is ClaimList.APPROVED

    def test_r11_excluded_customer_never_enters(self) -> None:
        company = Company(name="X")
        excluded = customer(transfer_to_agency=False)
        assert entry_list(invoice(), excluded, company, [], DUE + timedelta(days=90)) is None
        assert entry_list(invoice(collect_requested=True), excluded, company, [],
                          DUE + timedelta(days=90)) is None

    @pytest.mark.parametrize("change", [
        {"balance": Decimal("0")}, {"deleted": True}, {"kind": InvoiceKind.CREDIT_NOTE},
        {"amount": Decimal("-5"), "balance": Decimal("-5")},
    ])
    def test_paid_deleted_credit_or_negative_never_enters(self, change: dict[str, Any]) -> None:
        assert enters(DUE + timedelta(days=30), **change) is None

    def test_non_positive_amounts_are_problems(self) -> None:
        assert "non-positive" in (invoice_problem(invoice(amount=Decimal("0"),
                                                          balance=Decimal("0"))) or "")
        assert "negative balance" in (invoice_problem(invoice(balance=Decimal("-1"))) or "")
        assert invoice_problem(invoice()) is None


class TestGraceWindow:
    def test_r5_not_at_1h59_yes_at_2h(self) -> None:
        assert not transfer_due(T0, T0 + timedelta(hours=1, minutes=59))
        assert transfer_due(T0, T0 + timedelta(hours=2))

    def test_r5_is_elapsed_time_across_dst(self) -> None:
        from zoneinfo import ZoneInfo

        oslo = ZoneInfo("Europe/Oslo")
        approved = datetime(2026, 3, 29, 1, 30, tzinfo=oslo)  # clocks jump 02:00 → 03:00
        wall_two_hours_later = datetime(2026, 3, 29, 3, 30, tzinfo=oslo)
        assert not transfer_due(approved, wall_two_hours_later)
        assert transfer_due(approved, approved.astimezone(UTC) + timedelta(hours=2))


class TestObstacles:
    reqs = AgencyRequirements()

    def test_r7_names_the_missing_postal_code(self) -> None:
        cust = customer(address=FULL.model_copy(update={"postal_code": None}))
        found = obstacles(invoice(), cust, self.reqs)
        assert [o.field for o in found] == ["address.postal_code"]
        assert "customer 10 (Fjordkraft Rør AS): postal code is missing" in found[0].message

    def test_business_needs_org_number_person_does_not(self) -> None:
        assert [o.field for o in obstacles(invoice(), customer(organization_number=None),
                                           self.reqs)] == ["organization_number"]
        assert obstacles(invoice(), customer(organization_number=None, is_person=True),
                         self.reqs) == []

    def test_currency_the_agency_does_not_take(self) -> None:
        found = obstacles(invoice(currency="EUR"), customer(), self.reqs)
        assert [o.code for o in found] == ["currency"]
        assert "EUR" in found[0].message and "NOK" in found[0].message

    def test_unknown_customer(self) -> None:
        assert [o.code for o in obstacles(invoice(), None, self.reqs)] == ["unknown_customer"]

    def test_complete_data_has_no_obstacle(self) -> None:
        assert obstacles(invoice(), customer(), self.reqs) == []


class TestMoney:
    def test_float_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="never float"):
            invoice(amount=12.5)

    def test_whole_ore_or_refused_never_rounded(self) -> None:
        assert invoice(amount="10.50", balance="10.500").balance == Decimal("10.50")
        with pytest.raises(ValidationError, match=r"more than two decimals: 10\.005"):
            invoice(amount="10.005", balance="10.005")

    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            invoice(changed_at=datetime(2026, 1, 1))
