"""Norwegian numbers the mock checks and makes: organisation numbers (MOD11) and KID payment
references (MOD10), through python-stdnum."""

from __future__ import annotations

from stdnum import luhn
from stdnum.no import orgnr


def valid_org_number(value: str) -> bool:
    """Nine digits whose last is the MOD11 check digit (Brønnøysundregistrene)."""
    return len(value) == 9 and value.isdigit() and orgnr.is_valid(value)


def org_number(first8: str) -> str | None:
    """The organisation number that starts with ``first8``, or None where none is valid."""
    return next((f"{first8}{d}" for d in "0123456789" if orgnr.is_valid(f"{first8}{d}")), None)


def kid(digits: str) -> str:
    """A KID: ``digits`` followed by their Luhn (MOD10) check digit."""
    return f"{digits}{luhn.calc_check_digit(digits)}"
