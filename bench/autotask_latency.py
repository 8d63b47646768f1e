"""Issue 14's "order -> ticket in about 15 seconds": the time from a store order's commit to
its Autotask ticket confirmed (delivery CONFIRMED, charges read back), p50 / p95 / max.

    python bench/autotask_latency.py [--orders 50] [--interval 1.0] [--customers 10]

The instance, sandbox and connection are bench/autotask.py's (``start_sandbox``, ``connect``),
here with tickets switched on; the orders are bench/connectwise.py's (``_order``: two product
lines, shipping, issued with the real ``sales.issue_document``, so the ticket deliveries come
from the subscribers). A thread issues one order every ``--interval`` seconds (its own app
context and session) and notes each commit's time; meanwhile the main thread runs a real RQ
worker in burst mode over and over (idle polls 50 ms apart), as the other benches drain. The
latency is ``Delivery.confirmed_at`` minus the commit; it includes the order's company (the
first order of each organisation) and the products created once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import run_sandbox_bench  # noqa: E402
from autotask import ITEMS, connect, start_sandbox  # noqa: E402
from connectwise import _order  # noqa: E402

TICKETS = {
    **ITEMS,
    "ticket_queue": "8",
    "ticket_status": "1",
    "ticket_priority": "2",
    "charge_type": "1",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between orders")
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600, help="seconds after the last order")
    run_sandbox_bench("autotask_latency", run, parser.parse_args())


def run(app, args) -> dict:
    from rq import SimpleWorker

    from tests.factories import (
        make_brand,
        make_category,
        make_organization,
        make_product,
        make_supplier,
        make_user,
    )
    from webapp.extensions import db
    from webapp.integrations.models import Delivery, DeliveryStatus
    from webapp.jobs import get_queue
    from webapp.psa import sync
    from webapp.sales import operations as sales
    from webapp.sales.models import SalesDocument
    from workers.integrations import sweep

    sandbox, server = start_sandbox(app)
    try:
        connect(sandbox, TICKETS, tickets=True, title="SO {number} / {po}")
        category, brand = make_category("Bench"), make_brand("Bench")
        supplier = make_supplier("ingram", name="Ingram", email="orders@ingram.example")
        products = [
            make_product(category=category, brand=brand, supplier=supplier, name=f"Item {i}")
            for i in range(args.products)
        ]
        orgs = [
            make_organization(f"Client {i:03d}", phone="555-0100") for i in range(args.customers)
        ]
        contacts = [make_user(organization=org) for org in orgs]
        db.session.commit()
        product_ids = [p.id for p in products]
        org_ids = [o.id for o in orgs]
        contact_ids = [c.id for c in contacts]
        get_queue().empty()

        committed: dict[int, datetime] = {}  # document id -> commit time
        errors: list[str] = []

        def issue() -> None:
            from webapp.auth.models import User
            from webapp.catalog.models import Product
            from webapp.organizations.models import Organization

            with app.app_context():
                try:
                    for i in range(args.orders):
                        k = i % len(org_ids)
                        pair = [
                            db.session.get(Product, product_ids[i % len(product_ids)]),
                            db.session.get(Product, product_ids[(i * 7 + 3) % len(product_ids)]),
                        ]
                        org = db.session.get(Organization, org_ids[k])
                        contact = db.session.get(User, contact_ids[k])
                        document = _order(sales, org, contact, pair, i)
                        db.session.commit()
                        committed[document.id] = datetime.now(UTC)
                        time.sleep(args.interval)
                except Exception as exc:  # reported, not raised: the thread would hide it
                    errors.append(repr(exc))
                finally:
                    db.session.remove()

        producer = threading.Thread(target=issue)
        started = time.perf_counter()
        producer.start()
        deadline = started + args.orders * args.interval + args.timeout
        rounds = 0
        while time.perf_counter() < deadline:
            rounds += 1
            queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
            SimpleWorker(queues, connection=queues[0].connection).work(burst=True)
            db.session.expire_all()
            db.session.rollback()
            if not producer.is_alive() and len(committed) == args.orders or errors:
                done = db.session.scalar(
                    db.select(db.func.count()).where(
                        Delivery.kind == sync.TICKET, Delivery.status == DeliveryStatus.CONFIRMED
                    )
                )
                if done >= args.orders or errors:
                    break
            if rounds % 100 == 0:
                sweep()
            time.sleep(0.05)
        wall = time.perf_counter() - started
        producer.join()

        confirmed = {
            d.subject_id: d.confirmed_at
            for d in db.session.scalars(db.select(Delivery).where(Delivery.kind == sync.TICKET))
            if d.status == DeliveryStatus.CONFIRMED and d.confirmed_at is not None
        }
        numbers = dict(db.session.execute(db.select(SalesDocument.id, SalesDocument.number)).all())
        on_tickets = {t.get("ExternalID") for t in sandbox.records("Tickets")}
        latencies = sorted(
            (_aware(confirmed[doc]) - at).total_seconds()
            for doc, at in committed.items()
            if doc in confirmed and numbers[doc] in on_tickets
        )
        first = {doc: at for doc, at in list(committed.items())[: len(org_ids)]}
        return {
            "orders": args.orders,
            "interval_seconds": args.interval,
            "organisations": len(org_ids),
            "errors": errors,
            "tickets_confirmed": len(latencies),
            "tickets_in_sandbox": len(sandbox.records("Tickets")),
            "p50_seconds": round(statistics.median(latencies), 2) if latencies else None,
            "p95_seconds": round(_p95(latencies), 2) if latencies else None,
            "max_seconds": round(latencies[-1], 2) if latencies else None,
            "min_seconds": round(latencies[0], 2) if latencies else None,
            "first_order_per_organisation_max_seconds": round(
                max(
                    (_aware(confirmed[d]) - at).total_seconds()
                    for d, at in first.items()
                    if d in confirmed
                ),
                2,
            )
            if confirmed
            else None,
            "deliveries": dict(
                Counter(
                    f"{kind} {status.value}"
                    for kind, status in db.session.execute(
                        db.select(Delivery.kind, Delivery.status)
                    )
                )
            ),
            "last_errors": sorted(
                {
                    d.last_error[:200]
                    for d in db.session.scalars(db.select(Delivery))
                    if d.last_error
                }
            )[:5],
            "wall_seconds": round(wall, 1),
            "worker_rounds": rounds,
            "api_calls": len(sandbox.requests),
        }
    finally:
        sandbox.release()
        server.stop()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _p95(values: list[float]) -> float:
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


if __name__ == "__main__":
    main()
