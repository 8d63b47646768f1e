"""The parity reads: payments, PO costs, accounts payable, staff, addresses, quote sections,
product suppliers — filters, modified_after, cursors, totals, expand, organization limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.api.conftest import bearer, make_key
from tests.api.test_receipts import body as receipt_body
from tests.api.test_receipts import issued_po
from tests.api.test_writes import post
from webapp.accounting.models import ImportedPayment, LedgerConnection
from webapp.extensions import db
from webapp.models_base import utcnow


def get(client, url, key, **params):
    return client.get(url, headers=bearer(key), query_string=params)


@pytest.fixture
def payments(scene):
    ledger = LedgerConnection(provider="qbo", tenant_id="realm-1")
    db.session.add(ledger)
    db.session.flush()
    rows = [
        ImportedPayment(
            connection_id=ledger.id,
            ledger_payment_id=f"P-{n}",
            invoice_ledger_id=f"I-{n}",
            sales_document_id=order.id,
            amount=Decimal(amount),
            paid_on=date(2026, 11, day),
        )
        for n, (order, amount, day) in enumerate(
            [
                (scene.order, "500.00", 2),
                (scene.order, "120.50", 20),
                (scene.other_order, "99.00", 5),
            ]
        )
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_payments_filter_page_and_expand_their_order(client, scene, payments):
    body = get(client, "/api/v1/payments", scene.msp_key, limit=2).get_json()
    assert body["total"] == 3 and len(body["data"]) == 2 and body["next_cursor"]
    assert body["data"][0]["amount"] == "500.00" and "sales_order" not in body["data"][0]
    rest = get(client, "/api/v1/payments", scene.msp_key, cursor=body["next_cursor"]).get_json()
    assert [p["ledger_payment_id"] for p in rest["data"]] == ["P-2"]
    late = get(
        client, "/api/v1/payments", scene.msp_key, paid_from="2026-11-10", expand="sales_order"
    ).get_json()
    [payment] = late["data"]
    assert payment["sales_order"]["number"] == scene.order.number
    assert "lines" not in payment["sales_order"]


def test_a_customer_key_sees_only_its_organizations_payments(client, scene, payments):
    mine = get(client, "/api/v1/payments", scene.customer_key).get_json()
    assert mine["total"] == 2
    assert {p["sales_order_id"] for p in mine["data"]} == {scene.order.id}
    other = get(
        client, "/api/v1/payments", scene.customer_key, sales_order_id=scene.other_order.id
    ).get_json()
    assert other["total"] == 0


def test_payments_modified_after_and_a_bad_expansion(client, scene, payments):
    payments[0].created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    since = (utcnow() - timedelta(days=1)).isoformat()
    body = get(client, "/api/v1/payments", scene.msp_key, modified_after=since).get_json()
    assert body["total"] == 2
    bad = get(client, "/api/v1/payments", scene.msp_key, expand="lines")
    assert bad.status_code == 400
    assert bad.get_json()["errors"][0]["parameter"] == "expand"


def test_costs_and_payables_follow_the_receipts(client, scene):
    po = issued_po(client, scene)
    line = po["lines"][0]["id"]
    url = f"/api/v1/purchase-orders/{po['id']}/receipts"
    receipt = post(client, url, scene.msp_key, receipt_body(line, 2, unit_cost="1490"))
    assert receipt.status_code == 201
    costs = get(
        client, "/api/v1/purchase-order-costs", scene.msp_key, purchase_order_id=po["id"]
    ).get_json()
    [cost] = costs["data"]
    assert cost["expected_unit_cost"] == "1500.0000" and cost["unit_cost"] == "1490.0000"
    assert cost["variance"] == "-20.00" and cost["supplier_invoice_number"] == "INV-1"
    payables = get(client, "/api/v1/accounts-payable", scene.msp_key, expand="supplier")
    [bill] = payables.get_json()["data"]
    assert bill["id"] == receipt.get_json()["id"] and bill["supplier"]["code"] == "ingram"
    assert bill["total"] == "2980.00"
    due = date.fromisoformat(bill["due_date"])
    assert bill["overdue"] is (due < utcnow().date())
    not_late = get(client, "/api/v1/accounts-payable", scene.msp_key, overdue="false")
    assert not_late.get_json()["total"] == (0 if bill["overdue"] else 1)
    before = get(
        client, "/api/v1/accounts-payable", scene.msp_key, due_before=bill["due_date"]
    ).get_json()
    assert before["total"] == 0


def test_costs_and_payables_are_the_msps_only(client, scene):
    for url in ("/api/v1/purchase-order-costs", "/api/v1/accounts-payable"):
        refused = get(client, url, scene.customer_key)
        assert refused.status_code == 403, url
    reader = make_key(scene.store, ["catalog:read"])
    assert get(client, "/api/v1/accounts-payable", reader).status_code == 403


def test_staff_are_listed_by_role_and_need_their_scope(client, scene):
    store = scene.store
    body = get(client, "/api/v1/staff", scene.msp_key, role="sales").get_json()
    assert [s["email"] for s in body["data"]] == [store.sales.email]
    everyone = get(client, "/api/v1/staff", scene.msp_key).get_json()
    emails = {s["email"] for s in everyone["data"]}
    assert store.customer.email not in emails and store.admin.email in emails
    one = get(client, f"/api/v1/staff/{store.purchasing.id}", scene.msp_key)
    assert one.get_json()["role"] == "purchasing"
    customer = get(client, f"/api/v1/staff/{store.customer.id}", scene.msp_key)
    assert customer.status_code == 404
    assert get(client, "/api/v1/staff", scene.customer_key).status_code == 403


def test_addresses_are_the_organizations_and_a_customer_sees_its_own(client, scene):
    store = scene.store
    store.org.city, store.org.postcode = "Shelbyville", "90210"
    db.session.commit()
    mine = get(client, "/api/v1/addresses", scene.customer_key).get_json()
    assert mine["total"] == 1
    assert mine["data"][0]["organization_id"] == store.org.id
    assert mine["data"][0]["city"] == "Shelbyville"
    other = get(
        client, "/api/v1/addresses", scene.customer_key, organization_id=store.other_org.id
    ).get_json()
    assert other["total"] == 0
    by_postcode = get(client, "/api/v1/addresses", scene.msp_key, postcode="90210").get_json()
    assert [a["id"] for a in by_postcode["data"]] == [store.org.id]


def test_quote_sections_hide_drafts_and_costs_from_a_customer(client, scene):
    mine = get(client, "/api/v1/quote-sections", scene.customer_key, expand="lines").get_json()
    quote_ids = {s["quote_id"] for s in mine["data"]}
    assert quote_ids == {scene.sent_quote.id}  # not the draft, not Fabrikam's
    assert "unit_cost" not in mine["data"][0]["lines"][0]
    staff = get(
        client, "/api/v1/quote-sections", scene.msp_key, quote_id=scene.draft_quote.id
    ).get_json()
    assert staff["total"] == 1 and "lines" not in staff["data"][0]


def test_product_suppliers_list_offers_for_the_msp_only(client, scene):
    product = scene.store.products[0]
    body = get(client, "/api/v1/product-suppliers", scene.msp_key, product_id=product.id).get_json()
    [offer] = body["data"]
    assert offer["supplier_id"] == scene.store.supplier.id and offer["cost"] == "1000.0000"
    assert get(client, "/api/v1/product-suppliers", scene.customer_key).status_code == 403
