"""Money arithmetic: Decimal only, rounded once per line, half away from zero."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

CENT = Decimal("0.01")
HUNDRED = Decimal(100)

_SYMBOLS = {"USD": "$", "AUD": "$", "NZD": "$", "CAD": "$", "GBP": "£", "EUR": "€"}


def round_money(amount: Decimal) -> Decimal:
    """Round to the cent, half up (the rule tax authorities and ledgers use)."""
    # Enough digits for any amount already stored (a 1e30 price from before input was
    # bounded): the default 28 would raise, and the quote could no longer be opened or fixed.
    with localcontext(prec=80):
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def apply_percent(amount: Decimal, percent: Decimal) -> Decimal:
    """Return `percent`% of `amount`, rounded to the cent."""
    return round_money(amount * percent / HUNDRED)


def parse_decimal(text: str, *, decimal_sep: str = ".", thousands_sep: str = "") -> Decimal:
    """Parse a user- or feed-supplied number; raise ValueError with a readable message."""
    cleaned = text.strip()
    if thousands_sep:
        cleaned = cleaned.replace(thousands_sep, "")
    if decimal_sep != ".":
        cleaned = cleaned.replace(decimal_sep, ".")
    cleaned = cleaned.lstrip("$£€")
    # Decimal() reads digits of any script ("١٢٣", "９９"): a feed's stray ones are not a cost.
    if not cleaned.isascii():
        raise ValueError(f"{text!r} is not a number (digits 0-9 only)")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number")
    return value


def format_money(amount: Decimal | None, currency: str = "USD") -> str:
    """Format an amount for people: symbol, thousands separators, two decimals."""
    if amount is None:
        return "—"
    symbol = _SYMBOLS.get(currency, currency + " ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(round_money(amount)):,.2f}"
