"""Sync 500 quotes of 10 lines to the Autotask sandbox: opportunity, Autotask quote, items;
report calls per document, the share of the database's hourly budget, and duplicates.

    python bench/autotask.py [--quotes 500] [--lines 10] [--customers 25] [--products 40]

A throwaway instance (SQLite + an embedded Redis) is migrated, an Autotask connection made
against the sandbox (tests/sandboxes/autotask.py, on loopback), quotes are written with the
real operations (so the deliveries come from the subscribers), then the RQ queue is drained by
a real worker in this process. Each quote has 8 product lines (of ``--products`` products),
a recurring managed service and a one-off onsite service, plus shipping.

Our limiter keeps to half the hour (5,000 calls) and slows from 4,000: a run of 500 quotes
needs more than that, so for the count the bench lifts our hourly cap and the sandbox's (the
calls are what they are; at the real cap the same run spreads over the hours it needs).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import run_sandbox_bench  # noqa: E402

ITEMS = {
    "product_material_code": "1",
    "recurring_billing_code": "5",
    "service_material_code": "6",
    "surcharge_material_code": "4",
    "shipping_type": "2",
}
SETTINGS = {
    "default_owner": "29682887",
    "created_stage": "3",
    "created_status": "1",
    "won_stage": "5",
    "won_status": "3",
    "lost_stage": "5",
    "lost_status": "2",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=500)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--customers", type=int, default=25)
    parser.add_argument("--products", type=int, default=40)
    run_sandbox_bench("autotask", run, parser.parse_args())


def run(app, args) -> dict:
    from rq import SimpleWorker

    from tests.factories import (
        make_brand,
        make_category,
        make_organization,
        make_product,
        make_user,
    )
    from webapp.auth.models import Role
    from webapp.catalog.models import ProductType
    from webapp.extensions import db
    from webapp.integrations.models import Delivery, DeliveryStatus
    from webapp.jobs import get_queue
    from webapp.psa.autotask import budget
    from webapp.quotes import building as quotes
    from webapp.sales.models import Recurrence
    from workers.integrations import sweep

    sandbox, server = start_sandbox(app)
    try:
        connect(sandbox, ITEMS)
        get_queue().empty()  # the connect-time jobs were run above (or are not needed)

        category, brand = make_category("Bench"), make_brand("Bench")
        products = [
            make_product(
                category=category, brand=brand, name=f"Item {i}", fixed_price=Decimal("120")
            )
            for i in range(args.products)
        ]
        orgs = [
            make_organization(f"Client {i:03d}", phone="555-0100") for i in range(args.customers)
        ]
        sales = make_user(role=Role.SALES, email="bench-sales@example.com")
        db.session.commit()
        setup_calls = len(sandbox.requests)

        built = time.perf_counter()
        numbers = []
        for i in range(args.quotes):
            quote = quotes.create_quote(
                organization=orgs[i % len(orgs)], owner=sales, actor=sales, title=f"Bench {i}"
            )
            section = quote.sections[0]
            for j in range(args.lines - 2):
                product = products[(i * 7 + j * 3) % len(products)]
                quotes.add_product_line(quote, section, product, 1 + j % 3, sales)
            service = quotes.add_custom_line(
                quote, section, description="Managed workstation",
                product_type=ProductType.RECURRING_SERVICE, quantity=5,
                unit_price=Decimal("45"), unit_cost=Decimal("20"), sku="MS-1", actor=sales,
            )  # fmt: skip
            change = quotes.LineChanges.__dataclass_fields__
            current = {name: getattr(service, name) for name in change}
            quotes.update_line(
                quote, service,
                quotes.LineChanges(**{**current, "recurrence": Recurrence.MONTHLY,
                                      "term_months": 12}),
                sales,
            )  # fmt: skip
            quotes.add_custom_line(
                quote, section, description="Onsite setup", product_type=ProductType.SERVICE,
                quantity=2, unit_price=Decimal("150"), unit_cost=Decimal("60"), sku="SETUP",
                actor=sales,
            )  # fmt: skip
            numbers.append(quote.number)
            if i % 50 == 49:
                db.session.commit()
        db.session.commit()
        writing = time.perf_counter() - built

        started = time.perf_counter()
        rounds = 0
        while True:
            rounds += 1
            queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
            SimpleWorker(queues, connection=queues[0].connection).work(burst=True)
            db.session.expire_all()
            open_count = db.session.execute(
                db.select(db.func.count()).where(
                    Delivery.status.in_(
                        [DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.WAITING]
                    )
                )
            ).scalar_one()
            if open_count == 0 or rounds > 50:
                break
            sweep()
        wall = time.perf_counter() - started

        calls = len(sandbox.requests) - setup_calls
        by_method = Counter(method for method, _path, _body in sandbox.requests[setup_calls:])
        delivered = Counter(
            s.value for s in db.session.execute(db.select(Delivery.status)).scalars()
        )
        at_quotes = Counter(q.get("ExternalQuoteNumber") for q in sandbox.records("Quotes"))
        opportunities = Counter(o["Title"].split(" ")[0] for o in sandbox.records("Opportunities"))
        items = Counter(i["QuoteID"] for i in sandbox.records("QuoteItems"))
        ids = {q["ExternalQuoteNumber"]: q["Id"] for q in sandbox.records("Quotes")}
        wrong_items = sum(1 for n in numbers if items.get(ids.get(n)) != args.lines)
        return {
            "quotes": args.quotes,
            "lines_per_quote": args.lines,
            "writing_seconds": round(writing, 1),
            "sync_wall_seconds": round(wall, 1),
            "worker_rounds": rounds,
            "deliveries": dict(delivered),
            "api_calls": calls,
            "calls_by_method": dict(by_method),
            "calls_per_quote": round(calls / args.quotes, 2),
            "share_of_hourly_budget": f"{calls / budget.HOURLY:.0%}",
            "share_of_our_half": f"{calls / budget.OURS:.0%}",
            "products_created": len(sandbox.records("Products")),
            "services_created": len(sandbox.records("Services")),
            "duplicate_quotes": sum(n - 1 for n in at_quotes.values() if n > 1),
            "duplicate_opportunities": sum(n - 1 for n in opportunities.values() if n > 1),
            "missing_quotes": sum(1 for n in numbers if n not in at_quotes),
            "quotes_with_wrong_item_count": wrong_items,
            "ignored_fields": sorted(set(sandbox.ignored_fields))[:20],
        }
    finally:
        sandbox.release()
        server.stop()


def start_sandbox(app):
    """The Autotask sandbox on loopback, our caps and the sandbox's lifted (module docstring)."""
    from tests.sandboxes.autotask import AutotaskSandbox
    from tests.sandboxes.server import LiveServer
    from tests.sandboxes.specs import require_specs
    from webapp.integrations.interfaces import RateLimit
    from webapp.psa.autotask import budget
    from webapp.psa.autotask.provider import AutotaskProvider

    require_specs()
    AutotaskProvider.rate_limit = RateLimit(per_minute=100_000, concurrent=3, per_hour=1_000_000)
    budget.SLOW_FROM = 10**9
    sandbox = AutotaskSandbox(hourly_limit=1_000_000)
    server = LiveServer(sandbox.app).start()
    sandbox.base_url = server.url
    app.config["AUTOTASK_ZONE_URL"] = sandbox.global_url
    app.config["AUTOTASK_API_BASE"] = ""
    return sandbox, server


def connect(sandbox, items: dict, tickets: bool = False, title: str = ""):
    """Connect, read the picklists, store the opportunity and item (and ticket) settings."""
    from webapp.catalog.models import TaxCode
    from webapp.extensions import db
    from webapp.psa import operations

    db.session.add(TaxCode(code="GST", name="GST 10%", rate=10, is_default=True))
    connection = operations.connect_autotask(
        sandbox.username, sandbox.secret, sandbox.integration_code, actor="bench"
    )
    db.session.commit()
    operations.refresh_picklists(connection)
    operations.save_opportunity_options(connection, enabled=True, probability=50, choices=SETTINGS)
    operations.save_item_options(connection, choices=items, title=title, tickets=tickets)
    db.session.commit()
    return connection


if __name__ == "__main__":
    main()
