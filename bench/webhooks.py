"""Drain 10,000 webhook deliveries with one worker; report deliveries per second.

    python bench/webhooks.py [--deliveries 10000] [--postgres]

A throwaway instance (SQLite, or PostgreSQL with --postgres, and an embedded Redis) is
migrated, one endpoint is added (a threaded receiver on loopback answering 204), and the events
are written as the app writes them (``webhooks.operations.emit``, in batches of 500 per
transaction). Then one real RQ worker (burst mode, in this process) drains the queue: every
delivery is signed, POSTed, answered and recorded (attempt row, two commits), as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    instance = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    os.environ["INSTANCE_PATH"] = str(instance)
    database = f"sqlite:///{instance / 'bench.db'}"
    if args.postgres:
        from sqlalchemy import create_engine, text

        server = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
        with create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS bench_webhooks"))
            c.execute(text("CREATE DATABASE bench_webhooks"))
        database = f"{server.replace('postgresql://', 'postgresql+psycopg://')}/bench_webhooks"
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database,
            "REDIS_URL": "",
            "SECRET_KEY": "bench-secret",
            "INTEGRATIONS_ALLOW_HTTP": True,
            "WEBHOOKS_ALLOW_LOOPBACK": True,
            "MAIL_SERVER": "127.0.0.1",
        }
    )
    with app.app_context():
        upgrade()
        report = run(app, args)
    report["database"] = "postgresql" if args.postgres else "sqlite"
    print(json.dumps(report, indent=2))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"webhooks-{report['database']}.json").write_text(json.dumps(report, indent=2))


def run(app, args) -> dict:
    from rq import SimpleWorker

    from tests.sandboxes.server import LiveServer
    from webapp.extensions import db
    from webapp.integrations.models import Delivery, DeliveryStatus
    from webapp.jobs import get_queue
    from webapp.webhooks import operations

    received = []
    lock = threading.Lock()

    def receiver(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with lock:
            received.append(environ.get("HTTP_WEBHOOK_ID"))
        start_response("204 No Content", [])
        return [b""]

    server = LiveServer(receiver).start()
    endpoint, _secret = operations.create_endpoint(f"{server.url}/hooks", "bench", [], "bench")
    db.session.commit()

    started = time.perf_counter()
    for start in range(0, args.deliveries, 500):
        for number in range(start, min(start + 500, args.deliveries)):
            operations.emit("po.issued", {"id": number, "number": f"PO-{number:06d}"})
        db.session.commit()
    written = time.perf_counter() - started

    queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
    started = time.perf_counter()
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True)
    drained = time.perf_counter() - started
    server.stop()

    db.session.expire_all()
    confirmed = db.session.scalar(
        db.select(db.func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.CONFIRMED)
    )
    return {
        "deliveries": args.deliveries,
        "confirmed": confirmed,
        "received": len(received),
        "duplicates": len(received) - len(set(received)),
        "write_seconds": round(written, 2),
        "drain_seconds": round(drained, 2),
        "deliveries_per_second": round(confirmed / drained, 1) if drained else None,
    }


if __name__ == "__main__":
    main()
