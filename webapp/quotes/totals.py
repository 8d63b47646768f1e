"""Quote maths: cost, sell, margin and markup per line and in total; the margin guard.

Pure Decimal arithmetic. Each line's sell subtotal, tax and cost total are rounded once, to
the cent, half up (as `webapp.sales.totals` does); margins are computed from those rounded
amounts, so line margins add up exactly to the total margin (`margin_total`, the one sum the
quote, the margin guard and the order desk share). Percentages are rounded to
1/100 of a percent, half up, and are None when their base is zero. The document total is the
sales document's own rule (`webapp.sales.totals.document_totals`), so what the approver
accepts is what the sales document charges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Protocol

from webapp.money import HUNDRED, round_money
from webapp.sales.totals import ZERO, Totals, document_totals

PCT = Decimal("0.01")


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    """Return part/whole as a percentage rounded to 0.01, or None when whole is zero."""
    if whole == 0:
        return None
    with localcontext(prec=80):  # an absurd stored price must still show, not raise
        return (part * HUNDRED / whole).quantize(PCT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PricedLine:
    """One quote line as the maths sees it."""

    key: str
    quantity: int
    unit_price: Decimal
    unit_cost: Decimal
    tax_rate: Decimal
    recurrence: str = "none"  # none, monthly, annual
    list_price: Decimal | None = None


@dataclass(frozen=True)
class LineFigures:
    subtotal: Decimal
    tax: Decimal
    cost: Decimal
    margin: Decimal
    margin_pct: Decimal | None  # margin / sell
    markup_pct: Decimal | None  # margin / cost
    discount_pct: Decimal | None  # (list - sell) / list, per unit


def line_figures(line: PricedLine) -> LineFigures:
    subtotal = round_money(line.unit_price * line.quantity)
    cost = round_money(line.unit_cost * line.quantity)
    margin = subtotal - cost
    discount = None
    if line.list_price is not None and line.list_price > 0:
        discount = percent_of(line.list_price - line.unit_price, line.list_price)
    return LineFigures(
        subtotal=subtotal,
        tax=round_money(subtotal * line.tax_rate / HUNDRED),
        cost=cost,
        margin=margin,
        margin_pct=percent_of(margin, subtotal),
        markup_pct=percent_of(margin, cost),
        discount_pct=discount,
    )


class _SellAndMargin(Protocol):
    @property
    def subtotal(self) -> Decimal: ...

    @property
    def margin(self) -> Decimal: ...


@dataclass(frozen=True)
class MarginTotal:
    """Lines' rounded sell and margin added up; the percentage is of sell, as per line."""

    sell: Decimal
    margin: Decimal

    @property
    def cost(self) -> Decimal:
        return self.sell - self.margin

    @property
    def margin_pct(self) -> Decimal | None:
        return percent_of(self.margin, self.sell)


def margin_total(lines: Iterable[_SellAndMargin]) -> MarginTotal:
    """Add up lines' sell subtotals and margins (each already rounded once, per line)."""
    sell = margin = ZERO
    for line in lines:
        sell += line.subtotal
        margin += line.margin
    return MarginTotal(sell=sell, margin=margin)


@dataclass(frozen=True)
class QuoteTotals:
    lines: tuple[LineFigures, ...]
    document: Totals  # what the sales document will charge (first period of recurring lines)
    one_off: Decimal  # goods subtotal of one-off lines
    monthly: Decimal  # goods subtotal per month of monthly lines
    annual: Decimal  # goods subtotal per year of annual lines
    cost: Decimal
    margin: Decimal

    @property
    def goods_subtotal(self) -> Decimal:
        return self.one_off + self.monthly + self.annual

    @property
    def margin_pct(self) -> Decimal | None:
        return percent_of(self.margin, self.goods_subtotal)

    @property
    def markup_pct(self) -> Decimal | None:
        return percent_of(self.margin, self.cost)


def quote_totals(
    lines: Sequence[PricedLine],
    *,
    shipping: Decimal = ZERO,
    surcharge_pct: Decimal = ZERO,
    default_tax_rate: Decimal = ZERO,
) -> QuoteTotals:
    """Total the chosen lines plus the shipping and surcharge header charges."""
    figures = tuple(line_figures(line) for line in lines)
    by_recurrence = {"none": ZERO, "monthly": ZERO, "annual": ZERO}
    for line, figure in zip(lines, figures, strict=True):
        by_recurrence[line.recurrence] += figure.subtotal
    document = document_totals(
        [(line.quantity, line.unit_price, line.tax_rate) for line in lines],
        shipping=shipping,
        surcharge_pct=surcharge_pct,
        default_tax_rate=default_tax_rate,
    )
    total = margin_total(figures)
    return QuoteTotals(
        lines=figures,
        document=document,
        one_off=by_recurrence["none"],
        monthly=by_recurrence["monthly"],
        annual=by_recurrence["annual"],
        cost=total.cost,
        margin=total.margin,
    )


# --- the margin guard ---------------------------------------------------------------------


@dataclass(frozen=True)
class CostedLine:
    """An accepted line with the cost it was quoted at and the supplier cost now."""

    key: str
    description: str
    quantity: int
    unit_price: Decimal
    quoted_cost: Decimal
    current_cost: Decimal


@dataclass(frozen=True)
class MarginCheck:
    floor_pct: Decimal
    quoted_margin_pct: Decimal | None
    current_margin_pct: Decimal | None
    risen: tuple[CostedLine, ...]  # lines whose cost went up since the quote was sent
    quoted_margin: Decimal = ZERO  # the accepted lines' margin at the quoted costs
    current_margin: Decimal = ZERO  # ... and at today's costs

    @property
    def held(self) -> bool:
        """Hold when a cost rose and the document's margin is now under the floor."""
        return (
            bool(self.risen)
            and self.current_margin_pct is not None
            and self.current_margin_pct < self.floor_pct
        )


def _margin(lines: Sequence[CostedLine], cost_of) -> tuple[Decimal, Decimal | None]:
    """The lines' margin amount and percentage of sell at the costs `cost_of` gives."""
    total = margin_total(
        line_figures(PricedLine(line.key, line.quantity, line.unit_price, cost_of(line), ZERO))
        for line in lines
    )
    return total.margin, total.margin_pct


def margin_guard(lines: Sequence[CostedLine], floor_pct: Decimal) -> MarginCheck:
    """Re-check the accepted lines' margin at today's supplier costs."""
    quoted, quoted_pct = _margin(lines, lambda line: line.quoted_cost)
    current, current_pct = _margin(lines, lambda line: line.current_cost)
    return MarginCheck(
        floor_pct=floor_pct,
        quoted_margin_pct=quoted_pct,
        current_margin_pct=current_pct,
        risen=tuple(line for line in lines if line.current_cost > line.quoted_cost),
        quoted_margin=quoted,
        current_margin=current,
    )
