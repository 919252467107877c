"""One test per kind of mock event, as a user plays it from the command line: the command
(now, or ``--at`` and ``mock advance``), then ``connector sync``, then what the lists,
``case ID`` and ``payouts`` show. Docs: docs/mock.md, "Events"."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.mock.cli import User


@pytest.fixture
def user(tmp_path: Path) -> User:
    return User(tmp_path)


def test_pay_in_part_then_in_full_at_a_time(user: User) -> None:
    user.run("sync")
    assert user.run("mock pay 502 500.00").strip().endswith("balance now NOK 1500.00")
    user.run("sync")
    assert user.claims("draft")["502"]["balance"] == "1500.00"
    assert user.run("mock pay 502 --at +1h").startswith("E")  # the rest, an hour from now
    assert "502" in user.claims("draft")  # nothing happens before its time
    assert "pay invoice_no=502" in user.run("mock advance 1h")
    user.run("sync")
    assert "502" not in user.claims("draft")
    assert user.claim("502")["list"] == "dropped"


def test_a_direct_payment_on_an_open_claim_is_reported_to_the_agency(user: User) -> None:
    user.to_open("501")
    user.run("mock pay 501 300.00")
    user.run("sync")
    user.run("sync")  # the agency's own line about it comes with its next changes
    history = user.history("501")
    assert "300.00 reported to the agency" in history
    assert "Creditor reported a direct payment of NOK 300.00" in history
    assert user.claim("501")["remaining_principal"] == "700.00"
    assert user.show()["reductions"] == 1


def test_credit_note_to_zero_drops_the_draft(user: User) -> None:
    user.run("sync")
    assert "credit note" in user.run("mock credit 502")
    user.run("sync")
    assert "502" not in user.claims("draft")
    assert user.claim("502")["list"] == "dropped"


def test_write_off_keeps_the_case_open(user: User) -> None:
    user.to_open("501")
    changed = user.run("mock write-off 501 --account 7830")
    assert "NOK 1000.00 written off to account 7830" in changed
    user.run("sync")
    claim = user.claim("501")
    assert claim["list"] == "open" and claim["written_off"] == "1000.00"


def test_delete_an_invoice_at_a_time(user: User) -> None:
    user.run("sync")
    user.run("mock delete 502 --at 2026-03-03")  # its midnight, company time
    user.run("mock advance 1d")
    user.run("sync")
    assert user.claim("502")["list"] == "dropped"


def test_a_new_invoice_enters_draft_when_overdue(user: User) -> None:
    added = user.json("mock invoice add 11 750.00 --date 2026-02-01 --due 2026-02-15")
    assert added["state"] == "done" and "750.00" in added["result"]
    user.run("sync")
    [new] = [row for row in user.claims("draft").values() if row["amount"] == "750.00"]
    assert new["customer_no"] == "11"


def test_an_invoice_number_with_letters_gets_no_kid_and_enters_draft(user: User) -> None:
    """A KID is digits with a check digit: an invoice numbered "A-17" simply has none."""
    added = user.json("mock invoice add 11 320.00 --number A-17 --date 2026-02-01 "
                      "--due 2026-02-15")
    assert added["state"] == "done"
    user.run("sync")
    assert user.claim("A-17")["list"] == "draft"


def test_an_address_edit_clears_the_obstacle_without_moving_the_card(user: User) -> None:
    user.run("sync")
    user.run(f"approve {user.claims('draft')['503']['id']}")
    user.run("mock advance 2h1m")
    user.run("sync")
    assert user.claim("503")["obstacles"][0]["field"] == "address.postal_code"
    changed = user.run("mock customer 12 --postal-code 2317")
    assert "its change time stays" in changed
    user.run("sync")
    assert user.claim("503")["list"] == "open"


def test_exclude_and_include_a_customer(user: User) -> None:
    user.run("sync")
    user.run("mock exclude 10")
    user.run("sync")
    assert {"501", "502"}.isdisjoint(user.claims("draft"))
    assert user.claim("502")["list"] == "dropped"
    user.run("mock include 10 --at +1h")
    user.run("mock advance 1h")
    user.run("sync")
    assert {"501", "502"} <= set(user.claims("draft"))


def test_switching_the_reminder_flow_moves_the_ready_date(user: User) -> None:
    changed = user.run("mock reminders 11 --dunning reminder")
    assert "its own dunning setup (reminder)" in changed
    user.run("mock advance 7d")  # 504 is two days overdue: no reminder-flow claim yet (R1b)
    user.run("sync")
    assert "504" not in user.claims()
    user.run("mock reminders 11 --company")
    user.run("sync")
    assert user.claims()["504"]["list"] == "draft"  # the company's setup: R1a


def test_the_debtor_pays_the_agency_and_the_payout_comes_back(user: User) -> None:
    user.to_open("501")
    assert "closed paid" in user.run("mock agency pay 501")
    user.run("sync")
    assert user.claim("501")["outcome"] == "paid"
    assert "payout S" in user.run("mock agency payout")
    user.run("sync")
    [payout] = user.json("payouts")
    principal = [ln for ln in payout["lines"] if ln["kind"] == "principal"]
    assert Decimal(principal[0]["amount"]) == Decimal("1000.00")


def test_the_agency_closes_a_case_unresolved(user: User) -> None:
    user.to_open("501")
    user.run("mock agency close 501 --text 'The debtor cannot be found'")
    user.run("sync")
    claim = user.claim("501")
    assert (claim["list"], claim["outcome"]) == ("archived", "unresolved")
    assert "The debtor cannot be found" in user.history("501")


def test_the_agency_rejects_a_case_with_its_reason_then_takes_it_when_the_card_changes(
        user: User) -> None:
    user.run("mock agency reject 501 'The debtor is under debt settlement'")
    user.run("sync")
    user.run(f"approve {user.claims('draft')['501']['id']}")
    user.run("mock advance 2h1m")
    user.run("sync")
    claim = user.claim("501")
    assert claim["list"] == "approved"
    assert "The debtor is under debt settlement" in claim["obstacles"][0]["message"]
    user.run("mock customer 10 --email inkasso@fjordkraft.example.no")  # the creditor acts
    user.run("sync")  # the agency refused once; the attempt after the card changed is taken
    assert user.claim("501")["list"] == "open"


def test_proposals_approved_and_discarded_by_the_accountant(user: User) -> None:
    user.to_open("501", "502")
    user.run("mock agency pay 501")
    user.run("mock agency payout")
    user.run("sync")
    [waiting] = user.json("mock proposals list")
    assert waiting["reference"].startswith("payout:")
    assert f"approved {waiting['id']}" in user.run("mock proposals approve")
    assert user.json("mock proposals list") == []
    user.run("mock agency pay 502")
    user.run("mock agency payout")
    user.run("sync")
    [second] = user.json("mock proposals list")
    user.run(f"mock proposals discard {second['id']}")
    assert user.json("mock proposals list") == []
    assert user.show()["payouts_booked"] == 2


def test_a_fault_fails_the_sync_once(user: User) -> None:
    user.run("mock fault erp.invoices --times 1")
    user.run("sync", code=1)
    user.run("sync")
    assert "501" in user.claims("draft")


def test_bad_input_names_the_field_and_changes_nothing(user: User) -> None:
    before = user.show()
    assert user.refused("mock pay 501 12,50").startswith("amount:")
    assert user.refused("mock pay 501 5000.00").startswith("payment on invoice 501")
    assert user.refused("mock pay 999").endswith("no invoice 999")
    assert user.refused("mock invoice add 10 100 --due 2026-13-01").startswith("due_date:")
    assert user.refused("mock pay 501 --at yesterday").startswith("at:")
    assert user.refused("mock pay 501 --at 2020-01-01").startswith("at:")
    assert user.refused("mock agency close 501").endswith("no case for invoice 501")
    assert user.refused("mock agency reject 501 ''").startswith("reason:")
    assert user.refused("mock fault agency.nope").startswith("no mock operation")
    assert user.refused("mock reminders 10").startswith("reminders:")
    assert user.refused("mock agency reject 999999 why").endswith("no invoice 999999")
    assert user.refused("mock invoice add 10 100 --currency XXXX").startswith("currency:")
    assert user.refused("mock customer 10 --country NORWAY").startswith("country:")
    assert "before invoice_date" in user.refused(
        "mock invoice add 10 100 --date 2026-02-20 --due 2026-02-01")
    assert user.show() == before
    assert user.json("mock events") == []


def test_a_name_with_terminal_control_is_echoed_as_text(user: User) -> None:
    """What a mock command prints back is data: an escape sequence is shown, never run."""
    printed = user.run("mock customer 10 --name \"Evil\x1b[2J\x07 AS\"")
    assert "\x1b" not in printed and "\x07" not in printed
    assert "Evil\\x1b[2J\\x07 AS" in printed
