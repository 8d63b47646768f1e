"""Server-side search latency at a million products, in-process, over a realistic query mix.

    python bench/search_latency.py [--postgres] [--rounds 5]

Times `webapp.catalog.search.search()` alone, and the whole search page and suggestion
fragment as the app renders them (through the WSGI app, no network), for common words,
brands, multi-word queries, part-number prefixes and words typed letter by letter. The
page's figures are given for the first round (cold: nothing cached at this catalog version)
and for the later rounds (warm: the same queries again, served from the search cache).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

from _common import SEARCH_WORDS, PrivateRedis, Target, machine, save_result, speed_probe
from catalog import ensure_built

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Words typed letter by letter (the last word is matched as a prefix); part-number
# prefixes are taken from the catalog itself at run time.
TYPED = ["la", "lat", "lati", "latit", "de", "del", "dell l", "dell la", "mon", "moni", "thinkp"]
# Misspelled: nothing matches as typed, so the page also looks for a correction and runs it.
TYPOS = ["lenvo laptop", "thinkpda", "synolgy nas", "logitec mouse"]


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1], 2),
    }


def measure(target: Target, rounds: int, products: int) -> dict:
    with PrivateRedis(target.instance / "search-redis") as redis:
        os.environ.update(target.env(redis.url))
        from flask_login import login_user
        from sqlalchemy import select
        from werkzeug.test import EnvironBuilder

        from webapp import create_app
        from webapp.auth.models import User
        from webapp.catalog import search
        from webapp.catalog.cache import bump_catalog_version
        from webapp.catalog.models import Product
        from webapp.extensions import db

        app = create_app()

        @app.get("/__bench__/login")
        def bench_login():
            customer = select(User).where(User.email == "jordan@contoso.example")
            login_user(db.session.scalar(customer))
            return "ok"

        client = app.test_client()
        client.get("/__bench__/login", headers={"User-Agent": "bench"})
        client.get("/", headers={"User-Agent": "bench"})  # the session gets its CSRF token
        cookie = f"session={client.get_cookie('session').value}"
        with app.app_context():
            spread = select(Product.mpn).where(Product.id % 997 == 0).order_by(Product.id)
            mpns = db.session.scalars(spread.limit(5)).all()
        prefixes = [mpn[:n] for mpn in mpns for n in (3, 5, 8)]
        queries = SEARCH_WORDS + TYPED + prefixes + TYPOS

        def page(path: str) -> float:
            environ = EnvironBuilder(
                path=path,
                headers={"User-Agent": "bench", "Cookie": cookie},
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
            ).get_environ()
            environ["wsgi.input"] = io.BytesIO(b"")
            statuses = []
            started = time.perf_counter()
            body = b"".join(app.wsgi_app(environ, lambda s, h, e=None: statuses.append(s)))
            elapsed = (time.perf_counter() - started) * 1000
            if not statuses[0].startswith("200") or not body:
                raise RuntimeError(f"{path}: {statuses[0]}")
            return elapsed

        engine_ms, facets_ms, page_ms, sorted_ms, suggest_ms, slowest = [], [], [], [], [], {}
        cold_page_ms: list[float] = []
        facets_cold_ms: list[float] = []  # the facet column's own request, first time
        facets_warm_ms: list[float] = []
        with app.app_context():
            for query in queries:  # warm up: open the index, fill OS caches
                search.search(query)
            # Search pages are cached at the catalog version: the first round finds nothing
            # cached (cold), the later ones repeat the same queries (warm).
            bump_catalog_version()
        for round_number in range(rounds):
            for query in queries:
                with app.app_context():
                    started = time.perf_counter()
                    search.search(query, limit=48)
                    engine_ms.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    search.search(query, limit=48, with_facets=True)
                    facets_ms.append((time.perf_counter() - started) * 1000)
                quoted = urllib.parse.quote_plus(query)
                # The page: results, the four facet counts, and a correction when none match.
                elapsed = page(f"/search?q={quoted}")
                (cold_page_ms if round_number == 0 else page_ms).append(elapsed)
                # The facet column the page loads after it (the same request HTMX makes).
                facets_elapsed = page(f"/search/facets?q={quoted}")
                (facets_cold_ms if round_number == 0 else facets_warm_ms).append(facets_elapsed)
                slowest[query] = max(slowest.get(query, 0.0), elapsed)
                sorted_ms.append(page(f"/search?q={quoted}&sort=price&in_stock=1"))
                suggest_ms.append(page(f"/search/suggest?q={quoted}"))
    result = {
        "target": target.name,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "python_loop_5m_s": speed_probe(),
        "queries": queries,
        "rounds": rounds,
        "load_average": round(os.getloadavg()[0], 1),
        "search_engine_only": _percentiles(engine_ms),
        "search_with_facets": _percentiles(facets_ms),
        "search_page_cold": _percentiles(cold_page_ms),
        "search_page": _percentiles(page_ms or cold_page_ms),
        "facet_fragment_cold": _percentiles(facets_cold_ms),
        "facet_fragment": _percentiles(facets_warm_ms or facets_cold_ms),
        "search_page_sorted_filtered": _percentiles(sorted_ms),
        "suggest_fragment": _percentiles(suggest_ms),
        "slowest_pages_ms": dict(sorted(slowest.items(), key=lambda kv: -kv[1])[:5]),
        "median_page_ms": round(statistics.median(page_ms or cold_page_ms), 2),
    }
    save_result(f"search-{target.name}-{products}", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--products", type=int, default=1_000_000)
    args = parser.parse_args()
    target = Target.get(args.postgres, args.products)
    ensure_built(target, args.products)
    print(json.dumps(measure(target, args.rounds, args.products), indent=2))


if __name__ == "__main__":
    main()
