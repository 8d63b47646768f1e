"""Push 500 sales orders end to end to the ConnectWise sandbox (company, ticket, products, and
with --procurement a receipted PO linked to each ticket's purchasing demand); report API calls
per document, wall time, 429s, duplicates and lost work.

    python bench/connectwise.py [--orders 500] [--customers 25] [--products 20]
                                [--lost-answers 10] [--procurement 50]

A throwaway instance (SQLite + an embedded Redis in a temporary directory) is migrated and
connected to the sandbox from tests/sandboxes (on loopback) in configuration 1, invoicing from
tickets. Orders are issued with the real sales operation (the ticket deliveries come from the
subscribers) and the RQ queue is drained by a real RQ worker (burst mode, in this process)
until no delivery is open. ``--lost-answers N`` makes the sandbox process N ticket creates and
then drop the connection (the answer is lost): the retry must look the ticket up, not repeat it.
The client keeps to half of ConnectWise's ~1,000 requests a minute (the connection budget), so
the run takes at least calls / 500 minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import run_sandbox_bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--customers", type=int, default=25)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--lost-answers", type=int, default=10)
    parser.add_argument("--procurement", type=int, default=50, help="orders whose PO is receipted")
    run_sandbox_bench("connectwise", run, parser.parse_args(), CONNECTWISE_HTTP_TIMEOUT=10)


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
    from tests.sandboxes.connectwise import ConnectWiseSandbox
    from tests.sandboxes.server import LiveServer
    from tests.sandboxes.specs import require_specs
    from webapp.catalog.models import TaxCode
    from webapp.extensions import db
    from webapp.integrations.models import Delivery, DeliveryStatus
    from webapp.jobs import get_queue
    from webapp.psa.connectwise import operations
    from webapp.psa.connectwise import sync as cw_sync
    from webapp.purchasing import ordering, receipting
    from webapp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
    from webapp.sales import operations as sales
    from workers.integrations import sweep

    require_specs()
    sandbox = ConnectWiseSandbox(per_minute=1000)
    answers: Counter = Counter()

    @sandbox.app.after_request
    def count(response):
        answers[response.status_code] += 1
        return response

    server = LiveServer(sandbox.app).start()
    sandbox.base_url = server.url
    app.config["CONNECTWISE_API_BASE"] = sandbox.base_url
    try:
        db.session.add(TaxCode(code="GST", name="GST 10%", rate=10, is_default=True))
        admin = make_user(email="bench-admin@example.com")
        connection = operations.connect_connectwise(
            sandbox.site_url,
            sandbox.company_id,
            sandbox.public_key,
            sandbox.private_key,
            sandbox.client_id,
            "bench",
        )
        db.session.commit()
        operations.refresh_lookups(connection)
        operations.save_settings(
            connection,
            configuration=operations.CW_INVOICING,
            invoice_from="ticket",
            procurement=True,
            opportunities=True,
            sync_types=["2"],
            sync_statuses=["1"],
            choices={
                "sales_rep": "1",
                "opportunity_stage": "2",
                "opportunity_status": "1",
                "won_status": "2",
                "lost_status": "3",
                "board": "2",
                "ticket_status": "21",
                "subcategory": "1",
                "product_type": "1",
                "warehouse": "1",
                "po_status": "2",
            },  # fmt: skip
        )
        category, brand = make_category("Bench"), make_brand("Bench")
        supplier = make_supplier("ingram", name="Ingram", email="orders@ingram.example")
        products = [
            make_product(category=category, brand=brand, supplier=supplier, name=f"Item {i}")
            for i in range(args.products)
        ]
        orgs = [make_organization(f"Client {i:03d}") for i in range(args.customers)]
        contacts = [make_user(organization=org) for org in orgs]
        db.session.commit()
        get_queue().empty()
        setup_calls = len(sandbox.requests)

        built = time.perf_counter()
        documents = []
        for i in range(args.orders):
            pair = [products[i % len(products)], products[(i * 7 + 3) % len(products)]]
            documents.append(_order(sales, orgs[i % len(orgs)], contacts[i % len(orgs)], pair, i))
            if i % 100 == 99:
                db.session.commit()
        db.session.commit()
        writing = time.perf_counter() - built
        sandbox.faults.drop_next(args.lost_answers, mode="reset", path="service/tickets")

        started = time.perf_counter()
        rounds = _drain(app, SimpleWorker, get_queue, db, Delivery, DeliveryStatus, sweep)
        orders_wall = time.perf_counter() - started
        order_calls = len(sandbox.requests) - setup_calls

        # Procurement: receipt the POs that serve the first orders; each goes to ConnectWise as
        # a completed PO linked to the ticket products' purchasing demand.
        before = len(sandbox.requests)
        served = {d.id for d in documents[: args.procurement]}
        pos = list(
            db.session.scalars(
                db.select(PurchaseOrder)
                .join(PurchaseOrderLine)
                .where(PurchaseOrderLine.sales_document_id.in_(served))
                .distinct()
            )
        )
        for po in pos:
            if po.status == PurchaseOrderStatus.DRAFT:
                ordering.issue_purchase_order(po, admin)
            receipting.record_receipt(
                po,
                receipting.ReceiptInput(
                    supplier_invoice_number=f"INV-{po.number}",
                    invoice_date=date(2026, 12, 1),
                    due_date=None,
                    freight=Decimal("0"),
                    lines=[
                        receipting.ReceiptLineInput(line.id, line.outstanding, line.unit_cost)
                        for line in po.lines
                        if line.outstanding
                    ],
                ),
                admin,
            )
        db.session.commit()
        started = time.perf_counter()
        _drain(app, SimpleWorker, get_queue, db, Delivery, DeliveryStatus, sweep)
        po_wall = time.perf_counter() - started
        po_calls = len(sandbox.requests) - before

        statuses = Counter(s.value for s in db.session.scalars(db.select(Delivery.status)))
        by_kind = Counter(
            (k, s.value) for k, s in db.session.execute(db.select(Delivery.kind, Delivery.status))
        )
        tickets = Counter(t.get("externalXRef") for t in sandbox.table("service/tickets").values())
        wanted = {f"MSP {d.number}" for d in documents}
        products_by_xref = Counter(
            p.get("integrationXRef") for p in sandbox.table("procurement/products").values()
        )
        catalog = Counter(
            c.get("identifier") for c in sandbox.table("procurement/catalog").values()
        )
        cw_pos = Counter(
            p.get("poNumber") for p in sandbox.table("procurement/purchaseorders").values()
        )
        companies = Counter(
            c.get("identifier") for c in sandbox.table("company/companies").values()
        )
        return {
            "orders": args.orders,
            "writing_seconds": round(writing, 1),
            "orders_sync_wall_seconds": round(orders_wall, 1),
            "worker_rounds": rounds,
            "lost_answers_injected": args.lost_answers,
            "api_calls_for_orders": order_calls,
            "calls_per_order": round(order_calls / max(args.orders, 1), 2),
            "purchase_orders": len(pos),
            "api_calls_for_pos": po_calls,
            "calls_per_po": round(po_calls / max(len(pos), 1), 2),
            "po_sync_wall_seconds": round(po_wall, 1),
            "deliveries": dict(statuses),
            "deliveries_by_kind": {f"{k}:{s}": n for (k, s), n in by_kind.items()},
            "duplicates": {
                "tickets": sum(n - 1 for n in tickets.values() if n > 1),
                "products": sum(n - 1 for x, n in products_by_xref.items() if x and n > 1),
                "catalog_items": sum(n - 1 for n in catalog.values() if n > 1),
                "companies": sum(n - 1 for n in companies.values() if n > 1),
                "purchase_orders": sum(n - 1 for x, n in cw_pos.items() if x and n > 1),
            },
            "missing_tickets": len(wanted - set(tickets)),
            "http_429": answers.get(429, 0),
            "http_statuses": dict(answers),
            "sync_kinds": sorted({k for k, _ in by_kind}),
            "connection": connection.id,
            "ticket_kind": cw_sync.TICKET,
        }
    finally:
        sandbox.release()
        server.stop()


def _drain(app, worker_class, get_queue, db, Delivery, DeliveryStatus, sweep) -> int:  # noqa: N803
    rounds = 0
    while True:
        rounds += 1
        queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
        worker_class(queues, connection=queues[0].connection).work(burst=True)
        db.session.expire_all()
        open_count = db.session.execute(
            db.select(db.func.count()).where(
                Delivery.status.in_(
                    [DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.WAITING]
                )
            )
        ).scalar_one()
        if open_count == 0 or rounds > 60:
            return rounds
        for delivery in db.session.scalars(
            db.select(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
        ):
            delivery.next_attempt_at = None  # backoff is for live vendors; the bench goes on
        db.session.commit()
        sweep()


def _order(sales, organization, contact, products, i):
    return sales.issue_document(
        organization=organization,
        contact=contact,
        lines=[
            sales.LineInput(
                product_id=p.id,
                sku=p.mpn,
                description=p.name,
                quantity=1 + (i % 3),
                unit_price=Decimal("120.00"),
                unit_cost=Decimal("100"),
                tax_code=None,
            )
            for p in products
        ],
        header=sales.HeaderInput(
            ship_to_name="Reception",
            address_line1="1 Main Street",
            address_line2="",
            city="Springfield",
            region="",
            postcode="62701",
            country="US",
            shipping_method_name="Courier",
            shipping_charge=Decimal("15.00"),
            payment_method=sales.PaymentMethod.ON_ACCOUNT,
            surcharge_pct=Decimal(0),
            customer_po="",
            note="",
        ),
        source=sales.DocumentSource.STORE,
        idempotency_key=f"bench-{i}",
        actor=contact,
        currency="USD",
    )


if __name__ == "__main__":
    main()
