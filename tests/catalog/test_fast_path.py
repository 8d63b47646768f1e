"""The cached-listing fast path answers exactly as the view would, or leaves it to the view.

The view (Flask with the middleware taken off) is the oracle: every page the fast path serves
is compared with the view's answer to the same request, byte for byte and header for header.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from decimal import Decimal

import pytest
from flask import request_started

from tests.factories import login, make_user
from webapp import request_cache
from webapp.catalog.fast_path import CachedListings
from webapp.catalog.models import PricingRule
from webapp.extensions import db


@contextmanager
def view_only(app):
    """Serve through Flask alone: the middleware taken off the app."""
    middleware = app.wsgi_app
    assert isinstance(middleware, CachedListings)
    app.wsgi_app = middleware.wsgi_app
    try:
        yield
    finally:
        app.wsgi_app = middleware


@contextmanager
def flask_requests(app):
    """Count the requests Flask itself handled (the fast path sends no request signals)."""
    seen = []

    def count(sender, **extra):
        seen.append(1)

    request_started.connect(count, app)
    try:
        yield seen
    finally:
        request_started.disconnect(count, app)


def _answer(response) -> tuple:
    return response.status_code, list(response.headers.items()), response.get_data()


def served_fast(app, client, url, **kwargs):
    """The response, asserting it came from the fast path."""
    tracked = request_cache.tracked_for(app)
    deadline = time.monotonic() + 5
    while not tracked.ready:  # the listener's first connection, when the process starts
        assert time.monotonic() < deadline, "Redis tracking did not start"
        time.sleep(0.01)
    with flask_requests(app) as seen:
        response = client.get(url, **kwargs)
    assert not seen, f"{url} went through Flask"
    return response


def served_by_view(app, client, url, method="GET", **kwargs):
    """The response, asserting the fast path left it to Flask."""
    with flask_requests(app) as seen:
        response = client.open(url, method=method, **kwargs)
    assert seen, f"{url} was answered by the fast path"
    return response


def test_a_warm_listing_page_equals_the_views_answer(app, client, store):
    login(client, store.customer)
    category, brand = store.category.slug, store.brand.slug
    urls = [
        f"/c/{category}",
        f"/c/{category}?page=1",
        f"/c/{category}?in_stock=1",
        f"/c/{category}?page=1&in_stock=1",
        f"/c/{category}?in_stock=1&page=1",
        f"/c/{category}?in_stock=0",
        f"/c/{category}?page=3",
        f"/b/{brand}",
    ]
    client.get("/")  # the first page after signing in puts a CSRF token in the session
    for url in urls:
        with view_only(app):
            expected = _answer(client.get(url))  # and fills the caches
        assert expected[0] == 200
        assert _answer(served_fast(app, client, url)) == expected, url
        assert "Set-Cookie" not in dict(expected[1])


def test_staff_and_other_price_groups_get_their_own_pages(app, store):
    store.other_org.price_group = store.price_group
    db.session.add(PricingRule(price_group_id=store.price_group.id, markup_pct=Decimal("5")))
    db.session.commit()
    url = f"/c/{store.category.slug}"
    pages = {}
    for user in (store.customer, store.other_customer, store.sales):
        client = app.test_client()
        login(client, user)
        client.get(url)  # puts a CSRF token in the session
        with view_only(app):
            expected = _answer(client.get(url))
        assert _answer(served_fast(app, client, url)) == expected
        pages[user.email] = expected[2]
    assert len(set(pages.values())) == 3
    assert b"$1,050.00" in pages[store.other_customer.email]  # the group's 5% on $1,000
    assert b"$1,100.00" in pages[store.customer.email]


def test_changes_reach_fast_pages_at_once(app, client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    assert b"$1,100.00" in served_fast(app, client, url).get_data()
    # A price change moves the catalog version: the cached results no longer count.
    rule = db.session.scalar(db.select(PricingRule).filter_by(category_id=store.category.id))
    rule.markup_pct = Decimal("20")
    db.session.commit()
    page = served_by_view(app, client, url).get_data()
    assert b"$1,200.00" in page
    assert served_fast(app, client, url).get_data() == page
    # The cart badge.
    client.post("/cart/add", data={"product_id": str(store.products[0].id), "quantity": "2"})
    assert "Added" in served_by_view(app, client, url).get_data(as_text=True)  # a flash
    page = served_by_view(app, client, url).get_data(as_text=True)
    assert ">2</span>" in page
    assert served_fast(app, client, url).get_data(as_text=True) == page


@pytest.mark.parametrize(
    "query",
    ["page=abc", "page=0", "page=2001", "page=1&page=2", "x=1", "page=1&", "in_stock=yes"],
)
def test_other_query_strings_are_left_to_the_view(app, client, store, query):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    with view_only(app):
        expected = _answer(client.get(f"{url}?{query}"))
    assert _answer(served_by_view(app, client, f"{url}?{query}")) == expected


def test_requests_the_view_must_see_are_left_to_it(app, client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    served_fast(app, client, url)
    # An HTMX request gets the results fragment; a POST is not a listing.
    response = served_by_view(app, client, url, headers={"HX-Request": "true"})
    assert response.get_data(as_text=True).lstrip().startswith('<div id="results">')
    assert served_by_view(app, client, url, method="POST").status_code == 405
    assert served_by_view(app, client, "/c/no-such-category").status_code == 404
    # A message to show once.
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Welcome back")]
    assert "Welcome back" in served_by_view(app, client, url).get_data(as_text=True)
    served_fast(app, client, url)


@pytest.mark.parametrize(
    "headers",
    [{"User-Agent": "another browser"}, {"X-Forwarded-For": "203.0.113.9"}],
)
def test_a_session_used_from_another_browser_or_address_is_signed_out(app, client, store, headers):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    response = served_by_view(app, client, url, headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_tampered_or_expired_session_cookie_is_left_to_the_view(app, client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    served_fast(app, client, url)
    cookie = client.get_cookie("session").value
    serializer = app.session_interface.get_signing_serializer(app)
    session = serializer.loads(cookie)

    client.set_cookie("session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert served_by_view(app, client, url).status_code == 302

    lifetime = app.permanent_session_lifetime.total_seconds()

    class SignedLongAgo(serializer.signer):
        def get_timestamp(self) -> int:
            return int(time.time() - lifetime - 60)

    serializer.signer = SignedLongAgo
    client.set_cookie("session", serializer.dumps(session))
    assert served_by_view(app, client, url).status_code == 302


def test_a_signed_out_visitor_is_left_to_the_view(app, client, store):
    url = f"/c/{store.category.slug}"
    response = served_by_view(app, client, url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_fast_path_knows_every_hook_a_listing_runs(app):
    """A new before/after-request hook may change what a listing answers: if this fails,
    check webapp.catalog.fast_path still gives the view's answer, then update the list."""
    hooks = {
        "before": [f.__qualname__ for f in app.before_request_funcs[None]]
        + [f.__qualname__ for f in app.before_request_funcs["catalog"]],
        "after": [f.__qualname__ for f in app.after_request_funcs[None]],
        "context": [f.__qualname__ for f in app.url_value_preprocessors.get(None, [])]
        + [f.__qualname__ for f in app.url_value_preprocessors.get("catalog", [])],
    }
    assert hooks == {
        "before": ["CSRFProtect.init_app.<locals>.csrf_protect", "_signed_in_only"],
        "after": ["LoginManager._update_remember_cookie", "create_app.<locals>.vary_on_htmx"],
        "context": [],
    }


