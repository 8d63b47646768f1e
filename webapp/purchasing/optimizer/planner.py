"""Plan purchases: MIP when it can, greedy when it must, never worse than greedy."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from . import mip
from .allocation import GroupAlloc, LineAlloc, evaluate, to_groups, to_lines
from .explain import build_plan
from .greedy import cheapest_first
from .greedy import first_with_stock as _first_with_stock
from .instance import build_instance
from .model import DemandLine, Offer, Plan, Settings, Supplier


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (restoring its previous state afterwards)."""
    # Planning allocates hundreds of thousands of small acyclic objects; at 10,000 lines the
    # collector's passes over them cost ~0.3 s of a ~1.1 s plan and free nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plan(
    demand: Iterable[DemandLine],
    offers: Iterable[Offer],
    suppliers: Iterable[Supplier],
    settings: Settings | None = None,
) -> Plan:
    """Return the cheapest landed-cost buying plan found within the settings' limits."""
    with _gc_paused():
        return _plan(demand, offers, suppliers, settings or Settings())


def _plan(
    demand: Iterable[DemandLine],
    offers: Iterable[Offer],
    suppliers: Iterable[Supplier],
    settings: Settings,
) -> Plan:
    began = time.perf_counter()
    inst = build_instance(demand, offers, suppliers, allow_split=settings.allow_split)

    start = cheapest_first(inst)
    best: GroupAlloc | LineAlloc = start
    best_costs = evaluate(inst, start)
    if inst.allow_split:
        # The naive rule is a legal split plan too: the fallback is the better of the two.
        naive = _first_with_stock(inst)
        naive_costs = evaluate(inst, naive)
        if naive_costs.rank < best_costs.rank:
            start, best, best_costs = to_groups(inst, naive), naive, naive_costs

    method = "greedy"
    gap: float | None = None
    notes: list[str] = []
    if not settings.use_solver:
        notes.append("solver disabled in settings")
    elif not mip.available():
        notes.append("highspy is not installed: greedy plan used")
    else:
        # HiGHS checks its clock coarsely (it overran 1.5 s by 0.45 s in presolve on a 100k-column
        # model) and the plan still has to be assembled afterwards, so it gets a share only.
        budget = 0.8 * (settings.time_limit - (time.perf_counter() - began)) - 0.1
        result = mip.solve(inst, start, budget, settings.mip_rel_gap)
        if result.alloc is None:
            notes.append(f"solver found no usable solution ({result.status}): greedy plan used")
        else:
            mip_costs = evaluate(inst, result.alloc)
            proven = result.optimal
            if mip_costs.rank < best_costs.rank or (mip_costs.rank == best_costs.rank and proven):
                method, best, best_costs, gap = "mip", result.alloc, mip_costs, result.mip_gap
                if not proven:
                    notes.append(f"solver stopped early ({result.status}): best incumbent used")
            elif mip_costs.rank == best_costs.rank:
                notes.append(f"solver stopped early ({result.status}) without improving greedy")
            else:
                notes.append(
                    f"solver incumbent ({result.status}) cost more than greedy: greedy kept"
                )
    lines = best if isinstance(best, LineAlloc) else to_lines(inst, best)
    seconds = time.perf_counter() - began
    return build_plan(
        inst,
        method,
        lines,
        best_costs,
        mip_gap=gap,
        solve_seconds=seconds,
        notes=tuple(notes),
    )


def first_with_stock(
    demand: Iterable[DemandLine], offers: Iterable[Offer], suppliers: Iterable[Supplier]
) -> Plan:
    """Plan with the naive rule: first supplier with stock by priority (the usual baseline)."""
    began = time.perf_counter()
    inst = build_instance(demand, offers, suppliers, allow_split=True)
    alloc = _first_with_stock(inst)
    return build_plan(
        inst,
        "first_with_stock",
        alloc,
        evaluate(inst, alloc),
        mip_gap=None,
        solve_seconds=time.perf_counter() - began,
    )
