import re
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import login
from webapp.catalog.models import SupplierOffer
from webapp.catalog.operations import refresh_product_aggregates
from webapp.extensions import db
from webapp.sales.models import DocumentKind, SalesDocument
from webapp.store.models import Cart, CheckoutDetails

HX = {"HX-Request": "true"}
ADDRESS = {
    "ship_to_name": "Contoso reception",
    "address_line1": "1 Harbour St",
    "city": "Springfield",
    "postcode": "62701",
    "country": "United States",
    "customer_po": "PO-7781",
    "note": "Leave at reception",
}


def fill_cart(client, *items):
    for product, quantity in items:
        response = client.post(
            "/cart/add", data={"product_id": product.id, "quantity": str(quantity)}, headers=HX
        )
        assert response.status_code == 200, response.get_data(as_text=True)


def open_checkout(client) -> dict:
    assert client.post("/checkout/start").status_code == 303
    page = client.get("/checkout").get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d+)"', page).group(1)
    return {"revision": revision}


def place(client, store, payment="on_account", **overrides):
    form = {
        **ADDRESS,
        **open_checkout(client),
        "shipping_method_id": store.shipping.id,
        "payment_method": payment,
        **overrides,
    }
    return client.post("/checkout", data=form), form


def documents():
    return db.session.scalars(select(SalesDocument).order_by(SalesDocument.id)).all()


def test_placing_an_order_creates_a_numbered_sales_order_with_exact_totals(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 2), (store.products[2], 1))
    response, _ = place(client, store)
    assert response.status_code == 303
    [document] = documents()
    assert response.headers["Location"].endswith(f"/orders/{document.number}")
    assert document.number == "SO-000001"
    assert document.kind is DocumentKind.SALES_ORDER
    # 2 x 1100.00 + 1 x 770.00 = 2970.00; shipping 15.00; GST 10% on both = 298.50
    assert document.subtotal == Decimal("2985.00")
    assert document.tax_total == Decimal("298.50")
    assert document.total == Decimal("3283.50")
    assert document.customer_po == "PO-7781"
    assert document.organization_id == store.org.id
    assert [e.type for e in document.events] == ["created", "emailed"]


def test_card_payment_adds_the_configured_surcharge_as_its_own_charge(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[2], 1))
    place(client, store, payment="card")
    [document] = documents()
    # goods 770 + tax 77 + shipping 15 + tax 1.50 = 863.50; 1.5% = 12.9525 -> 12.95, tax
    # included: 12.95 / 1.1 = 11.7727 -> 11.77 before tax, 1.18 tax; total 863.50 + 12.95
    assert document.surcharge_pct == Decimal("1.5")
    assert document.surcharge_amount == Decimal("11.77")
    assert document.surcharge_tax == Decimal("1.18")
    assert document.total == Decimal("876.45")


