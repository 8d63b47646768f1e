"""Storefront throughput and latency under gunicorn + wrk, beside a bare Flask hello world.

    python bench/web.py                  # SQLite instance built by bench/catalog.py
    python bench/web.py --postgres       # the PostgreSQL one
    python bench/web.py --seconds 5 --rounds 3 --workers gthread sync

Both apps run under gunicorn with the repo's webapp/gunicorn_conf.py (2 workers) at the
same time; wrk runs against them in turns (hello, category, search, hello, ...) so that
the noise of a shared machine falls on all of them alike. Ratios are taken within a round.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from _common import (
    GUNICORN,
    ROOT,
    SEARCH_WORDS,
    PrivateRedis,
    Target,
    machine,
    save_result,
    speed_probe,
)
from catalog import ensure_built

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_report.lua"
USER_AGENT = "msp-bench/1.0"  # the session is bound to it ("strong" session protection)
CUSTOMER = ("jordan@contoso.example", "demo-password")  # Contoso Dental, "Partner" prices
CATEGORY_PATH = "/c/laptops"
# What people type: common words, brands, multi-word, part-number prefixes, and words being
# typed letter by letter (the last word is matched as a prefix).
SEARCH_QUERIES = [*SEARCH_WORDS, "lat", "lati", "latit", "thinkp"]
SUGGEST_QUERIES = ["la", "lap", "lapt", "lapto", "de", "del", "dell l", "dell la", "mon", "moni"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One gunicorn, configured by the repo's gunicorn_conf.py."""

    def __init__(self, app: str, env: dict, threads: int, log_dir: Path, name: str, chdir=None):
        self.port = free_port()
        self.access_log = log_dir / f"{name}-access.log"
        self.error_log = log_dir / f"{name}-error.log"
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_ACCESS_LOG": str(self.access_log),
        }
        config = ROOT / "webapp" / "gunicorn_conf.py"
        self.cmd = [GUNICORN, "--config", str(config), "--error-logfile", str(self.error_log)]
        if chdir:
            self.cmd += ["--chdir", str(chdir)]
        self.cmd.append(app)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.access_log.unlink(missing_ok=True)
        self.process = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.error_log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start listening")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def statuses(self) -> dict[str, int]:
        """Count response statuses in the access log (wrk does not count 3xx as errors)."""
        counts: dict[str, int] = {}
        if self.access_log.exists():
            for line in self.access_log.open(errors="replace"):
                found = re.search(r'" (\d{3}) ', line)
                if found:
                    counts[found.group(1)] = counts.get(found.group(1), 0) + 1
        return counts


