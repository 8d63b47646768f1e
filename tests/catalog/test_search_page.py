"""The /search page: facets with counts, sorts and their URLs, did-you-mean, bad arguments."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import login
from webapp.catalog.operations import reindex

HX = {"HX-Request": "true"}


@pytest.fixture
def indexed(store):
    reindex()
    return store


def _names_in_order(page: str) -> list[str]:
    names = ["ThinkPad T14", "ThinkPad X1 Carbon", "ThinkPad E16"]
    return sorted((n for n in names if n in page), key=page.index)


def _facet_column(client, url: str) -> str:
    """The facet column of a search page: inline when already counted, else fetched from
    the URL the page loads it from (as HTMX does)."""
    page = client.get(url).get_data(as_text=True)
    column = page.split('id="facets"')[1].split("</aside>")[0]
    loader = re.search(r'hx-get="([^"]+)" hx-trigger="load"', column)
    if loader is None:
        return column
    return client.get(html.unescape(loader.group(1)), headers=HX).get_data(as_text=True)


def test_search_page_shows_facets_with_counts(client, indexed):
    login(client, indexed.customer)
    facets = _facet_column(client, "/search?q=thinkpad")
    assert 'data-facet="brand"' in facets and 'data-facet="category"' in facets
    assert "Lenovo" in facets and ">3<" in facets  # three ThinkPads of one brand
    assert "In stock" in facets and ">2<" in facets  # the X1 Carbon has no stock


def test_a_first_search_loads_its_facets_apart_and_a_repeated_one_has_them_inline(client, indexed):
    login(client, indexed.customer)
    first = client.get("/search?q=thinkpad&sort=price").get_data(as_text=True)
    assert 'data-facet="brand"' not in first  # not counted yet: the page does not wait
    assert "ThinkPad T14" in first
    loader = re.search(r'hx-get="(/search/facets\?[^"]+)" hx-trigger="load"', first)
    fragment = client.get(html.unescape(loader.group(1)), headers=HX)
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="facet-groups"') and "<nav" not in body
    # Its links lead to the search page (not the fragment), keeping the words and the sort.
    link = html.unescape(body.split('data-facet="brand"')[1].split('href="')[1].split('"')[0])
    assert link.startswith("/search?") and "q=thinkpad" in link and "sort=price" in link
    again = client.get("/search?q=thinkpad&sort=price").get_data(as_text=True)
    assert 'data-facet="brand"' in again and 'hx-trigger="load"' not in again.split("</aside>")[0]


def test_the_facet_column_is_a_page_of_its_own_without_scripts(client, indexed):
    login(client, indexed.customer)
    first = client.get("/search?q=thinkpad").get_data(as_text=True)
    assert '<noscript><a href="/search/facets?q=thinkpad">Narrow the results</a>' in first
    page = client.get("/search/facets?q=thinkpad").get_data(as_text=True)
    assert '<nav class="navbar' in page and "Narrow “thinkpad”" in page
    assert 'data-facet="brand"' in page


def test_the_facets_of_a_corrected_search_count_the_correction(client, indexed):
    login(client, indexed.customer)
    facets = _facet_column(client, "/search?q=thinkpda")
    assert "Lenovo" in facets and ">3<" in facets


@pytest.mark.parametrize("query", ["brand=nosuchbrand", "price=1-2", "category=nope"])
def test_the_facet_fragment_refuses_bad_arguments_with_a_400(client, indexed, query):
    login(client, indexed.customer)
    assert client.get(f"/search/facets?q=thinkpad&{query}", headers=HX).status_code == 400


def test_the_facet_fragment_needs_a_signed_in_customer(client, indexed):
    response = client.get("/search/facets?q=thinkpad")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert 'data-facet="brand"' not in response.get_data(as_text=True)


def test_facets_combine_and_stay_in_the_url(client, indexed):
    login(client, indexed.customer)
    brand = indexed.products[0].brand.slug
    url = f"/search?q=thinkpad&brand={brand}&in_stock=1&sort=price"
    page = client.get(url).get_data(as_text=True)
    assert _names_in_order(page) == ["ThinkPad E16", "ThinkPad T14"]
    # The picked brand's link removes it and keeps the rest of the URL.
    facets = _facet_column(client, url)
    brand_link = facets.split('data-facet="brand"')[1].split('href="')[1].split('"')[0]
    assert "brand=" not in brand_link and "in_stock=1" in brand_link and "sort=price" in brand_link


def test_sorts_by_price_both_ways_and_by_name(client, indexed):
    login(client, indexed.customer)
    cheap = client.get("/search?q=thinkpad&sort=price").get_data(as_text=True)
    assert _names_in_order(cheap) == ["ThinkPad E16", "ThinkPad T14", "ThinkPad X1 Carbon"]
    dear = client.get("/search?q=thinkpad&sort=-price").get_data(as_text=True)
    assert _names_in_order(dear) == ["ThinkPad X1 Carbon", "ThinkPad T14", "ThinkPad E16"]
    by_name = client.get("/search?q=thinkpad&sort=name").get_data(as_text=True)
    assert _names_in_order(by_name) == ["ThinkPad E16", "ThinkPad T14", "ThinkPad X1 Carbon"]
    available = client.get("/search?q=thinkpad&sort=availability").get_data(as_text=True)
    assert _names_in_order(available)[-1] == "ThinkPad X1 Carbon"


def test_price_band_narrows_by_list_price(client, indexed):
    login(client, indexed.customer)
    page = client.get("/search?q=thinkpad&price=1000-2500").get_data(as_text=True)
    assert _names_in_order(page) == ["ThinkPad T14", "ThinkPad X1 Carbon"]


def test_a_typo_shows_did_you_mean_with_the_corrected_results(client, indexed):
    login(client, indexed.customer)
    page = client.get("/search?q=thinkpda+carbon").get_data(as_text=True)
    assert 'id="did-you-mean"' in page and "“thinkpad carbon”" in page
    assert "ThinkPad X1 Carbon" in page


def test_category_browse_without_words_lists_the_category(client, indexed):
    login(client, indexed.customer)
    page = client.get(f"/search?category={indexed.category.slug}&sort=name").get_data(as_text=True)
    assert _names_in_order(page) == ["ThinkPad E16", "ThinkPad T14", "ThinkPad X1 Carbon"]
    default = client.get(f"/search?category={indexed.category.slug}").get_data(as_text=True)
    assert _names_in_order(default) == ["ThinkPad E16", "ThinkPad T14", "ThinkPad X1 Carbon"]
    listing = client.get(f"/c/{indexed.category.slug}").get_data(as_text=True)
    assert f"/search?category={indexed.category.slug}" in listing


@pytest.mark.parametrize(
    "query, message",
    [
        ("sort=cheapest", "sort must be one of"),
        ("brand=nosuchbrand", "There is no brand"),
        ("category=nope", "There is no category"),
        ("price=1-2", "price must be one of"),
    ],
)
def test_bad_search_arguments_are_a_400_with_the_reason(client, indexed, query, message):
    login(client, indexed.customer)
    response = client.get(f"/search?q=thinkpad&{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_htmx_facet_click_gets_only_the_search_fragment(client, indexed):
    login(client, indexed.customer)
    body = client.get("/search?q=thinkpad&in_stock=1", headers=HX).get_data(as_text=True)
    assert body.lstrip().startswith('<div id="search-page"')
    assert '<nav class="navbar' not in body


def _reads(redis) -> int:
    """Read commands (GET, MGET) the Redis server has answered so far."""
    stats = redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("get", "mget"))


def test_a_search_page_reads_its_cached_parts_in_one_round_trip(client, indexed):
    from webapp.jobs import redis_conn

    login(client, indexed.customer)
    _facet_column(client, "/search?q=thinkpad")  # search, facet counts, price book cached
    redis = redis_conn()
    before = _reads(redis)
    page = client.get("/search?q=thinkpad")
    assert page.status_code == 200 and "ThinkPad T14" in page.get_data(as_text=True)
    assert 'hx-trigger="load"' not in page.get_data(as_text=True)  # facets came inline
    # The catalog version, then one MGET of the search, its facet counts and the price book
    # (they were three GETs).
    assert _reads(redis) - before == 2
