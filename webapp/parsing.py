"""Numbers and dates typed into URLs, query strings and forms: ASCII digits only, bounded.

`str.isdigit()` alone is not enough: it accepts "²", which `int()` then refuses, and a
5,000-digit string passes it too (past Python's digit limit, and past any integer column).
Both used to end as a 500 instead of the 400 a bad argument deserves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

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


MAX_PAGE = 100_000


def id_arg(name: str) -> int | None:
    """Return an optional id from the query string (None when absent); 400 when malformed."""
    from flask import abort, request

    raw = request.args.get(name, "")
    if not raw:
        return None
    value = whole_number(raw, minimum=1)
    if value is None:
        abort(400, description=f"{name} must be an id")
    return value


def page_arg(name: str = "page", *, maximum: int = MAX_PAGE) -> int:
    """Return the list page asked for in the query string (1 when absent); 400 otherwise.

    The one parser of ``?page=`` for every paginated list: a page past the database's
    OFFSET range, "-1" or "²" is a bad argument, not a 500 and not silently page 1.
    """
    from flask import abort, request

    raw = request.args.get(name, "1")
    page = whole_number(raw, minimum=1, maximum=maximum)
    if page is None:
        abort(400, description=f"{name} must be a whole number from 1 to {maximum:,}")
    return page


class InputRefused(ValueError):
    """A value a person typed that we will not store; the message says why, in their terms."""


# Plain decimals only: an optional minus, ASCII digits, an optional point and decimals. No
# exponent ("1e30"), no "NaN"/"Infinity", no "١٢" (Decimal() accepts all of these).
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]*)?|-?\.[0-9]+")
_EXPONENT = re.compile(r"[-+]?[0-9.]+[eE][-+]?[0-9]+")

# Column bounds (webapp/models_base.py): Money is Numeric(14, 2), Cost Numeric(14, 4), Percent
# Numeric(7, 3). A larger value is refused by PostgreSQL and, stored by SQLite, broke pages.
MONEY_MAX = Decimal("999999999.99")
COST_MAX = Decimal("999999999.9999")
PERCENT_MAX = Decimal("1000")
QUANTITY_MAX = 1_000_000
DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2099, 12, 31)


def _plain(amount: Decimal) -> str:
    return f"{amount:,f}"


def bounded_decimal(
    raw: object,
    *,
    places: int,
    minimum: Decimal,
    maximum: Decimal,
    what: str = "a number",
    unit: str = "",
) -> Decimal:
    """Return `raw` as a Decimal with at most `places` decimals within bounds, or refuse it."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise InputRefused(f"Enter {what}.")
    if len(text) > 40:
        raise InputRefused(f"Enter {what} from {_plain(minimum)}{unit} to {_plain(maximum)}{unit}.")
    if not text.isascii() or not _DECIMAL.fullmatch(text):
        if _EXPONENT.fullmatch(text):
            raise InputRefused("Write the number out in digits, without an exponent.")
        raise InputRefused(f"{text!r} is not a number.")
    value = Decimal(text)
    # Bounds first: quantizing 29 digits would overflow the decimal context.
    if not minimum <= value <= maximum:
        raise InputRefused(
            f"Enter a value from {_plain(minimum)}{unit} to {_plain(maximum)}{unit}."
        )
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step):
        unit_word = "decimal place" if places == 1 else "decimal places"
        raise InputRefused(f"Use at most {places} {unit_word}.")
    return value.quantize(step)


def unconfirmed_cost(
    cost: Decimal,
    what: str,
    *,
    confirmed: bool,
    confirm: str,
    because: str,
    negative_allowed: bool = False,
) -> str | None:
    """Return why a cost of zero or less cannot be saved without a confirmation, else None.

    The one rule for every cost staff type (PO lines, receipts, quote lines): a cost that
    rounded to $0 once ordered 100 laptops for nothing (issue 13), yet free goods and rebates
    are real, so such a cost is kept only when staff tick `confirm` (the box's label).
    `because` says when it is right ("the goods really are free"). A negative cost can be
    confirmed only where `negative_allowed` (a rebate on a quote line).
    """
    if cost > 0 or (confirmed and (cost == 0 or negative_allowed)):
        return None
    if cost < 0 and not negative_allowed:
        return f"{what} must be more than zero (got {cost})."
    return f"{what} must be more than zero (got {cost}) or, if {because}, tick {confirm}."


def bounded_date(raw: object, *, minimum: date = DATE_MIN, maximum: date = DATE_MAX) -> date:
    """Return `raw` (YYYY-MM-DD or a date) as a date within bounds, or refuse it."""
    if isinstance(raw, date):
        value = raw
    else:
        text = str(raw if raw is not None else "").strip()
        if not text.isascii() or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise InputRefused("Enter a date as YYYY-MM-DD.")
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise InputRefused(f"{text} is not a date.") from None
    if not minimum <= value <= maximum:
        raise InputRefused(f"Enter a date from {minimum.isoformat()} to {maximum.isoformat()}.")
    return value


def same_site_path(target: str | None, host: str | None = None) -> str | None:
    """Return `target` as a path on this site to redirect to, or None if it is not one.

    A full URL (a Referer) is accepted only for `host`. Control characters are refused: a
    newline in a Location header is header injection, and browsers drop tabs and read "/\\"
    as "//" (another site).
    """
    if not target or len(target) > 2000 or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    if "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if host is None or parts.scheme not in ("http", "https") or parts.netloc != host:
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target


def has_nul(values: Iterable[str]) -> bool:
    """Return whether any of `values` holds a NUL byte (PostgreSQL text cannot store one)."""
    return any("\x00" in value for value in values)
