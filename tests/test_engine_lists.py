"""The sync engine against the mock world: each rule of docs/rules.md through real sync passes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector import actions
from connector.domain import DunningSetup, LetterKind
from connector.store.db import Store
from tests.support import Harness, new_world


@pytest.fixture
def h(store: Store) -> Harness:
    harness = Harness(store, new_world())
    harness.customer("10")
    return harness


def test_r1a_enters_draft_on_day_one_not_day_zero(h: Harness) -> None:
    no = h.invoice(due_in_days=0)
    h.sync()
    assert h.claims() == []  # day 0: the due date itself
    h.advance(hours=17)  # past local midnight: day 1
    h.sync()
    claim = h.claim(no)
    assert claim["list"] == "draft"
    assert "R1a" in h.history(claim["id"])[0]


def test_r1b_day_14_not_13(store: Store) -> None:
    h = Harness(store, new_world(DunningSetup(reminder=True)))
    h.customer("10")
    no = h.invoice(due_in_days=-13)
    h.sync()
    assert h.claims() == []
    h.advance(days=1)
    h.sync()
    assert h.claim(no)["list"] == "draft"


def test_r1c_waits_for_the_letter_then_the_day_after_its_due_date(store: Store) -> None:
    h = Harness(store, new_world(DunningSetup(dunning_letter=True)))
    h.customer("10")
    no = h.invoice(due_in_days=-1)
    for _ in range(20):  # the letter goes out 14 days after due (mock schedule), due 14 later
        h.advance(days=1)
        h.sync()
        if h.world.erp.letters:
            break
    assert h.claims() == [], "not ready while the letter is unsent or not yet due"
    letters = [lt for lt in h.world.erp.letters if lt.kind is LetterKind.DUNNING_LETTER]
    assert len(letters) == 1
    while h.world.today <= letters[0].due_date:
        assert h.claims() == []
        h.advance(days=1)
        h.sync() if h.world.today <= letters[0].due_date else None
    assert h.world.today == letters[0].due_date + timedelta(days=1)
    h.sync()
    assert h.claim(no)["list"] == "draft"


def test_r2_auto_transfer_lands_in_approved_and_waits(store: Store) -> None:
    h = Harness(store, new_world(auto=True))
    h.customer("10")
    no = h.invoice(due_in_days=-1)
    h.sync()
    assert h.claim(no)["list"] == "approved"
    h.advance(hours=1)
    h.sync()
    assert h.claim(no)["list"] == "approved"
    h.advance(hours=1)
    h.sync()
    assert h.claim(no)["list"] == "open"
    assert h.cases_for(no) == 1


def test_r3_approve_one_several_all(h: Harness) -> None:
    nos = [h.invoice(due_in_days=-3) for _ in range(4)]
    h.sync()
    ids = [h.claim(n)["id"] for n in nos]
    assert actions.approve(h.ctx(), [ids[0]]).done == [ids[0]]
    assert actions.approve(h.ctx(), ids[1:3]).done == ids[1:3]
    assert actions.approve(h.ctx(), None).done == [ids[3]]
    assert {c["list"] for c in h.claims()} == {"approved"}


def test_r4_held_draft_stays_held_across_syncs_and_can_be_restored(h: Harness) -> None:
    no = h.invoice(due_in_days=-3)
    h.sync()
    claim_id = h.claim(no)["id"]
    assert actions.hold(h.ctx(), [claim_id]).done == [claim_id]
    for _ in range(3):
        h.advance(days=1)
        h.sync()
        assert h.claim(no)["list"] == "held"
    assert actions.restore(h.ctx(), [claim_id]).done == [claim_id]
    assert h.claim(no)["list"] == "draft"


def test_r5_cancel_at_1h59_and_transfer_after_2h(h: Harness) -> None:
    first, second = h.invoice(due_in_days=-3), h.invoice(due_in_days=-3)
    h.sync()
    ids = [h.claim(first)["id"], h.claim(second)["id"]]
    actions.approve(h.ctx(), ids)
    h.advance(hours=1, minutes=59)
    h.sync()
    assert {h.claim(first)["list"], h.claim(second)["list"]} == {"approved"}
    assert actions.cancel(h.ctx(), [ids[0]]).done == [ids[0]]
    assert h.claim(first)["list"] == "draft"
    h.advance(minutes=1)
    h.sync()
    assert h.claim(second)["list"] == "open"
    assert h.claim(first)["list"] == "draft"
    assert h.cases_for(first) == 0 and h.cases_for(second) == 1


def test_r6_cancel_refused_once_transferred(h: Harness) -> None:
    no = h.invoice(due_in_days=-3)
    h.sync()
    claim_id = h.claim(no)["id"]
    actions.approve(h.ctx(), [claim_id])
    h.advance(hours=2)
    h.sync()
    outcome = actions.cancel(h.ctx(), [claim_id])
    assert outcome.done == []
    assert "can no longer be stopped" in outcome.refused[str(claim_id)]
    assert "R6" in outcome.refused[str(claim_id)]
    assert h.claim(no)["list"] == "open"


def test_r7_missing_postal_code_named_then_sent_after_the_fix(h: Harness) -> None:
    h.customer("20", address=h.world.erp.customers["10"].address.model_copy(
        update={"postal_code": None}))
    no = h.invoice("20", due_in_days=-3)
    h.sync()
    claim = h.claim(no)
    assert [o["field"] for o in claim["obstacles"]] == ["address.postal_code"]
    actions.approve(h.ctx(), [claim["id"]])
    h.advance(hours=3)
    report = h.sync()
    claim = h.claim(no)
    assert claim["list"] == "approved"
    assert "postal code is missing" in claim["status"]
    assert [b["invoice_no"] for b in report.blocked] == [no]
    # An address edit does not move the ERP's change time (docs/rules.md): still picked up.
    h.world.erp.set_address("20", postal_code="0155")
    h.advance(hours=1)
    h.sync()
    assert h.claim(no)["list"] == "open"
    assert h.claim(no)["obstacles"] == []
    assert h.cases_for(no) == 1


def test_r7_agency_rejection_kept_as_obstacle_until_data_changes(h: Harness) -> None:
    h.customer("30", is_person=False, organization_number="")
    no = h.invoice("30", due_in_days=-3)
    h.sync()
    claim = h.claim(no)
    assert [o["field"] for o in claim["obstacles"]] == ["organization_number"]
    actions.approve(h.ctx(), [claim["id"]])
    h.advance(hours=2)
    h.sync()
    assert h.claim(no)["list"] == "approved"
    h.world.update_customer("30", organization_number="974760673")
    h.advance(hours=1)
    h.sync()
    assert h.claim(no)["list"] == "open"


def test_r10_collect_enters_draft_at_once(store: Store) -> None:
    h = Harness(store, new_world(DunningSetup(dunning_letter=True)))
    h.customer("10")
    no = h.invoice(due_in_days=-2)
    h.sync()
    refused = actions.collect(h.ctx(), [no]).refused[no]
    assert "next action 'dunning_letter'" in refused
    while h.world.erp.invoice(no).next_action.value != "wait":  # the letter is out, not yet due
        h.advance(days=1)
    h.sync()
    assert h.claims() == []
    outcome = actions.collect(h.ctx(), [no])
    assert outcome.ok, outcome.refused
    claim = h.claim(no)
    assert claim["list"] == "draft"
    assert "R10" in h.history(claim["id"])[0]
    h.sync()
    assert h.claim(no)["list"] == "draft"


def test_r10_refuses_unknown_and_already_claimed(h: Harness) -> None:
    no = h.invoice(due_in_days=-3)
    h.sync()
    outcome = actions.collect(h.ctx(), [no, "999999"])
    assert "already claim" in outcome.refused[no]
    assert "no invoice 999999" in outcome.refused["999999"]


def test_r11_excluded_customer_never_enters_and_open_claims_stay(h: Harness) -> None:
    h.customer("40", transfer_to_agency=False)
    excluded = h.invoice("40", due_in_days=-30)
    sent = h.invoice("10", due_in_days=-3)
    drafted = h.invoice("10", due_in_days=-3)
    h.sync()
    assert [c["invoice_no"] for c in h.claims()] == [sent, drafted]
    actions.approve(h.ctx(), [h.claim(sent)["id"]])
    h.advance(hours=2)
    h.sync()
    assert h.claim(sent)["list"] == "open"
    h.world.erp.exclude_customer("10")
    h.advance(hours=1)
    h.sync()
    assert h.claim(sent)["list"] == "open"  # R11: an open case is not touched
    assert h.claim(drafted)["list"] == "dropped"
    assert "excluded" in h.history(h.claim(drafted)["id"])[-1]
    assert all(c["invoice_no"] != excluded for c in h.claims())


def test_paid_or_deleted_before_transfer_leaves_the_lists(h: Harness) -> None:
    paid, deleted, credited = (h.invoice(due_in_days=-3) for _ in range(3))
    h.sync()
    h.world.erp.pay(paid, "1000.00")
    h.world.erp.delete_invoice(deleted)
    h.world.erp.credit(credited, "1000.00")
    h.advance(hours=1)
    h.sync()
    for no in (paid, deleted, credited):
        claim = h.claim(no)
        assert claim["list"] == "dropped"
    assert "paid or credited" in h.history(h.claim(paid)["id"])[-1]
    assert "deleted" in h.history(h.claim(deleted)["id"])[-1]


def test_partial_payment_updates_the_claims_balance(h: Harness) -> None:
    no = h.invoice(due_in_days=-3)
    h.sync()
    h.world.erp.pay(no, "400.00")
    h.advance(hours=1)
    h.sync()
    assert h.claim(no)["balance"] == "600.00"


def test_a_dropped_claim_enters_again_and_a_live_one_is_never_entered_twice(
        h: Harness) -> None:
    """The classifier's candidates: open, ready invoices with no claim or a dropped one."""
    first, second = h.invoice(due_in_days=-3), h.invoice(due_in_days=-4)
    h.sync()
    h.world.erp.exclude_customer("10")
    h.advance(hours=1)
    h.sync()
    assert [h.claim(no)["list"] for no in (first, second)] == ["dropped", "dropped"]
    h.world.erp.include_customer("10")
    h.advance(hours=1)
    h.sync()
    assert [h.claim(no)["list"] for no in (first, second)] == ["draft", "draft"]
    lines = {no: len(h.history(h.claim(no)["id"])) for no in (first, second)}
    h.advance(days=1)  # a new day: every open invoice is looked at again
    h.sync()
    assert [h.claim(no)["list"] for no in (first, second)] == ["draft", "draft"]
    assert {no: len(h.history(h.claim(no)["id"])) for no in (first, second)} == lines
