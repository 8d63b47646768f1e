"""The /search page: facets with counts, sorts and their URLs, did-you-mean, bad arguments."""

from __future__ import annotations

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


def test_search_page_shows_facets_with_counts(client, indexed):
    login(client, indexed.customer)
    page = client.get("/search?q=thinkpad").get_data(as_text=True)
    assert 'data-facet="brand"' in page and 'data-facet="category"' in page
    facets = page.split('id="facets"')[1].split("</aside>")[0]
    assert "Lenovo" in facets and ">3<" in facets  # three ThinkPads of one brand
    assert "In stock" in facets and ">2<" in facets  # the X1 Carbon has no stock


def test_facets_combine_and_stay_in_the_url(client, indexed):
    login(client, indexed.customer)
    brand = indexed.products[0].brand.slug
    page = client.get(f"/search?q=thinkpad&brand={brand}&in_stock=1&sort=price").get_data(
        as_text=True
    )
    assert _names_in_order(page) == ["ThinkPad E16", "ThinkPad T14"]
    # The picked brand's link removes it and keeps the rest of the URL.
    brand_link = page.split('data-facet="brand"')[1].split('href="')[1].split('"')[0]
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