def test_checkout_summary_shows_the_surcharge_when_card_is_chosen(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[2], 1))
    open_checkout(client)
    response = client.post(
        "/checkout/details",
        data={**ADDRESS, "shipping_method_id": store.shipping.id, "payment_method": "card"},
        headers=HX,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="summary-surcharge">$11.77' in body  # before tax: 12.95 with its 1.18 tax
    assert "<html" not in body


def test_order_confirmation_is_emailed_over_smtp(client, store, run_jobs, mailbox):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    place(client, store)
    assert run_jobs() >= 1
    [message] = mailbox.to(store.customer.email)
    assert message["Subject"].startswith("Sales Order SO-000001")
    text = mailbox.text(message)
    assert "will invoice it once it is fulfilled" in text
    assert "/orders/SO-000001" in text


def test_a_second_click_on_place_order_returns_the_same_order(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    first, form = place(client, store)
    second = client.post("/checkout", data=form)
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert len(documents()) == 1


def test_concurrent_place_order_requests_create_exactly_one_order(app, store):
    clients = [app.test_client(), app.test_client()]
    login(clients[0], store.customer)
    login(clients[1], store.customer)
    fill_cart(clients[0], (store.products[0], 1))
    form = {
        **ADDRESS,
        **open_checkout(clients[0]),
        "shipping_method_id": store.shipping.id,
        "payment_method": "on_account",
    }
    results = []
    barrier = threading.Barrier(2)

    def click(c):
        barrier.wait()
        results.append(c.post("/checkout", data=form))

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [303, 303]
    assert {r.headers["Location"] for r in results} == {"/orders/SO-000001"}
    assert db.session.scalar(select(func.count()).select_from(SalesDocument)) == 1


def test_price_change_during_checkout_asks_to_confirm_again(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    form = {
        **ADDRESS,
        **open_checkout(client),
        "shipping_method_id": store.shipping.id,
        "payment_method": "on_account",
    }
    offer = db.session.scalar(
        select(SupplierOffer).where(SupplierOffer.product_id == store.products[0].id)
    )
    offer.cost = Decimal("1200.00")
    refresh_product_aggregates([store.products[0].id])
    db.session.commit()

    response = client.post("/checkout", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "ThinkPad T14 price changed from $1,100.00 to $1,320.00" in body
    assert documents() == []

    revision = re.search(r'name="revision" value="(\d+)"', body).group(1)
    confirmed = client.post("/checkout", data={**form, "revision": revision})
    assert confirmed.status_code == 303
    [document] = documents()
    assert document.lines[0].unit_price == Decimal("1320.00")


def test_stock_running_out_during_checkout_is_reported(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 3))
    form = {
        **ADDRESS,
        **open_checkout(client),
        "shipping_method_id": store.shipping.id,
        "payment_method": "on_account",
    }
    offer = db.session.scalar(
        select(SupplierOffer).where(SupplierOffer.product_id == store.products[0].id)
    )
    offer.stock = 1
    refresh_product_aggregates([store.products[0].id])
    db.session.commit()
    response = client.post("/checkout", data=form)
    assert response.status_code == 409
    assert "has only 1 in stock now" in response.get_data(as_text=True)
    assert documents() == []


def test_product_made_obsolete_is_removed_at_checkout_with_a_notice(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1), (store.products[2], 1))
    store.products[0].obsolete = True
    db.session.commit()
    response = client.post("/checkout/start", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "ThinkPad T14 is no longer available and was removed from your cart" in body
    cart = db.session.scalar(select(Cart).where(Cart.user_id == store.customer.id))
    assert [line.product_id for line in cart.lines] == [store.products[2].id]


def test_unapproved_organization_cannot_check_out_and_is_told_why(client, store):
    login(client, store.unapproved_customer)
    fill_cart(client, (store.products[0], 1))
    cart_page = client.get("/cart").get_data(as_text=True)
    assert "Litware</strong> is not yet approved to order online" in cart_page
    response = client.post("/checkout/start", follow_redirects=True)
    assert "not yet approved to order online" in response.get_data(as_text=True)
    response = client.post("/checkout", data={"revision": "1", **ADDRESS})
    assert documents() == []


def test_missing_address_is_refused_and_nothing_is_created(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    response, _ = place(client, store, address_line1="", city="")
    assert response.status_code == 303
    assert "Fill in the address, city" in client.get("/checkout").get_data(as_text=True)
    assert documents() == []


def test_tampered_organization_and_price_fields_are_ignored(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    place(client, store, organization_id=store.other_org.id, total="0.01", unit_price="0.01")
    [document] = documents()
    assert document.organization_id == store.org.id
    assert document.lines[0].unit_price == Decimal("1100.00")


def test_unknown_shipping_method_is_a_validation_error(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    response, _ = place(client, store, shipping_method_id="999")
    assert response.status_code == 422
    assert documents() == []


def test_expired_session_mid_checkout_sends_to_sign_in_and_keeps_the_cart(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 2))
    form = {
        **ADDRESS,
        **open_checkout(client),
        "shipping_method_id": store.shipping.id,
        "payment_method": "on_account",
    }
    client.delete_cookie("session")
    response = client.post("/checkout", data=form, csrf=False)
    # Without a session there is no CSRF token either: the form is refused, nothing is lost.
    assert response.status_code == 400
    assert "session ended" in response.get_data(as_text=True)
    page = client.get("/checkout")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    login(client, store.customer)
    assert "ThinkPad T14" in client.get("/checkout").get_data(as_text=True)
    assert client.post("/checkout", data=form).status_code == 303
    assert len(documents()) == 1


def test_my_orders_lists_only_the_customers_organization(client, store):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    place(client, store)
    client.post("/logout")
    login(client, store.other_customer)
    assert "SO-000001" not in client.get("/orders").get_data(as_text=True)
    client.post("/logout")
    login(client, store.customer)
    assert "SO-000001" in client.get("/orders").get_data(as_text=True)


def test_card_option_says_no_card_is_taken_online_and_the_email_says_we_phone(
    client, store, run_jobs, mailbox
):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    open_checkout(client)
    page = client.get("/checkout").get_data(as_text=True)
    assert "Card, by phone" in page and "Credit card" not in page
    assert "Nothing is charged online: we phone you to take the card payment." in page
    place(client, store, payment="card")
    assert run_jobs() >= 1
    [message] = mailbox.to(store.customer.email)
    text = mailbox.text(message)
    assert "we will phone you to take the payment; nothing was charged online" in text
    order = client.get("/orders/SO-000001").get_data(as_text=True)
    assert "Payment: Card, by phone" in order


@pytest.mark.parametrize("field", ["ship_to_name", "address_line1", "city"])
def test_a_5000_character_ship_to_is_refused_naming_the_field_and_saves_nothing(
    client, store, field
):
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    open_checkout(client)
    response = client.post(
        "/checkout/details",
        data={**ADDRESS, "shipping_method_id": store.shipping.id, field: "x" * 5000},
        headers=HX,
    )
    assert response.status_code == 422
    assert "Field cannot be longer than" in response.get_data(as_text=True)
    assert all(len(getattr(d, field)) < 5000 for d in db.session.query(CheckoutDetails))
    response, _ = place(client, store, **{field: "x" * 5000})
    assert response.status_code == 422
    assert documents() == []


def test_order_and_email_lines_name_the_brand_once(client, store, run_jobs, mailbox):
    from tests.factories import make_brand, make_product

    dell = make_brand("Dell")
    latitude = make_product(
        category=store.products[0].category, brand=dell, name="Dell Latitude 5440"
    )
    db.session.commit()
    login(client, store.customer)
    fill_cart(client, (latitude, 1))
    place(client, store)
    [document] = documents()
    assert [line.description for line in document.lines] == ["Dell Latitude 5440"]
    run_jobs()
    text = mailbox.text(mailbox.to(store.customer.email)[0])
    assert "1 x Dell Latitude 5440 (" in text and "Dell Dell" not in text
