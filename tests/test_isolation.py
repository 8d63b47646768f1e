"""Organization isolation: every customer route, tried with another organization's ids."""

import pytest
from sqlalchemy import select

from tests.factories import login
from webapp.extensions import db
from webapp.store.models import Cart, CartLine

HX = {"HX-Request": "true"}
ADDRESS = {
    "ship_to_name": "Reception",
    "address_line1": "1 St",
    "city": "Springfield",
    "postcode": "62701",
    "country": "United States",
}


@pytest.fixture
def other_org_order(client, store):
    """Fabrikam's customer places an order and leaves a line in their cart."""
    login(client, store.other_customer)
    client.post("/cart/add", data={"product_id": store.products[0].id, "quantity": "1"}, headers=HX)
    client.post("/checkout/start")
    page = client.get("/checkout").get_data(as_text=True)
    revision = page.split('name="revision" value="')[1].split('"')[0]
    response = client.post(
        "/checkout",
        data={
            **ADDRESS,
            "revision": revision,
            "shipping_method_id": store.shipping.id,
            "payment_method": "on_account",
        },
    )
    number = response.headers["Location"].rsplit("/", 1)[1]
    client.post("/cart/add", data={"product_id": store.products[2].id, "quantity": "4"}, headers=HX)
    line = db.session.scalar(
        select(CartLine).join(Cart).where(Cart.user_id == store.other_customer.id)
    )
    client.post("/logout")
    return number, line.id


def test_another_organizations_order_is_not_found(client, store, other_org_order):
    number, _line = other_org_order
    login(client, store.customer)
    response = client.get(f"/orders/{number}")
    assert response.status_code == 404
    assert number not in response.get_data(as_text=True)


def test_another_organizations_orders_are_not_listed(client, store, other_org_order):
    number, _line = other_org_order
    login(client, store.customer)
    assert number not in client.get("/orders").get_data(as_text=True)


def test_another_customers_cart_line_cannot_be_changed(client, store, other_org_order):
    _number, line_id = other_org_order
    login(client, store.customer)
    response = client.post(f"/cart/lines/{line_id}", data={"quantity": "99"}, headers=HX)
    assert response.status_code == 404
    assert db.session.get(CartLine, line_id).quantity == 4


def test_another_customers_cart_line_cannot_be_removed(client, store, other_org_order):
    _number, line_id = other_org_order
    login(client, store.customer)
    assert client.post(f"/cart/lines/{line_id}/remove", headers=HX).status_code == 404
    assert db.session.get(CartLine, line_id) is not None


def test_a_colleagues_cart_is_their_own(client, store, other_org_order):
    """Contacts of the same organization do not share carts either."""
    from tests.factories import make_user

    colleague = make_user(organization=store.other_org)
    db.session.commit()
    _number, line_id = other_org_order
    login(client, colleague)
    assert client.post(f"/cart/lines/{line_id}/remove", headers=HX).status_code == 404
    assert "Your cart is empty" in client.get("/cart").get_data(as_text=True)


def test_a_colleague_sees_their_organizations_orders(client, store, other_org_order):
    from tests.factories import make_user

    colleague = make_user(organization=store.other_org)
    db.session.commit()
    number, _line = other_org_order
    login(client, colleague)
    assert client.get(f"/orders/{number}").status_code == 200


def test_posted_organization_id_cannot_move_a_cart(client, store):
    login(client, store.customer)
    client.post(
        "/cart/add",
        data={
            "product_id": store.products[0].id,
            "quantity": "1",
            "organization_id": store.other_org.id,
            "user_id": store.other_customer.id,
        },
        headers=HX,
    )
    cart = db.session.scalar(select(Cart))
    assert (cart.user_id, cart.organization_id) == (store.customer.id, store.org.id)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/orders/",
        "/admin/orders/1",
        "/admin/settings/sales",
        "/admin/mail/",
        "/admin/organizations/",
        "/admin/users/",
        "/admin/catalog/products",
        "/admin/catalog/suppliers",
    ],
)
def test_customers_cannot_see_that_the_admin_exists(client, store, other_org_order, url):
    login(client, store.customer)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "url", ["/", "/c/laptops", "/search?q=thinkpad", "/cart", "/orders", "/checkout", "/p/1"]
)
def test_store_pages_need_a_signed_in_user(client, store, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
