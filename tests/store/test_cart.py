from decimal import Decimal

import pytest

from tests.factories import login
from webapp.extensions import db
from webapp.store.models import Cart, CartLine

HX = {"HX-Request": "true"}


def cart_lines(user):
    cart = db.session.query(Cart).filter_by(user_id=user.id).one_or_none()
    return {line.product_id: line.quantity for line in cart.lines} if cart else {}


def test_adding_to_cart_returns_toast_and_triggers_badge_refresh(client, store):
    login(client, store.customer)
    product = store.products[0]
    response = client.post(
        "/cart/add", data={"product_id": product.id, "quantity": "2"}, headers=HX
    )
    assert response.status_code == 200
    assert "cart-changed" in response.headers["HX-Trigger"]
    assert cart_lines(store.customer) == {product.id: 2}
    badge = client.get("/cart/badge")
    assert ">2</span>" in badge.get_data(as_text=True)


def test_adding_the_same_product_twice_adds_to_one_line(client, store):
    login(client, store.customer)
    product = store.products[0]
    client.post("/cart/add", data={"product_id": product.id, "quantity": "1"}, headers=HX)
    client.post("/cart/add", data={"product_id": product.id, "quantity": "3"}, headers=HX)
    assert cart_lines(store.customer) == {product.id: 4}


def test_cart_price_is_the_customers_price_whatever_the_form_says(client, store):
    login(client, store.customer)
    product = store.products[0]
    client.post(
        "/cart/add",
        data={"product_id": product.id, "quantity": "1", "unit_price": "0.01", "price": "1"},
        headers=HX,
    )
    line = db.session.query(CartLine).one()
    # cost 1000.00 with the 10% laptop rule
    assert line.unit_price_seen == Decimal("1100.00")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "at least 1"),
        ("-3", "at least 1"),
        ("abc", "whole number"),
        ("1.5", "whole number"),
        ("", "whole number"),
        ("10000", "cannot be more than 9,999"),
        ("99999999999999999999", "cannot be more than 9,999"),
        ("9" * 5000, "cannot be more than 9,999"),  # past Python's int() digit limit
        ("²", "whole number"),  # str.isdigit() says yes, int() says no
    ],
)
def test_invalid_quantity_is_refused_with_a_message(client, store, quantity, message):
    login(client, store.customer)
    response = client.post(
        "/cart/add", data={"product_id": store.products[0].id, "quantity": quantity}, headers=HX
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert cart_lines(store.customer) == {}


def test_a_product_id_beyond_the_database_integer_is_refused(client, store):
    login(client, store.customer)
    response = client.post(
        "/cart/add", data={"product_id": "99999999999", "quantity": "1"}, headers=HX
    )
    assert response.status_code == 400
    assert cart_lines(store.customer) == {}


def test_unknown_product_is_a_404(client, store):
    login(client, store.customer)
    response = client.post("/cart/add", data={"product_id": "999999", "quantity": "1"}, headers=HX)
    assert response.status_code == 404
    assert "no longer available" in response.get_data(as_text=True)


def test_obsolete_product_cannot_be_added(client, store):
    store.products[0].obsolete = True
    db.session.commit()
    login(client, store.customer)
    response = client.post(
        "/cart/add", data={"product_id": store.products[0].id, "quantity": "1"}, headers=HX
    )
    assert response.status_code == 404
    assert cart_lines(store.customer) == {}


def test_non_numeric_product_id_is_a_400(client, store):
    login(client, store.customer)
    response = client.post("/cart/add", data={"product_id": "1 OR 1=1", "quantity": "1"})
    assert response.status_code == 400


def test_plain_form_add_redirects_back_with_a_flash(client, store):
    login(client, store.customer)
    response = client.post(
        "/cart/add",
        data={"product_id": store.products[0].id, "quantity": "1"},
        headers={"Referer": "/c/laptops"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/c/laptops")
    assert "Added 1" in client.get("/cart").get_data(as_text=True)


def test_changing_a_quantity_in_place_returns_the_cart_fragment(client, store):
    login(client, store.customer)
    client.post("/cart/add", data={"product_id": store.products[0].id, "quantity": "1"}, headers=HX)
    line = db.session.query(CartLine).one()
    response = client.post(f"/cart/lines/{line.id}", data={"quantity": "3"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="cart-body">')
    assert "<html" not in body
    assert "$3,300.00" in body
    assert cart_lines(store.customer) == {store.products[0].id: 3}


def test_removing_a_line_in_place(client, store):
    login(client, store.customer)
    client.post("/cart/add", data={"product_id": store.products[0].id, "quantity": "1"}, headers=HX)
    line = db.session.query(CartLine).one()
    response = client.post(f"/cart/lines/{line.id}/remove", headers=HX)
    assert response.status_code == 200
    assert "Your cart is empty" in response.get_data(as_text=True)
    assert cart_lines(store.customer) == {}


def test_zero_quantity_on_a_cart_line_is_refused(client, store):
    login(client, store.customer)
    client.post("/cart/add", data={"product_id": store.products[0].id, "quantity": "2"}, headers=HX)
    line = db.session.query(CartLine).one()
    response = client.post(f"/cart/lines/{line.id}", data={"quantity": "0"}, headers=HX)
    assert response.status_code == 400
    assert cart_lines(store.customer) == {store.products[0].id: 2}


def test_frozen_cart_refuses_edits_until_the_customer_goes_back(client, store):
    login(client, store.customer)
    client.post("/cart/add", data={"product_id": store.products[0].id, "quantity": "1"}, headers=HX)
    client.post("/checkout/start")
    response = client.post(
        "/cart/add", data={"product_id": store.products[2].id, "quantity": "1"}, headers=HX
    )
    assert response.status_code == 409
    assert "in checkout" in response.get_data(as_text=True)
    client.post("/cart/edit")
    response = client.post(
        "/cart/add", data={"product_id": store.products[2].id, "quantity": "1"}, headers=HX
    )
    assert response.status_code == 200


def test_staff_cannot_use_a_cart(client, store):
    login(client, store.sales)
    response = client.post("/cart/add", data={"product_id": store.products[0].id, "quantity": "1"})
    assert response.status_code == 403


def test_cart_requires_sign_in_and_htmx_gets_a_full_page_redirect(client, store):
    response = client.post(
        "/cart/add", data={"product_id": store.products[0].id, "quantity": "1"}, headers=HX
    )
    assert response.headers.get("HX-Redirect", "").startswith("/login")


def test_concurrent_adds_are_all_kept_and_none_fails(app, store):
    """Twenty clicks at once from tabs of one customer: 20 answers below 500, 20 units."""
    import threading

    from sqlalchemy import select

    first = app.test_client()
    login(first, store.customer)
    cookie = first.get_cookie("session")
    clients = [first] + [app.test_client() for _ in range(19)]
    for c in clients[1:]:  # the same session in other tabs (sign-in is throttled)
        c.set_cookie(cookie.key, cookie.value)
    barrier = threading.Barrier(len(clients))
    statuses = []
    product_id = store.products[0].id

    def click(c):
        barrier.wait()
        try:
            response = c.post(
                "/cart/add", data={"product_id": product_id, "quantity": "1"}, headers=HX
            )
        except Exception as exc:  # noqa: BLE001 - TESTING re-raises what would be a 500
            statuses.append(f"{type(exc).__name__}: {exc!s:.120}")
        else:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    db.session.expire_all()
    assert statuses == [200] * len(clients), statuses
    (line,) = db.session.scalars(
        select(CartLine).join(Cart).where(Cart.user_id == store.customer.id)
    ).all()
    assert line.quantity == len(clients)
