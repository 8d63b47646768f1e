"""Tracking numbers: keyed with the receipt, shown on the customer's My orders and order page
linked to the carrier's page, carried by the shipment email; bad ones refused with the reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import login
from tests.purchasing.conftest import issue, purchase_orders
from webapp.extensions import db
from webapp.purchasing import ordering, planning, receipting, tracking
from webapp.purchasing.models import Receipt


@pytest.fixture
def ordered(store, market):
    """A customer's order of 3 units whose supplier PO was issued."""
    document = issue(store, (market.e16, 3))
    planning.plan_document(document)
    db.session.commit()
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()
    return document, po


def _receive(po, quantity, store, invoice, number="", carrier=""):
    line = po.lines[0]
    receipt = receipting.record_receipt(
        po,
        receipting.ReceiptInput(
            invoice,
            po.created_at.date(),
            None,
            Decimal(0),
            [receipting.ReceiptLineInput(line.id, quantity, line.unit_cost)],
            tracking_number=number,
            carrier=carrier,
        ),
        store.purchasing,
    )
    db.session.commit()
    return receipt


def test_my_orders_and_the_order_page_show_each_tracking_number_linked_to_its_carrier(
    client, store, ordered
):
    document, po = ordered
    _receive(po, 1, store, "R-1", "1Z999AA10123456784", "ups")
    _receive(po, 1, store, "R-2", "CONS-778 12", "")  # a carrier we do not link
    _receive(po, 1, store, "R-3")  # no tracking given
    login(client, store.customer)
    listing = client.get("/orders").get_data(as_text=True)
    row = listing.split(f">{document.number}</a>")[1].split("</tr>")[0]
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in row
    assert "(UPS)" in row
    assert 'data-tracking="CONS-778 12">CONS-778 12<' in row  # shown, not linked
    page = client.get(f"/orders/{document.number}").get_data(as_text=True)
    tracking_box = page.split('id="order-tracking"')[1].split("</div>")[0]
    assert tracking_box.count("<li") == 2
    assert tracking_box.index("1Z999AA10123456784") < tracking_box.index("CONS-778 12")


def test_an_order_without_tracking_shows_none(client, store, ordered):
    document, po = ordered
    _receive(po, 3, store, "R-1")
    login(client, store.customer)
    assert 'id="order-tracking"' not in client.get(f"/orders/{document.number}").get_data(
        as_text=True
    )


def test_another_organizations_tracking_never_shows(client, store, market, ordered):
    document, po = ordered
    _receive(po, 1, store, "R-1", "1Z999AA10123456784", "ups")
    login(client, store.other_customer)
    assert "1Z999AA10123456784" not in client.get("/orders").get_data(as_text=True)
    assert client.get(f"/orders/{document.number}").status_code == 404


def test_the_shipment_email_carries_the_tracking_number_and_link(store, ordered, run_jobs, mailbox):
    document, po = ordered
    _receive(po, 1, store, "R-1", "JD014600003828495851", "dhl")
    run_jobs()
    [email] = [
        m
        for m in mailbox.to(store.customer.email)
        if m["Subject"].startswith("Part of your order has shipped")
    ]
    text = mailbox.text(email)
    assert "JD014600003828495851 (DHL Express): https://www.dhl.com/" in text
    html = email.get_body(preferencelist=("html",)).get_content()
    assert "tracking-id=JD014600003828495851" in html


def test_the_receipt_form_takes_a_tracking_number_and_carrier(client, store, ordered):
    _document, po = ordered
    line = po.lines[0]
    login(client, store.purchasing)
    form = client.get(f"/admin/purchasing/orders/{po.id}/receive").get_data(as_text=True)
    assert 'name="tracking_number"' in form and 'value="fedex"' in form
    data = {
        "supplier_invoice_number": "R-9",
        "invoice_date": "2026-11-20",
        f"qty-{line.id}": "1",
        f"cost-{line.id}": "1000",
        "tracking_number": "  7946 5522 1234 ",
        "carrier": "fedex",
    }
    response = client.post(f"/admin/purchasing/orders/{po.id}/receive", data=data)
    assert response.status_code == 303
    [receipt] = db.session.scalars(select(Receipt)).all()
    assert (receipt.tracking_number, receipt.carrier) == ("7946 5522 1234", "fedex")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "https://www.fedex.com/fedextrack/?trknbr=794655221234" in page


@pytest.mark.parametrize(
    ("number", "carrier", "message", "status"),
    [
        ("1Z<script>", "ups", "letters, digits, spaces", 409),
        ("", "ups", "Enter the tracking number", 409),
        ("123", "pigeon", "Not a valid choice", 422),
        ("9" * 101, "", "Field cannot be longer than 100 characters", 422),
    ],
)
def test_a_bad_tracking_number_is_refused_with_the_reason_and_nothing_is_receipted(
    client, store, ordered, number, carrier, message, status
):
    _document, po = ordered
    line = po.lines[0]
    login(client, store.purchasing)
    data = {
        "supplier_invoice_number": "R-9",
        "invoice_date": "2026-11-20",
        f"qty-{line.id}": "1",
        f"cost-{line.id}": "1000",
        "tracking_number": number,
        "carrier": carrier,
    }
    response = client.post(f"/admin/purchasing/orders/{po.id}/receive", data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(Receipt)).all() == []


def test_clean_refuses_an_unknown_carrier_code_passed_by_code(app):
    with pytest.raises(tracking.TrackingRefused, match="not one we know"):
        tracking.clean("123", "pigeon")
    assert tracking.clean(" 12  34 ", "") == ("12 34", "")
    assert tracking.tracking_url("12 34", "") == ""
    assert tracking.tracking_url("AB 12/3", "auspost").endswith("/AB12%2F3")
