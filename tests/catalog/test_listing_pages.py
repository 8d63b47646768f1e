"""Category and brand pages: cached results per price group and catalog version, a warm page
the same as a cold one, and every request the view must refuse refused."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest

from tests.factories import login, make_user
from webapp.catalog.models import PricingRule
from webapp.extensions import db
from webapp.jobs import redis_conn

# A CSRF token carries the second it was signed in, so two renders a second apart differ there.
_CSRF_TOKEN = re.compile(rb"[\w-]+\.[\w-]+\.[\w-]{27}")


def _answer(response) -> tuple:
    return response.status_code, _CSRF_TOKEN.sub(b"<csrf>", response.get_data())


def _cached_listing_keys() -> list[bytes]:
    return redis_conn().keys("cache:catalog:*:listing:*")


def test_a_warm_listing_page_equals_a_cold_one(client, store):
    login(client, store.customer)
    category, brand = store.category.slug, store.brand.slug
    urls = [
        f"/c/{category}",
        f"/c/{category}?page=1",
        f"/c/{category}?in_stock=1",
        f"/c/{category}?in_stock=1&page=1",
        f"/c/{category}?in_stock=0",
        f"/c/{category}?page=3",
        f"/b/{brand}",
    ]
    client.get("/")  # the first page after signing in puts a CSRF token in the session
    for url in urls:
        cold = _answer(client.get(url))
        assert cold[0] == 200
        assert _cached_listing_keys(), url
        assert _answer(client.get(url)) == cold, url


def test_listing_pages_are_private_and_vary_on_htmx(client, store):
    login(client, store.customer)
    response = client.get(f"/c/{store.category.slug}")
    assert "private" in response.headers["Cache-Control"]
    assert "HX-Request" in response.headers["Vary"]
    assert "Set-Cookie" not in client.get(f"/c/{store.category.slug}").headers


def test_staff_and_other_price_groups_get_their_own_pages(app, store):
    store.other_org.price_group = store.price_group
    db.session.add(PricingRule(price_group_id=store.price_group.id, markup_pct=Decimal("5")))
    db.session.commit()
    url = f"/c/{store.category.slug}"
    pages = {}
    for user in (store.customer, store.other_customer, store.sales):
        client = app.test_client()
        login(client, user)
        client.get(url)  # warms the cache for this price group
        pages[user.email] = client.get(url).get_data(as_text=True)
    assert b"$1,050.00".decode() in pages[store.other_customer.email]  # the group's 5%
    assert "$1,100.00" in pages[store.customer.email]
    assert len({page.split('id="results"')[1] for page in pages.values()}) >= 2


def test_changes_reach_cached_pages_at_once(client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    assert b"$1,100.00" in client.get(url).get_data()
    # A price change moves the catalog version: the cached results no longer count.
    rule = db.session.scalar(db.select(PricingRule).filter_by(category_id=store.category.id))
    rule.markup_pct = Decimal("20")
    db.session.commit()
    assert b"$1,200.00" in client.get(url).get_data()
    # The cart badge.
    client.post("/cart/add", data={"product_id": str(store.products[0].id), "quantity": "2"})
    assert "Added" in client.get(url).get_data(as_text=True)  # a flash, shown once
    page = client.get(url).get_data(as_text=True)
    assert ">2</span>" in page and "Added" not in page


@pytest.mark.parametrize(
    "query,status",
    [("page=abc", 400), ("page=0", 400), ("page=2001", 400), ("in_stock=yes", 200)],
)
def test_bad_page_arguments_are_a_400_not_a_cached_page(client, store, query, status):
    login(client, store.customer)
    response = client.get(f"/c/{store.category.slug}?{query}")
    assert response.status_code == status
    if status == 400:
        assert "page must be a whole number" in response.get_data(as_text=True)


def test_an_unknown_category_is_a_404_cold_and_warm(client, store):
    login(client, store.customer)
    assert client.get("/c/no-such-category").status_code == 404
    assert client.get("/c/no-such-category").status_code == 404
    assert client.get("/c/no-such-category?page=abc").status_code == 404


def test_an_htmx_request_gets_the_results_fragment_and_a_post_is_refused(client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.get_data(as_text=True).lstrip().startswith('<div id="results">')
    assert 'name="csrf_token" value="' in response.get_data(as_text=True)
    assert client.post(url).status_code == 405


@pytest.mark.parametrize(
    "headers",
    [{"User-Agent": "another browser"}, {"X-Forwarded-For": "203.0.113.9"}],
)
def test_a_session_used_from_another_browser_or_address_is_signed_out(client, store, headers):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    response = client.get(url, headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_tampered_or_expired_session_cookie_is_signed_out(app, client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    cookie = client.get_cookie("session").value
    serializer = app.session_interface.get_signing_serializer(app)
    session = serializer.loads(cookie)

    client.set_cookie("session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert client.get(url).status_code == 302

    lifetime = app.permanent_session_lifetime.total_seconds()

    class SignedLongAgo(serializer.signer):
        def get_timestamp(self) -> int:
            return int(time.time() - lifetime - 60)

    serializer.signer = SignedLongAgo
    client.set_cookie("session", serializer.dumps(session))
    assert client.get(url).status_code == 302


def test_a_signed_out_visitor_is_sent_to_sign_in(client, store):
    response = client.get(f"/c/{store.category.slug}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_colleague_of_the_same_price_group_shares_the_cached_results(app, client, store):
    login(client, store.customer)
    brand_url = f"/b/{store.brand.slug}"
    client.get(brand_url)
    keys = set(_cached_listing_keys())
    colleague = app.test_client()
    login(colleague, make_user(organization=store.org, email="colleague@contoso.example"))
    page = colleague.get(brand_url).get_data(as_text=True)
    assert set(_cached_listing_keys()) == keys  # served from the customer's entry
    assert f'action="{brand_url}"' in page
    assert "colleague@contoso.example" not in client.get(brand_url).get_data(as_text=True)


def test_a_deactivated_customer_is_signed_out_of_a_cached_page(app, client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    staff = app.test_client()
    login(staff, store.sales)
    active_url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/active"
    assert staff.post(active_url, data={"active": "0"}).status_code in (200, 302, 303)
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("cached", [False, True])
def test_typed_csrf_placeholder_text_is_shown_as_typed_not_replaced(client, store, cached):
    """Tokens are rendered by Jinja: text that looks like the old placeholder stays text."""
    store.products[0].name = "Patch cable __CSRF_TOKEN__"
    db.session.commit()
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    if cached:
        client.get(url)
    page = client.get(url).get_data(as_text=True)
    token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    assert "Patch cable __CSRF_TOKEN__" in page
    assert f"Patch cable {token}" not in page
    search = client.get("/search?q=__CSRF_TOKEN__").get_data(as_text=True)
    assert "Results for “__CSRF_TOKEN__”" in search
