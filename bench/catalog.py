"""Build a 1,000,000-product catalog through the real feed importer, timing each step.

    python bench/catalog.py                 # SQLite, in bench/data/instance-sqlite
    python bench/catalog.py --postgres      # PostgreSQL, database bench_msp (dropped first)
    python bench/catalog.py --rebuild       # throw the instance away and build it again

Feed CSVs are generated once with webapp/demo/catalog_data.py and cached in bench/data/feeds.
Each import runs `flask catalog import-feed` in a child process; its wall time and peak RSS
(from wait4) are the figures for the "1M-row CSV in 60 s within 500 MB" target.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from _common import (
    DATA,
    FLASK,
    POSTGRES_DB,
    PY,
    PrivateRedis,
    Target,
    machine,
    run_measured,
    save_result,
    speed_probe,
)

PRODUCTS = 1_000_000
FEEDS = DATA / "feeds"


def _feed_path(name: str, count: int) -> Path:
    return FEEDS / f"{name}-{count}.csv"


_COLUMNS = ["sku", "mpn", "brand", "name", "category", "cost", "stock", "eta_days"]


def generate_feeds(count: int) -> dict[str, Path]:
    """Write (once) a full feed carrying every product, the same with descriptions, and a
    second supplier's partial feed, all in the demo's supplier feed format."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from webapp.demo import catalog_data
    from webapp.demo.seed import _write_feed

    paths = {
        "ingram": _feed_path("ingram", count),
        "ingram-described": _feed_path("ingram-described", count),
        "dicker": _feed_path("dicker", count),
    }
    if all(path.exists() for path in paths.values()):
        return paths
    FEEDS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    items = list(catalog_data.products(count))
    for name, described in (("ingram", False), ("ingram-described", True)):
        rng = random.Random(11)  # the same offers in both: only the description differs
        tmp = paths[name].with_suffix(".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(_COLUMNS + ["description"] * described)
            for item in items:
                spread = Decimal(rng.randint(92, 108)) / 100
                cost = (item.base_cost * spread).quantize(Decimal("0.01"))
                stock = 0 if rng.random() < 0.2 else rng.randint(1, 250)
                row = [f"ING-{item.mpn}", item.mpn, item.brand, item.name, item.category, cost,
                       stock, rng.choice([1, 2, 3, 5, 7])]  # fmt: skip
                writer.writerow(row + [item.description] * described)
        tmp.rename(paths[name])
    # The second supplier names some categories its own way (mapped by the seed), as in the demo.
    rows = (
        {**row, "category": f"Computing > {row['category']}"}
        if row["category"] in ("Laptops", "Desktops", "Monitors")
        else row
        for row in catalog_data.supplier_feed_rows(items, 1)
    )
    tmp = paths["dicker"].with_suffix(".tmp")
    _write_feed(tmp, "dicker", rows)
    tmp.rename(paths["dicker"])
    print(f"generated feeds in {time.perf_counter() - started:.0f} s", flush=True)
    return paths


def _count_rows(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1


_SUMMARY = re.compile(r"Read ([\d,]+) rows: ([\d,]+) new products, ([\d,]+) new offers, "
                      r"([\d,]+) updated, ([\d,]+) withdrawn, ([\d,]+) skipped")  # fmt: skip


def _step(label: str, cmd: list[str], env: dict, target: Target) -> dict:
    print(f"[{target.name}] {label} …", flush=True)
    slug = re.sub(r"\W+", "-", label).strip("-")
    log = target.instance / f"{slug}.log"
    result = run_measured(cmd, env, log=log)
    if result.returncode != 0:
        sys.exit(f"{label} failed ({result.returncode}); see {log}\n{result.output}")
    step = {
        "step": label,
        "seconds": round(result.seconds, 1),
        "cpu_seconds": round(result.cpu_seconds, 1),
        "peak_rss_mb": round(result.peak_rss_mb),
        "load_average": round(os.getloadavg()[0], 1),
    }
    found = _SUMMARY.search(result.output)
    if found:
        keys = ("rows", "products_created", "offers_created", "offers_updated", "withdrawn",
                "skipped")  # fmt: skip
        numbers = [int(value.replace(",", "")) for value in found.groups()]
        step.update(zip(keys, numbers, strict=True))
    print(f"    {step}", flush=True)
    return step


def build(target: Target, count: int) -> dict:
    # In a child: a million generated products would otherwise count in every later child's
    # peak memory (a fork starts with its parent's pages).
    subprocess.run([PY, __file__, "_generate", str(count)], check=True)
    feeds = generate_feeds(count)
    target.reset()
    steps = []
    with PrivateRedis(target.instance) as redis:
        env = target.env(redis.url)
        steps.append(_step("migrate", [FLASK, "db", "upgrade"], env, target))
        steps.append(_step("seed (no products)", [PY, __file__, "_seed-base"], env, target))
        rows = _count_rows(feeds["ingram"])
        imports = [
            (f"import {rows:,}-row feed (new catalog)", "ingram", feeds["ingram"]),
            ("import second supplier feed", "dicker", feeds["dicker"]),
            (f"re-import {rows:,}-row feed (all updates)", "ingram", feeds["ingram"]),
        ]
        for label, supplier, path in imports:
            cmd = [FLASK, "catalog", "import-feed", supplier, str(path), "--show-problems", "3"]
            steps.append(_step(label, cmd, env, target))
        steps.append(_step("reindex (tantivy)", [FLASK, "catalog", "reindex"], env, target))
    # The CLI keeps a copy of every imported file beside the uploads: 250 MB of copies here.
    shutil.rmtree(target.instance / "imports", ignore_errors=True)
    result = {
        "target": target.name,
        "products": count,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "python_loop_5m_s": speed_probe(),
        "steps": steps,
    }
    target.marker.write_text(json.dumps(result, indent=2))
    save_result(f"catalog-{target.name}-{count}", result)
    return result


def seed_base() -> None:
    """Child process: the demo's suppliers, customers and rules, without any products."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from webapp import create_app
    from webapp.demo import seed as demo
    from webapp.extensions import db

    app = create_app()
    with app.app_context():
        demo.seed(0, Path(app.instance_path) / "demo-feeds", echo=lambda _line: None)
        db.session.commit()


def import_trials(target: Target, count: int, trials: int) -> dict:
    """Time the first import alone, several times, each into a fresh empty catalog (the
    machine is shared: one figure is not enough)."""
    feeds = generate_feeds(count)
    directory = target.instance.with_name(target.instance.name + "-trial")
    if target.name == "postgres":
        url = target.database_url.replace(POSTGRES_DB, f"{POSTGRES_DB}_trial")
    else:
        url = f"sqlite:///{directory / 'msp.db'}"
    trial = Target(target.name, directory, url)
    steps = []
    for number in range(1, trials + 1):
        trial.reset()
        with PrivateRedis(trial.instance) as redis:
            env = trial.env(redis.url)
            _step("migrate", [FLASK, "db", "upgrade"], env, trial)
            _step("seed (no products)", [PY, __file__, "_seed-base"], env, trial)
            cmd = [FLASK, "catalog", "import-feed", "ingram", str(feeds["ingram"])]
            steps.append(_step(f"trial {number}: import {count:,}-row feed", cmd, env, trial))
    trial.drop()
    result = {
        "target": target.name,
        "products": count,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "python_loop_5m_s": speed_probe(),
        "trials": steps,
    }
    save_result(f"import-trials-{target.name}-{count}", result)
    return result


def ensure_built(target: Target, count: int = PRODUCTS, rebuild: bool = False) -> dict:
    if not rebuild and target.marker.exists():
        built = json.loads(target.marker.read_text())
        if built.get("products") == count:
            return built
    return build(target, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--products", type=int, default=PRODUCTS)
    parser.add_argument(
        "--import-trials", type=int, default=0, help="also time the first import N more times"
    )
    args = parser.parse_args()
    if args.import_trials:
        trials = import_trials(Target.get(args.postgres, args.products), args.products,
                               args.import_trials)  # fmt: skip
        print(json.dumps(trials, indent=2))
    result = ensure_built(Target.get(args.postgres, args.products), args.products, args.rebuild)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["_seed-base"]:
        seed_base()
    elif sys.argv[1:2] == ["_generate"]:
        generate_feeds(int(sys.argv[2]))
    else:
        main()
