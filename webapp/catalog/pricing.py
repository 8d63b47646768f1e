"""Sell prices from pricing rules: pure functions over a loaded PriceBook."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from webapp.money import HUNDRED, round_money

RuleKey = tuple[int | None, int | None, int | None]  # (price group, category, brand)


@dataclass(frozen=True)
class PriceBook:
    """All markup rules, keyed for constant-time look-up of the most specific one."""

    rules: dict[RuleKey, Decimal]
    default_markup_pct: Decimal

    def markup_pct(self, group_id: int | None, category_id: int, brand_id: int) -> Decimal:
        """Return the markup of the most specific matching rule.

        A rule for the customer's price group beats any general rule; within the same group
        level, brand+category beats brand, which beats category, which beats neither.
        """
        groups = (group_id, None) if group_id is not None else (None,)
        for group in groups:
            for key in (
                (group, category_id, brand_id),
                (group, None, brand_id),
                (group, category_id, None),
                (group, None, None),
            ):
                markup = self.rules.get(key)
                if markup is not None:
                    return markup
        return self.default_markup_pct

    def sell_price(
        self,
        *,
        fixed_price: Decimal | None,
        best_cost: Decimal | None,
        category_id: int,
        brand_id: int,
        group_id: int | None,
    ) -> Decimal | None:
        """Return the unit sell price, or None when the product has no price at all."""
        if fixed_price is not None:
            return fixed_price
        if best_cost is None:
            return None
        markup = self.markup_pct(group_id, category_id, brand_id)
        return round_money(best_cost * (HUNDRED + markup) / HUNDRED)

    def price_of(self, product, group_id: int | None) -> Decimal | None:
        return self.sell_price(
            fixed_price=product.fixed_price,
            best_cost=product.best_cost,
            category_id=product.category_id,
            brand_id=product.brand_id,
            group_id=group_id,
        )
