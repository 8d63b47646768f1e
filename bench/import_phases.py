"""Time one first feed import phase by phase: reading and COPY, the merge, the withdrawals, the
product totals, the index builds, the commit (search sync is queued at commit).

    BENCH_POSTGRES_DB=test_simple python bench/import_phases.py [--postgres] [--rows N]
        [--trials N] [--before DIR] [--load N] [--database NAME]

Each trial imports the cached 1M-row `ingram` feed (`bench/catalog.py` generates it; `--rows`
takes its first N rows) into a fresh empty catalog, in a child process that runs
`feeds.run_import` in-process, records when each step the importer announces starts, and times
every SQL statement that takes over 0.2 s. `--before DIR` names an exported older tree
(`git archive <commit> | tar -x -C DIR`): the trials then alternate between it and this tree, so
both are measured in the same minutes of a shared machine. `--load N` starts N processes that
burn a CPU each (a bare Python loop) before the first trial and stops them after the last, to
measure the import on a busy machine. `--database NAME` names the throwaway PostgreSQL database
(default `<BENCH_POSTGRES_DB>_phases`); it is recreated for each trial and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

# bench/ is on the path (the script's directory); webapp comes from PYTHONPATH, the tree measured.
from _common import POSTGRES_DB, POSTGRES_SERVER, PY, PrivateRedis, Target

SLOW_STATEMENT_S = 0.2


def child(feed: str) -> None:
    """In the trial's instance: import `feed` for ingram, print the phases as JSON."""
    from sqlalchemy import event, select

    from webapp import create_app
    from webapp.catalog import feeds
    from webapp.catalog.models import Supplier
    from webapp.extensions import db

    app = create_app()
    with app.app_context():
        supplier = db.session.scalar(select(Supplier).where(Supplier.code == "ingram"))
        run = feeds.create_run(supplier, Path(feed), Path(feed).name, actor_id=None)
        db.session.commit()
        statements: list[tuple[float, str]] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def _before(conn, cursor, statement, params, context, many):
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def _after(conn, cursor, statement, params, context, many):
            took = time.perf_counter() - conn.info.pop("bench_started")
            if took >= SLOW_STATEMENT_S:
                statements.append((round(took, 2), " ".join(statement.split())[:110]))

        phases: list[list] = [["reading rows, COPY", time.perf_counter()]]
        started = phases[0][1]
        cpu = time.process_time()
        feeds.IMPORT.fire(run, "start")
        feeds.run_import(
            run, Path(feed), step=lambda text: phases.append([text, time.perf_counter()])
        )
        phases.append(["commit", time.perf_counter()])
        db.session.commit()
        ended = time.perf_counter()
        marks = [at for _, at in phases[1:]] + [ended]
        print(
            json.dumps(
                {
                    "phases": {
                        name: round(end - at, 2)
                        for (name, at), end in zip(phases, marks, strict=True)
                    },
                    "total_s": round(ended - started, 2),
                    "cpu_s": round(time.process_time() - cpu, 2),
                    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                    "slow_statements": statements,
                }
            )
        )


def _load() -> float:
    return os.getloadavg()[0]


def _burn() -> None:
    """Keep one CPU busy until terminated."""
    while True:
        pass


def start_load(processes: int) -> list[multiprocessing.Process]:
    """Start `processes` CPU burners (daemons: they die with this process at the latest)."""
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(processes)]
    for burner in burners:
        burner.start()
    return burners


def stop_load(burners: list[multiprocessing.Process]) -> None:
    for burner in burners:
        burner.terminate()
    for burner in burners:
        burner.join(timeout=10)


def trial(tree: Path, target: Target, feed: Path) -> dict:
    target.reset()
    with PrivateRedis(target.instance) as redis:
        env = target.env(redis.url, PYTHONPATH=str(tree))
        flask = str(Path(PY).parent / "flask")
        subprocess.run([flask, "db", "upgrade"], env=env, cwd=tree, check=True, capture_output=True)
        seed = [PY, str(Path(__file__).resolve().parent / "catalog.py"), "_seed-base"]
        subprocess.run(seed, env=env, cwd=tree, check=True, capture_output=True)
        load = _load()
        done = subprocess.run(
            [PY, __file__, "_child", str(feed)], env=env, cwd=tree, check=True,
            capture_output=True, text=True,
        )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_before"] = round(load, 2)
    result["load_after"] = round(_load(), 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--before", type=Path, help="an older tree to alternate with")
    parser.add_argument("--load", type=int, default=0, help="CPU-burning processes meanwhile")
    parser.add_argument("--database", help="the PostgreSQL database to use (recreated, dropped)")
    args = parser.parse_args()
    from catalog import generate_feeds

    feed = generate_feeds(1_000_000)["ingram"]
    if args.rows < 1_000_000:
        cut = feed.with_name(f"ingram-first-{args.rows}.csv")
        if not cut.exists():
            with open(feed, encoding="utf-8") as source, open(cut, "w", encoding="utf-8") as out:
                for number, line in enumerate(source):
                    if number > args.rows:
                        break
                    out.write(line)
        feed = cut
    base = Target.get(args.postgres)
    target = Target(
        base.name,
        base.instance.with_name(base.instance.name + "-phases"),
        f"{POSTGRES_SERVER}/{args.database or POSTGRES_DB + '_phases'}"
        if args.postgres
        else f"sqlite:///{base.instance}-phases/msp.db",
    )
    here = Path(__file__).resolve().parent.parent
    trees = [("before", args.before.resolve()), ("after", here)] if args.before else [("", here)]
    burners = start_load(args.load)
    try:
        for number in range(1, args.trials + 1):
            for label, tree in trees:
                result = trial(tree, target, feed)
                print(
                    json.dumps(
                        {"trial": number, "tree": label or str(tree), "load": args.load, **result}
                    ),
                    flush=True,
                )
    finally:
        stop_load(burners)
        target.drop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["_child"]:
        child(sys.argv[2])
    else:
        main()
