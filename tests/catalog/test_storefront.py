from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import login, make_product
from webapp.catalog import search
from webapp.catalog.models import PricingRule, SupplierOffer
from webapp.catalog.operations import refresh_product_aggregates, reindex
from webapp.extensions import db

HX = {"HX-Request": "true"}


@pytest.fixture
def indexed(store):
    reindex()
    return store


def test_category_page_shows_the_customers_price_and_availability(client, store):
    login(client, store.customer)
    page = client.get(f"/c/{store.category.slug}").get_data(as_text=True)
    assert "ThinkPad T14" in page and "$1,100.00" in page
    assert "5 in stock" in page
    assert "Back-order, about 10 days" in page  # X1 Carbon has no stock


def test_price_group_rule_gives_that_groups_customers_their_own_price(client, store):
    store.org.price_group = store.price_group
    db.session.add(PricingRule(price_group_id=store.price_group.id, markup_pct=Decimal("5")))
    db.session.commit()
    login(client, store.customer)
    assert "$1,050.00" in client.get(f"/c/{store.category.slug}").get_data(as_text=True)
    client.post("/logout")
    login(client, store.other_customer)
    assert "$1,100.00" in client.get(f"/c/{store.category.slug}").get_data(as_text=True)


def test_in_stock_filter_hides_products_without_stock(client, store):
    login(client, store.customer)
    page = client.get(f"/c/{store.category.slug}?in_stock=1").get_data(as_text=True)
    assert "ThinkPad T14" in page
    assert "X1 Carbon" not in page


def test_htmx_filter_request_gets_only_the_results_fragment(client, store):
    login(client, store.customer)
    response = client.get(f"/c/{store.category.slug}?in_stock=1", headers=HX)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="results">')
    assert "<nav" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_cached_listing_follows_a_cost_change(client, store):
    login(client, store.customer)
    assert "$1,100.00" in client.get(f"/c/{store.category.slug}").get_data(as_text=True)
    offer = db.session.scalar(
        select(SupplierOffer).where(SupplierOffer.product_id == store.products[0].id)
    )
    offer.cost = Decimal("2000.00")
    refresh_product_aggregates([store.products[0].id])
    db.session.commit()
    page = client.get(f"/c/{store.category.slug}").get_data(as_text=True)
    assert "$2,200.00" in page and "$1,100.00" not in page


def test_cached_listing_carries_each_sessions_own_csrf_token(app, store):
    first, second = app.test_client(), app.test_client()
    login(first, store.customer)
    login(second, store.other_customer)
    token_one = (
        first.get(f"/c/{store.category.slug}")
        .get_data(as_text=True)
        .split('name="csrf_token" value="')[1]
        .split('"')[0]
    )
    token_two = (
        second.get(f"/c/{store.category.slug}")
        .get_data(as_text=True)
        .split('name="csrf_token" value="')[1]
        .split('"')[0]
    )
    assert token_one != token_two
    assert "__CSRF_TOKEN__" not in token_one


def test_pagination_shows_48_products_and_a_next_page(client, store):
    for i in range(50):
        make_product(
            category=store.category,
            brand=store.brand,
            name=f"Cable {i:02d}",
            cost="5.00",
            supplier=store.supplier,
        )
    db.session.commit()
    login(client, store.customer)
    first = client.get(f"/c/{store.category.slug}").get_data(as_text=True)
    assert first.count('class="card h-100 product-card"') == 48
    assert "?page=2" in first
    second = client.get(f"/c/{store.category.slug}?page=2").get_data(as_text=True)
    assert second.count('class="card h-100 product-card"') == 5


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999"])
def test_invalid_page_numbers_are_a_400(client, store, page):
    login(client, store.customer)
    assert client.get(f"/c/{store.category.slug}?page={page}").status_code == 400


def test_unknown_category_and_product_are_404(client, store):
    login(client, store.customer)
    assert client.get("/c/no-such-thing").status_code == 404
    assert client.get("/p/999999").status_code == 404


def test_obsolete_product_page_is_gone(client, store):
    store.products[0].obsolete = True
    db.session.commit()
    login(client, store.customer)
    assert client.get(f"/p/{store.products[0].id}").status_code == 404


def test_product_page_shows_price_stock_and_eta(client, store):
    login(client, store.customer)
    page = client.get(f"/p/{store.products[0].id}").get_data(as_text=True)
    assert "$1,100.00" in page
    assert "5 in stock" in page and "delivered in about 3 days" in page


def test_search_finds_products_by_words_and_part_number(client, indexed):
    login(client, indexed.customer)
    page = client.get("/search?q=carbon").get_data(as_text=True)
    assert "X1 Carbon" in page and "T14" not in page
    mpn = indexed.products[0].mpn
    assert "ThinkPad T14" in client.get(f"/search?q={mpn}").get_data(as_text=True)


def test_active_search_suggests_from_a_prefix(client, indexed):
    login(client, indexed.customer)
    response = client.get("/search/suggest?q=think", headers=HX)
    body = response.get_data(as_text=True)
    assert body.count("list-group-item-action") == 4  # three products and "all results"
    assert "All 3 results" in body


def test_search_in_stock_filter(client, indexed):
    login(client, indexed.customer)
    page = client.get("/search?q=thinkpad&in_stock=1").get_data(as_text=True)
    assert "2 products found" in page
    assert "X1 Carbon" not in page


def test_search_ignores_punctuation_and_empty_queries(client, indexed):
    login(client, indexed.customer)
    assert client.get("/search?q=%22%3B--").status_code == 200
    assert client.get("/search?q=").status_code == 200
    assert client.get("/search/suggest?q=a").get_data(as_text=True) == ""


def test_obsolete_products_leave_the_index(indexed):
    indexed.products[1].obsolete = True
    db.session.commit()
    reindex([indexed.products[1].id])
    assert search.search("carbon").total == 0


def test_multi_word_search_requires_every_word(indexed):
    assert search.search("thinkpad carbon").total == 1
    assert search.search("thinkpad nonexistentword").total == 0


def test_product_page_shows_description_and_key_specifications(client, store):
    product = store.products[0]
    product.description = "A business laptop.\nProcessor: Intel Core i5\nMemory: 16GB"
    db.session.commit()
    login(client, store.customer)
    page = client.get(f"/p/{product.id}").get_data(as_text=True)
    assert 'id="product-description">A business laptop.</p>' in page
    specs = page.split('id="product-specs"')[1].split("</table>")[0]
    assert "Processor</th><td>Intel Core i5" in specs and "Memory</th><td>16GB" in specs
    assert "Processor:" not in page.split('id="product-description"')[1].split("</p>")[0]
