from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from webapp.money import round_money
from webapp.sales.totals import document_totals, line_amounts

prices = st.decimals(min_value="0.01", max_value="99999.99", places=2)
rates = st.sampled_from([Decimal("0"), Decimal("5"), Decimal("10"), Decimal("15"), Decimal("20")])
lines = st.lists(st.tuples(st.integers(1, 9999), prices, rates), min_size=1, max_size=20)


@given(
    lines,
    st.decimals(min_value="0", max_value="500", places=2),
    st.decimals(min_value="0", max_value="5", places=3),
    rates,
)
def test_total_is_the_sum_of_its_rounded_parts(items, shipping, surcharge, default_rate):
    totals = document_totals(
        items, shipping=shipping, surcharge_pct=surcharge, default_tax_rate=default_rate
    )
    parts = [a.subtotal + a.tax for a in totals.lines]
    parts += [totals.shipping, totals.shipping_tax, totals.surcharge, totals.surcharge_tax]
    assert totals.total == sum(parts, Decimal(0))
    assert totals.subtotal + totals.tax_total == totals.total
    for value in (*parts, totals.total):
        assert value == round_money(value)  # every amount is whole cents
        assert isinstance(value, Decimal)


@given(st.integers(1, 9999), prices, rates)
def test_line_tax_is_within_half_a_cent_of_exact(quantity, price, rate):
    amounts = line_amounts(quantity, price, rate)
    exact = quantity * price * rate / 100
    assert abs(amounts.tax - exact) <= Decimal("0.005")
    assert amounts.subtotal == quantity * price


@given(lines)
def test_no_surcharge_without_a_percentage(items):
    totals = document_totals(items, shipping=Decimal("10"), default_tax_rate=Decimal("10"))
    assert totals.surcharge == totals.surcharge_tax == Decimal("0.00")


def test_half_cents_round_up():
    assert line_amounts(1, Decimal("0.05"), Decimal("10")).tax == Decimal("0.01")
    assert line_amounts(1, Decimal("0.15"), Decimal("10")).tax == Decimal("0.02")


def test_a_card_surcharge_adds_its_percentage_of_what_the_card_pays_and_no_more():
    # Goods 100.00 + 10% tax = 110.00, shipping 20.00 + 2.00 tax: the card pays 132.00.
    # 1.5% of 132.00 is 1.98, tax included: 1.80 plus 0.18 tax (1.98 / 1.1 = 1.80).
    totals = document_totals(
        [(2, Decimal("50.00"), Decimal("10"))],
        shipping=Decimal("20.00"),
        surcharge_pct=Decimal("1.5"),
        default_tax_rate=Decimal("10"),
    )
    assert (totals.surcharge, totals.surcharge_tax) == (Decimal("1.80"), Decimal("0.18"))
    assert totals.tax_total == Decimal("12.18")
    assert totals.total == Decimal("133.98")  # 132.00 + 1.98, not 132.00 + 2.18 (1.65%)


def test_a_surcharge_on_an_untaxed_sale_carries_no_tax():
    totals = document_totals([(1, Decimal("200.00"), Decimal("0"))], surcharge_pct=Decimal("1.5"))
    assert (totals.surcharge, totals.surcharge_tax, totals.total) == (
        Decimal("3.00"), Decimal("0.00"), Decimal("203.00")
    )  # fmt: skip


@given(
    lines,
    st.decimals(min_value="0", max_value="500", places=2),
    st.decimals(min_value="0", max_value="5", places=3),
    rates,
)
def test_the_surcharge_is_its_percentage_of_the_rest_to_the_cent(
    items, shipping, surcharge, default_rate
):
    totals = document_totals(
        items, shipping=shipping, surcharge_pct=surcharge, default_tax_rate=default_rate
    )
    rest = totals.total - totals.surcharge - totals.surcharge_tax
    assert totals.surcharge + totals.surcharge_tax == round_money(rest * surcharge / 100)
