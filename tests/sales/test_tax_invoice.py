"""A tax invoice that is one: the seller's legal name, tax number and address, a due date fixed
at issue from the payment terms, tax per line and in total, and how to pay with a reference."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template

from tests.factories import issue_order, login
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.settings.operations import get_setting, set_setting


def _seller(store):
    set_setting("display_document_as", "tax_invoice", store.admin)
    set_setting("seller_legal_name", "Northwind Managed Services Pty Ltd", store.admin)
    set_setting("seller_tax_number", "ABN 51 824 753 556", store.admin)
    set_setting("seller_address", "Level 2\n10 Queen St\nMelbourne VIC 3000", store.admin)
    set_setting(
        "payment_details", "Bank: Example Bank\nBSB 063-000  Account 1234 5678", store.admin
    )
    set_setting("customer_payment_terms_days", "14", store.admin)


def test_a_tax_invoice_names_the_seller_its_due_date_tax_per_line_and_how_to_pay(app, store):
    _seller(store)
    document = issue_order(store)
    db.session.commit()
    assert document.due_date == utcnow().date() + timedelta(days=14)
    html = render_template("sales/pdf.html", document=document)
    assert "Northwind Managed Services Pty Ltd" in html and "ABN 51 824 753 556" in html
    assert "Level 2 · 10 Queen St · Melbourne VIC 3000" in html
    assert f"Due {document.due_date.strftime('%d %B %Y')}" in html
    line = document.lines[0]
    assert "Tax amount" in html and f"${line.line_tax:,.2f}" in html
    payment = html.split('id="payment-details"')[1]
    assert "Bank: Example Bank<br>BSB 063-000" in payment
    assert f"Reference: <strong>{document.number}</strong>" in payment


def test_the_due_date_stays_when_the_terms_change_later(app, store):
    _seller(store)
    document = issue_order(store)
    db.session.commit()
    set_setting("customer_payment_terms_days", "60", store.admin)
    db.session.commit()
    assert document.due_date == utcnow().date() + timedelta(days=14)


def test_an_organization_with_its_own_terms_gets_its_due_date_from_them(app, store):
    _seller(store)
    store.org.payment_terms_days = 45
    document = issue_order(store)
    db.session.commit()
    assert document.due_date == utcnow().date() + timedelta(days=45)
    html = render_template("sales/pdf.html", document=document)
    assert f"Due {document.due_date.strftime('%d %B %Y')}" in html


def test_zero_day_terms_are_due_on_the_invoice_date_not_the_default(app, store):
    _seller(store)
    store.org.payment_terms_days = 0
    document = issue_order(store)
    assert document.due_date == utcnow().date()


def test_an_organization_without_terms_follows_the_settings_default(app, store):
    _seller(store)
    store.org.payment_terms_days = None
    assert issue_order(store).due_date == utcnow().date() + timedelta(days=14)


def test_a_sales_order_prints_no_due_date_nor_payment_details(app, store):
    _seller(store)
    set_setting("display_document_as", "sales_order", store.admin)
    document = issue_order(store)
    html = render_template("sales/pdf.html", document=document)
    assert "Northwind Managed Services Pty Ltd" in html
    assert 'id="due-date"' not in html and 'id="payment-details"' not in html


def test_payment_details_are_escaped(app, store):
    _seller(store)
    set_setting("payment_details", "<script>x</script>\nPay us", store.admin)
    html = render_template("sales/pdf.html", document=issue_order(store))
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;<br>Pay us" in html


def test_seller_settings_are_saved_from_the_page_and_bad_ones_refused(app, store):
    client = app.test_client()
    login(client, store.admin)
    page = client.get("/admin/settings/sales").get_data(as_text=True)
    assert "Seller&#39;s legal name" in page or "Seller's legal name" in page
    response = client.post(
        "/admin/settings/sales/seller_address", data={"value": "1 Main St\r\nSpringfield"}
    )
    assert response.status_code == 303
    assert get_setting("seller_address") == "1 Main St\nSpringfield"
    client.post("/admin/settings/sales/seller_legal_name", data={"value": "x" * 201})
    assert get_setting("seller_legal_name") == ""
    client.post("/admin/settings/sales/customer_payment_terms_days", data={"value": "400"})
    assert get_setting("customer_payment_terms_days") == 30
