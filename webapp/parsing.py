"""Whole numbers typed into URLs, query strings and forms: ASCII digits only, bounded.

`str.isdigit()` alone is not enough: it accepts "²", which `int()` then refuses, and a
5,000-digit string passes it too (past Python's digit limit, and past any integer column).
Both used to end as a 500 instead of the 400 a bad argument deserves.
"""

from __future__ import annotations

# The largest value a 32-bit INTEGER column holds (our ids): PostgreSQL refuses a larger
# parameter outright ("integer out of range").
DB_INT_MAX = 2**31 - 1


def is_digits(text: str) -> bool:
    """Return whether `text` is a non-empty run of ASCII digits."""
    return text.isascii() and text.isdigit()


def whole_number(raw: object, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int | None:
    """Return `raw` as an int from `minimum` to `maximum`, or None if it is anything else."""
    text = str(raw if raw is not None else "").strip()
    if not is_digits(text) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None
