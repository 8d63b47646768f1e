"""Fast heuristic plans: cheapest-first with freight consolidation, and the naive rule."""

from __future__ import annotations

from .allocation import GroupAlloc, LineAlloc
from .instance import NO_ETA, Instance

# Float slack when comparing heuristic cost changes; exact Decimal costs are recomputed later.
EPS = 1e-6


def cheapest_first(inst: Instance) -> GroupAlloc:
    """Buy each group from the cheapest effective offers, then consolidate to save freight."""
    fills: list[dict[int, int]] = [{} for _ in inst.groups]
    backorders = [0] * len(inst.groups)
    remaining = [o.stock for o in inst.offers]
    for gids in inst.product_groups.values():
        if inst.allow_split:
            _fill_split(inst, gids, fills, backorders, remaining)
        else:
            _fill_whole(inst, gids, fills, backorders, remaining)
    alloc = GroupAlloc(fills, backorders)
    _Consolidator(inst, alloc, remaining).run()
    return alloc


def first_with_stock(inst: Instance) -> LineAlloc:
    """Take each line from the first supplier with stock in priority order (the naive rule)."""
    rank = {s: r for r, s in enumerate(inst.priority)}
    in_order = {
        product: sorted(offers, key=lambda o: rank[inst.offer_supplier[o]])
        for product, offers in inst.product_offers.items()
    }
    remaining = [o.stock for o in inst.offers]
    fills: list[list[tuple[int, int]]] = []
    backorders: list[int] = []
    for line in inst.demand:
        need = line.quantity
        taken: list[tuple[int, int]] = []
        for o in in_order.get(line.product_id, []):
            q = min(need, remaining[o])
            if q:
                remaining[o] -= q
                need -= q
                taken.append((o, q))
            if not need:
                break
        fills.append(sorted(taken))
        backorders.append(need)
    return LineAlloc(fills, backorders)


def _offer_order(inst: Instance, g: int, o: int) -> tuple[bool, float, int, str]:
    offer = inst.offers[o]
    return (
        not inst.online(o),
        float(inst.groups[g].prices[o][2]),
        NO_ETA if offer.eta_days is None else offer.eta_days,
        inst.suppliers[inst.offer_supplier[o]].name,
    )


def _fill_split(
    inst: Instance,
    gids: list[int],
    fills: list[dict[int, int]],
    backorders: list[int],
    remaining: list[int],
) -> None:
    # Online pairs sort before offline ones, so online stock is exhausted first (last resort).
    need = {g: inst.groups[g].demand for g in gids}
    pairs = sorted(
        (_offer_order(inst, g, o), g, o)
        for g in gids
        for o in inst.groups[g].prices
        if remaining[o] > 0
    )
    for _, g, o in pairs:
        q = min(need[g], remaining[o])
        if q:
            fills[g][o] = fills[g].get(o, 0) + q
            need[g] -= q
            remaining[o] -= q
    for g in gids:
        backorders[g] = need[g]


def _fill_whole(
    inst: Instance,
    gids: list[int],
    fills: list[dict[int, int]],
    backorders: list[int],
    remaining: list[int],
) -> None:
    for g in sorted(gids, key=lambda g: -inst.groups[g].demand):
        group = inst.groups[g]
        order = sorted(group.prices, key=lambda o: _offer_order(inst, g, o))
        need = group.demand
        if group.whole:
            best = next((o for o in order if remaining[o] >= need), None)
            if best is not None:
                fills[g][best] = need
                remaining[best] -= need
                need = 0
        else:
            for o in order:
                q = min(need, remaining[o])
                if q:
                    fills[g][o] = q
                    remaining[o] -= q
                    need -= q
        backorders[g] = need


