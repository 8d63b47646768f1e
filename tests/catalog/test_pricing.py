from decimal import Decimal

from webapp.catalog.pricing import PriceBook

GROUP, CAT, BRAND = 7, 3, 5
book = PriceBook(
    rules={
        (None, CAT, None): Decimal("10"),
        (None, None, BRAND): Decimal("20"),
        (None, CAT, BRAND): Decimal("30"),
        (GROUP, None, None): Decimal("5"),
    },
    default_markup_pct=Decimal("15"),
)


def price(**kwargs):
    args = {
        "fixed_price": None,
        "best_cost": Decimal("100"),
        "category_id": CAT,
        "brand_id": BRAND,
        "group_id": None,
    }
    args.update(kwargs)
    return book.sell_price(**args)


def test_brand_and_category_rule_beats_brand_beats_category_beats_default():
    assert price() == Decimal("130.00")
    assert price(category_id=99) == Decimal("120.00")
    assert price(brand_id=99) == Decimal("110.00")
    assert price(category_id=99, brand_id=99) == Decimal("115.00")


def test_a_price_group_rule_beats_every_general_rule():
    assert price(group_id=GROUP) == Decimal("105.00")


def test_a_group_without_rules_gets_the_general_price():
    assert price(group_id=42) == Decimal("130.00")


def test_fixed_price_wins_over_rules():
    assert price(fixed_price=Decimal("9.99")) == Decimal("9.99")


def test_no_cost_and_no_fixed_price_means_no_price():
    assert price(best_cost=None) is None


def test_sell_price_rounds_half_up_to_the_cent():
    assert price(best_cost=Decimal("0.0125"), category_id=99, brand_id=99) == Decimal("0.01")
    assert price(best_cost=Decimal("1.0001"), category_id=99, brand_id=99) == Decimal("1.15")
