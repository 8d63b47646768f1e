"""Purchasing optimizer: hand-computed cases and properties over random small instances."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.purchasing.optimizer import (
    DemandLine,
    Offer,
    Plan,
    Settings,
    Supplier,
    first_with_stock,
    plan,
)
from webapp.purchasing.optimizer import mip as mip_module
from webapp.purchasing.optimizer.allocation import GroupAlloc

D = Decimal


def supplier(sid: str, **kw) -> Supplier:
    return Supplier(id=sid, name=f"Supplier {sid}", **kw)


def bought(p: Plan, line_id: str) -> dict[object, int]:
    """Return supplier id -> units bought from stock (not back-ordered) for one demand line."""
    out: dict[object, int] = {}
    for line in p.lines:
        if line.demand_line_id == line_id and not line.backorder:
            out[line.supplier_id] = out.get(line.supplier_id, 0) + line.quantity
    return out


def candidate(p: Plan, line_id: str, supplier_id: str):
    line = next(x for x in p.lines if x.demand_line_id == line_id)
    return next(c for c in line.decision.candidates if c.supplier_id == supplier_id)


# --- hand-computed instances -------------------------------------------------------------


def test_free_freight_threshold_makes_consolidating_on_one_supplier_cheaper():
    # Cheapest per product: P1 from B (47.50) + P2 from A (50.00) = 97.50 + 2 x $20 freight
    # = 137.50. All from A reaches A's $100 threshold: 100.00, no freight.
    suppliers = [
        supplier("A", freight=D("20"), free_freight_threshold=D("100")),
        supplier("B", freight=D("20"), free_freight_threshold=D("100")),
    ]
    offers = [
        Offer("A", "P1", D("10.00"), 50),
        Offer("B", "P1", D("9.50"), 50),
        Offer("A", "P2", D("10.00"), 50),
        Offer("B", "P2", D("12.00"), 50),
    ]
    demand = [DemandLine("L1", "P1", 5), DemandLine("L2", "P2", 5)]

    p = plan(demand, offers, suppliers)

    assert p.total_cost == D("100.00")
    assert p.freight_cost == 0
    assert bought(p, "L1") == {"A": 5} and bought(p, "L2") == {"A": 5}
    assert p.orders[0].freight_waived
    assert "higher landed cost" in candidate(p, "L1", "B").reason


def test_priority_premium_tips_the_choice_to_the_favoured_supplier():
    # A: 100.00 at -3% -> 97.00 effective; B: 98.00 at 0% -> 98.00. A wins, pays real 100.00.
    suppliers = [supplier("A", premium_pct=D("-3")), supplier("B")]
    offers = [Offer("A", "P", D("100.00"), 5), Offer("B", "P", D("98.00"), 5)]

    p = plan([DemandLine("L1", "P", 1)], offers, suppliers)

    assert bought(p, "L1") == {"A": 1}
    assert p.total_cost == D("100.00")
    assert p.objective == D("97.0000")
    reason = candidate(p, "L1", "B").reason
    assert "higher landed cost by $1.00" in reason
    assert "priority premium" in reason


def test_positive_premium_steers_away_from_a_slightly_cheaper_supplier():
    suppliers = [supplier("A", premium_pct=D("5")), supplier("B")]
    offers = [Offer("A", "P", D("10.00"), 5), Offer("B", "P", D("10.40"), 5)]

    p = plan([DemandLine("L1", "P", 2)], offers, suppliers)

    assert bought(p, "L1") == {"B": 2}
    assert p.total_cost == D("20.80")


def test_offline_supplier_is_not_used_while_online_stock_covers_the_line():
    suppliers = [supplier("A"), supplier("C", online=False)]
    offers = [Offer("A", "P", D("10.00"), 3), Offer("C", "P", D("5.00"), 100)]

    p = plan([DemandLine("L1", "P", 3)], offers, suppliers)

    assert bought(p, "L1") == {"A": 3}
    assert p.offline_units == 0
    assert candidate(p, "L1", "C").reason == "offline supplier — last resort"


def test_offline_supplier_covers_only_what_online_stock_cannot():
    suppliers = [supplier("A"), supplier("C", online=False)]
    offers = [Offer("A", "P", D("10.00"), 3), Offer("C", "P", D("5.00"), 100)]

    p = plan([DemandLine("L1", "P", 5)], offers, suppliers)

    assert bought(p, "L1") == {"A": 3, "C": 2}
    assert p.offline_units == 2
    assert "last resort" in candidate(p, "L1", "C").reason


def test_line_is_split_when_no_single_supplier_has_enough():
    suppliers = [supplier("A"), supplier("B")]
    offers = [Offer("A", "P", D("10.00"), 3), Offer("B", "P", D("11.00"), 10)]

    p = plan([DemandLine("L1", "P", 5)], offers, suppliers)

    assert bought(p, "L1") == {"A": 3, "B": 2}
    assert p.total_cost == D("52.00")
    assert "split: Supplier A had only 3" in candidate(p, "L1", "A").reason


def test_shortfall_is_backordered_to_the_supplier_with_the_best_eta():
    suppliers = [supplier("A"), supplier("B"), supplier("C")]
    offers = [
        Offer("A", "P", D("10.00"), 2, eta_days=7),
        Offer("B", "P", D("12.00"), 1, eta_days=2),
        Offer("C", "P", D("9.00"), 0, eta_days=5),
    ]

    p = plan([DemandLine("L1", "P", 6)], offers, suppliers)

    assert bought(p, "L1") == {"A": 2, "B": 1}
    backorders = [x for x in p.lines if x.backorder]
    assert [(x.supplier_id, x.quantity) for x in backorders] == [("B", 3)]
    assert p.backorder_units == 3
    assert "best ETA (2 days)" in candidate(p, "L1", "B").reason
    assert candidate(p, "L1", "C").reason == "no stock"


def test_backorder_eta_tie_goes_to_the_cheaper_supplier():
    suppliers = [supplier("A"), supplier("B")]
    offers = [
        Offer("A", "P", D("10.00"), 0, eta_days=3),
        Offer("B", "P", D("9.00"), 0, eta_days=3),
    ]

    p = plan([DemandLine("L1", "P", 4)], offers, suppliers)

    assert [(x.supplier_id, x.quantity, x.backorder) for x in p.lines] == [("B", 4, True)]


def test_bid_price_is_used_for_the_customer_it_was_granted_to():
    suppliers = [supplier("A"), supplier("B")]
    offers = [
        Offer("A", "P", D("100.00"), 10, bids={"X": D("90.00")}),
        Offer("B", "P", D("95.00"), 10),
    ]
    demand = [DemandLine("L1", "P", 1, customer_id="X"), DemandLine("L2", "P", 1, "Y")]

    p = plan(demand, offers, suppliers)

    line1 = next(x for x in p.lines if x.demand_line_id == "L1")
    assert (line1.supplier_id, line1.unit_cost, line1.bid_used) == ("A", D("90.00"), True)
    assert "bid price used" in candidate(p, "L1", "A").reason
    assert bought(p, "L2") == {"B": 1}


def test_bid_price_loses_to_a_cheaper_regular_offer():
    suppliers = [supplier("A"), supplier("B")]
    offers = [
        Offer("A", "P", D("100.00"), 10, bids={"X": D("90.00")}),
        Offer("B", "P", D("85.00"), 10),
    ]

    p = plan([DemandLine("L1", "P", 1, customer_id="X")], offers, suppliers)

    (line,) = p.lines
    assert (line.supplier_id, line.unit_cost, line.bid_used) == ("B", D("85.00"), False)


def test_no_split_setting_buys_each_line_from_one_supplier():
    # Split: 5 from A + 3 from B = 83.00. Whole lines: L1 from A (40) + L2 from B (44) = 84.00.
    suppliers = [supplier("A"), supplier("B")]
    offers = [Offer("A", "P", D("10.00"), 5), Offer("B", "P", D("11.00"), 5)]
    demand = [DemandLine("L1", "P", 4), DemandLine("L2", "P", 4)]

    split = plan(demand, offers, suppliers)
    whole = plan(demand, offers, suppliers, Settings(allow_split=False))

    assert split.total_cost == D("83.00")
    assert whole.total_cost == D("84.00")
    assert all(len(bought(whole, line.id)) == 1 for line in demand)


def test_product_nobody_offers_is_reported_unsourced():
    p = plan([DemandLine("L1", "NOPE", 2)], [], [supplier("A")])

    assert p.orders == ()
    assert [(x.demand_line_id, x.quantity) for x in p.unsourced] == [("L1", 2)]
    assert p.unsourced_units == 2 and p.total_cost == 0


def test_decision_record_explains_every_candidate_and_serialises_to_json():
    suppliers = [
        supplier("A", freight=D("15"), free_freight_threshold=D("500")),
        supplier("B", freight=D("25")),
        supplier("C", online=False),
        supplier("E"),
    ]
    offers = [
        Offer("A", "P", D("20.00"), 4, eta_days=3),
        Offer("B", "P", D("21.00"), 10, eta_days=1),
        Offer("C", "P", D("15.00"), 10),
        Offer("E", "P", D("19.00"), 0),
    ]

    p = plan([DemandLine("L1", "P", 3)], offers, suppliers)

    decision = p.lines[0].decision
    assert {c.supplier_id for c in decision.candidates} == {"A", "B", "C", "E"}
    assert [c.supplier_id for c in decision.candidates if c.won] == ["A"]
    assert all(c.reason for c in decision.candidates)
    assert "freight $15.00" in candidate(p, "L1", "A").freight_note
    assert decision.summary == "3 from Supplier A"
    data = json.loads(json.dumps(p.to_dict()))
    assert data["orders"][0]["lines"][0]["decision"]["candidates"][0]["unit_cost"] == "15.00"


def test_solver_disabled_returns_greedy_plan():
    p = plan(
        [DemandLine("L1", "P", 1)],
        [Offer("A", "P", D("1"), 1)],
        [supplier("A")],
        Settings(use_solver=False),
    )

    assert p.method == "greedy" and p.mip_gap is None


def test_solver_without_solution_falls_back_to_greedy(monkeypatch):
    monkeypatch.setattr(
        mip_module, "solve", lambda *a, **k: mip_module.MipResult(None, None, "Time limit", 2.0)
    )
    p = plan([DemandLine("L1", "P", 1)], [Offer("A", "P", D("1"), 1)], [supplier("A")])

    assert p.method == "greedy"
    assert "no usable solution" in p.notes[0]


def test_solver_incumbent_worse_than_greedy_is_discarded(monkeypatch):
    suppliers = [supplier("A"), supplier("B")]
    offers = [Offer("A", "P", D("10.00"), 5), Offer("B", "P", D("30.00"), 5)]

    def worse(inst, start, *args):
        fills = [{1: g.demand} for g in inst.groups]
        return mip_module.MipResult(GroupAlloc(fills, [0]), 0.5, "Time limit reached", 2.0)

    monkeypatch.setattr(mip_module, "solve", worse)
    p = plan([DemandLine("L1", "P", 2)], offers, suppliers)

    assert p.method == "greedy"
    assert bought(p, "L1") == {"A": 2}
    assert "cost more than greedy" in p.notes[0]


def test_mip_is_used_and_reports_its_gap():
    p = plan([DemandLine("L1", "P", 1)], [Offer("A", "P", D("1"), 1)], [supplier("A")])

    assert p.method == "mip"
    assert p.mip_gap is not None and p.mip_gap <= 1e-3
    assert p.solve_seconds > 0


@pytest.mark.parametrize(
    ("line", "offer"),
    [
        (DemandLine("L1", "P", 0), Offer("A", "P", D("1"), 1)),
        (DemandLine("L1", "P", 1), Offer("A", "P", 1.5, 1)),  # type: ignore[arg-type]
        (DemandLine("L1", "P", 1), Offer("A", "P", D("1"), -1)),
        (DemandLine("L1", "P", 1), Offer("Z", "P", D("1"), 1)),
    ],
)
def test_invalid_input_is_rejected(line, offer):
    with pytest.raises(ValueError):
        plan([line], [offer], [supplier("A")])


# --- properties over random small instances ----------------------------------------------

money = st.integers(min_value=100, max_value=5000).map(lambda c: D(c) / 100)


@st.composite
def instances(draw):
    n_sup = draw(st.integers(1, 4))
    suppliers = [
        Supplier(
            id=f"S{i}",
            name=f"S{i}",
            freight=draw(st.sampled_from([D(0), D("10"), D("25.50"), D("40")])),
            free_freight_threshold=draw(st.sampled_from([None, D("50"), D("120"), D("300")])),
            premium_pct=draw(st.sampled_from([D(-3), D(0), D("2.5"), D(5)])),
            online=draw(st.booleans()) if i else True,
        )
        for i in range(n_sup)
    ]
    products = [f"P{j}" for j in range(draw(st.integers(1, 3)))]
    offers = []
    for p in products:
        for s in suppliers:
            if draw(st.booleans()):
                bids = {"c1": draw(money)} if draw(st.integers(0, 3)) == 0 else {}
                offers.append(
                    Offer(
                        s.id,
                        p,
                        draw(money),
                        draw(st.integers(0, 10)),
                        draw(st.one_of(st.none(), st.integers(1, 9))),
                        bids,
                    )
                )
    demand = [
        DemandLine(
            f"L{k}",
            draw(st.sampled_from(products)),
            draw(st.integers(1, 8)),
            draw(st.sampled_from([None, "c1", "c2"])),
        )
        for k in range(draw(st.integers(1, 6)))
    ]
    return demand, offers, suppliers


def assert_plan_is_valid(p: Plan, demand, offers, suppliers) -> None:
    online = {s.id: s.online for s in suppliers}
    stock = {(o.supplier_id, o.product_id): o.stock for o in offers}
    used: dict[tuple[object, object], int] = {}
    for line in demand:
        parts = [x for x in (*p.lines, *p.unsourced) if x.demand_line_id == line.id]
        assert sum(x.quantity for x in parts) == line.quantity
        for x in parts:
            if not x.backorder:
                key = (x.supplier_id, x.product_id)
                used[key] = used.get(key, 0) + x.quantity
    assert all(q <= stock[key] for key, q in used.items())

    # Back-orders only for what total stock cannot cover; offline only past online stock.
    short = offline = 0
    for product in {line.product_id for line in demand}:
        need = sum(line.quantity for line in demand if line.product_id == product)
        on = sum(o.stock for o in offers if o.product_id == product and online[o.supplier_id])
        off = sum(o.stock for o in offers if o.product_id == product) - on
        short += max(0, need - on - off)
        offline += min(max(0, need - on), off)
    assert p.backorder_units + p.unsourced_units == short
    assert p.offline_units == offline

    money_values = [p.goods_cost, p.freight_cost, p.total_cost, p.objective]
    for order in p.orders:
        money_values += [order.subtotal, order.freight, order.total]
        assert order.subtotal == sum((x.line_total for x in order.lines), D(0))
        for x in order.lines:
            money_values += [x.unit_cost, x.line_total]
            for c in x.decision.candidates:
                money_values += [c.unit_cost, c.effective_unit_cost, c.freight]
                assert c.reason
    assert all(isinstance(v, Decimal) for v in money_values)
    assert p.total_cost == sum((o.total for o in p.orders), D(0))


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(instances())
def test_plan_meets_demand_within_stock_and_backorders_only_the_shortfall(case):
    demand, offers, suppliers = case
    assert_plan_is_valid(plan(demand, offers, suppliers), demand, offers, suppliers)


@FAST
@given(instances())
def test_plan_never_costs_more_than_greedy_or_first_with_stock(case):
    demand, offers, suppliers = case
    best = plan(demand, offers, suppliers)
    greedy = plan(demand, offers, suppliers, Settings(use_solver=False))
    naive = first_with_stock(demand, offers, suppliers)

    assert_plan_is_valid(greedy, demand, offers, suppliers)
    assert_plan_is_valid(naive, demand, offers, suppliers)
    assert best.objective <= greedy.objective <= naive.objective
    if all(s.premium_pct == 0 for s in suppliers):
        assert best.total_cost <= naive.total_cost


@FAST
@given(instances())
def test_no_split_plan_keeps_lines_whole_when_one_supplier_could_hold_them(case):
    demand, offers, suppliers = case
    p = plan(demand, offers, suppliers, Settings(allow_split=False))
    greedy = plan(demand, offers, suppliers, Settings(allow_split=False, use_solver=False))

    for line in demand:
        biggest = max((o.stock for o in offers if o.product_id == line.product_id), default=0)
        if line.quantity <= biggest:
            assert len(bought(p, line.id)) <= 1
    assert (p.backorder_units, p.offline_units, p.objective) <= (
        greedy.backorder_units,
        greedy.offline_units,
        greedy.objective,
    )