class _Consolidator:
    """Local search on freight: empty small POs, or top POs up to their free-freight threshold."""

    def __init__(self, inst: Instance, alloc: GroupAlloc, remaining: list[int]) -> None:
        self.inst = inst
        self.alloc = alloc
        self.remaining = remaining
        n = len(inst.suppliers)
        self.freight = [float(s.freight) for s in inst.suppliers]
        self.threshold = [
            None if s.free_freight_threshold is None else float(s.free_freight_threshold)
            for s in inst.suppliers
        ]
        self.unit = [{o: float(p[0]) for o, p in g.prices.items()} for g in inst.groups]
        self.eff = [{o: float(p[2]) for o, p in g.prices.items()} for g in inst.groups]
        self.subtotal = [0.0] * n
        self.count = [0] * n
        # Back-ordered units pin their supplier's PO open: it can never be emptied.
        self.pinned = [False] * n
        # Per supplier: the groups it has an offer for, to find units worth moving to it.
        self.offers_of: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for g, group in enumerate(inst.groups):
            for o in group.prices:
                self.offers_of[inst.offer_supplier[o]].append((g, o))
            for o, q in alloc.fills[g].items():
                s = inst.offer_supplier[o]
                self.subtotal[s] += q * self.unit[g][o]
                self.count[s] += 1
            bo = alloc.backorders[g]
            bo_offer = inst.supply[group.product_id].backorder_offer
            if bo and bo_offer is not None:
                s = inst.offer_supplier[bo_offer]
                self.subtotal[s] += bo * self.unit[g][bo_offer]
                self.count[s] += 1
                self.pinned[s] = True

    def run(self, rounds: int = 4) -> None:
        """Apply improving moves until none is left (or the round limit is hit)."""
        for _ in range(rounds):
            improved = False
            for s in range(len(self.inst.suppliers)):
                if self._paying(s) and not self.pinned[s]:
                    improved |= self._try_close(s)
                if self._paying(s) and self.threshold[s] is not None:
                    improved |= self._try_top_up(s)
            if not improved:
                return

    def _add(self, g: int, o: int, q: int) -> None:
        s = self.inst.offer_supplier[o]
        fills = self.alloc.fills[g]
        before = fills.get(o, 0)
        after = before + q
        if after:
            fills[o] = after
        else:
            fills.pop(o, None)
        self.remaining[o] -= q
        self.subtotal[s] += q * self.unit[g][o]
        self.count[s] += (after > 0) - (before > 0)

    def _freight_at(self, s: int, subtotal: float, count: int) -> float:
        if count <= 0:
            return 0.0
        t = self.threshold[s]
        if t is not None and subtotal >= t - EPS:
            return 0.0
        return self.freight[s]

    def _paying(self, s: int) -> bool:
        return self._freight_at(s, self.subtotal[s], self.count[s]) > 0

    def _delta(self, moves: list[tuple[int, int, int, int]]) -> float:
        """Return the cost change of moving (group, from offer, to offer, units) quantities."""
        sub = {}
        cnt = {}
        goods = 0.0
        fills: dict[tuple[int, int], int] = {}
        for g, src, dst, q in moves:
            goods += q * (self.eff[g][dst] - self.eff[g][src])
            for o, sign in ((src, -1), (dst, 1)):
                s = self.inst.offer_supplier[o]
                sub.setdefault(s, self.subtotal[s])
                cnt.setdefault(s, self.count[s])
                sub[s] += sign * q * self.unit[g][o]
                before = fills.get((g, o), self.alloc.fills[g].get(o, 0))
                after = before + sign * q
                fills[(g, o)] = after
                cnt[s] += (after > 0) - (before > 0)
        freight = sum(
            self._freight_at(s, sub[s], cnt[s])
            - self._freight_at(s, self.subtotal[s], self.count[s])
            for s in sub
        )
        return goods + freight

    def _apply(self, moves: list[tuple[int, int, int, int]]) -> None:
        for g, src, dst, q in moves:
            self._add(g, src, -q)
            self._add(g, dst, q)

    def _compatible(self, src: int, dst: int) -> bool:
        # Never move units from an online supplier to an offline one (last-resort rule).
        return self.inst.online(dst) or not self.inst.online(src)

    def _try_close(self, s: int) -> bool:
        """Move everything off supplier s onto suppliers already used, if that is cheaper."""
        moves: list[tuple[int, int, int, int]] = []
        spare = {}
        for g, o in self.offers_of[s]:
            q = self.alloc.fills[g].get(o, 0)
            if not q:
                continue
            targets = sorted(
                (
                    d
                    for d in self.inst.groups[g].prices
                    if d != o
                    and self.count[self.inst.offer_supplier[d]] > 0
                    and self._compatible(o, d)
                ),
                key=lambda d: self.eff[g][d],
            )
            for d in targets:
                free = spare.setdefault(d, self.remaining[d])
                take = _movable(q, free, self.inst.groups[g].whole)
                if take:
                    moves.append((g, o, d, take))
                    spare[d] -= take
                    q -= take
                if not q:
                    break
            if q:
                return False
        if moves and self._delta(moves) < -EPS:
            self._apply(moves)
            return True
        return False

    def _try_top_up(self, s: int) -> bool:
        """Shift units onto supplier s until its PO reaches free freight, if that is cheaper."""
        threshold = self.threshold[s]
        assert threshold is not None
        options: list[tuple[float, int, int, int, int]] = []
        for g, o in self.offers_of[s]:
            if self.remaining[o] <= 0 or self.unit[g][o] <= 0:
                continue
            group = self.inst.groups[g]
            for src, q in self.alloc.fills[g].items():
                if src == o or not self._compatible(src, o):
                    continue
                if group.whole and self.remaining[o] < q:
                    continue
                per_dollar = (self.eff[g][o] - self.eff[g][src]) / self.unit[g][o]
                options.append((per_dollar, g, src, o, q))
        options.sort()
        gap = threshold - self.subtotal[s]
        moves: list[tuple[int, int, int, int]] = []
        spare: dict[int, int] = {}
        for _, g, src, o, q in options:
            if gap <= EPS:
                break
            free = spare.setdefault(o, self.remaining[o])
            whole = self.inst.groups[g].whole
            # Move just enough units to clear the threshold (a whole line moves entirely).
            wanted = q if whole else min(q, int(gap / self.unit[g][o]) + 1)
            take = _movable(wanted, free, whole)
            if take:
                moves.append((g, src, o, take))
                spare[o] -= take
                gap -= take * self.unit[g][o]
        if gap > EPS or not moves:
            return False
        if self._delta(moves) < -EPS:
            self._apply(moves)
            return True
        return False


def _movable(units: int, free: int, whole: bool) -> int:
    """Return how many of `units` fit in `free` stock; a whole line moves entirely or not at all."""
    if whole:
        return units if free >= units else 0
    return min(units, free)
