"""The mock agency's collection process as data and pure functions: its timeline, fees,
interest, debtor behaviours and how a payment is split (docs/mock.md, "The agency's process").

Kept apart from the world so the numbers can be read, tested and documented on their own.
Nothing here draws from a global random state: every "random" choice is a hash of the
world's seed and a stable key, so the same world plays out the same way every run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from connector.domain import to_money

ZERO = Decimal("0.00")

# -- docs/rules.md, 2025 rates -------------------------------------------------------------------

NOTICE_FEE = Decimal("35.00")
"""Fee of the collection notice (inkassovarsel) to a person."""
B2B_COMPENSATION = Decimal("470.00")
"""Standard compensation a business debtor owes instead of the notice fee."""
BASE_RATE = Decimal("700.00")
"""The collection base rate (inkassosats); collection fees are multiples of it."""
INTEREST_RATE = Decimal("0.125")
"""Late-payment interest a year, on the remaining principal."""
COMMISSION_RATE = Decimal("0.10")
COMMISSION_AFTER_DAYS = 90
"""Commission is charged on claims registered more than this many days after the due date."""
VAT_RATE = Decimal("0.25")

LIGHT_FEE_SCALE: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("2500"), Decimal("0.5")),
    (Decimal("10000"), Decimal("1")),
    (Decimal("50000"), Decimal("2")),
    (None, Decimal("3")),
)
"""Light collection fee (lett salær) as a factor of the base rate, by principal (up to and
including the bound). The heavy fee (tungt salær) is twice the light one. A simplified scale
in the spirit of inkassoforskriften, for mock data only."""

# -- the timeline, in case days (day 0 is the registration day) -----------------------------

NOTICE_DAY = 1
TIME_TO_PAY = 14
PHONE_DAYS = (10, 18)
DEMAND_DAY = 19
SMS_DAY = 26
LEGAL_NOTICE_DAY = 34
HEAVY_FEE_DAY = 48
SURVEILLANCE_DAY = 90
CLOSE_DAY = 100
INSTALMENT_EVERY = 14


class Stage(StrEnum):
    """Where a case stands in the agency's process (the last step taken)."""

    REGISTERED = "registered"
    NOTICE = "notice"
    PHONE = "phone"
    DEMAND = "demand"
    SMS = "sms"
    LEGAL_NOTICE = "legal_notice"
    HEAVY_FEE = "heavy_fee"
    SURVEILLANCE = "surveillance"


class Behaviour(StrEnum):
    """How a debtor answers collection (per customer; drawn from the seed when not set)."""

    FULL = "full"
    """Pays everything owed, on one day after the notice."""
    PARTIAL = "partial"
    """Pays the fees, interest and a share of the principal, then stops."""
    INSTALMENTS = "instalments"
    """Agrees an instalment plan and pays it off."""
    LATE = "late"
    """Pays everything owed, after the payment demand's due date."""
    NEVER = "never"


BEHAVIOUR_WEIGHTS: tuple[tuple[Behaviour, int], ...] = (
    (Behaviour.FULL, 35),
    (Behaviour.LATE, 20),
    (Behaviour.INSTALMENTS, 15),
    (Behaviour.PARTIAL, 10),
    (Behaviour.NEVER, 20),
)
"""Shares (of 100) of the behaviours drawn for customers that have none set."""

PARTIAL_SHARES = (25, 40, 50, 60, 75)
"""Percent of the principal a partial payer pays, drawn per case."""


def draw(*parts: object) -> int:
    """A stable non-negative number from ``parts``: sha256, never Python's salted ``hash``."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def drawn_behaviour(seed: int | None, customer_no: str) -> Behaviour:
    roll = draw(seed or 0, "behaviour", customer_no) % 100
    for behaviour, weight in BEHAVIOUR_WEIGHTS:
        if roll < weight:
            return behaviour
        roll -= weight
    return Behaviour.NEVER  # pragma: no cover - the weights add up to 100


@dataclass(frozen=True)
class Plan:
    """What one debtor will do on one case, fixed when the case is registered."""

    behaviour: Behaviour
    pays_on_day: int | None
    """The case day of the (first) payment; None for ``never``."""
    instalments: int
    """Payments in the plan: 1 except for ``instalments``."""
    share: int
    """Percent of the principal a ``partial`` payer pays."""
    phone_day: int


def plan(seed: int | None, customer_no: str, reference: str, behaviour: Behaviour | None,
         pays_after_days: int | None, instalments: int | None) -> Plan:
    """The debtor's plan for one case: the customer's settings, the rest drawn per case."""
    chosen = behaviour or drawn_behaviour(seed, customer_no)
    roll = draw(seed or 0, "case", customer_no, reference)
    phone_day = PHONE_DAYS[0] + roll % (PHONE_DAYS[1] - PHONE_DAYS[0] + 1)
    roll //= 97
    default_day = {
        Behaviour.FULL: 2 + roll % 29,           # day 2-30: within or just after the notice
        Behaviour.PARTIAL: 5 + roll % 36,        # day 5-40
        Behaviour.INSTALMENTS: 5 + roll % 26,    # day 5-30
        Behaviour.LATE: DEMAND_DAY + TIME_TO_PAY + 2 + roll % 36,  # day 35-70
        Behaviour.NEVER: None,
    }[chosen]
    roll //= 101
    count = instalments or 2 + roll % 3
    share = PARTIAL_SHARES[roll % len(PARTIAL_SHARES)]
    day = None if chosen is Behaviour.NEVER else pays_after_days or default_day
    return Plan(chosen, day, count if chosen is Behaviour.INSTALMENTS else 1, share, phone_day)


def light_fee(principal: Decimal) -> Decimal:
    for bound, factor in LIGHT_FEE_SCALE:
        if bound is None or principal <= bound:
            return to_money(BASE_RATE * factor)
    raise AssertionError("the scale ends with an open bound")  # pragma: no cover


def heavy_fee(principal: Decimal) -> Decimal:
    return light_fee(principal) * 2


def interest(principal: Decimal, days: int) -> Decimal:
    """Late-payment interest on ``principal`` for ``days`` days (365 a year), to the øre."""
    return to_money(principal * INTEREST_RATE * days / 365)


def commission(principal: Decimal) -> Decimal:
    return to_money(principal * COMMISSION_RATE)


def vat(amount: Decimal) -> Decimal:
    return to_money(amount * VAT_RATE)


@dataclass(frozen=True)
class Split:
    """A debtor's payment as the agency applies it: costs, then interest, then principal."""

    fees: Decimal
    interest: Decimal
    principal: Decimal


def split(amount: Decimal, fees: Decimal, interest_owed: Decimal, principal: Decimal) -> Split:
    """Apply ``amount`` to fees first, then interest, then principal (never beyond them)."""
    to_fees = min(amount, fees)
    to_interest = min(amount - to_fees, interest_owed)
    to_principal = min(amount - to_fees - to_interest, principal)
    return Split(to_fees, to_interest, to_principal)


def nok(amount: Decimal) -> str:
    return f"NOK {amount:.2f}"
