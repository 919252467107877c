"""Norwegian check digits: organisation numbers (MOD11) and KID payment references (MOD10)."""

from __future__ import annotations

_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def org_check_digit(first8: str) -> int | None:
    """The ninth digit of an organisation number, or None where no valid one exists."""
    rest = sum(int(d) * w for d, w in zip(first8, _ORG_WEIGHTS, strict=True)) % 11
    digit = 0 if rest == 0 else 11 - rest
    return None if digit == 10 else digit


def valid_org_number(value: str) -> bool:
    """Nine digits whose last is the MOD11 check digit (Brønnøysundregistrene)."""
    if len(value) != 9 or not value.isdigit():
        return False
    return org_check_digit(value[:8]) == int(value[8])


def kid(base: str) -> str:
    """A KID: ``base`` digits followed by their Luhn (MOD10) check digit."""
    total = 0
    for i, char in enumerate(reversed(base)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return f"{base}{(10 - total % 10) % 10}"
