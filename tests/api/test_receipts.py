"""Receipting through the API: purchasing's record_receipt, its refusals by pointer."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.conftest import bearer, make_key
from tests.api.test_writes import post
from webapp.extensions import db
from webapp.purchasing.models import PurchaseOrderStatus, Receipt


def receipt_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Receipt))


def issued_po(client, scene):
    issued = post(client, f"/api/v1/purchase-orders/{scene.draft_po.id}/issue", scene.msp_key)
    assert issued.status_code == 200, issued.get_data(as_text=True)
    return issued.get_json()


def body(line_id: int, quantity: int, invoice="INV-1", **line):
    return {
        "supplier_invoice_number": invoice,
        "invoice_date": "2026-12-01",
        "lines": [{"purchase_order_line_id": line_id, "quantity": quantity, **line}],
    }


def test_a_po_is_receipted_in_two_parts_with_serials_and_the_invoice(client, scene):
    po = issued_po(client, scene)
    line = po["lines"][0]["id"]
    url = f"/api/v1/purchase-orders/{po['id']}/receipts"
    first = post(
        client, url, scene.msp_key, body(line, 2, serial_numbers=["SN1", "SN2"], unit_cost="1490")
    )
    assert first.status_code == 201, first.get_data(as_text=True)
    receipt = first.get_json()
    assert receipt["supplier_invoice_number"] == "INV-1"
    assert receipt["lines"][0]["serial_numbers"] == ["SN1", "SN2"]
    assert receipt["subtotal"] == "2980.00"
    assert first.headers["Location"].endswith(f"/api/v1/receipts/{receipt['id']}")
    db.session.expire_all()
    assert scene.draft_po.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    rest = post(client, url, scene.msp_key, body(line, 1, invoice="INV-2"))
    assert rest.status_code == 201
    assert rest.get_json()["lines"][0]["unit_cost"] == "1500.0000"  # the PO line's cost
    db.session.expire_all()
    assert scene.draft_po.status is PurchaseOrderStatus.RECEIVED
    listed = client.get(
        f"/api/v1/receipts?purchase_order_id={po['id']}", headers=bearer(scene.msp_key)
    )
    assert listed.get_json()["total"] == 2


def test_too_many_units_or_wrong_serials_point_at_the_line_and_write_nothing(client, scene):
    po = issued_po(client, scene)
    line = po["lines"][0]["id"]
    url = f"/api/v1/purchase-orders/{po['id']}/receipts"
    too_many = post(client, url, scene.msp_key, body(line, 5))
    assert too_many.status_code == 422
    [error] = too_many.get_json()["errors"]
    assert error["pointer"] == "/lines/0" and "only 3 outstanding" in error["detail"]
    serials = post(client, url, scene.msp_key, body(line, 2, serial_numbers=["SN1"]))
    assert "give one per unit" in serials.get_json()["errors"][0]["detail"]
    stranger = post(client, url, scene.msp_key, body(999999, 1))
    assert stranger.get_json()["errors"][0]["pointer"] == "/lines/0"
    assert "not on" in stranger.get_json()["errors"][0]["detail"]
    assert receipt_count() == 0


def test_an_invoice_receipted_twice_is_a_conflict_on_its_number(client, scene):
    po = issued_po(client, scene)
    line = po["lines"][0]["id"]
    url = f"/api/v1/purchase-orders/{po['id']}/receipts"
    assert post(client, url, scene.msp_key, body(line, 1)).status_code == 201
    again = post(client, url, scene.msp_key, body(line, 1))
    assert again.status_code == 409
    assert again.get_json()["errors"][0]["pointer"] == "/supplier_invoice_number"
    assert "already receipted" in again.get_json()["detail"]
    assert receipt_count() == 1


def test_a_draft_po_cannot_be_receipted(client, scene):
    line = scene.draft_po.lines[0].id
    url = f"/api/v1/purchase-orders/{scene.draft_po.id}/receipts"
    refused = post(client, url, scene.msp_key, body(line, 1))
    assert refused.status_code == 409
    assert "issue it before receipting" in refused.get_json()["detail"]
    assert receipt_count() == 0


def test_a_replayed_receipt_is_not_receipted_twice(client, scene):
    po = issued_po(client, scene)
    url = f"/api/v1/purchase-orders/{po['id']}/receipts"
    payload = body(po["lines"][0]["id"], 1)
    first = post(client, url, scene.msp_key, payload, idem="receipt-1")
    again = post(client, url, scene.msp_key, payload, idem="receipt-1")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert receipt_count() == 1


def test_receipting_needs_the_scope_and_an_msp_key(client, scene):
    po = issued_po(client, scene)
    url = f"/api/v1/purchase-orders/{po['id']}/receipts"
    reader = make_key(scene.store, ["purchasing:read"])
    payload = body(po["lines"][0]["id"], 1)
    assert post(client, url, reader, payload).status_code == 403
    assert post(client, url, scene.customer_key, payload).status_code == 403
    assert receipt_count() == 0
