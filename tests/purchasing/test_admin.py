"""The purchasing admin: lists, PO page with decision records, edits, receipting form, settings."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import login
from tests.purchasing.conftest import issue, offer, purchase_orders
from webapp.extensions import db
from webapp.purchasing import ordering, planning, receipting
from webapp.purchasing.models import (
    BidPrice,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    StockItem,
)
from webapp.sales.models import ProcurementStatus, SalesDocument
from webapp.settings.operations import get_setting

HX = {"HX-Request": "true"}


@pytest.fixture
def draft(store, market):
    document = issue(store, (market.t14, 6), (market.e16, 1))
    planning.plan_document(document)
    db.session.commit()
    ingram = next(po for po in purchase_orders() if po.supplier_id == market.ingram.id)
    return document, ingram


@pytest.fixture
def issued(draft, store):
    document, po = draft
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()
    return document, po


def reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def test_po_list_filters_by_status_and_supplier(client, store, draft, market):
    login(client, store.purchasing)
    page = client.get("/admin/purchasing/orders").get_data(as_text=True)
    assert draft[1].number in page
    issued_only = client.get("/admin/purchasing/orders?status=issued").get_data(as_text=True)
    assert draft[1].number not in issued_only
    fragment = client.get(
        f"/admin/purchasing/orders?supplier={market.ingram.id}", headers=HX
    ).get_data(as_text=True)
    assert draft[1].number in fragment and "<html" not in fragment
    assert client.get("/admin/purchasing/orders?status=bogus").status_code == 400


def test_po_page_shows_each_lines_decision_record(client, store, draft):
    login(client, store.purchasing)
    _document, po = draft
    page = client.get(f"/admin/purchasing/orders/{po.id}").get_data(as_text=True)
    assert "decision-candidates" in page
    assert "Dicker Data" in page  # the losing/splitting candidate is listed
    assert "lowest landed cost" in page or "split" in page


def test_only_purchasing_staff_and_admins_open_purchasing(client, store, draft):
    _document, po = draft
    login(client, store.sales)
    assert client.get(f"/admin/purchasing/orders/{po.id}").status_code == 403
    customer = client.application.test_client()
    login(customer, store.customer)
    assert customer.get("/admin/purchasing/orders").status_code == 404


def test_issue_from_the_page_emails_the_supplier(client, store, draft, run_jobs, mailbox):
    _document, po = draft
    login(client, store.purchasing)
    response = client.post(f"/admin/purchasing/orders/{po.id}/issue")
    assert response.status_code == 303
    assert reload(PurchaseOrder, po.id).status is PurchaseOrderStatus.ISSUED
    run_jobs()
    assert len(mailbox.to("orders@ingram.example")) == 1


def test_issue_without_csrf_token_changes_nothing(client, store, draft):
    _document, po = draft
    login(client, store.purchasing)
    assert client.post(f"/admin/purchasing/orders/{po.id}/issue", csrf=False).status_code == 400
    assert reload(PurchaseOrder, po.id).status is PurchaseOrderStatus.DRAFT


def test_issue_to_a_supplier_without_email_is_refused_with_a_message(client, store, draft, market):
    _document, po = draft
    market.ingram.email = ""
    db.session.commit()
    login(client, store.purchasing)
    response = client.post(f"/admin/purchasing/orders/{po.id}/issue", headers=HX)
    assert response.status_code == 409
    assert "Ingram has no email address" in response.get_data(as_text=True)
    assert reload(PurchaseOrder, po.id).status is PurchaseOrderStatus.DRAFT


def test_editing_a_line_with_a_zero_cost_is_refused(client, store, draft):
    _document, po = draft
    line = po.lines[0]
    login(client, store.purchasing)
    response = client.post(
        f"/admin/purchasing/orders/{po.id}/lines/{line.id}",
        data={"quantity": "2", "unit_cost": "0"},
        headers=HX,
    )
    assert response.status_code == 409
    assert "more than zero" in response.get_data(as_text=True)
    assert reload(PurchaseOrderLine, line.id).unit_cost == Decimal("1000.0000")


def test_editing_a_line_of_another_po_is_not_found(client, store, draft, market):
    _document, po = draft
    other = next(p for p in purchase_orders() if p.id != po.id)
    login(client, store.purchasing)
    response = client.post(
        f"/admin/purchasing/orders/{po.id}/lines/{other.lines[0].id}",
        data={"quantity": "1", "unit_cost": "5"},
    )
    assert response.status_code == 404


def test_a_po_edited_after_receipting_is_refused(client, store, issued):
    _document, po = issued
    line = po.lines[0]
    receipting.record_receipt(
        po,
        receipting.ReceiptInput(
            "R-1",
            db.session.get(PurchaseOrder, po.id).created_at.date(),
            None,
            Decimal(0),
            [receipting.ReceiptLineInput(line.id, 1, line.unit_cost)],
        ),
        store.purchasing,
    )
    db.session.commit()
    login(client, store.purchasing)
    response = client.post(
        f"/admin/purchasing/orders/{po.id}/lines/{line.id}",
        data={"quantity": "9", "unit_cost": "1"},
        headers=HX,
    )
    assert response.status_code == 409
    assert "locked: goods were receipted" in response.get_data(as_text=True)
    assert reload(PurchaseOrderLine, line.id).quantity == 4


def test_receipt_form_refuses_over_quantity_and_keeps_what_was_typed(client, store, issued):
    _document, po = issued
    line = po.lines[0]
    login(client, store.purchasing)
    response = client.post(
        f"/admin/purchasing/orders/{po.id}/receive",
        data={
            "supplier_invoice_number": "R-9",
            "invoice_date": "2026-11-20",
            f"qty-{line.id}": "40",
            f"cost-{line.id}": "1000",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "40 received but only 4 outstanding" in body
    assert 'value="40"' in body
    assert db.session.scalars(select(Receipt)).all() == []


def test_receipt_form_refuses_a_duplicate_invoice_number(client, store, issued):
    _document, po = issued
    line = po.lines[0]
    login(client, store.purchasing)
    data = {
        "supplier_invoice_number": "R-9",
        "invoice_date": "2026-11-20",
        f"qty-{line.id}": "1",
        f"cost-{line.id}": "1000",
    }
    for other in po.lines[1:]:
        data[f"qty-{other.id}"] = "0"
    assert client.post(f"/admin/purchasing/orders/{po.id}/receive", data=data).status_code == 303
    again = client.post(f"/admin/purchasing/orders/{po.id}/receive", data=data)
    assert again.status_code == 409
    assert "was already receipted" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(Receipt)).all()) == 1


def test_receipt_form_refuses_a_cost_that_is_not_a_number(client, store, issued):
    _document, po = issued
    line = po.lines[0]
    login(client, store.purchasing)
    response = client.post(
        f"/admin/purchasing/orders/{po.id}/receive",
        data={
            "supplier_invoice_number": "R-9",
            "invoice_date": "2026-11-20",
            f"qty-{line.id}": "1",
            f"cost-{line.id}": "abc",
        },
    )
    assert response.status_code == 422
    assert "is not a number" in response.get_data(as_text=True)


def freight_input(page: str) -> str:
    [tag] = re.findall(r'<input[^>]*name="freight"[^>]*>', page)
    return re.search(r'value="([^"]*)"', tag).group(1)


def test_receipt_form_prefills_the_po_freight_only_on_the_first_invoice(
    client, store, draft, market
):
    _document, po = draft
    market.ingram.freight_fee = Decimal("25.00")
    market.ingram.free_freight_threshold = None
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()
    login(client, store.purchasing)
    first = client.get(f"/admin/purchasing/orders/{po.id}/receive").get_data(as_text=True)
    assert freight_input(first) == "25.00"
    data = {"supplier_invoice_number": "R-1", "invoice_date": "2026-11-20", "freight": "25"}
    for line in po.lines:
        data[f"qty-{line.id}"] = "1"
    assert client.post(f"/admin/purchasing/orders/{po.id}/receive", data=data).status_code == 303
    second = client.get(f"/admin/purchasing/orders/{po.id}/receive").get_data(as_text=True)
    assert freight_input(second) == "0.00"


def test_receipt_form_for_a_draft_redirects_with_a_message(client, store, draft):
    _document, po = draft
    login(client, store.purchasing)
    response = client.get(f"/admin/purchasing/orders/{po.id}/receive")
    assert response.status_code == 303
    refused = client.post(
        f"/admin/purchasing/orders/{po.id}/receive",
        data={"supplier_invoice_number": "X", "invoice_date": "2026-11-20"},
    )
    assert refused.status_code == 409
    assert "issue it before receipting" in refused.get_data(as_text=True)


def test_receipts_list_and_detail(client, store, issued):
    _document, po = issued
    line = po.lines[0]
    login(client, store.purchasing)
    client.post(
        f"/admin/purchasing/orders/{po.id}/receive",
        data={
            "supplier_invoice_number": "R-42",
            "invoice_date": "2026-11-20",
            f"qty-{line.id}": "1",
            f"cost-{line.id}": "1000",
            **{f"qty-{other.id}": "0" for other in po.lines[1:]},
        },
    )
    listing = client.get("/admin/purchasing/receipts?q=R-42").get_data(as_text=True)
    assert "R-42" in listing
    receipt = db.session.scalar(select(Receipt))
    assert "R-42" in client.get(f"/admin/purchasing/receipts/{receipt.id}").get_data(as_text=True)


def test_override_from_the_page_moves_the_line(client, store, draft, market):
    _document, po = draft
    e16 = next(line for line in po.lines if line.product_id == market.e16.id)
    offer(market.silent, market.e16, "705.00", 10)
    db.session.commit()
    login(client, store.purchasing)
    response = client.post(
        f"/admin/purchasing/orders/{po.id}/lines/{e16.id}/override",
        data={"supplier_id": str(market.silent.id), "reason": "customer asked"},
    )
    assert response.status_code == 303
    moved = reload(PurchaseOrderLine, e16.id)
    assert moved.purchase_order.supplier_id == market.silent.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Moved by hand from Ingram to Silent Supplies" in page


def test_replan_from_the_order_page(client, store, draft, run_jobs):
    document, _po = draft
    login(client, store.purchasing)
    response = client.post(f"/admin/purchasing/documents/{document.id}/replan")
    assert response.status_code == 303
    assert reload(SalesDocument, document.id).procurement_status is ProcurementStatus.PENDING
    run_jobs()
    document = reload(SalesDocument, document.id)
    assert document.procurement_status is ProcurementStatus.PLANNED
    live = [po for po in purchase_orders() if po.status is PurchaseOrderStatus.DRAFT]
    assert sum(line.quantity for po in live for line in po.lines) == 7


def test_cancel_needs_a_reason(client, store, draft):
    _document, po = draft
    login(client, store.purchasing)
    response = client.post(f"/admin/purchasing/orders/{po.id}/cancel", data={"reason": ""})
    assert response.status_code == 303
    assert reload(PurchaseOrder, po.id).status is PurchaseOrderStatus.DRAFT
    client.post(f"/admin/purchasing/orders/{po.id}/cancel", data={"reason": "duplicate"})
    assert reload(PurchaseOrder, po.id).status is PurchaseOrderStatus.CANCELLED


def test_pdf_and_csv_downloads(client, store, draft):
    _document, po = draft
    login(client, store.purchasing)
    pdf = client.get(f"/admin/purchasing/orders/{po.id}/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data[:4] == b"%PDF"
    csv_text = client.get(f"/admin/purchasing/orders/{po.id}/csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("PO Number,PO Date,Supplier")
    assert po.number in csv_text


def test_orders_list_shows_and_filters_procurement(client, store, draft):
    document, _po = draft
    login(client, store.sales)
    page = client.get("/admin/orders/?procurement=planned").get_data(as_text=True)
    assert document.number in page and "Planned" in page
    none = client.get("/admin/orders/?procurement=needs_attention").get_data(as_text=True)
    assert document.number not in none
    assert client.get("/admin/orders/?fulfilment=nonsense").status_code == 400


def test_settings_page_saves_and_validates(client, store):
    login(client, store.admin)
    assert client.get("/admin/purchasing/settings").status_code == 200
    response = client.post(
        "/admin/purchasing/settings",
        data={
            "purchasing_issue_mode": "supplier",
            "purchasing_merge_drafts": "",
            "purchasing_allow_split": "y",
            "purchasing_officer_email": "buyer@msp.example",
            "supplier_payment_terms_days": "45",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert get_setting("purchasing_issue_mode") == "supplier"
    assert get_setting("purchasing_merge_drafts") is False
    assert get_setting("supplier_payment_terms_days") == 45
    bad = client.post(
        "/admin/purchasing/settings",
        data={
            "purchasing_issue_mode": "supplier",
            "purchasing_officer_email": "not-an-email",
            "supplier_payment_terms_days": "45",
        },
    )
    assert bad.status_code == 422
    assert "must be an email address" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert get_setting("purchasing_officer_email") == "buyer@msp.example"


def test_settings_are_for_admins_only(client, store):
    login(client, store.purchasing)
    assert client.get("/admin/purchasing/settings").status_code == 403


def test_stock_page_sets_own_stock(client, store, market):
    login(client, store.purchasing)
    response = client.post(
        "/admin/purchasing/stock",
        data={"product_id": market.e16.id, "quantity_on_hand": "4", "unit_cost": "640"},
    )
    assert response.status_code == 303
    item = db.session.scalar(select(StockItem))
    assert (item.quantity_on_hand, item.unit_cost) == (4, Decimal("640.0000"))
    bad = client.post(
        "/admin/purchasing/stock",
        data={"product_id": "999999", "quantity_on_hand": "4", "unit_cost": "640"},
    )
    assert bad.status_code == 422 and "no product #999999" in bad.get_data(as_text=True)


def test_bid_page_adds_a_bid_and_refuses_reversed_dates(client, store, market):
    login(client, store.purchasing)
    data = {
        "supplier_id": market.ingram.id,
        "organization_id": store.org.id,
        "product_id": market.e16.id,
        "unit_cost": "600",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "reference": "DEAL-1",
    }
    assert client.post("/admin/purchasing/bids", data=data).status_code == 303
    reversed_dates = client.post(
        "/admin/purchasing/bids", data={**data, "valid_until": "2025-01-01"}
    )
    assert reversed_dates.status_code == 422
    assert "ends before it starts" in reversed_dates.get_data(as_text=True)
    assert len(db.session.scalars(select(BidPrice)).all()) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/admin/purchasing/orders/99999999999999999999",
        "/admin/purchasing/orders/99999999999/receive",
        "/admin/purchasing/receipts/9999999999999",
    ],
)
def test_an_id_beyond_any_row_is_not_found(client, store, url):
    login(client, store.purchasing)
    assert client.get(url).status_code == 404


def test_out_of_range_ids_in_filters_and_forms_are_refused(client, store):
    login(client, store.purchasing)
    assert client.get("/admin/purchasing/orders?supplier=99999999999").status_code == 400
    response = client.post(
        "/admin/purchasing/stock",
        data={"product_id": "99999999999", "quantity_on_hand": "1", "unit_cost": "1"},
    )
    assert response.status_code == 422
    assert db.session.scalars(select(StockItem)).all() == []


def _panel_tag(html: str) -> str:
    return re.search(r'<div [^>]*id="purchasing-panel"[^>]*>', html).group(0)


def test_procurement_panel_polls_while_planning_is_pending_and_stops_once_planned(
    client, store, market
):
    document = issue(store, (market.t14, 6), (market.e16, 1))
    db.session.commit()
    url = f"/admin/purchasing/documents/{document.id}/procurement"
    login(client, store.sales)

    pending = _panel_tag(client.get(f"/admin/orders/{document.id}").get_data(as_text=True))
    planning.plan_document(document)
    db.session.commit()
    fragment = client.get(url, headers=HX)

    assert 'hx-trigger="every 2s"' in pending and f'hx-get="{url}"' in pending
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith("<div")
    assert "hx-trigger" not in _panel_tag(body)
    assert "HX-Request" in fragment.headers["Vary"]
    assert "<html" in client.get(url).get_data(as_text=True)


def test_procurement_panel_of_a_held_order_does_not_poll(client, store, market):
    document = issue(store, (market.t14, 6), hold_reason="Credit check")
    db.session.commit()
    assert document.procurement_status is ProcurementStatus.PENDING
    login(client, store.sales)

    body = client.get(
        f"/admin/purchasing/documents/{document.id}/procurement", headers=HX
    ).get_data(as_text=True)

    assert "hx-trigger" not in _panel_tag(body)


def test_procurement_panel_fragment_is_for_staff_only(client, store, market):
    document = issue(store, (market.t14, 6))
    db.session.commit()
    url = f"/admin/purchasing/documents/{document.id}/procurement"

    assert client.get(url).status_code == 302
    login(client, store.customer)
    assert client.get(url, headers=HX).status_code == 404


def test_po_csv_guards_every_text_column_but_not_its_numbers(client, store, draft):
    _document, po = draft
    line = po.lines[0]
    line.description = '=HYPERLINK("http://x","y")'
    line.supplier_sku = "@SKU"
    po.supplier.name = "+Ingram"
    db.session.commit()
    login(client, store.purchasing)
    text = client.get(f"/admin/purchasing/orders/{po.id}/csv").get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["Description"] == '\'=HYPERLINK("http://x","y")'
    assert (row["Supplier SKU"], row["Supplier"]) == ("'@SKU", "'+Ingram")
    assert row["Unit Cost"] == f"{line.unit_cost:.4f}" and row["Quantity"] == str(line.quantity)
