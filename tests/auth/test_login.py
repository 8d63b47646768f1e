import pytest

from tests.factories import PASSWORD, login, make_user
from webapp.extensions import db


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, store):
    response = client.post("/login", data={"email": store.customer.email, "password": "nope-nope"})
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_unknown_email_gets_the_same_answer(client, store):
    response = client.post("/login", data={"email": "ghost@example.com", "password": PASSWORD})
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(client, store):
    store.customer.active = False
    db.session.commit()
    response = client.post("/login", data={"email": store.customer.email, "password": PASSWORD})
    assert response.status_code == 401


def test_email_is_matched_case_insensitively(client, store):
    response = client.post(
        "/login", data={"email": store.customer.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302


def test_staff_land_on_the_admin_and_customers_on_the_store(client, store):
    assert login(client, store.admin).headers["Location"] == "/admin/"
    client.post("/logout")
    assert login(client, store.customer).headers["Location"] == "/"


def test_next_parameter_is_followed_only_within_the_site(client, store):
    response = client.post(
        "/login?next=https://evil.example/phish",
        data={"email": store.customer.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post(
        "/login?next=/orders", data={"email": store.customer.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/orders"


def test_login_form_without_csrf_token_is_refused(client, store):
    response = client.post(
        "/login", data={"email": store.customer.email, "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/cart/add", "/checkout/start", "/logout"])
def test_every_state_change_needs_a_csrf_token(client, store, url):
    login(client, store.customer)
    response = client.post(url, data={"product_id": "1", "quantity": "1"}, csrf=False)
    assert response.status_code == 400


def test_session_cookie_is_httponly_and_samesite(client, store):
    response = client.post("/login", data={"email": store.customer.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_passwords_are_stored_hashed(store):
    assert store.customer.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert PASSWORD not in store.customer.password_hash


def test_signing_out_ends_the_session(client, store):
    login(client, store.customer)
    client.post("/logout")
    assert client.get("/cart").status_code == 302


@pytest.mark.parametrize("password", [PASSWORD, "anything at all", "unset", "x"])
def test_invited_user_without_password_cannot_sign_in_with_any_password(client, store, password):
    invited = make_user(organization=store.org, email="invited@contoso.example", password=None)
    db.session.commit()
    response = client.post("/login", data={"email": invited.email, "password": password})
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    assert client.get("/cart").status_code == 302


def test_an_account_without_a_password_never_matches_one(store):
    invited = make_user(organization=store.org, password=None)
    assert invited.check_password("") is False
    assert invited.check_password(PASSWORD) is False


def test_the_account_page_needs_a_signed_in_user(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "path", ["/", "/cart", "/cart/badge", "/c/{category}", "/p/{product}", "/my/quotes"]
)
def test_a_signed_in_customer_deactivated_by_staff_is_refused_on_every_page(
    app, client, store, path
):
    url = path.format(category=store.category.slug, product=store.products[0].id)
    login(client, store.customer)
    assert client.get(url).status_code == 200
    staff = app.test_client()
    login(staff, store.sales)
    active_url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/active"
    assert staff.post(active_url, data={"active": "0"}).status_code in (200, 302, 303)
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_signed_in_staff_member_deactivated_behind_the_orm_is_refused(app, client, store):
    """Another process (or raw SQL) deactivates the account: no cache keeps it signed in."""
    from sqlalchemy import text

    login(client, store.sales)
    assert client.get("/admin/").status_code == 200
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET active = :no WHERE id = :id"),
            {"no": False, "id": store.sales.id},
        )
    db.session.remove()
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
