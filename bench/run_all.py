"""`make bench`: every benchmark, one after the other, each in its own process.

    python bench/run_all.py               # SQLite at a million products, the optimizer, the sync
    python bench/run_all.py --postgres    # PostgreSQL as well (needs BENCH_POSTGRES reachable)
    python bench/run_all.py --quick       # 100,000 products, short runs: a smoke test

Results land in bench/results/*.json; bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> None:
    command = [sys.executable, str(HERE / script), *args]
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="100k products, short runs")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the catalogs")
    args = parser.parse_args()
    size = ["--products", "100000"] if args.quick else []
    web = ["--seconds", "3", "--rounds", "2"] if args.quick else []
    for postgres in [False, True] if args.postgres else [False]:
        db = ["--postgres"] if postgres else []
        run("catalog.py", *db, *size, *(["--rebuild"] if args.rebuild else []))
        run("search_latency.py", *db, *size, *(["--rounds", "2"] if args.quick else []))
        run("web.py", *db, *size, *web)
    run("optimizer.py")
    run("sync.py", *(["--invoices", "200", "--bills", "200"] if args.quick else []))


if __name__ == "__main__":
    main()
