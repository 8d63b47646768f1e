"""Push 1,000 invoices and 1,000 bills through the accounting outbox to the QuickBooks and
Xero sandboxes; report API calls per document, wall time, 429s, duplicates and lost work.

    python bench/sync.py [--invoices 1000] [--bills 1000] [--customers 40] [--products 30]

A throwaway instance (SQLite + an embedded Redis in a temporary directory) is migrated, two
ledgers are connected (the sandboxes from tests/sandboxes, on loopback), documents and
receipts are written with the real signals (so the delivery rows come from the subscribers),
then the RQ queue is drained by a real RQ worker (burst mode, in this process) until no
delivery is open. The vendor limits apply: QuickBooks allows 40 /batch calls a minute, so
~70 batches take about two minutes whatever the machine.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import run_sandbox_bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--bills", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--products", type=int, default=30)
    run_sandbox_bench("sync", run, parser.parse_args())


def run(app, args) -> dict:
    from rq import SimpleWorker

    from tests.accounting.builders import (
        connect_qbo,
        connect_xero,
        make_document,
        make_receipt,
        point_app_at_qbo,
        point_app_at_xero,
    )
    from tests.factories import (
        make_brand,
        make_category,
        make_organization,
        make_product,
        make_supplier,
        make_user,
    )
    from tests.sandboxes.quickbooks import QboSandbox
    from tests.sandboxes.server import LiveServer
    from tests.sandboxes.specs import require_specs
    from tests.sandboxes.xero import XeroSandbox
    from webapp import signals
    from webapp.catalog.models import TaxCode
    from webapp.extensions import db
    from webapp.integrations.models import Delivery, DeliveryStatus
    from webapp.jobs import get_queue
    from workers.accounting import refresh_lists
    from workers.integrations import sweep

    require_specs()
    qbo, xero = QboSandbox(), XeroSandbox()
    statuses = {"qbo": _count_statuses(qbo.app), "xero": _count_statuses(xero.app)}
    servers = []
    for sandbox in (qbo, xero):
        server = LiveServer(sandbox.app).start()
        sandbox.base_url = server.url
        servers.append(server)
    try:
        point_app_at_qbo(app, qbo)
        point_app_at_xero(app, xero)
        db.session.add(TaxCode(code="GST", name="GST 10%", rate=10, is_default=True))
        qbo_conn = connect_qbo(qbo)
        xero_conn = connect_xero(xero)
        category, brand = make_category("Bench"), make_brand("Bench")
        supplier = make_supplier("bench", name="Bench Distribution")
        products = [
            make_product(category=category, brand=brand, supplier=supplier, name=f"Item {i}")
            for i in range(args.products)
        ]
        orgs = [make_organization(f"Client {i:03d}") for i in range(args.customers)]
        contacts = [make_user(organization=org) for org in orgs]
        db.session.commit()
        refresh_lists()  # what connecting queued: the page shows these stored lists
        get_queue().empty()

        built = time.perf_counter()
        docs, receipts = [], []
        for i in range(args.invoices):
            pair = [products[i % len(products)], products[(i * 7 + 3) % len(products)]]
            doc = make_document(orgs[i % len(orgs)], contacts[i % len(orgs)], pair)
            signals.sales_document_ready_to_invoice.send(doc)
            docs.append(doc.number)
            if i % 200 == 199:
                db.session.commit()
        for i in range(args.bills):
            receipt = make_receipt(supplier, [products[i % len(products)]])
            signals.receipt_recorded.send(receipt)
            receipts.append(receipt.supplier_invoice_number)
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
        writing = time.perf_counter() - built

        for counter in statuses.values():
            counter.clear()
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
            sweep()  # transient faults raised: pick the due work up again
        wall = time.perf_counter() - started

        delivered = Counter(
            s.value for s in db.session.execute(db.select(Delivery.status)).scalars()
        )
        qbo_inv = Counter(i.get("DocNumber") for i in qbo.entities(qbo.realms[0], "Invoice"))
        qbo_bills = Counter(b.get("DocNumber") for b in qbo.entities(qbo.realms[0], "Bill"))
        xero_docs = xero.records("Invoices")
        xero_inv = Counter(i["InvoiceNumber"] for i in xero_docs if i["Type"] == "ACCREC")
        xero_bills = Counter(i["InvoiceNumber"] for i in xero_docs if i["Type"] == "ACCPAY")
        documents = args.invoices + args.bills
        qbo_calls = sum(statuses["qbo"].values())
        xero_calls = sum(statuses["xero"].values())
        return {
            "documents_per_vendor": documents,
            "writing_seconds": round(writing, 1),
            "sync_wall_seconds": round(wall, 1),
            "worker_rounds": rounds,
            "deliveries": dict(delivered),
            "qbo": {
                "api_calls": qbo_calls,
                "calls_per_document": round(qbo_calls / documents, 4),
                "documents_per_call": round(documents / max(qbo_calls, 1), 1),
                "http_429": statuses["qbo"][429],
                "http_statuses": dict(statuses["qbo"]),
                "duplicates": _dupes(qbo_inv, docs) + _dupes(qbo_bills, receipts),
                "missing": _missing(qbo_inv, docs) + _missing(qbo_bills, receipts),
            },
            "xero": {
                "api_calls": xero_calls,
                "calls_per_document": round(xero_calls / documents, 4),
                "documents_per_call": round(documents / max(xero_calls, 1), 1),
                "http_429": statuses["xero"][429],
                "http_statuses": dict(statuses["xero"]),
                "duplicates": _dupes(xero_inv, docs) + _dupes(xero_bills, receipts),
                "missing": _missing(xero_inv, docs) + _missing(xero_bills, receipts),
            },
            "connections": {"qbo": qbo_conn.id, "xero": xero_conn.id},
            "integrations_page": _page_calls(app, statuses, [qbo_conn.id, xero_conn.id]),
        }
    finally:
        for sandbox, server in zip((qbo, xero), servers, strict=True):
            sandbox.release()
            server.stop()


def _page_calls(app, statuses: dict, connection_ids: list[int], renders: int = 30) -> dict:
    """Render Settings > Integrations as an admin; count vendor calls made while it renders."""
    from tests.factories import PASSWORD, make_user
    from webapp.auth.models import Role
    from webapp.extensions import db

    admin = make_user(role=Role.ADMIN, email="bench-admin@example.com")
    db.session.commit()
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    signed_in = client.post(
        "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302, signed_in.status_code
    out = {}
    for name, connection_id in zip(("qbo", "xero"), connection_ids, strict=True):
        before = sum(statuses[name].values())
        times = []
        for _ in range(renders):
            started = time.perf_counter()
            page = client.get(f"/admin/accounting/integrations?connection={connection_id}")
            times.append((time.perf_counter() - started) * 1000)
            assert page.status_code == 200, page.status_code
            assert "Save mappings" in page.get_data(as_text=True)
        times.sort()
        out[name] = {
            "renders": renders,
            "vendor_calls": sum(statuses[name].values()) - before,
            "p50_ms": round(times[len(times) // 2], 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        }
    return out


def _count_statuses(sandbox_app) -> Counter:
    """Count every HTTP answer the sandbox gives (API, token and batch calls alike)."""
    counts: Counter = Counter()

    @sandbox_app.after_request
    def count(response):
        counts[response.status_code] += 1
        return response

    return counts


def _dupes(counts: Counter, expected: list[str]) -> int:
    return sum(max(0, counts[n] - 1) for n in expected)


def _missing(counts: Counter, expected: list[str]) -> int:
    return sum(1 for n in expected if counts[n] == 0)


if __name__ == "__main__":
    main()
