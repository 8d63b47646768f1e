"""Bulk upsert of supplier offers: the feed import's row checks, all or nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from tests.api.conftest import make_key
from tests.api.test_writes import post
from webapp.catalog.models import FeedImport, Product, SupplierOffer
from webapp.extensions import db


def counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Product)),
        db.session.scalar(select(func.count()).select_from(SupplierOffer)),
        db.session.scalar(select(func.count()).select_from(FeedImport)),
    )


def record(sku: str, mpn: str, cost="99.50", **extra) -> dict:
    return {"sku": sku, "mpn": mpn, "brand": "Lenovo", "name": f"Dock {mpn}", "cost": cost, **extra}


def url(scene) -> str:
    return f"/api/v1/suppliers/{scene.store.supplier.id}/offers/bulk"


def test_offers_are_upserted_and_new_products_made(client, scene):
    store = scene.store
    existing = store.products[0]
    sku = existing.offers[0].supplier_sku
    body = {
        "records": [
            record(sku, existing.mpn, cost="950.00", stock=7),
            record("DOCK-1", "40AY0090", category="Laptops", stock="3", eta_days=2),
        ]
    }
    before = counts()
    done = post(client, url(scene), scene.msp_key, body)
    assert done.status_code == 200, done.get_data(as_text=True)
    result = done.get_json()
    assert (result["products_created"], result["offers_created"], result["offers_updated"]) == (
        1,
        1,
        1,
    )
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    db.session.expire_all()
    assert existing.offers[0].cost == Decimal("950.0000")
    assert existing.best_cost == Decimal("950.0000")  # the aggregates were refreshed
    made = db.session.scalar(select(Product).where(Product.mpn == "40AY0090"))
    assert made.category_id == store.category.id and made.total_stock == 3
    run = db.session.get(FeedImport, result["feed_import_id"])
    assert run.supplier_id == store.supplier.id and run.offers_created == 1


def test_one_bad_record_refuses_all_with_each_bad_rows_pointer(client, scene):
    before = counts()
    body = {
        "records": [
            record("OK-1", "M-1", category="Laptops"),
            record("BAD-1", "M-2", cost="0"),
            record("BAD-2", "M-3", cost="12,50"),
            record("OK-1", "M-4", category="Laptops"),
        ]
    }
    refused = post(client, url(scene), scene.msp_key, body)
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    errors = refused.get_json()["errors"]
    assert [(e["pointer"], e["row"]) for e in errors] == [
        ("/records/1", 2),
        ("/records/2", 3),
        ("/records/3", 4),
    ]
    assert "more than zero" in errors[0]["detail"]
    assert "decimal separator" in errors[1]["detail"]  # the feed import's own wording
    assert "already appeared on row 1" in errors[2]["detail"]
    assert counts() == before


def test_a_new_product_without_a_mapped_category_refuses_the_request(client, scene):
    before = counts()
    body = {"records": [record("OK-1", "M-1", category="Laptops"), record("N-1", "M-9")]}
    refused = post(client, url(scene), scene.msp_key, body)
    assert refused.status_code == 422
    [error] = refused.get_json()["errors"]
    assert error["pointer"] == "/records/1" and "category is empty" in error["detail"]
    assert counts() == before  # the first record's product and brand were rolled back


def test_a_missing_field_is_refused_by_pointer(client, scene):
    refused = post(client, url(scene), scene.msp_key, {"records": [{"sku": "X"}]})
    assert refused.status_code == 422
    pointers = {e["pointer"] for e in refused.get_json()["errors"]}
    assert {"/records/0/mpn", "/records/0/cost"} <= pointers


def test_a_replayed_bulk_upsert_writes_once(client, scene):
    body = {"records": [record("R-1", "M-R", category="Laptops")]}
    first = post(client, url(scene), scene.msp_key, body, idem="bulk-1")
    after_first = counts()
    again = post(client, url(scene), scene.msp_key, body, idem="bulk-1")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert counts() == after_first


def test_bulk_upsert_needs_the_write_scope_and_an_msp_key(client, scene):
    reader = make_key(scene.store, ["catalog:read"])
    body = {"records": [record("S-1", "M-S", category="Laptops")]}
    before = counts()
    assert post(client, url(scene), reader, body).status_code == 403
    assert post(client, url(scene), scene.customer_key, body).status_code == 403
    missing = post(client, "/api/v1/suppliers/999999/offers/bulk", scene.msp_key, body)
    assert missing.status_code == 404
    assert counts() == before


def test_a_bulk_cost_change_announces_product_price_changed(client, scene, receiver):
    from webapp.webhooks import operations as webhooks
    from webapp.webhooks.models import WebhookEvent

    webhooks.create_endpoint(receiver.url, "ERP", ["product.price_changed"], "Admin")
    db.session.commit()
    existing = scene.store.products[0]
    body = {"records": [record(existing.offers[0].supplier_sku, existing.mpn, cost="900")]}
    assert post(client, url(scene), scene.msp_key, body).status_code == 200
    [event] = db.session.scalars(select(WebhookEvent)).all()
    assert event.type == "product.price_changed"
    assert event.data["product_ids"] == [existing.id]


def test_products_get_a_fixed_price_or_are_withdrawn_in_bulk(client, scene):
    first, second = scene.store.products[0], scene.store.products[1]
    body = {
        "records": [
            {"id": first.id, "fixed_price": "1234.50"},
            {"brand_id": second.brand_id, "mpn": second.mpn, "obsolete": True},
        ]
    }
    done = post(client, "/api/v1/products/bulk", scene.msp_key, body)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json() == {"rows": 2, "product_ids": [first.id, second.id], "created_ids": []}
    db.session.expire_all()
    assert first.fixed_price == Decimal("1234.50") and second.obsolete is True
    read = client.get(
        f"/api/v1/products/{first.id}", headers={"Authorization": f"Bearer {scene.msp_key}"}
    )
    assert read.get_json()["fixed_price"] == "1234.50"


def test_a_bad_product_record_changes_nothing(client, scene):
    first = scene.store.products[0]
    body = {
        "records": [
            {"id": first.id, "obsolete": True},
            {"id": 999999, "obsolete": True},
            {"mpn": "X"},
        ]
    }
    refused = post(client, "/api/v1/products/bulk", scene.msp_key, body)
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.get_json()["errors"]] == ["/records/1", "/records/2"]
    assert "no such product" in refused.get_json()["errors"][0]["detail"]
    db.session.expire_all()
    assert first.obsolete is False
    reader = make_key(scene.store, ["catalog:read"])
    assert post(client, "/api/v1/products/bulk", reader, body).status_code == 403


def test_products_get_a_new_name_and_description_in_bulk(client, scene, app):
    first, second = scene.store.products[0], scene.store.products[1]
    old_second_name = second.name
    body = {
        "records": [
            {"id": first.id, "name": "  ThinkPad T14 Gen 5  ", "description": "x" * 4999 + "yz"},
            {
                "brand_id": second.brand_id,
                "mpn": second.mpn,
                "description": "Refurbished",
                "image_url": "http://cdn.example.com/p.png",  # not https: dropped, as a feed's
            },
        ]
    }
    done = post(client, "/api/v1/products/bulk", scene.msp_key, body)
    assert done.status_code == 422  # 5,001 characters: the schema's limit, by pointer
    assert done.get_json()["errors"][0]["pointer"] == "/records/0/description"
    body["records"][0]["description"] = "Business laptop"
    done = post(client, "/api/v1/products/bulk", scene.msp_key, body)
    assert done.status_code == 200, done.get_data(as_text=True)
    db.session.expire_all()
    assert (first.name, first.description) == ("ThinkPad T14 Gen 5", "Business laptop")
    assert (second.name, second.description) == (old_second_name, "Refurbished")
    assert second.image_url == ""
    read = client.get(
        f"/api/v1/products/{first.id}", headers={"Authorization": f"Bearer {scene.msp_key}"}
    )
    assert read.get_json()["name"] == "ThinkPad T14 Gen 5"
    # The search index hears of it (every node catches up from the change log).
    from webapp.catalog.models import SearchIndexChange

    changes = db.session.scalars(select(SearchIndexChange)).all()
    assert any(first.id in (c.product_ids or []) for c in changes)


def test_bad_product_text_is_refused_with_the_feeds_wording_and_row(client, scene):
    first, second, third = scene.store.products[:3]
    names = {p.id: p.name for p in (first, second, third)}
    body = {
        "records": [
            {"id": first.id, "name": "Fine new name"},
            {"id": second.id, "name": "   "},
            {"id": third.id, "name": "n" * 301},
            {"id": first.id, "obsolete": True},
        ]
    }
    refused = post(client, "/api/v1/products/bulk", scene.msp_key, body)
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    errors = refused.get_json()["errors"]
    assert [(e["pointer"], e["row"]) for e in errors] == [
        ("/records/1/name", 2),
        ("/records/2/name", 3),
        ("/records/3", 4),
    ]
    assert errors[0]["detail"] == "name is empty"  # a feed line's own message
    assert errors[1]["detail"] == "name is longer than 300 characters"
    assert "already appeared on row 1" in errors[2]["detail"]
    db.session.expire_all()
    assert {p.id: p.name for p in (first, second, third)} == names  # nothing was changed
    assert first.obsolete is False


def test_products_not_in_the_catalog_are_made_by_the_bulk_upsert(client, scene):
    store = scene.store
    existing = store.products[0]
    body = {
        "records": [
            {"id": existing.id, "obsolete": True},
            {
                "brand_id": existing.brand_id,
                "mpn": " NEW-1 ",
                "name": "  Dock NEW-1 ",
                "category_id": store.category.id,
                "description": "USB-C",
                "image_url": "http://cdn.example.com/p.png",  # not https: dropped, as a feed's
                "fixed_price": "199.00",
            },
        ]
    }
    before = counts()
    done = post(client, "/api/v1/products/bulk", scene.msp_key, body)
    assert done.status_code == 200, done.get_data(as_text=True)
    result = done.get_json()
    made = db.session.scalar(select(Product).where(Product.mpn == "NEW-1"))
    assert result == {"rows": 2, "product_ids": [existing.id, made.id], "created_ids": [made.id]}
    assert counts() == (before[0] + 1, before[1], before[2])  # no offer, no feed run
    assert (made.name, made.description, made.image_url) == ("Dock NEW-1", "USB-C", "")
    assert made.category_id == store.category.id and made.fixed_price == Decimal("199.00")
    assert made.best_cost is None and made.total_stock == 0 and not made.obsolete
    from webapp.catalog.models import SearchIndexChange

    changes = db.session.scalars(select(SearchIndexChange)).all()
    assert any(made.id in (c.product_ids or []) for c in changes)
    # The same request again (another key) finds it: an update, nothing made twice.
    body["records"][1]["mpn"] = "NEW-1"
    body["records"][1]["name"] = "Dock NEW-1 (rev 2)"
    again = client.post(
        "/api/v1/products/bulk",
        json=body,
        headers={"Authorization": f"Bearer {scene.msp_key}", "Idempotency-Key": "again"},
    )
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["created_ids"] == [] and counts()[0] == before[0] + 1
    db.session.expire_all()
    assert made.name == "Dock NEW-1 (rev 2)"


def test_bad_new_products_are_refused_by_row_and_nothing_is_made(client, scene):
    store = scene.store
    brand, category = store.products[0].brand_id, store.category.id
    good = {"brand_id": brand, "mpn": "OK-1", "name": "Fine", "category_id": category}
    body = {
        "records": [
            good,
            {"brand_id": brand, "mpn": "NEW-2", "category_id": category},  # no name
            {"brand_id": brand, "mpn": "NEW-3", "name": "n" * 301, "category_id": category},
            {"brand_id": brand, "mpn": "NEW-4", "name": "No category"},
            {"brand_id": 999999, "mpn": "NEW-5", "name": "x", "category_id": category},
            {"brand_id": brand, "mpn": "NEW-6", "name": "x", "category_id": 999999},
            {"brand_id": brand, "mpn": "   ", "name": "x", "category_id": category},
            {**good, "name": "Twice"},
        ]
    }  # fmt: skip
    before = counts()
    refused = post(client, "/api/v1/products/bulk", scene.msp_key, body)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert refused.mimetype == "application/problem+json"
    errors = refused.get_json()["errors"]
    assert [(e["pointer"], e["row"]) for e in errors] == [
        ("/records/1/name", 2),
        ("/records/2/name", 3),
        ("/records/3/category_id", 4),
        ("/records/4/brand_id", 5),
        ("/records/5/category_id", 6),
        ("/records/6/mpn", 7),
        ("/records/7", 8),
    ]
    assert errors[0]["detail"].startswith("name is empty")  # the feed's own words
    assert "longer than 300" in errors[1]["detail"]
    assert "row 1" in errors[6]["detail"]
    assert counts() == before
    assert db.session.scalar(select(Product).where(Product.mpn == "OK-1")) is None
