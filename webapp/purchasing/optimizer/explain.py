"""Turn an allocation into purchase orders with a decision record per demand line."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from webapp.money import format_money

from .allocation import ZERO, Costs, LineAlloc, freight_due
from .instance import Instance
from .model import Candidate, Decision, Method, Plan, PlanLine, SupplierOrder


def build_plan(
    inst: Instance,
    method: Method,
    alloc: LineAlloc,
    costs: Costs,
    *,
    mip_gap: float | None,
    solve_seconds: float,
    notes: tuple[str, ...] = (),
) -> Plan:
    """Assemble the Plan: POs per supplier, back-orders, unsourced lines and explanations."""
    explainer = _Explainer(inst, method, alloc, costs)
    by_supplier: dict[int, list[PlanLine]] = {}
    unsourced: list[PlanLine] = []
    for li, line in enumerate(inst.demand):
        group = inst.groups[inst.line_group[li]]
        decide = partial(explainer.decide, li)
        bo = alloc.backorders[li]
        bo_offer = inst.supply[group.product_id].backorder_offer
        entries = [(o, q, False) for o, q in alloc.fills[li]]
        if bo and bo_offer is not None:
            entries.append((bo_offer, bo, True))
        elif bo:
            unsourced.append(
                PlanLine(line.id, line.product_id, None, bo, ZERO, ZERO, False, True, None, decide)
            )
        for o, q, is_bo in entries:
            unit, bid_used, _ = group.prices[o]
            s = inst.offer_supplier[o]
            by_supplier.setdefault(s, []).append(
                PlanLine(
                    demand_line_id=line.id,
                    product_id=line.product_id,
                    supplier_id=inst.suppliers[s].id,
                    quantity=q,
                    unit_cost=unit,
                    line_total=q * unit,
                    bid_used=bid_used,
                    backorder=is_bo,
                    eta_days=inst.offers[o].eta_days,
                    _decide=decide,
                )
            )
    orders = []
    for s in sorted(by_supplier, key=lambda s: (inst.suppliers[s].name, str(inst.suppliers[s].id))):
        supplier = inst.suppliers[s]
        subtotal = costs.subtotals[s]
        freight = costs.freights[s]
        orders.append(
            SupplierOrder(
                supplier_id=supplier.id,
                supplier_name=supplier.name,
                lines=tuple(by_supplier[s]),
                subtotal=subtotal,
                freight=freight,
                freight_waived=freight == 0 and supplier.freight > 0,
                total=subtotal + freight,
            )
        )
    return Plan(
        method=method,
        orders=tuple(orders),
        unsourced=tuple(unsourced),
        goods_cost=costs.goods,
        freight_cost=costs.freight,
        total_cost=costs.total,
        objective=costs.objective,
        backorder_units=costs.backorder_units,
        offline_units=costs.offline_units,
        unsourced_units=costs.unsourced_units,
        mip_gap=mip_gap,
        solve_seconds=solve_seconds,
        notes=notes,
    )


class _Explainer:
    """Writes the candidates and reasons for each demand line of one allocation."""

    def __init__(self, inst: Instance, method: Method, alloc: LineAlloc, costs: Costs) -> None:
        self.inst = inst
        self.method = method
        self.alloc = alloc
        self.costs = costs
        self.left = [o.stock for o in inst.offers]
        for fills in alloc.fills:
            for o, q in fills:
                self.left[o] -= q
        self.freight_notes = {s: self._freight_note(s) for s in range(len(inst.suppliers))}
        self.decisions: dict[int, Decision] = {}

    def decide(self, li: int) -> Decision:
        """Return the decision record of demand line `li` (computed once, then shared)."""
        decision = self.decisions.get(li)
        if decision is None:
            decision = self.decisions[li] = self._decide(li)
        return decision

    def _decide(self, li: int) -> Decision:
        inst = self.inst
        line = inst.demand[li]
        group = inst.groups[inst.line_group[li]]
        fills = dict(self.alloc.fills[li])
        bo = self.alloc.backorders[li]
        bo_offer = inst.supply[group.product_id].backorder_offer
        candidates = []
        for o in sorted(group.prices, key=lambda o: (group.prices[o][2], self._name(o))):
            q = fills.get(o, 0) + (bo if o == bo_offer else 0)
            won = q > 0
            reason = self._won(li, o, fills, bo) if won else self._lost(li, o, fills)
            candidates.append(self._candidate(group.prices[o], o, q, won, reason))
        return Decision(
            demand_line_id=line.id,
            product_id=line.product_id,
            quantity=line.quantity,
            summary=self._summary(li, fills, bo, bo_offer),
            candidates=tuple(candidates),
        )

    def _candidate(
        self, price: tuple[Decimal, bool, Decimal], o: int, q: int, won: bool, reason: str
    ) -> Candidate:
        s = self.inst.offer_supplier[o]
        supplier = self.inst.suppliers[s]
        offer = self.inst.offers[o]
        unit, bid_used, effective = price
        return Candidate(
            supplier_id=supplier.id,
            supplier_name=supplier.name,
            online=supplier.online,
            unit_cost=unit,
            regular_unit_cost=offer.unit_cost,
            bid_used=bid_used,
            premium_pct=supplier.premium_pct,
            effective_unit_cost=effective,
            stock=offer.stock,
            eta_days=offer.eta_days,
            freight=supplier.freight,
            free_freight_threshold=supplier.free_freight_threshold,
            freight_note=self.freight_notes[s],
            quantity=q,
            won=won,
            reason=reason,
        )

    def _name(self, o: int) -> str:
        return self.inst.suppliers[self.inst.offer_supplier[o]].name

    def _freight_note(self, s: int) -> str:
        supplier = self.inst.suppliers[s]
        threshold = supplier.free_freight_threshold
        free_from = "" if threshold is None else f", free from {format_money(threshold)}"
        if supplier.freight == 0:
            return "no freight charge"
        if s not in self.costs.subtotals:
            return f"freight {format_money(supplier.freight)} per PO{free_from}"
        subtotal = self.costs.subtotals[s]
        if self.costs.freights[s] == 0:
            return (
                f"freight {format_money(supplier.freight)} waived: PO subtotal "
                f"{format_money(subtotal)} reaches {format_money(threshold)}"
            )
        return (
            f"freight {format_money(supplier.freight)} on PO of {format_money(subtotal)}{free_from}"
        )

    def _won(self, li: int, o: int, fills: dict[int, int], bo: int) -> str:
        inst = self.inst
        group = inst.groups[inst.line_group[li]]
        reasons = []
        if o in fills:
            cheapest = min(fills, key=lambda f: (group.prices[f][2], self._name(f)))
            if self.method == "first_with_stock":
                reasons.append("first supplier with stock in priority order")
            elif not inst.online(o):
                reasons.append("offline supplier — last resort: online stock short")
            elif o == cheapest:
                reasons.append("lowest landed cost")
            else:
                reasons.append(f"next lowest landed cost for the remaining {fills[o]}")
            if group.prices[o][1]:
                reasons.append("bid price used")
            if (len(fills) > 1 or bo) and self.left[o] == 0:
                reasons.append(f"split: {self._name(o)} had only {fills[o]} for this line")
        if bo and o == inst.supply[group.product_id].backorder_offer:
            eta = inst.offers[o].eta_days
            when = "unknown" if eta is None else f"{eta} day{'' if eta == 1 else 's'}"
            reasons.append(f"back-order of {bo}: best ETA ({when})")
        return "; ".join(reasons)

    def _lost(self, li: int, o: int, fills: dict[int, int]) -> str:
        inst = self.inst
        group = inst.groups[inst.line_group[li]]
        offer = inst.offers[o]
        if offer.stock == 0:
            return "no stock"
        if not inst.online(o) and all(inst.online(f) for f in fills):
            return "offline supplier — last resort"
        if self.left[o] == 0:
            return f"no stock left: all {offer.stock} allocated to other lines"
        if self.method == "first_with_stock":
            return "later in priority order"
        if not fills:
            return "line is back-ordered: no supplier had stock"
        units = sum(fills.values())
        if group.whole and self.left[o] < units:
            return f"only {self.left[o]} left and the line may not be split"
        moved = min(units, self.left[o])
        delta, freight_part = self._switch_cost(li, o, fills, moved)
        prefix = f"only {self.left[o]} left; " if moved < units else ""
        if delta <= 0:
            return f"{prefix}switching {moved} would change cost by {format_money(delta)}"
        details = []
        unit = group.prices[o][0]
        best = min(fills, key=lambda f: group.prices[f][2])
        if unit < group.prices[best][0]:
            mine = inst.suppliers[inst.offer_supplier[o]].premium_pct
            theirs = inst.suppliers[inst.offer_supplier[best]].premium_pct
            details.append(
                f"cheaper unit cost, but priority premium {mine:+}% vs {self._name(best)}'s "
                f"{theirs:+}%"
            )
        if freight_part > 0:
            details.append(f"incl. {format_money(freight_part)} extra freight")
        detail = f" ({'; '.join(details)})" if details else ""
        return f"{prefix}higher landed cost by {format_money(delta)}{detail}"

    def _switch_cost(
        self, li: int, o: int, fills: dict[int, int], moved: int
    ) -> tuple[Decimal, Decimal]:
        """Return (landed cost change, freight part) of moving `moved` units of line li to o."""
        inst = self.inst
        group = inst.groups[inst.line_group[li]]
        costs = self.costs
        goods = ZERO
        subtotal_change: dict[int, Decimal] = {}
        target = inst.offer_supplier[o]
        # Take units from the priciest current suppliers first.
        left = moved
        for f in sorted(fills, key=lambda f: -group.prices[f][2]):
            q = min(left, fills[f])
            if not q:
                continue
            left -= q
            s = inst.offer_supplier[f]
            goods += q * (group.prices[o][2] - group.prices[f][2])
            subtotal_change[s] = subtotal_change.get(s, ZERO) - q * group.prices[f][0]
        subtotal_change[target] = subtotal_change.get(target, ZERO) + moved * group.prices[o][0]
        freight = ZERO
        for s, change in subtotal_change.items():
            before = costs.freights.get(s, ZERO)
            after_sub = costs.subtotals.get(s, ZERO) + change
            after = freight_due(inst, s, after_sub) if after_sub > 0 else ZERO
            freight += after - before
        return goods + freight, freight

    def _summary(self, li: int, fills: dict[int, int], bo: int, bo_offer: int | None) -> str:
        parts = [
            f"{q} from {self._name(o)}" for o, q in sorted(fills.items(), key=lambda kv: -kv[1])
        ]
        if bo and bo_offer is not None:
            parts.append(f"{bo} back-ordered from {self._name(bo_offer)}")
        elif bo:
            parts.append(f"{bo} unsourced: no supplier offers this product")
        return ", ".join(parts)
