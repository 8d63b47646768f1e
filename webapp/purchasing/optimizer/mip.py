"""The landed-cost MIP, built with vectorised arrays and solved by HiGHS."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .allocation import GroupAlloc
from .instance import Instance

try:
    import highspy
except ImportError:  # pragma: no cover - exercised only where highspy is not installed
    highspy = None

# HiGHS reports a primal solution status of 2 when it holds a feasible point.
FEASIBLE = 2
# presolve_rule_off bit of HiGHS's "parallel rows and columns" rule (rule 13).
PARALLEL_ROWS_AND_COLS = 1 << 13
# Per-pair linking rows tighten the LP bound; past this many pairs one row per supplier does.
TIGHT_LINKING: bool | None = None
TIGHT_LINKING_MAX = 5000


@dataclass(frozen=True)
class MipResult:
    """What the solver returned: an allocation if it found one, and how good it is proven."""

    alloc: GroupAlloc | None
    mip_gap: float | None
    status: str
    seconds: float
    # HiGHS proved the incumbent within the requested gap.
    optimal: bool = False


def available() -> bool:
    """Tell whether highspy can be imported here."""
    return highspy is not None


class _Builder:
    """Collects columns and (row, col, value) triplets as numpy chunks."""

    def __init__(self) -> None:
        self.n_cols = 0
        self.cost: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.n_rows = 0
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.t_row: list[np.ndarray] = []
        self.t_col: list[np.ndarray] = []
        self.t_val: list[np.ndarray] = []

    def cols(
        self, cost: ArrayLike, lower: ArrayLike, upper: ArrayLike, integer: ArrayLike
    ) -> np.ndarray:
        """Add columns; return their indices."""
        cost = np.atleast_1d(np.asarray(cost, float))
        n = len(cost)
        idx = np.arange(self.n_cols, self.n_cols + n)
        self.n_cols += n
        self.cost.append(cost)
        self.lower.append(np.broadcast_to(np.asarray(lower, float), (n,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, float), (n,)))
        self.integer.append(np.broadcast_to(np.asarray(integer, np.uint8), (n,)))
        return idx

    def rows(self, lower: ArrayLike, upper: ArrayLike) -> np.ndarray:
        """Add empty rows; return their indices."""
        lower = np.atleast_1d(np.asarray(lower, float))
        n = len(lower)
        idx = np.arange(self.n_rows, self.n_rows + n)
        self.n_rows += n
        self.row_lower.append(lower)
        self.row_upper.append(np.broadcast_to(np.asarray(upper, float), (n,)))
        return idx

    def entries(self, row: ArrayLike, col: ArrayLike, val: ArrayLike) -> None:
        """Add matrix coefficients."""
        row = np.asarray(row, np.int64)
        self.t_row.append(row)
        self.t_col.append(np.broadcast_to(np.asarray(col, np.int64), row.shape))
        self.t_val.append(np.broadcast_to(np.asarray(val, float), row.shape))

    def load(self, h: highspy.Highs) -> None:
        """Pass the model to a Highs instance."""
        cat = np.concatenate
        h.addVars(self.n_cols, cat(self.lower), cat(self.upper))
        all_cols = np.arange(self.n_cols, dtype=np.int32)
        h.changeColsCost(self.n_cols, all_cols, cat(self.cost))
        h.changeColsIntegrality(self.n_cols, all_cols, cat(self.integer))
        rows, cols, vals = cat(self.t_row), cat(self.t_col), cat(self.t_val)
        order = np.argsort(rows, kind="stable")
        starts = np.zeros(self.n_rows, np.int32)
        counts = np.bincount(rows, minlength=self.n_rows)
        starts[1:] = np.cumsum(counts)[:-1]
        h.addRows(
            self.n_rows,
            cat(self.row_lower),
            cat(self.row_upper),
            len(vals),
            starts,
            cols[order].astype(np.int32),
            vals[order],
        )


def solve(inst: Instance, start: GroupAlloc, time_limit: float, mip_rel_gap: float) -> MipResult:
    """Build the landed-cost MIP, warm-start it from `start`, and solve within the limits."""
    began = time.perf_counter()
    if highspy is None:
        return MipResult(None, None, "highspy not installed", 0.0)
    model = _Model(inst)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.05, float(time_limit)))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    # Groups of one product give many parallel columns; HiGHS's parallel-column presolve rule
    # spends most of a 10k-line solve on them (0.64 s of 0.66 s) and buys nothing here.
    h.setOptionValue("presolve_rule_off", PARALLEL_ROWS_AND_COLS)
    if model.builder.n_cols == 0:
        empty = model.extract(np.zeros(0))
        return MipResult(empty, 0.0, "empty", time.perf_counter() - began, optimal=True)
    model.builder.load(h)
    warm = model.warm_start(start)
    h.setSolution(len(warm), np.arange(len(warm), dtype=np.int32), warm)
    h.run()
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    seconds = time.perf_counter() - began
    if info.primal_solution_status != FEASIBLE:
        return MipResult(None, None, status, seconds)
    values = np.asarray(h.getSolution().col_value)
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return MipResult(model.extract(values), float(info.mip_gap), status, seconds, optimal)


class _Model:
    """The MIP's columns and rows, and how to map allocations to and from its variables."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        b = self.builder = _Builder()
        split = inst.allow_split
        n_sup = len(inst.suppliers)
        freight = np.array([float(s.freight) for s in inst.suppliers])
        threshold = [s.free_freight_threshold for s in inst.suppliers]
        stock = np.array([o.stock for o in inst.offers], np.int64)

        # Pair columns exist only where an offer with stock exists for the group's product.
        pg, po, mult, unit, eff = [], [], [], [], []
        bo_g, bo_o, bo_mult, bo_unit, bo_eff = [], [], [], [], []
        for g, group in enumerate(inst.groups):
            supply = inst.supply[group.product_id]
            m = group.demand if group.whole else 1
            for o, (u, _, e) in group.prices.items():
                if stock[o] < m or (split and not inst.online(o) and supply.offline_fill == 0):
                    continue
                pg.append(g)
                po.append(o)
                mult.append(m)
                unit.append(float(u))
                eff.append(float(e))
            bo_offer = supply.backorder_offer
            if bo_offer is not None and (supply.shortage > 0 or not split):
                u, _, e = group.prices[bo_offer]
                bo_g.append(g)
                bo_o.append(bo_offer)
                bo_mult.append(m)
                bo_unit.append(float(u))
                bo_eff.append(float(e))
        self.pg = pg = np.array(pg, np.int64)
        self.po = po = np.array(po, np.int64)
        self.mult = mult = np.array(mult, np.int64)
        self.bo_g = bo_g = np.array(bo_g, np.int64)
        self.bo_o = bo_o = np.array(bo_o, np.int64)
        self.bo_mult = bo_mult = np.array(bo_mult, np.int64)
        unit, eff = np.array(unit), np.array(eff)
        bo_unit, bo_eff = np.array(bo_unit), np.array(bo_eff)
        offer_sup = np.array(inst.offer_supplier, np.int64)
        ps = offer_sup[po] if len(po) else po
        bs = offer_sup[bo_o] if len(bo_o) else bo_o
        demand = np.array([g.demand for g in inst.groups], np.int64)
        online = np.array([s.online for s in inst.suppliers], bool)
        pair_offline = ~online[ps] if len(ps) else np.zeros(0, bool)
        whole = mult > 1 if len(mult) else np.zeros(0, bool)
        whole |= np.array([inst.groups[g].whole for g in pg], bool) if len(pg) else whole

        # Pair variables: units bought (or, for whole lines, a 0/1 "bought here" switch).
        cap = np.where(whole, 1, np.minimum(demand[pg], stock[po])) if len(pg) else pg
        cost = eff * mult
        bo_cost = bo_eff * bo_mult
        if not split:
            # No-split mode cannot fix fill levels up front, so penalties rank them instead.
            scale = max(eff.max(initial=0.0), bo_eff.max(initial=0.0)) + freight.max(initial=0.0)
            offline_penalty = 10.0 * (scale + 1.0)
            cost = cost + np.where(pair_offline, offline_penalty, 0.0) * mult
            bo_cost = bo_cost + 10.0 * (offline_penalty + scale + 1.0) * bo_mult
        self.x = b.cols(cost, 0.0, cap, 1)

        # Back-order variables: fixed totals per product in split mode, penalised otherwise.
        if split:
            short = np.array(
                [inst.supply[inst.groups[g].product_id].shortage for g in bo_g], np.int64
            )
            n_groups = np.array(
                [len(inst.product_groups[inst.groups[g].product_id]) for g in bo_g], np.int64
            )
            bo_upper = np.minimum(demand[bo_g], short) if len(bo_g) else bo_g
            bo_lower = np.where(n_groups == 1, bo_upper, 0) if len(bo_g) else bo_g
            self.bo = b.cols(bo_cost, bo_lower, bo_upper, 1)
        else:
            bo_whole = bo_mult > 1
            self.bo = b.cols(bo_cost, 0.0, np.where(bo_whole, 1, demand[bo_g]), ~bo_whole)

        # Supplier switches: y = PO placed (pays freight), z = PO reaches free freight.
        used = np.zeros(n_sup, bool)
        used[ps] = True
        used[bs] = True
        has_y = used & (freight > 0)
        y_sup = np.flatnonzero(has_y)
        y_lower = np.zeros(len(y_sup))
        if split and len(bs):
            forced = np.zeros(n_sup, bool)
            forced[bs] = True
            y_lower = forced[y_sup].astype(float)
        self.y_sup = y_sup
        self.y = b.cols(freight[y_sup], y_lower, 1.0, 1)
        y_of = np.full(n_sup, -1, np.int64)
        y_of[y_sup] = self.y
        z_sup = np.array([s for s in y_sup if threshold[s] is not None], np.int64)
        self.z_sup = z_sup
        self.z = b.cols(-freight[z_sup], 0.0, 1.0, 1)

        # Coverage: every group's demand is bought or back-ordered.
        covered = np.zeros(len(inst.groups), bool)
        covered[pg] = True
        covered[bo_g] = True
        cov_groups = np.flatnonzero(covered)
        row_of_group = np.full(len(inst.groups), -1, np.int64)
        row_of_group[cov_groups] = b.rows(demand[cov_groups], demand[cov_groups])
        b.entries(row_of_group[pg], self.x, mult)
        b.entries(row_of_group[bo_g], self.bo, bo_mult)

        # Stock is shared by every group of the product; one group alone is held by its bound.
        pairs_per_offer = np.bincount(po, minlength=len(inst.offers))
        whole_offer = np.zeros(len(inst.offers), bool)
        whole_offer[po[whole]] = True
        need_row = np.flatnonzero((pairs_per_offer > 1) | whole_offer)
        row_of_offer = np.full(len(inst.offers), -1, np.int64)
        row_of_offer[need_row] = b.rows(np.zeros(len(need_row)), stock[need_row])
        in_row = row_of_offer[po] >= 0
        b.entries(row_of_offer[po][in_row], self.x[in_row], mult[in_row])

        if split:
            self._split_supply_rows(pair_offline)

        # Freight: a PO's units force its switch on.
        sel = y_of[ps] >= 0
        if TIGHT_LINKING is True or (TIGHT_LINKING is None and len(pg) <= TIGHT_LINKING_MAX):
            link = b.rows(np.full(int(sel.sum()), -np.inf), 0.0)
            b.entries(link, self.x[sel], 1.0)
            b.entries(link, y_of[ps[sel]], -cap[sel])
        else:
            link_row = np.full(n_sup, -1, np.int64)
            link_row[y_sup] = b.rows(np.full(len(y_sup), -np.inf), 0.0)
            b.entries(link_row[ps[sel]], self.x[sel], 1.0 / cap[sel])
            b.entries(link_row[y_sup], self.y, -np.bincount(ps[sel], minlength=n_sup)[y_sup])
        if not split:
            sel = y_of[bs] >= 0
            link = b.rows(np.full(int(sel.sum()), -np.inf), 0.0)
            b.entries(link, self.bo[sel], 1.0)
            b.entries(link, y_of[bs[sel]], -np.where(bo_mult[sel] > 1, 1, demand[bo_g[sel]]))

        # Free freight only when the PO subtotal (real prices, back-orders included) clears it.
        if len(z_sup):
            z_row = np.full(n_sup, -1, np.int64)
            z_row[z_sup] = b.rows(np.zeros(len(z_sup)), np.inf)
            sel = z_row[ps] >= 0
            b.entries(z_row[ps[sel]], self.x[sel], unit[sel] * mult[sel])
            sel = z_row[bs] >= 0
            b.entries(z_row[bs[sel]], self.bo[sel], bo_unit[sel] * bo_mult[sel])
            thresholds = np.array([float(threshold[s]) for s in z_sup])
            b.entries(z_row[z_sup], self.z, -thresholds)
            zy = b.rows(np.full(len(z_sup), -np.inf), 0.0)
            b.entries(zy, self.z, 1.0)
            b.entries(zy, y_of[z_sup], -1.0)

    def _split_supply_rows(self, pair_offline: np.ndarray) -> None:
        inst, b = self.inst, self.builder
        products = list(inst.product_groups)
        product_index = {p: i for i, p in enumerate(products)}
        pair_product = np.array(
            [product_index[inst.groups[g].product_id] for g in self.pg], np.int64
        )
        # Offline units limited to what online stock cannot cover (last resort).
        off_products = np.unique(pair_product[pair_offline])
        limits = np.array([inst.supply[products[i]].offline_fill for i in off_products])
        row = np.full(len(products), -1, np.int64)
        row[off_products] = b.rows(np.zeros(len(off_products)), limits)
        b.entries(row[pair_product[pair_offline]], self.x[pair_offline], 1.0)
        # Back-orders: exactly the product's shortage, spread over its groups.
        bo_product = np.array(
            [product_index[inst.groups[g].product_id] for g in self.bo_g], np.int64
        )
        multi = np.array([len(inst.product_groups[products[i]]) > 1 for i in bo_product], bool)
        bo_products = np.unique(bo_product[multi])
        shortage = np.array([inst.supply[products[i]].shortage for i in bo_products])
        row = np.full(len(products), -1, np.int64)
        row[bo_products] = b.rows(shortage, shortage)
        b.entries(row[bo_product[multi]], self.bo[multi], 1.0)

    def warm_start(self, start: GroupAlloc) -> np.ndarray:
        """Translate an allocation into a full column vector for the solver."""
        inst = self.inst
        values = np.zeros(self.builder.n_cols)
        fills = start.fills
        bought = [
            fills[g].get(o, 0) for g, o in zip(self.pg.tolist(), self.po.tolist(), strict=True)
        ]
        values[self.x] = np.array(bought, float) / self.mult
        backorders = [start.backorders[g] for g in self.bo_g.tolist()]
        values[self.bo] = np.array(backorders, float) / self.bo_mult
        subtotal = np.zeros(len(inst.suppliers))
        used = np.zeros(len(inst.suppliers), bool)
        for g, group in enumerate(inst.groups):
            entries = list(start.fills[g].items())
            bo_offer = inst.supply[group.product_id].backorder_offer
            if start.backorders[g] and bo_offer is not None:
                entries.append((bo_offer, start.backorders[g]))
            for o, q in entries:
                s = inst.offer_supplier[o]
                used[s] = True
                subtotal[s] += q * float(group.prices[o][0])
        values[self.y] = used[self.y_sup]
        for z, s in zip(self.z, self.z_sup, strict=True):
            threshold = inst.suppliers[s].free_freight_threshold
            assert threshold is not None
            # Float sums may sit a hair under the threshold; claiming less is always feasible.
            values[z] = float(used[s] and subtotal[s] >= float(threshold) + 1e-6)
        return values

    def extract(self, values: np.ndarray) -> GroupAlloc | None:
        """Round the solver's values to whole units; return None if they break a constraint."""
        inst = self.inst
        fills: list[dict[int, int]] = [{} for _ in inst.groups]
        backorders = [0] * len(inst.groups)
        qty = np.rint(values[self.x] * self.mult).astype(np.int64) if len(self.x) else self.pg
        for g, o, q in zip(self.pg.tolist(), self.po.tolist(), qty.tolist(), strict=True):
            if q:
                fills[g][o] = q
        bo = np.rint(values[self.bo] * self.bo_mult).astype(np.int64) if len(self.bo) else []
        for g, q in zip(self.bo_g.tolist(), list(bo), strict=True):
            backorders[g] = int(q)
        bought = [0] * len(inst.offers)
        for g, group in enumerate(inst.groups):
            if not group.prices:
                backorders[g] = group.demand
            if (
                sum(fills[g].values()) + backorders[g] != group.demand
                or min([backorders[g], *fills[g].values()]) < 0
            ):
                return None
            if group.whole and len(fills[g]) > 1:
                return None
            for o, q in fills[g].items():
                bought[o] += q
        if any(q > o.stock for q, o in zip(bought, inst.offers, strict=True)):
            return None
        return GroupAlloc(fills, backorders)
