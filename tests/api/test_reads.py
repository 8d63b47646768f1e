"""Reads: filters, modified_after, totals, cursors, expand; a customer key sees only its own."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import bearer
from webapp.extensions import db
from webapp.models_base import utcnow


def get(client, url, key, **params):
    return client.get(url, headers=bearer(key), query_string=params)


def test_products_filter_by_manufacturer_part_number(client, scene):
    wanted = scene.store.products[1]
    body = get(client, "/api/v1/products", scene.msp_key, mpn=wanted.mpn).get_json()
    assert body["total"] == 1
    assert [p["id"] for p in body["data"]] == [wanted.id]
    assert body["data"][0]["mpn"] == wanted.mpn


def test_a_cursor_walks_every_product_once_and_the_total_counts_them_all(client, scene):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = get(client, "/api/v1/products", scene.msp_key, **params).get_json()
        assert body["total"] == 3
        seen += [p["id"] for p in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert sorted(seen) == sorted(p.id for p in scene.store.products)


def test_modified_after_returns_only_records_changed_later(client, scene):
    product = scene.store.products[2]
    cutoff = utcnow()
    product.updated_at = cutoff + timedelta(seconds=5)
    for other in scene.store.products[:2]:
        other.updated_at = cutoff - timedelta(hours=1)
    db.session.commit()
    body = get(
        client, "/api/v1/products", scene.msp_key, modified_after=cutoff.isoformat()
    ).get_json()
    assert [p["id"] for p in body["data"]] == [product.id]


def test_expand_nests_children_only_when_asked(client, scene):
    plain = get(client, f"/api/v1/quotes/{scene.sent_quote.id}", scene.msp_key).get_json()
    assert "sections" not in plain
    full = get(
        client, f"/api/v1/quotes/{scene.sent_quote.id}", scene.msp_key, expand="sections.lines"
    ).get_json()
    line = full["sections"][0]["lines"][0]
    assert line["product_id"] == scene.store.products[0].id
    assert line["unit_price"] == "1100.00"  # money is a decimal string, never a float
    order = get(
        client, f"/api/v1/sales-orders/{scene.order.id}", scene.msp_key, expand="lines"
    ).get_json()
    assert [line["quantity"] for line in order["lines"]] == [2]
    po = get(client, "/api/v1/purchase-orders", scene.msp_key, expand="lines").get_json()
    assert po["data"][0]["lines"][0]["quantity"] == 3
    products = get(client, "/api/v1/products", scene.msp_key, expand="offers,brand").get_json()
    assert products["data"][0]["brand"]["name"] == "Lenovo"
    assert products["data"][0]["offers"][0]["supplier_id"] == scene.store.supplier.id


def test_bad_list_arguments_are_400_or_422_problems_naming_the_parameter(client, scene):
    unknown = get(client, "/api/v1/quotes", scene.msp_key, expand="owner")
    assert unknown.status_code == 400
    assert unknown.get_json()["errors"][0]["parameter"] == "expand"
    cursor = get(client, "/api/v1/quotes", scene.msp_key, cursor="not-a-cursor")
    assert cursor.status_code == 400
    assert cursor.get_json()["errors"][0]["parameter"] == "cursor"
    limit = get(client, "/api/v1/quotes", scene.msp_key, limit=1000)
    assert limit.status_code == 422
    assert limit.mimetype == "application/problem+json"
    assert limit.get_json()["errors"][0]["parameter"] == "limit"
    naive = get(client, "/api/v1/products", scene.msp_key, modified_after="2026-01-01T00:00:00")
    assert naive.status_code == 422
    brands = get(client, "/api/v1/brands", scene.msp_key, modified_after=utcnow().isoformat())
    assert brands.status_code == 400


def test_each_list_filters_by_its_parent(client, scene):
    store = scene.store
    by_org = get(client, "/api/v1/quotes", scene.msp_key, organization_id=store.org.id).get_json()
    assert {q["id"] for q in by_org["data"]} == {scene.sent_quote.id, scene.draft_quote.id}
    contacts = get(
        client, "/api/v1/contacts", scene.msp_key, organization_id=store.other_org.id
    ).get_json()
    assert store.other_customer.id in {c["id"] for c in contacts["data"]}
    assert store.customer.id not in {c["id"] for c in contacts["data"]}
    orders = get(client, "/api/v1/sales-orders", scene.msp_key, number=scene.order.number)
    assert [o["id"] for o in orders.get_json()["data"]] == [scene.order.id]


# --- a customer-scoped key -------------------------------------------------------------------


def test_a_customer_key_sees_only_its_organizations_records(client, scene):
    key = scene.customer_key
    orgs = get(client, "/api/v1/organizations", key).get_json()
    assert [o["id"] for o in orgs["data"]] == [scene.store.org.id]
    quotes = get(client, "/api/v1/quotes", key).get_json()
    # Drafts are not shown to customers, nor another organization's quotes.
    assert [q["id"] for q in quotes["data"]] == [scene.sent_quote.id]
    orders = get(client, "/api/v1/sales-orders", key).get_json()
    assert [o["id"] for o in orders["data"]] == [scene.order.id]
    contacts = get(client, "/api/v1/contacts", key).get_json()
    assert {c["organization_id"] for c in contacts["data"]} == {scene.store.org.id}


def test_a_customer_key_gets_404_for_another_organizations_ids(client, scene):
    key = scene.customer_key
    store = scene.store
    for url in (
        f"/api/v1/quotes/{scene.other_quote.id}",
        f"/api/v1/quotes/{scene.draft_quote.id}",
        f"/api/v1/sales-orders/{scene.other_order.id}",
        f"/api/v1/organizations/{store.other_org.id}",
        f"/api/v1/contacts/{store.other_customer.id}",
    ):
        response = get(client, url, key)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json"
    assert get(client, f"/api/v1/quotes/{scene.sent_quote.id}", key).status_code == 200


def test_a_customer_key_never_sees_costs_or_suppliers(client, scene):
    key = scene.customer_key
    quote = get(
        client, f"/api/v1/quotes/{scene.sent_quote.id}", key, expand="sections.lines"
    ).get_json()
    assert "unit_cost" not in quote["sections"][0]["lines"][0]
    assert get(client, "/api/v1/suppliers", key).status_code == 403
    assert get(client, "/api/v1/products", key, expand="offers").status_code == 403
    assert get(client, "/api/v1/products", key).status_code == 200


def test_line_lists_filter_by_parent_and_keep_a_customer_key_to_its_own(client, scene):
    msp = get(client, "/api/v1/quote-lines", scene.msp_key, quote_id=scene.other_quote.id)
    assert {line["quote_id"] for line in msp.get_json()["data"]} == {scene.other_quote.id}
    assert "unit_cost" in msp.get_json()["data"][0]
    own = get(client, "/api/v1/quote-lines", scene.customer_key).get_json()
    assert {line["quote_id"] for line in own["data"]} == {scene.sent_quote.id}
    assert all("unit_cost" not in line for line in own["data"])
    foreign = get(client, "/api/v1/quote-lines", scene.customer_key, quote_id=scene.other_quote.id)
    assert foreign.get_json()["total"] == 0
    orders = get(client, "/api/v1/sales-order-lines", scene.customer_key).get_json()
    assert {line["sales_order_id"] for line in orders["data"]} == {scene.order.id}
    po_lines = get(
        client, "/api/v1/purchase-order-lines", scene.msp_key, purchase_order_id=scene.draft_po.id
    ).get_json()
    assert [line["quantity"] for line in po_lines["data"]] == [3]
    assert get(client, "/api/v1/purchase-order-lines", scene.customer_key).status_code == 403
