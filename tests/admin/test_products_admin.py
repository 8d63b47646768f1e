"""Staff screens for products: list, detail with offers and prices, fixed price, obsolete."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import login, make_product
from webapp.catalog.cache import catalog_version
from webapp.catalog.models import PricingRule, Product
from webapp.extensions import db
from webapp.jobs import get_queue

HX = {"HX-Request": "true"}


def test_product_list_searches_by_manufacturer_part_number(client, store):
    target = store.products[1]
    login(client, store.purchasing)
    html = client.get(f"/admin/catalog/products?q={target.mpn}").get_data(as_text=True)
    assert target.name in html
    assert store.products[0].name not in html


def test_product_list_searches_by_part_of_the_name(client, store):
    login(client, store.sales)
    html = client.get("/admin/catalog/products?q=carbon").get_data(as_text=True)
    assert "ThinkPad X1 Carbon" in html
    assert "ThinkPad T14" not in html


def test_product_list_filters_obsolete_products(client, store):
    store.products[0].obsolete = True
    login(client, store.sales)
    obsolete = client.get("/admin/catalog/products?obsolete=yes").get_data(as_text=True)
    live = client.get("/admin/catalog/products?obsolete=no").get_data(as_text=True)
    assert "ThinkPad T14" in obsolete and "ThinkPad E16" not in obsolete
    assert "ThinkPad T14" not in live and "ThinkPad E16" in live


def test_product_list_filters_by_brand(client, store):
    from tests.factories import make_brand

    other = make_product(category=store.category, brand=make_brand("Dell"), name="Latitude 5440")
    login(client, store.sales)
    html = client.get(f"/admin/catalog/products?brand={other.brand_id}").get_data(as_text=True)
    assert "Latitude 5440" in html
    assert "ThinkPad" not in html


def test_product_list_pages_through_results(client, store):
    for n in range(55):
        make_product(
            category=store.category, brand=store.brand, name=f"Zz cable {n:02d}", cost=None
        )
    login(client, store.sales)
    first = client.get("/admin/catalog/products?q=zz+cable").get_data(as_text=True)
    second = client.get("/admin/catalog/products?q=zz+cable&page=2").get_data(as_text=True)
    assert "Zz cable 49" in first and "Zz cable 50" not in first
    assert "Zz cable 50" in second and "Zz cable 54" in second
    assert "Page 2" in second


def test_product_list_answers_htmx_with_the_table_fragment(client, store):
    login(client, store.sales)
    response = client.get("/admin/catalog/products?q=t14", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="products-table">')
    assert "ThinkPad T14" in html and "<html" not in html


def test_product_list_rejects_a_malformed_page(client, store):
    login(client, store.sales)
    assert client.get("/admin/catalog/products?page=abc").status_code == 400
    assert client.get("/admin/catalog/products?category=x").status_code == 400


def test_customer_gets_404_on_the_products_admin(client, store):
    login(client, store.customer)
    assert client.get("/admin/catalog/products").status_code == 404
    assert client.get(f"/admin/catalog/products/{store.products[0].id}").status_code == 404


def test_product_detail_shows_offers_and_the_sell_price_per_price_group(client, store):
    product = store.products[0]  # cost 1000; 10% laptop rule; Partner group gets 5%
    db.session.add(
        PricingRule(price_group_id=store.price_group.id, category_id=None, markup_pct=Decimal("5"))
    )
    login(client, store.purchasing)
    html = client.get(f"/admin/catalog/products/{product.id}").get_data(as_text=True)
    assert "Ingram" in html
    assert product.offers[0].supplier_sku in html
    assert "$1,100.00" in html  # standard: 10% category rule
    assert "$1,050.00" in html  # Partner group rule beats the general category rule
    assert "Partner" in html


def test_unknown_product_is_404(client, store):
    login(client, store.sales)
    assert client.get("/admin/catalog/products/99999").status_code == 404


def test_setting_a_fixed_price_bumps_the_catalog_cache_and_queues_a_reindex(client, store):
    product = store.products[0]
    version = catalog_version()
    login(client, store.sales)
    response = client.post(
        f"/admin/catalog/products/{product.id}/fixed-price",
        data={"fixed_price": "999.50"},
        headers=HX,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="card mb-3" id="product-pricing">')
    assert "$999.50" in html
    assert db.session.get(Product, product.id).fixed_price == Decimal("999.50")
    assert catalog_version() > version
    jobs = get_queue("imports").get_jobs()
    assert any(
        j.func_name == "workers.jobs.reindex_products" and j.args == ([product.id],) for j in jobs
    )


def test_clearing_the_fixed_price_returns_the_product_to_the_pricing_rules(client, store):
    product = store.products[0]
    product.fixed_price = Decimal("5.00")
    login(client, store.sales)
    response = client.post(
        f"/admin/catalog/products/{product.id}/fixed-price", data={"fixed_price": ""}
    )
    assert response.status_code == 303
    assert db.session.get(Product, product.id).fixed_price is None


def test_a_fixed_price_that_is_not_a_number_is_refused_with_422(client, store):
    product = store.products[0]
    login(client, store.sales)
    response = client.post(
        f"/admin/catalog/products/{product.id}/fixed-price", data={"fixed_price": "cheap"}
    )
    assert response.status_code == 422
    assert "&#39;cheap&#39; is not a number." in response.get_data(as_text=True)
    assert db.session.get(Product, product.id).fixed_price is None


def test_a_negative_fixed_price_is_refused_with_a_toast_over_htmx(client, store):
    product = store.products[0]
    login(client, store.sales)
    response = client.post(
        f"/admin/catalog/products/{product.id}/fixed-price",
        data={"fixed_price": "-1"},
        headers=HX,
    )
    assert response.status_code == 422
    assert "data-message" in response.get_data(as_text=True)
    assert "Enter a value from 0" in response.get_data(as_text=True)


def test_a_fixed_price_with_fractions_of_a_cent_is_refused(client, store):
    login(client, store.sales)
    response = client.post(
        f"/admin/catalog/products/{store.products[0].id}/fixed-price",
        data={"fixed_price": "10.005"},
    )
    assert response.status_code == 422
    assert "Use at most 2 decimal places." in response.get_data(as_text=True)


def test_purchasing_cannot_set_a_fixed_price(client, store):
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/products/{store.products[0].id}/fixed-price", data={"fixed_price": "1"}
    )
    assert response.status_code == 403


def test_marking_a_product_obsolete_over_htmx_swaps_the_status_card(client, store):
    product = store.products[0]
    version = catalog_version()
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/products/{product.id}/obsolete", data={"obsolete": "1"}, headers=HX
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="card" id="product-status">')
    assert "Bring back to the store" in html
    assert db.session.get(Product, product.id).obsolete is True
    assert catalog_version() > version


def test_an_obsolete_product_disappears_from_the_store(app, client, store, run_jobs):
    product = store.products[0]
    login(client, store.sales)
    client.post(f"/admin/catalog/products/{product.id}/obsolete", data={"obsolete": "1"})
    run_jobs()
    customer = app.test_client()
    login(customer, store.customer)
    assert customer.get(f"/p/{product.id}").status_code == 404
