"""Error pages carry the store's look; an expired session returns the customer to the page
they were on once they sign in again."""

from __future__ import annotations

from tests.factories import PASSWORD, login
from webapp.auth import operations


def test_not_found_and_forbidden_pages_have_the_store_navbar_and_a_way_back(client, store):
    login(client, store.customer)
    missing = client.get("/p/999999")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 404
    assert 'class="navbar bg-dark navbar-dark"' in page and 'data-status="404"' in page
    assert 'role="search"' in page and "Back to the store" in page and "My orders" in page
    forbidden = client.get("/admin/")
    assert forbidden.status_code in (403, 404)
    assert 'class="navbar bg-dark navbar-dark"' in forbidden.get_data(as_text=True)


def test_a_server_error_is_a_store_page_that_reads_nothing_from_the_database(app, client, store):
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/__test__/broken", "test_broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, store.customer)
    response = client.get("/__test__/broken")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert 'data-status="500"' in page and "Something went wrong on our side" in page
    assert "boom" not in page


def test_an_expired_session_signs_in_again_and_returns_to_the_page(client, store):
    response = client.get(f"/c/{store.category.slug}?in_stock=1")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert "/login?next=" in login_url
    back = client.post(login_url, data={"email": store.customer.email, "password": PASSWORD})
    assert back.status_code in (302, 303)
    assert back.headers["Location"].endswith(f"/c/{store.category.slug}?in_stock=1")


def test_an_expired_password_reset_link_is_a_store_page_with_a_way_on(app, client, store):
    token = operations.password_reset_token(store.customer)
    app.config["PASSWORD_RESET_MAX_AGE_MINUTES"] = -1
    response = client.get(f"/password/reset/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This password reset link has expired" in page
    # The store's own navbar (its brand leads back to the store), not a bare page.
    assert 'class="navbar navbar-expand-lg bg-dark navbar-dark"' in page
    assert '<a class="navbar-brand" href="/">' in page
    assert 'href="/login"' in page and "/static/" in page
