"""Document totals: pure Decimal arithmetic, each amount rounded once, to the cent.

Rules: a line's subtotal is quantity x unit price; its tax is the subtotal x its rate. The
card surcharge is a percentage of everything else the card pays (goods and shipping, tax
included), and that amount includes its own tax at the default rate: 1.5% adds 1.5% to
what the card pays, not 1.65%. Shipping is taxed at the default rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from webapp.money import HUNDRED, apply_percent, round_money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineAmounts:
    subtotal: Decimal
    tax: Decimal


def line_amounts(quantity: int, unit_price: Decimal, tax_rate: Decimal) -> LineAmounts:
    subtotal = round_money(unit_price * quantity)
    return LineAmounts(subtotal, apply_percent(subtotal, tax_rate))


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineAmounts, ...]
    goods_subtotal: Decimal
    shipping: Decimal
    shipping_tax: Decimal
    surcharge: Decimal
    surcharge_tax: Decimal

    @property
    def subtotal(self) -> Decimal:
        return self.goods_subtotal + self.shipping + self.surcharge

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO) + self.shipping_tax + self.surcharge_tax

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax_total


def document_totals(
    lines: Sequence[tuple[int, Decimal, Decimal]],
    *,
    shipping: Decimal = ZERO,
    surcharge_pct: Decimal = ZERO,
    default_tax_rate: Decimal = ZERO,
) -> Totals:
    """Total (quantity, unit price, tax rate) lines plus shipping and card surcharge."""
    amounts = tuple(line_amounts(qty, price, rate) for qty, price, rate in lines)
    goods = sum((a.subtotal for a in amounts), ZERO)
    goods_tax = sum((a.tax for a in amounts), ZERO)
    shipping = round_money(shipping)
    shipping_tax = apply_percent(shipping, default_tax_rate)
    surcharge = apply_percent(goods + goods_tax + shipping + shipping_tax, surcharge_pct)
    # Tax inclusive: the amount before tax is what, taxed, gives the surcharge.
    surcharge_ex_tax = round_money(surcharge * HUNDRED / (HUNDRED + default_tax_rate))
    return Totals(
        lines=amounts,
        goods_subtotal=goods,
        shipping=shipping,
        shipping_tax=shipping_tax,
        surcharge=surcharge_ex_tax,
        surcharge_tax=surcharge - surcharge_ex_tax,
    )