def test_one_frame_serves_every_listing_of_a_customer(app, client, store):
    """The frame is per customer, not per page: once another customer of the same price group
    has opened a page, this customer gets it from the fast path on first sight."""
    login(client, store.customer)
    client.get(f"/c/{store.category.slug}")
    colleague = app.test_client()
    login(colleague, make_user(organization=store.org, email="colleague@contoso.example"))
    brand_url = f"/b/{store.brand.slug}"
    colleague.get(brand_url)
    page = served_fast(app, client, brand_url)
    with view_only(app):
        assert _answer(client.get(brand_url)) == _answer(page)
    assert f'action="{brand_url}"' in page.get_data(as_text=True)


def test_search_text_cannot_reach_the_frames_markers(client, store):
    login(client, store.customer)
    page = client.get("/search?q=%00results%00").get_data(as_text=True)
    assert page.count('id="results"') == 1


def test_a_deactivated_customer_is_signed_out_of_a_cached_page(app, client, store):
    login(client, store.customer)
    url = f"/c/{store.category.slug}"
    client.get(url)
    served_fast(app, client, url)
    staff = app.test_client()
    login(staff, store.sales)
    active_url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/active"
    assert staff.post(active_url, data={"active": "0"}).status_code in (200, 302, 303)
    response = served_by_view(app, client, url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
