"""The ERP's reminder flow (purreflyt) as pure functions: which letter comes next, and when.

Kept apart from the world so the schedule can be read, tested and documented on its own
(docs/mock.md, "The reminder flow").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from connector.domain import DunningSetup, LetterKind, NextAction

ORDER = (LetterKind.REMINDER, LetterKind.DUNNING_LETTER, LetterKind.COLLECTION_NOTICE)
REMINDER_AFTER_DUE = timedelta(days=7)
"""A reminder goes out a week after the invoice's due date."""
LETTER_AFTER_DUE = timedelta(days=14)
"""A dunning letter or notice with no letter before it: 14 days after the due date."""
TIME_TO_PAY = timedelta(days=14)
"""Every letter gives 14 days to pay (inkassoloven § 9 for the collection notice)."""
_DAY = timedelta(days=1)


class Sent(Protocol):
    """What the flow needs to know of a letter already sent."""

    @property
    def kind(self) -> LetterKind: ...

    @property
    def due_date(self) -> date: ...


@dataclass(frozen=True)
class FlowState:
    """The invoice's next action, and the next day the flow must look at it again."""

    action: NextAction
    wake: date | None
    """For a letter action: the day it is sent. For ``wait``: the day the wait ends."""


def enabled_steps(setup: DunningSetup) -> list[LetterKind]:
    return [kind for kind in ORDER if getattr(setup, kind.value)]


def next_step(setup: DunningSetup, sent: Sequence[Sent]) -> LetterKind | None:
    """The first enabled letter that comes after every letter already sent."""
    last = max((ORDER.index(letter.kind) for letter in sent), default=-1)
    return next((kind for kind in enabled_steps(setup) if ORDER.index(kind) > last), None)


def state(setup: DunningSetup, due_date: date, sent: Sequence[Sent], today: date) -> FlowState:
    """Where an open invoice stands in the flow on ``today`` (see docs/mock.md)."""
    if not enabled_steps(setup):
        return FlowState(NextAction.NONE, None)
    last = max(sent, key=lambda letter: ORDER.index(letter.kind), default=None)
    pay_by = last.due_date if last else due_date
    if today <= pay_by:
        return FlowState(NextAction.WAIT, pay_by + _DAY)
    step = next_step(setup, sent)
    if step is None:
        return FlowState(NextAction.COLLECTION, None)
    if last is not None:
        send_on = last.due_date + _DAY
    elif step is LetterKind.REMINDER:
        send_on = due_date + REMINDER_AFTER_DUE
    else:
        send_on = due_date + LETTER_AFTER_DUE
    return FlowState(NextAction(step.value), send_on)
