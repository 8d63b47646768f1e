"""Checkout → optimizer job on a real Redis worker → PO emailed over SMTP → receipts → invoice."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from tests.factories import login
from tests.purchasing.conftest import configure
from tests.store.test_checkout import fill_cart, place
from webapp.extensions import db
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderStatus, Receipt
from webapp.sales.models import FulfilmentStatus, ProcurementStatus, SalesDocument


def test_checkout_to_ready_to_invoice(app, client, store, market, run_jobs, mailbox):
    configure(store, purchasing_issue_mode="supplier")
    db.session.commit()

    # A customer checks out 7 × T14 (Dicker has 2 at 990, Ingram 5 at 1000) and 2 × E16.
    login(client, store.customer)
    fill_cart(client, (market.t14, 7), (market.e16, 2))
    response, _ = place(client, store)
    assert response.status_code == 303
    [document] = db.session.scalars(select(SalesDocument)).all()
    assert document.procurement_status is ProcurementStatus.PENDING

    # The worker plans it, issues the POs and sends every queued email.
    run_jobs()
    db.session.expire_all()
    document = db.session.get(SalesDocument, document.id)
    assert document.procurement_status is ProcurementStatus.PLANNED
    orders = db.session.scalars(select(PurchaseOrder).order_by(PurchaseOrder.id)).all()
    assert {po.supplier.name: po.status for po in orders} == {
        "Dicker Data": PurchaseOrderStatus.ISSUED,
        "Ingram": PurchaseOrderStatus.ISSUED,
    }
    ingram_po = next(po for po in orders if po.supplier.name == "Ingram")

    [message] = mailbox.to("orders@ingram.example")
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert attachments[f"{ingram_po.number}.pdf"][:4] == b"%PDF"
    rows = list(csv.DictReader(io.StringIO(attachments[f"{ingram_po.number}.csv"])))
    assert sorted((r["Manufacturer Part Number"], r["Quantity"]) for r in rows) == sorted(
        [(market.t14.mpn, "5"), (market.e16.mpn, "2")]
    )
    assert all(r["Customer Reference"] == document.number for r in rows)
    assert len(mailbox.to("po@dicker.example")) == 1

    # The purchasing officer receipts the Ingram invoice in two parts.
    staff = app.test_client()
    login(staff, store.purchasing)
    form_page = staff.get(f"/admin/purchasing/orders/{ingram_po.id}/receive")
    assert form_page.status_code == 200
    page = form_page.get_data(as_text=True)
    line_ids = [int(x) for x in re.findall(r'name="qty-(\d+)"', page)]
    assert len(line_ids) == 2
    t14_line, e16_line = sorted(ingram_po.lines, key=lambda line: line.product_id != market.t14.id)

    partial = staff.post(
        f"/admin/purchasing/orders/{ingram_po.id}/receive",
        data={
            "supplier_invoice_number": "ING-5001",
            "invoice_date": "2026-11-20",
            "freight": "0",
            f"qty-{t14_line.id}": "3",
            f"cost-{t14_line.id}": "995.00",
            f"serials-{t14_line.id}": "PF1\nPF2\nPF3",
            f"qty-{e16_line.id}": "0",
            f"cost-{e16_line.id}": "700",
        },
    )
    assert partial.status_code == 303, partial.get_data(as_text=True)[:2000]
    db.session.expire_all()
    document = db.session.get(SalesDocument, document.id)
    assert (
        db.session.get(PurchaseOrder, ingram_po.id).status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    )
    assert document.fulfilment_status is FulfilmentStatus.PARTIAL
    assert document.ready_to_invoice_at is None

    # The Dicker invoice arrives too, then the rest of Ingram's.
    dicker_po = next(po for po in orders if po.supplier.name == "Dicker Data")
    [dicker_line] = dicker_po.lines
    assert (
        staff.post(
            f"/admin/purchasing/orders/{dicker_po.id}/receive",
            data={
                "supplier_invoice_number": "DD-1",
                "invoice_date": "2026-11-20",
                f"qty-{dicker_line.id}": "2",
                f"cost-{dicker_line.id}": "990",
            },
        ).status_code
        == 303
    )
    final = staff.post(
        f"/admin/purchasing/orders/{ingram_po.id}/receive",
        data={
            "supplier_invoice_number": "ING-5002",
            "invoice_date": "2026-11-22",
            "freight": "25.00",
            f"qty-{t14_line.id}": "2",
            f"cost-{t14_line.id}": "995.00",
            f"qty-{e16_line.id}": "2",
            f"cost-{e16_line.id}": "700",
        },
    )
    assert final.status_code == 303
    db.session.expire_all()
    document = db.session.get(SalesDocument, document.id)
    assert db.session.get(PurchaseOrder, ingram_po.id).status is PurchaseOrderStatus.RECEIVED
    assert document.fulfilment_status is FulfilmentStatus.FULFILLED
    assert document.ready_to_invoice_at is not None
    assert "ready_to_invoice" in [e.type for e in document.events]
    receipts = db.session.scalars(select(Receipt).order_by(Receipt.id)).all()
    assert [r.supplier_invoice_number for r in receipts] == ["ING-5001", "DD-1", "ING-5002"]
    assert receipts[0].lines[0].serial_numbers == ["PF1", "PF2", "PF3"]

    # The order page shows it all.
    order_page = staff.get(f"/admin/orders/{document.id}").get_data(as_text=True)
    assert 'id="purchasing-panel"' in order_page
    assert "Ready to invoice" in order_page
    assert ingram_po.number in order_page
