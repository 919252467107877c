"""The seed's stories, played from the command line alone, each command as a user types it
(docs/mock.md, "Stories")."""

from __future__ import annotations

from pathlib import Path

from tests.mock.cli import User


def test_a_held_draft_then_paid(tmp_path: Path) -> None:
    user = User(tmp_path)
    user.run("sync")
    user.run(f"hold {user.claims('draft')['502']['id']}")  # R4
    assert user.claims("held")["502"]["balance"] == "2000.00"
    user.run("mock pay 502")
    user.run("sync")
    assert user.claim("502")["list"] == "dropped"
    assert "paid" in user.history("502").rsplit(" | ", 1)[-1]  # the history says why
    assert "502" not in user.claims("draft")  # it never comes back by itself
    assert user.show()["registrations"] == 0


def test_an_exclusion_while_a_case_is_open(tmp_path: Path) -> None:
    user = User(tmp_path)
    user.to_open("501")
    user.run("mock exclude 10")  # R11: 502 is in Draft, 501 at the agency
    user.run("sync")
    assert user.claim("502")["list"] == "dropped"
    assert user.claim("501")["list"] == "open"  # an Open case goes on
    user.run("mock agency pay 501")
    user.run("sync")
    assert (user.claim("501")["list"], user.claim("501")["outcome"]) == ("archived", "paid")


def test_a_credit_note_to_zero_in_approved(tmp_path: Path) -> None:
    user = User(tmp_path)
    user.run("sync")
    user.run(f"approve {user.claims('draft')['501']['id']}")
    user.run("mock credit 501")  # inside the grace window (R5)
    user.run("mock advance 2h1m")
    user.run("sync")
    assert user.claim("501")["list"] == "dropped"
    assert user.show()["registrations"] == 0  # never sent


def test_a_write_off_then_full_collection_flags_the_reversal(tmp_path: Path) -> None:
    user = User(tmp_path)
    user.to_open("501")
    user.run("mock write-off 501 --account 7830")  # R12: the agency keeps collecting
    user.run("sync")
    user.run("mock agency pay 501")
    user.run("mock agency payout")
    user.run("sync")
    [payout] = user.json("payouts")
    assert payout["flagged"]
    [proposal] = user.json("mock proposals list")
    assert proposal["flagged"]
    reversal = [ln for ln in proposal["lines"] if ln["account"] == "7830"]
    assert reversal and reversal[0]["amount"] == "-1000.00"


def test_a_direct_payment_is_reported_exactly_once_over_three_syncs(tmp_path: Path) -> None:
    user = User(tmp_path)
    user.to_open("501")
    user.run("mock pay 501 250.00")
    for _ in range(3):
        user.run("sync")
    shown = user.show()
    assert (shown["reductions"], shown["duplicate_reductions"]) == (1, 0)
    assert user.history("501").count("250.00 reported to the agency") == 1
    assert user.claim("501")["remaining_principal"] == "750.00"


def test_a_payout_booked_by_hand_is_never_reported_back(tmp_path: Path) -> None:
    user = User(tmp_path, extra='booking = "none"\n')
    user.to_open("501")
    user.run("mock agency pay 501")
    user.run("mock agency payout")
    user.run("sync")
    [payout] = user.json("payouts")
    assert payout["state"] == "skipped"
    user.run(f"mock book 501 {payout['net']} --reference bank-{payout['id']}")
    for _ in range(2):
        user.run("sync")
    assert user.show()["reductions"] == 0  # the agency's own money is not a direct payment
    assert "reported to the agency" not in user.history("501")
