"""Who supplies how much of each line, and its exact cost in Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .instance import Instance

ZERO = Decimal(0)


@dataclass
class GroupAlloc:
    """Quantities per group: offer index -> units bought, plus units back-ordered."""

    fills: list[dict[int, int]]
    backorders: list[int]


@dataclass
class LineAlloc:
    """Quantities per demand line: (offer index, units) pairs, plus units back-ordered."""

    fills: list[list[tuple[int, int]]]
    backorders: list[int]


@dataclass(frozen=True)
class Costs:
    """Exact money totals of an allocation and the units that were not bought normally."""

    goods: Decimal
    freight: Decimal
    objective: Decimal
    subtotals: dict[int, Decimal]
    freights: dict[int, Decimal]
    backorder_units: int
    offline_units: int
    unsourced_units: int

    @property
    def total(self) -> Decimal:
        """Return goods plus freight: what the MSP actually pays."""
        return self.goods + self.freight

    @property
    def rank(self) -> tuple[int, int, Decimal]:
        """Order plans: fewest back-ordered units, then fewest offline units, then cheapest."""
        return (self.backorder_units, self.offline_units, self.objective)


def to_lines(inst: Instance, alloc: GroupAlloc) -> LineAlloc:
    """Spread each group's quantities over its lines, splitting as few lines as possible."""
    fills: list[list[tuple[int, int]]] = [[] for _ in inst.demand]
    backorders = [0] * len(inst.demand)
    for g, group in enumerate(inst.groups):
        if len(group.lines) == 1:
            li = group.lines[0]
            fills[li] = sorted(alloc.fills[g].items())
            backorders[li] = alloc.backorders[g]
            continue
        # Best-fit decreasing: each line goes whole to the tightest bucket that holds it.
        buckets = [[o, q] for o, q in sorted(alloc.fills[g].items(), key=lambda kv: -kv[1])]
        left_bo = alloc.backorders[g]
        for li in sorted(group.lines, key=lambda i: -inst.demand[i].quantity):
            need = inst.demand[li].quantity
            fit = [b for b in buckets if b[1] >= need]
            if fit:
                best = min(fit, key=lambda b: b[1])
                best[1] -= need
                fills[li] = [(best[0], need)]
                continue
            taken: list[tuple[int, int]] = []
            for b in sorted(buckets, key=lambda b: -b[1]):
                if need == 0:
                    break
                q = min(need, b[1])
                if q:
                    b[1] -= q
                    need -= q
                    taken.append((b[0], q))
            fills[li] = sorted(taken)
            bo = min(need, left_bo)
            left_bo -= bo
            backorders[li] = bo
    return LineAlloc(fills, backorders)


def to_groups(inst: Instance, alloc: LineAlloc) -> GroupAlloc:
    """Sum line quantities per group (used to seed the solver with a line-level plan)."""
    fills: list[dict[int, int]] = [{} for _ in inst.groups]
    backorders = [0] * len(inst.groups)
    for li, g in enumerate(inst.line_group):
        for o, q in alloc.fills[li]:
            fills[g][o] = fills[g].get(o, 0) + q
        backorders[g] += alloc.backorders[li]
    return GroupAlloc(fills, backorders)


def evaluate(inst: Instance, alloc: GroupAlloc | LineAlloc) -> Costs:
    """Compute exact Decimal costs: goods, freight per PO, and the premium-weighted objective."""
    if isinstance(alloc, GroupAlloc):
        fills = (f.items() for f in alloc.fills)
        rows = zip(range(len(inst.groups)), fills, alloc.backorders, strict=True)
    else:
        rows = zip(inst.line_group, alloc.fills, alloc.backorders, strict=True)
    subtotals: dict[int, Decimal] = {}
    weighted = ZERO
    backorder_units = offline_units = unsourced_units = 0
    offline = inst.offer_offline
    for g, fills, bo in rows:
        group = inst.groups[g]
        entries = list(fills)
        for o, q in entries:
            if offline[o]:
                offline_units += q
        if bo:
            bo_offer = inst.supply[group.product_id].backorder_offer
            if bo_offer is None:
                unsourced_units += bo
            else:
                backorder_units += bo
                entries.append((bo_offer, bo))
        prices = group.prices
        for o, q in entries:
            unit, _, effective = prices[o]
            s = inst.offer_supplier[o]
            subtotals[s] = subtotals.get(s, ZERO) + q * unit
            weighted += q * effective
    freights = {s: freight_due(inst, s, sub) for s, sub in subtotals.items()}
    freight = sum(freights.values(), ZERO)
    return Costs(
        goods=sum(subtotals.values(), ZERO),
        freight=freight,
        objective=weighted + freight,
        subtotals=subtotals,
        freights=freights,
        backorder_units=backorder_units,
        offline_units=offline_units,
        unsourced_units=unsourced_units,
    )


def freight_on(subtotal: Decimal, fee: Decimal, free_from: Decimal | None) -> Decimal:
    """The one freight rule: a PO pays `fee`, or nothing when empty or from `free_from` up."""
    if subtotal <= 0 or (free_from is not None and subtotal >= free_from):
        return ZERO
    return fee


def freight_due(inst: Instance, supplier: int, subtotal: Decimal) -> Decimal:
    """Return the freight a planned PO with this subtotal pays (see `freight_on`)."""
    s = inst.suppliers[supplier]
    return freight_on(subtotal, s.freight, s.free_freight_threshold)