def sign_in(base: str) -> str:
    """Sign in through the real /login form; return the Cookie header to replay."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if token is None:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "email": CUSTOMER[0], "password": CUSTOMER[1]}
    ).encode()
    opener.open(f"{base}/login", data=form, timeout=30).read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "session" not in cookies:
        raise RuntimeError("sign-in did not set a session cookie")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def fetch(url: str, cookie: str | None = None) -> tuple[int, str]:
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(url, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def wrk(
    base: str,
    paths: list[str],
    *,
    seconds: float,
    connections: int,
    threads: int,
    cookie: str | None,
    workdir: Path,
) -> dict:
    paths_file = workdir / f"paths-{abs(hash(tuple(paths)))}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{round(seconds)}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        "-H",
        f"User-Agent: {USER_AGENT}",
    ]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cmd.append(base + paths[0])
    env = {**os.environ, "WRK_PATHS": str(paths_file)}
    output = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("{"))
    return json.loads(line)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def measure(
    target: Target,
    worker_kinds: list[str],
    *,
    seconds: float,
    rounds: int,
    connections: int,
    products: int,
) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    logs = target.instance / "web-bench"
    logs.mkdir(exist_ok=True)
    results: dict = {
        "target": target.name,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "python_loop_5m_s": speed_probe(),
        "seconds_per_run": seconds,
        "rounds": rounds,
        "connections": connections,
        "workers": {},
    }
    with PrivateRedis(target.instance / "web-redis") as redis:
        env = target.env(redis.url)
        for kind in worker_kinds:
            threads = 1 if kind == "sync" else 4
            app = Server("wsgi:app", env, threads, logs, f"app-{kind}")
            hello = Server("hello_app:app", env, threads, logs, f"hello-{kind}", chdir=HERE)
            bounds = Server("bounds_app:app", env, threads, logs, f"bounds-{kind}", chdir=HERE)
            with app, hello, bounds:
                results["workers"][kind] = _measure_pair(
                    app,
                    hello,
                    bounds,
                    seconds=seconds,
                    rounds=rounds,
                    connections=connections,
                    logs=logs,
                )
                results["workers"][kind]["category_cold_one_connection"] = _cold_latency(
                    app.url, redis.url
                )
    save_result(f"web-{target.name}-{products}", results)
    return results


def _measure_pair(
    app: Server, hello: Server, bounds: Server, *, seconds, rounds, connections, logs
) -> dict:
    cookie = sign_in(app.url)
    bounds_cookie = sign_in(bounds.url)
    status, body = fetch(app.url + CATEGORY_PATH, cookie)
    if status != 200 or 'id="product-grid"' not in body or "Contoso Dental" not in body:
        raise RuntimeError(f"the category page did not render for the customer ({status})")
    search_paths = [f"/search?q={urllib.parse.quote_plus(q)}" for q in SEARCH_QUERIES]
    suggest_paths = [f"/search/suggest?q={urllib.parse.quote_plus(q)}" for q in SUGGEST_QUERIES]
    for path in [CATEGORY_PATH, *search_paths, *suggest_paths]:  # warm caches and workers
        for _ in range(2):
            fetch(app.url + path, cookie)
    for path in ("/__bench__/signed-in", "/__bench__/page-size"):
        fetch(bounds.url + path, bounds_cookie)
    runs = {
        "hello": (hello.url, ["/"], None),
        "category": (app.url, [CATEGORY_PATH], cookie),
        "search": (app.url, search_paths, cookie),
        # Bounds: the cheapest signed-in page, and a page as big as a category page.
        "bound_signed_in_ok": (bounds.url, ["/__bench__/signed-in"], bounds_cookie),
        "bound_50kb_static": (bounds.url, ["/__bench__/page-size"], None),
    }
    samples: dict[str, list[dict]] = {name: [] for name in runs}
    for _round in range(rounds):
        for name, (base, paths, cookie_header) in runs.items():
            samples[name].append(
                wrk(
                    base,
                    paths,
                    seconds=seconds,
                    connections=connections,
                    threads=2,
                    cookie=cookie_header,
                    workdir=logs,
                )
            )
    # Latency as one visitor sees it: one connection, so the figure is the server's own time.
    latency = {
        "category": wrk(app.url, [CATEGORY_PATH], **_one(seconds, cookie, logs)),
        "search": wrk(app.url, search_paths, **_one(seconds, cookie, logs)),
        "suggest": wrk(app.url, suggest_paths, **_one(seconds, cookie, logs)),
    }
    summary = {}
    for name, runs_ in samples.items():
        summary[name] = {
            "rps_median": _median([r["rps"] for r in runs_]),
            "rps_each": [round(r["rps"]) for r in runs_],
            "p50_ms": _median([r["p50_ms"] for r in runs_]),
            "p90_ms": _median([r["p90_ms"] for r in runs_]),
            "p99_ms": _median([r["p99_ms"] for r in runs_]),
            "errors": sum(r["non_2xx_3xx"] + r["socket_errors"] for r in runs_),
        }
        if name != "hello":
            ratios = [r["rps"] / h["rps"] for r, h in zip(runs_, samples["hello"], strict=True)]
            summary[name]["ratio_to_hello"] = _median(ratios)
            summary[name]["ratio_each"] = [round(x, 3) for x in ratios]
        if name != "bound_signed_in_ok":
            # The framework's floor: a signed-in page of the same app that only says "ok".
            floor = samples["bound_signed_in_ok"]
            ratios = [r["rps"] / o["rps"] for r, o in zip(runs_, floor, strict=True)]
            summary[name]["ratio_to_signed_in_ok"] = _median(ratios)
    return {
        "throughput": summary,
        "latency_one_connection": latency,
        "statuses": {
            "app": app.statuses(),
            "hello": hello.statuses(),
            "bounds": bounds.statuses(),
        },
    }


def _cold_latency(base: str, redis_url: str, requests: int = 200) -> dict:
    """The category page with a cold cache, one connection: the catalog version is bumped
    before each request (as any catalog change does), so its listing and price book are
    rebuilt from the database. Timed by the client (urllib), so a little above the server's."""
    import redis as redis_client

    cookie = sign_in(base)
    connection = redis_client.Redis.from_url(redis_url)
    timings = []
    for _ in range(requests):
        connection.incr("catalog:version")
        started = time.perf_counter()
        status, body = fetch(base + CATEGORY_PATH, cookie)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200 or 'id="product-grid"' not in body:
            raise RuntimeError(f"cold category page failed ({status})")
    timings.sort()
    return {
        "requests": requests,
        "p50_ms": round(timings[len(timings) // 2], 3),
        "p95_ms": round(timings[int(len(timings) * 0.95)], 3),
        "p99_ms": round(timings[int(len(timings) * 0.99)], 3),
    }


def _one(seconds: float, cookie: str, workdir: Path) -> dict:
    return {
        "seconds": seconds,
        "connections": 1,
        "threads": 1,
        "cookie": cookie,
        "workdir": workdir,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", nargs="+", default=["gthread", "sync"])
    parser.add_argument("--products", type=int, default=1_000_000)
    args = parser.parse_args()
    target = Target.get(args.postgres, args.products)
    ensure_built(target, args.products)
    results = measure(
        target,
        args.workers,
        seconds=args.seconds,
        rounds=args.rounds,
        connections=args.connections,
        products=args.products,
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
