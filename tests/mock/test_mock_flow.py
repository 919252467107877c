"""The reminder flow's schedule: which letters go out on which days, and next actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from connector.domain import DunningSetup, LetterKind, NextAction
from connector.errors import UserError
from connector_adapters.mock.erp_world import MockInvoice
from connector_adapters.mock.world import World

if TYPE_CHECKING:
    from tests.mock.conftest import Day, MakeWorld

R, D, N = LetterKind.REMINDER, LetterKind.DUNNING_LETTER, LetterKind.COLLECTION_NOTICE


def run(world: World, invoice: MockInvoice, days: int) -> list[str]:
    """Advance day by day; the invoice's next action on each day, from today on."""
    actions = [invoice.next_action.value]
    for _ in range(days):
        world.advance(timedelta(days=1))
        actions.append(invoice.next_action.value)
    return actions


def sent(world: World, invoice: MockInvoice, day: Day) -> list[tuple[LetterKind, int, int]]:
    """Letters as (kind, sent on, due) in days after the start day."""
    zero = day(0)
    return [(letter.kind, (letter.sent_on - zero).days, (letter.due_date - zero).days)
            for letter in world.erp.letters_of(invoice)]


@pytest.mark.parametrize(
    ("setup", "letters", "collection_from"),
    [
        (DunningSetup(reminder=True), [(R, 7, 21)], 22),
        (DunningSetup(dunning_letter=True), [(D, 14, 28)], 29),
        (DunningSetup(collection_notice=True), [(N, 14, 28)], 29),
        (DunningSetup(dunning_letter=True, collection_notice=True), [(D, 14, 28), (N, 29, 43)],
         44),
        (DunningSetup(reminder=True, collection_notice=True), [(R, 7, 21), (N, 22, 36)], 37),
        (DunningSetup(reminder=True, dunning_letter=True, collection_notice=True),
         [(R, 7, 21), (D, 22, 36), (N, 37, 51)], 52),
    ],
)
def test_letters_go_out_on_schedule_for_enabled_steps_only(
    make_world: MakeWorld, day: Day, setup: DunningSetup,
    letters: list[tuple[LetterKind, int, int]], collection_from: int,
) -> None:
    world = make_world(setup)
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(0))

    actions = run(world, invoice, 60)

    assert sent(world, invoice, day) == letters
    first = letters[0]
    assert actions[0] == "wait"  # due today: the debtor still has time
    assert set(actions[1:first[1]]) == {first[0].value}  # overdue, first letter not out yet
    for kind, sent_on, due in letters:
        assert set(actions[sent_on:due + 1]) == {"wait"}, kind
    assert set(actions[collection_from:]) == {"collection"}


def test_no_step_enabled_means_no_letters_and_next_action_none(world: World, day: Day) -> None:
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(-30))
    assert set(run(world, invoice, 40)) == {"none"}
    assert world.erp.letters == []


def test_the_customers_own_setup_overrides_the_companys(make_world: MakeWorld,
                                                        day: Day) -> None:
    world = make_world(DunningSetup(reminder=True))
    world.update_customer("10001", dunning=DunningSetup(collection_notice=True))
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(0))
    run(world, invoice, 30)
    assert sent(world, invoice, day) == [(N, 14, 28)]


def test_reminders_off_on_the_card_sends_nothing(make_world: MakeWorld, day: Day) -> None:
    world = make_world(DunningSetup(reminder=True, collection_notice=True))
    world.update_customer("10001", send_reminders=False)
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(-20))
    assert set(run(world, invoice, 30)) == {"none"}
    assert world.erp.letters == []


def test_payment_in_full_stops_the_flow(make_world: MakeWorld, day: Day) -> None:
    world = make_world(DunningSetup(reminder=True, collection_notice=True))
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(0))
    run(world, invoice, 10)
    world.erp.pay(invoice.invoice_no, 1000)
    assert invoice.next_action is NextAction.NONE
    run(world, invoice, 30)
    assert sent(world, invoice, day) == [(R, 7, 21)]


def test_a_late_letter_goes_out_at_the_next_nightly_run(make_world: MakeWorld, day: Day) -> None:
    world = make_world(DunningSetup(reminder=True))
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(-30))
    assert invoice.next_action is NextAction.REMINDER
    world.advance(timedelta(hours=20))
    assert sent(world, invoice, day) == [(R, 1, 15)]


def test_settle_backdates_what_the_flow_would_have_sent(make_world: MakeWorld, day: Day) -> None:
    world = make_world(DunningSetup(reminder=True, collection_notice=True))
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(-40))
    world.erp.settle()
    assert sent(world, invoice, day) == [(R, -33, -19), (N, -18, -4)]
    assert invoice.next_action is NextAction.COLLECTION


def test_a_step_enabled_later_is_taken_up(world: World, day: Day) -> None:
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(-3))
    assert invoice.next_action is NextAction.NONE
    world.erp.set_company(dunning=DunningSetup(collection_notice=True))
    assert invoice.next_action is NextAction.COLLECTION_NOTICE
    run(world, invoice, 12)
    assert sent(world, invoice, day) == [(N, 11, 25)]


def test_next_action_changes_move_the_invoice_change_time(make_world: MakeWorld,
                                                          day: Day) -> None:
    world = make_world(DunningSetup(reminder=True))
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(0))
    before = invoice.changed_at
    world.advance(timedelta(days=1))
    assert invoice.next_action is NextAction.REMINDER
    assert invoice.changed_at > before


def test_letters_are_stamped_at_the_local_midnight_they_were_sent_even_across_dst(
    make_world: MakeWorld,
) -> None:
    world = make_world(DunningSetup(reminder=True))
    due = datetime(2025, 3, 23).date()
    invoice = world.erp.add_invoice("10001", 1000, due_date=due)
    world.advance(timedelta(days=30))
    (letter,) = world.erp.letters_of(invoice)
    assert letter.sent_on == datetime(2025, 3, 30).date()  # Oslo moves to summer time that day
    midnight = datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    assert midnight < letter.changed_at < midnight + timedelta(seconds=1)


def test_request_collection_only_from_wait_or_none(make_world: MakeWorld, day: Day) -> None:
    world = make_world(DunningSetup(reminder=True))
    invoice = world.erp.add_invoice("10001", 1000, due_date=day(-3))
    assert invoice.next_action is NextAction.REMINDER
    with pytest.raises(UserError, match="next action reminder"):
        world.erp.request_collection(invoice.invoice_no)
    world.advance(timedelta(days=5))
    assert invoice.next_action is NextAction.WAIT
    world.erp.request_collection(invoice.invoice_no)
    assert invoice.collect_requested
    assert invoice.next_action is NextAction.COLLECTION
    run(world, invoice, 30)
    assert [letter.kind for letter in world.erp.letters_of(invoice)] == [R]
