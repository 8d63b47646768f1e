"""Benchmark the purchasing optimizer against its greedy fallback and the naive rule."""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp.purchasing.optimizer import (  # noqa: E402
    DemandLine,
    Offer,
    Settings,
    Supplier,
    first_with_stock,
    plan,
)

SIZES = [(100, 5), (1000, 10), (10000, 20)]
CENT = Decimal("0.01")


def make_instance(
    n_lines: int, n_suppliers: int, seed: int
) -> tuple[list[DemandLine], list[Offer], list[Supplier]]:
    """Generate a seeded, realistic instance: skewed demand, ±15% cost spread, short stock."""
    rng = random.Random(seed)
    n_offline = 1 if n_suppliers <= 5 else 2
    suppliers = [
        Supplier(
            id=f"S{i:02d}",
            name=f"Distributor {i:02d}",
            freight=Decimal(rng.randint(1000, 4000)) * CENT,
            free_freight_threshold=(
                None if rng.random() < 0.15 else Decimal(rng.randrange(500, 2001, 50))
            ),
            premium_pct=Decimal(rng.randint(-6, 10)) / 2,
            online=i >= n_offline,
        )
        for i in range(n_suppliers)
    ]
    n_products = max(5, n_lines // 3)
    weights = [1 / (k + 1) ** 0.7 for k in range(n_products)]
    line_products = rng.choices(range(n_products), weights=weights, k=n_lines)
    customers = [f"C{c}" for c in range(max(2, n_lines // 50))]
    demand: list[DemandLine] = []
    for i, p in enumerate(line_products):
        qty = rng.randint(1, 5) if rng.random() < 0.8 else rng.randint(6, 40)
        demand.append(DemandLine(f"L{i}", f"P{p}", qty, rng.choice(customers)))
    product_demand: dict[int, int] = {}
    for line, p in zip(demand, line_products, strict=True):
        product_demand[p] = product_demand.get(p, 0) + line.quantity
    bid_customers = {p: rng.sample(customers, 1) for p in product_demand if rng.random() < 0.1}
    offers: list[Offer] = []
    for p, need in product_demand.items():
        base = 5 * (100 ** rng.random())
        for s in rng.sample(suppliers, rng.randint(3, n_suppliers)):
            cost = Decimal(base * rng.uniform(0.85, 1.15)).quantize(CENT)
            roll = rng.random()
            if roll < 0.15:
                stock = 0
            elif roll < 0.45:
                stock = rng.randint(1, max(1, need // 2))
            else:
                stock = rng.randint(need, 3 * need)
            bids = {}
            if p in bid_customers and rng.random() < 0.4:
                bids = {
                    c: (cost * Decimal(rng.uniform(0.85, 0.99))).quantize(CENT)
                    for c in bid_customers[p]
                }
            offers.append(
                Offer(
                    supplier_id=s.id,
                    product_id=f"P{p}",
                    unit_cost=cost,
                    stock=stock,
                    eta_days=None if rng.random() < 0.1 else rng.randint(1, 10),
                    bids=bids,
                )
            )
    return demand, offers, suppliers


def _timed_plan(demand, offers, suppliers, settings: Settings, repeat: int):
    times = []
    cpu = []
    result = None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = plan(demand, offers, suppliers, settings)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    assert result is not None
    return result, sorted(times), sorted(cpu)


def bench_one(n_lines: int, n_suppliers: int, seed: int, repeat: int) -> dict[str, object]:
    """Plan one instance every way and return the figures for one table row."""
    demand, offers, suppliers = make_instance(n_lines, n_suppliers, seed)
    mip_plan, times, cpu = _timed_plan(demand, offers, suppliers, Settings(), repeat)
    greedy = plan(demand, offers, suppliers, Settings(use_solver=False))
    naive = first_with_stock(demand, offers, suppliers)
    proven = plan(demand, offers, suppliers, Settings(mip_rel_gap=0.0, time_limit=120.0))
    began = time.perf_counter()
    for line in mip_plan.lines:
        line.to_dict()
    explain_seconds = time.perf_counter() - began
    return {
        "size": f"{n_lines}x{n_suppliers}",
        "seed": seed,
        "offers": len(offers),
        "time_med": times[len(times) // 2],
        "time_max": times[-1],
        "cpu_med": cpu[len(cpu) // 2],
        "method": mip_plan.method,
        "gap": mip_plan.mip_gap,
        "mip": mip_plan,
        "greedy": greedy,
        "naive": naive,
        "proven": proven,
        "explain": explain_seconds,
    }


def _pct(part: Decimal, whole: Decimal) -> str:
    return f"{float(part / whole) * 100:.3f}%" if whole else "n/a"


def print_table(rows: list[dict[str, object]]) -> None:
    """Print the results as a Markdown table (pasted into bench/README.md as is)."""
    head = (
        "| size | seed | offers | plan() wall s (med / max) | CPU s (med) | method | MIP gap "
        "| MIP landed $ "
        "| greedy landed $ | first-with-stock landed $ | saving vs FWS | objective vs greedy "
        "| objective vs proven optimum | explain all s |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        mip, greedy, naive, proven = r["mip"], r["greedy"], r["naive"], r["proven"]
        gap = r["gap"]
        proven_note = "" if proven.method == "mip" and not proven.notes else " (not proven)"
        print(
            f"| {r['size']} | {r['seed']} | {r['offers']} "
            f"| {r['time_med']:.3f} / {r['time_max']:.3f} | {r['cpu_med']:.3f} | {r['method']} "
            f"| {'—' if gap is None else f'{gap:.1e}'} "
            f"| {mip.total_cost:,.2f} | {greedy.total_cost:,.2f} | {naive.total_cost:,.2f} "
            f"| {_pct(naive.total_cost - mip.total_cost, naive.total_cost)} "
            f"| {_pct(mip.objective - greedy.objective, greedy.objective)} "
            f"| +{_pct(mip.objective - proven.objective, proven.objective)}{proven_note} "
            f"| {r['explain']:.2f} |"
        )


def main() -> None:
    """Run the benchmark over the standard sizes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="instances per size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per instance")
    parser.add_argument("--sizes", default="", help="e.g. 100x5,1000x10 (default: all)")
    args = parser.parse_args()
    sizes = SIZES
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    rows = []
    for n_lines, n_suppliers in sizes:
        for seed in range(1, args.seeds + 1):
            rows.append(bench_one(n_lines, n_suppliers, seed, args.repeat))
    print_table(rows)
    worst = max(
        (r for r in rows if r["size"] == "10000x20"), key=lambda r: r["time_max"], default=None
    )
    if worst is not None:
        print(f"\n10000x20 slowest plan(): {worst['time_max']:.3f} s (target <= 2 s)")


if __name__ == "__main__":
    main()
