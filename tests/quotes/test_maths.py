"""Pricing and margin maths (property tests), selection rules and the margin guard."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.money import round_money
from webapp.quotes.models import ApprovalRuleKind
from webapp.quotes.rules import Rule, approval_reasons
from webapp.quotes.selection import (
    SelectionError,
    default_selection,
    largest_selection,
    parse_selection,
)
from webapp.quotes.totals import CostedLine, PricedLine, line_figures, margin_guard, quote_totals
from webapp.sales.totals import document_totals

money = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False)
costs = st.decimals(min_value=0, max_value=100_000, places=4, allow_nan=False)
rates = st.sampled_from([Decimal("0"), Decimal("10"), Decimal("15"), Decimal("12.5")])
quantities = st.integers(min_value=1, max_value=9999)
recurrences = st.sampled_from(["none", "monthly", "annual"])


@st.composite
def priced_lines(draw, cost=costs):
    return PricedLine(
        key=f"l{draw(st.integers(1, 10**6))}",
        quantity=draw(quantities),
        unit_price=draw(money),
        unit_cost=draw(cost),
        tax_rate=draw(rates),
        recurrence=draw(recurrences),
        list_price=draw(st.none() | money),
    )


@given(priced_lines())
def test_a_line_is_rounded_once_and_its_margin_and_cost_make_its_sell(line):
    figures = line_figures(line)
    assert figures.subtotal == round_money(line.unit_price * line.quantity)
    assert figures.cost == round_money(line.unit_cost * line.quantity)
    assert figures.margin + figures.cost == figures.subtotal
    assert figures.tax == round_money(figures.subtotal * line.tax_rate / 100)
    for amount in (figures.subtotal, figures.tax, figures.cost):
        assert amount == amount.quantize(Decimal("0.01"))
    if figures.subtotal == 0:
        assert figures.margin_pct is None
    if figures.cost == 0:
        assert figures.markup_pct is None


@given(priced_lines(cost=st.just(Decimal(0))))
def test_a_line_at_no_cost_has_all_its_sell_as_margin(line):
    figures = line_figures(line)
    assert figures.margin == figures.subtotal
    assert figures.margin_pct in (None, Decimal("100.00"))


@given(st.lists(priced_lines(), max_size=12), money, st.sampled_from(["0", "1.5", "3"]))
def test_quote_totals_add_up_and_match_the_sales_document_rule(lines, shipping, surcharge):
    totals = quote_totals(
        lines, shipping=shipping, surcharge_pct=Decimal(surcharge), default_tax_rate=Decimal(10)
    )
    assert totals.one_off + totals.monthly + totals.annual == sum(
        (f.subtotal for f in totals.lines), Decimal(0)
    )
    assert totals.goods_subtotal == totals.document.goods_subtotal
    assert totals.margin == sum((f.margin for f in totals.lines), Decimal(0))
    assert totals.margin + totals.cost == totals.goods_subtotal
    assert totals.document.total == totals.document.subtotal + totals.document.tax_total
    # What the approver accepts is what the sales document will charge.
    expected = document_totals(
        [(line.quantity, line.unit_price, line.tax_rate) for line in lines],
        shipping=shipping,
        surcharge_pct=Decimal(surcharge),
        default_tax_rate=Decimal(10),
    )
    assert totals.document.total == expected.total
    assert totals.document.tax_total == sum((f.tax for f in totals.lines), Decimal(0)) + (
        expected.shipping_tax + expected.surcharge_tax
    )


@given(st.lists(priced_lines(), min_size=1, max_size=8))
def test_margin_percent_stays_within_bounds_when_selling_at_or_above_cost(lines):
    lines = [
        PricedLine(
            key=line.key,
            quantity=line.quantity,
            unit_price=max(line.unit_price, round_money(line.unit_cost)),
            unit_cost=round_money(line.unit_cost),
            tax_rate=line.tax_rate,
        )
        for line in lines
    ]
    pct = quote_totals(lines).margin_pct
    assert pct is None or Decimal(0) <= pct <= Decimal(100)


def test_discount_is_measured_against_the_list_price():
    line = PricedLine("l1", 1, Decimal("90.00"), Decimal("50"), Decimal(0), list_price=Decimal(100))
    figures = line_figures(line)
    assert figures.discount_pct == Decimal("10.00")
    assert figures.margin_pct == Decimal("44.44")  # 40 / 90
    assert figures.markup_pct == Decimal("80.00")  # 40 / 50


@st.composite
def costed_lines(draw):
    quoted = draw(st.decimals(min_value=1, max_value=1000, places=2))
    return CostedLine(
        key="l",
        description="x",
        quantity=draw(st.integers(1, 50)),
        unit_price=draw(st.decimals(min_value=1, max_value=2000, places=2)),
        quoted_cost=quoted,
        current_cost=draw(st.decimals(min_value=0, max_value=2000, places=2)),
    )


@given(st.lists(costed_lines(), min_size=1, max_size=6), st.decimals(0, 60, places=1))
def test_the_margin_guard_holds_only_when_a_cost_rose_and_margin_fell_under_the_floor(lines, floor):
    check = margin_guard(lines, floor)
    rose = any(line.current_cost > line.quoted_cost for line in lines)
    assert set(check.risen) == {line for line in lines if line.current_cost > line.quoted_cost}
    assert check.held == (
        rose and check.current_margin_pct is not None and check.current_margin_pct < floor
    )
    if not rose:
        assert not check.held


def test_the_margin_guard_example():
    lines = [
        CostedLine("a", "Laptop", 1, Decimal("1100.00"), Decimal("1000"), Decimal("1080")),
        CostedLine("b", "Service", 2, Decimal("45.00"), Decimal("20"), Decimal("20")),
    ]
    check = margin_guard(lines, Decimal("10"))
    # Sell 1190; cost 1040 then 1120: margin 12.61% then 5.88%.
    assert (check.quoted_margin_pct, check.current_margin_pct) == (
        Decimal("12.61"),
        Decimal("5.88"),
    )
    assert check.held and [line.key for line in check.risen] == ["a"]


# --- selection rules on a snapshot ----------------------------------------------------------


def _line(key, price="10.00", qty=1, **fields):
    return {
        "key": key,
        "description": key.upper(),
        "sku": "",
        "product_id": None,
        "quantity": qty,
        "unit_price": price,
        "unit_cost": "5",
        "list_price": None,
        "tax_rate": "10",
        "tax_code": "GST",
        "optional": False,
        "qty_editable": False,
        "min_qty": None,
        "max_qty": None,
        "recurrence": "none",
        "term_months": None,
        **fields,
    }


SNAPSHOT = {
    "currency": "USD",
    "shipping_charge": "0.00",
    "surcharge_pct": "0",
    "default_tax_rate": "10",
    "sections": [
        {
            "key": "s1",
            "title": "Base",
            "choose_one": False,
            "lines": [_line("a"), _line("b", optional=True)],
        },
        {
            "key": "s2",
            "title": "Pick",
            "choose_one": True,
            "lines": [_line("c", "100.00"), _line("d", "300.00")],
        },
        {
            "key": "s3",
            "title": "Seats",
            "choose_one": False,
            "lines": [_line("e", qty=5, qty_editable=True, min_qty=2, max_qty=20)],
        },
    ],
}


def _form(**values):
    return lambda name: (
        [values[name]] if isinstance(values.get(name), str) else values.get(name, [])
    )


def test_default_and_largest_selections():
    assert [(c.key, c.quantity) for c in default_selection(SNAPSHOT)] == [
        ("a", 1),
        ("c", 1),
        ("e", 5),
    ]
    assert [(c.key, c.quantity) for c in largest_selection(SNAPSHOT)] == [
        ("a", 1),
        ("b", 1),
        ("d", 1),
        ("e", 20),
    ]


@given(st.integers(2, 20), st.booleans(), st.sampled_from(["c", "d"]))
def test_any_allowed_choice_parses_to_exactly_what_was_picked(seats, with_b, pick):
    values = {"choice-s2": pick, "qty-e": str(seats)}
    if with_b:
        values["opt-b"] = "1"
    chosen = parse_selection(SNAPSHOT, _form(**values))
    expected = ["a"] + (["b"] if with_b else []) + [pick, "e"]
    assert [c.key for c in chosen] == expected
    assert chosen[-1].quantity == seats


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "Choose one option in “Pick”."),
        ({"choice-s2": ["c", "d"]}, "Choose only one option in “Pick”."),
        ({"choice-s2": "a"}, "That is not one of the options in “Pick”."),
        ({"choice-s2": "c", "qty-e": "1"}, "must be between 2 and 20"),
        ({"choice-s2": "c", "qty-e": "21"}, "must be between 2 and 20"),
        ({"choice-s2": "c", "qty-e": "2.5"}, "must be a whole number"),
        ({"choice-s2": "c", "qty-a": "3"}, "cannot be changed"),
    ],
)
def test_choices_the_quote_does_not_allow_are_refused(values, message):
    with pytest.raises(SelectionError, match=message.replace("(", r"\(")):
        parse_selection(SNAPSHOT, _form(**values))


def test_approval_rules_list_every_reason():
    snap = copy.deepcopy({**SNAPSHOT, "sections": SNAPSHOT["sections"][:2]})
    snap["sections"][0]["lines"][0]["list_price"] = "20.00"  # a: sold at 10, 50% off
    rules = [
        Rule(ApprovalRuleKind.TOTAL_ABOVE, Decimal("300")),
        Rule(ApprovalRuleKind.LINE_DISCOUNT_ABOVE, Decimal("20")),
        Rule(ApprovalRuleKind.LINE_MARGIN_BELOW, Decimal("60")),
        Rule(ApprovalRuleKind.TOTAL_MARGIN_BELOW, Decimal("99")),
        Rule(ApprovalRuleKind.USER_ALWAYS, user_id=7, user_name="Sam"),
        Rule(ApprovalRuleKind.USER_ALWAYS, user_id=8, user_name="Kim"),
    ]
    reasons = approval_reasons(rules, snap, owner_id=7)
    assert reasons[0] == "Total $352.00 is above $300.00."  # largest: a + b + d = 320 + tax
    assert "“A” is discounted 50%, above 20%." in reasons
    assert any(r.startswith("“A” has a margin of 50%, below 60%") for r in reasons)
    assert any(r.startswith("Total margin") for r in reasons)
    assert "Quotes by Sam always need approval." in reasons
    assert not any("Kim" in r for r in reasons)
    assert approval_reasons([], snap, owner_id=7) == []
