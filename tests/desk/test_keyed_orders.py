"""Staff key an order for a customer: the store checkout's checks, exactly once per page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import login
from webapp.catalog.models import SupplierOffer
from webapp.catalog.operations import refresh_product_aggregates
from webapp.extensions import db
from webapp.sales.models import DocumentSource, DocumentStatus, SalesDocument

HX = {"HX-Request": "true"}
_KEY = re.compile(r'name="entry_key" value="([0-9a-f]{32})"')


def _entry_key(client, organization_id: int) -> str:
    page = client.get(f"/admin/orders/new?organization={organization_id}").get_data(as_text=True)
    return _KEY.search(page).group(1)


def _order(store, key: str, lines, **extra) -> dict:
    data = {
        "organization_id": str(store.org.id),
        "entry_key": key,
        "contact_id": str(store.customer.id),
        "ship_to_name": "Contoso",
        "address_line1": "1 Main St",
        "city": "Sydney",
        "postcode": "2000",
        "country": "Australia",
        "shipping_method_id": str(store.shipping.id),
        "payment_method": "on_account",
        "customer_po": "PO-4711",
        "product_id": [str(p) for p, *_ in lines],
        "quantity": [str(q) for _, q, *_ in lines],
        "price_seen": [str(price) for *_, price, _cost, _stock in lines],
        "cost_seen": [str(cost) for *_, cost, _stock in lines],
        "stock_seen": [str(stock) for *_, stock in lines],
    }
    data.update(extra)
    return data


def _documents() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(SalesDocument))


def test_a_line_added_shows_the_organizations_price_cost_margin_and_stock(client, store):
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    t14 = store.products[0]
    found = client.get(
        "/admin/orders/new/catalog", query_string={"organization": store.org.id, "q": "T14"}
    ).get_data(as_text=True)
    assert "ThinkPad T14" in found and "$1,100.00" in found and "cost $1,000.00" in found
    body = client.post(
        "/admin/orders/new/lines",
        data={**_order(store, key, []), "add": str(t14.id)},
        headers=HX,
    ).get_data(as_text=True)
    assert 'name="price_seen" value="1100.00"' in body
    assert "$100.00 (9.09%)" in body  # 1100 - 1000
    assert 'id="margin-warning"' in body  # under the 10% floor
    assert 'id="order-total">$1,226.50' in body  # (1100 + 15 shipping) + 10% tax


def test_staff_place_an_order_with_the_customers_po_once_per_page(client, store, run_jobs):
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    e16 = store.products[2]
    data = _order(store, key, [(e16.id, 3, "770.00", "700.0000", 20)])
    first = client.post("/admin/orders/new", data=data)
    assert first.status_code == 303
    again = client.post("/admin/orders/new", data=data)  # a second click on Place order
    assert again.status_code == 303 and again.location == first.location
    document = db.session.scalars(select(SalesDocument)).one()
    assert (document.source, document.status) == (DocumentSource.DESK, DocumentStatus.APPROVED)
    assert (document.organization_id, document.contact_id) == (store.org.id, store.customer.id)
    assert document.customer_po == "PO-4711"
    assert [(line.description, line.quantity, line.unit_price) for line in document.lines] == [
        (e16.display_name, 3, Decimal("770.00"))
    ]
    assert document.total == Decimal("2557.50")  # (2310 + 15) + 10% tax
    assert document.events[0].actor_id == store.sales.id


def test_an_unapproved_organization_is_refused_and_nothing_is_written(client, store):
    login(client, store.sales)
    key = _entry_key(client, store.unapproved_org.id)
    data = _order(
        store,
        key,
        [(store.products[2].id, 1, "770.00", "700.0000", 20)],
        organization_id=str(store.unapproved_org.id),
        contact_id=str(store.unapproved_customer.id),
    )
    refused = client.post("/admin/orders/new", data=data, headers=HX)
    assert refused.status_code == 422
    assert "Litware is not approved to order" in refused.get_data(as_text=True)
    assert _documents() == 0


def test_a_contact_of_another_organization_is_refused(client, store):
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    data = _order(
        store,
        key,
        [(store.products[2].id, 1, "770.00", "700.0000", 20)],
        contact_id=str(store.other_customer.id),
    )
    refused = client.post("/admin/orders/new", data=data, headers=HX)
    assert refused.status_code == 422
    assert "Choose an active contact of Contoso" in refused.get_data(as_text=True)
    assert _documents() == 0


def test_a_price_or_stock_that_moved_since_shown_asks_to_confirm_again(client, store):
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    t14 = store.products[0]
    offer = db.session.scalar(select(SupplierOffer).where(SupplierOffer.product_id == t14.id))
    offer.cost = Decimal("1200.00")  # 1,320 with the 10% markup
    offer.stock = 1
    refresh_product_aggregates([t14.id])
    db.session.commit()
    data = _order(store, key, [(t14.id, 2, "1100.00", "1000.0000", 5)])
    stale = client.post("/admin/orders/new", data=data)
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "price changed from $1,100.00 to $1,320.00" in page
    assert "has only 1 in stock now" in page
    assert 'name="price_seen" value="1320.00"' in page  # what the redrawn page now shows
    assert _documents() == 0
    confirmed = client.post(
        "/admin/orders/new", data=_order(store, key, [(t14.id, 2, "1320.00", "1200.0000", 1)])
    )
    assert confirmed.status_code == 303
    assert _documents() == 1


def test_a_cost_that_rose_under_the_margin_floor_holds_the_order(client, store):
    t14 = store.products[0]
    t14.fixed_price = Decimal("1200.00")  # the price stays; only the cost moves
    db.session.commit()
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    offer = db.session.scalar(select(SupplierOffer).where(SupplierOffer.product_id == t14.id))
    offer.cost = Decimal("1150.00")
    refresh_product_aggregates([t14.id])
    db.session.commit()
    placed = client.post(
        "/admin/orders/new", data=_order(store, key, [(t14.id, 1, "1200.00", "1000.0000", 5)])
    )
    assert placed.status_code == 303
    document = db.session.scalars(select(SalesDocument)).one()
    assert document.status is DocumentStatus.ON_HOLD
    assert "margin guard" in document.hold_reason and "10% floor" in document.hold_reason
    guard = next(e for e in document.events if e.type == "margin_guard")
    assert guard.data["lines"][0]["new_cost"] == "1150.0000"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quantity": "0"}, "Quantity must be at least 1"),
        ({"quantity": "١٢"}, "Quantity must be a whole number"),
        ({"price_seen": "1e30"}, "without an exponent"),
        ({"ship_to_name": "", "city": ""}, "Fill in the ship-to name, city"),
        ({"product_id": []}, None),
    ],
)
def test_bad_input_is_refused_with_a_message_and_writes_nothing(client, store, change, message):
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    data = _order(store, key, [(store.products[2].id, 1, "770.00", "700.0000", 20)], **change)
    response = client.post("/admin/orders/new", data=data, headers=HX)
    assert 400 <= response.status_code < 500
    if message:
        assert message in response.get_data(as_text=True)
    assert _documents() == 0


def test_only_sales_and_admins_key_orders(client, store):
    login(client, store.purchasing)
    assert client.get("/admin/orders/new").status_code == 403
    customer = client.application.test_client()
    login(customer, store.customer)
    assert customer.get("/admin/orders/new").status_code == 404
    assert customer.get("/admin/organizations/pick?q=Con").status_code == 404


@pytest.mark.parametrize("raw", ["9" * 29, str(2**40), "-1", "x"])
def test_a_shipping_method_beyond_any_id_is_refused_not_a_server_error(client, store, raw):
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    data = _order(
        store, key, [(store.products[2].id, 1, "770.00", "700.0000", 20)], shipping_method_id=raw
    )
    redrawn = client.post("/admin/orders/new/lines", data=data, headers=HX)
    assert redrawn.status_code == 200  # a redraw only: shipping counts as none yet
    refused = client.post("/admin/orders/new", data=data)
    assert refused.status_code == 422
    assert "Shipping method" in refused.get_data(as_text=True)
    assert _documents() == 0


def test_a_redraw_says_what_moved_since_the_lines_were_shown(client, store):
    login(client, store.sales)
    key = _entry_key(client, store.org.id)
    e16 = store.products[2]
    data = _order(store, key, [(e16.id, 3, "700.00", "700.0000", 20)])  # shown at 700
    redrawn = client.post("/admin/orders/new/lines", data=data, headers=HX).get_data(as_text=True)
    assert "price changed from $700.00 to $770.00" in redrawn
    assert 'name="price_seen" value="770.00"' in redrawn
    assert _documents() == 0
