"""Staff screens for suppliers: offers, feed format, category mapping, feed upload and import."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from tests.factories import login, make_category
from webapp.catalog import feeds
from webapp.catalog.models import (
    FeedImport,
    ImportStatus,
    Product,
    Supplier,
    SupplierCategoryMap,
    SupplierOffer,
)
from webapp.extensions import db
from webapp.jobs import redis_conn

HX = {"HX-Request": "true"}

GOOD_FEED = (
    "sku,mpn,brand,name,cost,category,stock,eta_days\n"
    "ING-NEW-1,20XK0001,Lenovo,ThinkPad L14,800.00,Laptops,4,2\n"
    "ING-NEW-2,20XK0002,Lenovo,ThinkPad L15,abc,Laptops,1,2\n"
    "ING-NEW-3,20XK0003,Lenovo,ThinkPad L16,900.00,Laptops,0,9\n"
)


def _upload(client, supplier, content: bytes, filename: str = "ingram.csv"):
    return client.post(
        f"/admin/catalog/suppliers/{supplier.id}/imports",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def _uploaded_files(app) -> list[Path]:
    directory = Path(app.config["IMPORT_UPLOAD_DIR"])
    return sorted(directory.iterdir()) if directory.exists() else []


# --- suppliers and offers --------------------------------------------------------------------


def test_supplier_list_shows_each_supplier_and_its_latest_import(client, store):
    db.session.add(
        FeedImport(supplier=store.supplier, filename="old.csv", status=ImportStatus.FAILED)
    )
    login(client, store.purchasing)
    html = client.get("/admin/catalog/suppliers").get_data(as_text=True)
    assert "Ingram" in html
    assert ">Failed</span>" in html


def test_supplier_offers_are_paginated(client, store):
    for n in range(60):
        db.session.add(
            SupplierOffer(
                supplier=store.supplier,
                product=store.products[0],
                supplier_sku=f"ZZ-{n:03d}",
                cost=Decimal("1"),
                updated_at=store.products[0].created_at,
            )
        )
    login(client, store.sales)
    first = client.get(f"/admin/catalog/suppliers/{store.supplier.id}").get_data(as_text=True)
    second = client.get(f"/admin/catalog/suppliers/{store.supplier.id}?page=2").get_data(
        as_text=True
    )
    assert "SKU-" in first and "ZZ-059" not in first
    assert "ZZ-059" in second


def test_supplier_offer_search_over_htmx_returns_the_offers_fragment(client, store):
    sku = store.products[1].offers[0].supplier_sku
    login(client, store.sales)
    response = client.get(f"/admin/catalog/suppliers/{store.supplier.id}?q={sku}", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="supplier-offers">')
    assert "ThinkPad X1 Carbon" in html and "ThinkPad T14" not in html


def test_unknown_supplier_is_404(client, store):
    login(client, store.sales)
    assert client.get("/admin/catalog/suppliers/99999").status_code == 404
    assert client.get("/admin/catalog/suppliers/99999/feed").status_code == 404


def test_customer_gets_404_on_the_suppliers_admin(client, store):
    login(client, store.customer)
    assert client.get("/admin/catalog/suppliers").status_code == 404


# --- feed format -----------------------------------------------------------------------------


def _format_form(**changes) -> dict:
    data = {
        "col_sku": "Artikel",
        "col_mpn": "Herstellernummer",
        "col_brand": "Marke",
        "col_name": "Bezeichnung",
        "col_cost": "Preis",
        "col_category": "Kategorie",
        "col_stock": "Bestand",
        "col_eta_days": "",
        "col_description": "",
        "delimiter": ";",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "encoding": "utf-8-sig",
        "full_feed": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_saving_a_feed_format_stores_the_column_mapping_and_separators(client, store):
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/feed-format", data=_format_form()
    )
    assert response.status_code == 303
    saved = db.session.get(Supplier, store.supplier.id).feed_format
    feed = feeds.FeedFormat.from_json(saved)
    assert feed.columns["cost"] == "Preis"
    assert feed.columns["eta_days"] == ""
    assert (feed.delimiter, feed.decimal_separator, feed.thousands_separator) == (";", ",", ".")
    assert feed.full_feed is True


def test_a_feed_format_with_equal_separators_is_refused_with_422(client, store):
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/feed-format",
        data=_format_form(decimal_separator=",", thousands_separator=","),
    )
    assert response.status_code == 422
    assert "decimal and thousands separators must differ" in response.get_data(as_text=True)
    assert db.session.get(Supplier, store.supplier.id).feed_format == {}


def test_a_feed_format_without_a_required_column_is_refused_with_422(client, store):
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/feed-format",
        data=_format_form(col_cost=""),
    )
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_sales_cannot_change_a_feed_format(client, store):
    login(client, store.sales)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/feed-format", data=_format_form()
    )
    assert response.status_code == 403


def test_feed_page_shows_the_current_format(client, store):
    store.supplier.feed_format = {"columns": {"cost": "Price ex GST"}, "delimiter": ";"}
    login(client, store.sales)
    html = client.get(f"/admin/catalog/suppliers/{store.supplier.id}/feed").get_data(as_text=True)
    assert 'value="Price ex GST"' in html
    assert '<option selected value=";">' in html


# --- category mapping ------------------------------------------------------------------------


def test_mapping_a_supplier_category_lets_its_new_products_import(client, store, run_jobs):
    # A small full feed: past the limits a real one is held at.
    limits = {"max_bad_rows_percent": 100, "max_withdrawn_percent": 100}
    store.supplier.feed_format = {**(store.supplier.feed_format or {}), **limits}
    db.session.commit()
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/category-maps",
        data={"supplier_category": "Notebooks", "category_id": str(store.category.id)},
    )
    assert response.status_code == 303
    _upload(
        client,
        store.supplier,
        b"sku,mpn,brand,name,cost,category\nNB-1,NB-MPN-1,Lenovo,IdeaPad 5,500,Notebooks\n",
    )
    run_jobs()
    product = db.session.scalar(select(Product).where(Product.mpn == "NB-MPN-1"))
    assert product.category_id == store.category.id


def test_remapping_a_supplier_category_replaces_the_earlier_mapping(client, store):
    other = make_category("Tablets")
    login(client, store.purchasing)
    url = f"/admin/catalog/suppliers/{store.supplier.id}/category-maps"
    client.post(url, data={"supplier_category": "Notebooks", "category_id": str(store.category.id)})
    client.post(url, data={"supplier_category": "notebooks", "category_id": str(other.id)})
    [mapping] = db.session.scalars(select(SupplierCategoryMap)).all()
    assert mapping.category_id == other.id


def test_mapping_without_choosing_our_category_is_refused_with_422(client, store):
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/category-maps",
        data={"supplier_category": "Notebooks", "category_id": ""},
    )
    assert response.status_code == 422
    assert db.session.scalars(select(SupplierCategoryMap)).all() == []


def test_removing_a_mapping_over_htmx_empties_its_row(client, store):
    mapping = SupplierCategoryMap(
        supplier_id=store.supplier.id, supplier_category="Notebooks", category_id=store.category.id
    )
    db.session.add(mapping)
    db.session.flush()
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/category-maps/{mapping.id}/delete",
        headers=HX,
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ""
    assert "toast" in response.headers["HX-Trigger"]
    assert db.session.scalars(select(SupplierCategoryMap)).all() == []


# --- upload and import -----------------------------------------------------------------------


def test_uploaded_feed_is_imported_by_the_worker_and_reports_the_bad_row_by_line(
    app, client, store, run_jobs
):
    # A small full feed: past the limits a real one is held at.
    limits = {"max_bad_rows_percent": 100, "max_withdrawn_percent": 100}
    store.supplier.feed_format = {**(store.supplier.feed_format or {}), **limits}
    db.session.commit()
    login(client, store.purchasing)
    response = _upload(client, store.supplier, GOOD_FEED.encode())
    assert response.status_code == 303
    run = db.session.scalar(select(FeedImport))
    assert response.headers["Location"].endswith(f"/admin/catalog/imports/{run.id}")
    assert run.status is ImportStatus.QUEUED
    assert run.filename == "ingram.csv"
    [stored] = _uploaded_files(app)
    assert stored.name != "ingram.csv" and Path(run.stored_path) == stored

    queued = client.get(f"/admin/catalog/imports/{run.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in queued
    assert "Waiting for a worker" in queued

    run_jobs()
    response = client.get(f"/admin/catalog/imports/{run.id}", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="import-status"')
    assert "every 1s" not in html  # finished: the page stops polling
    assert ">Succeeded</span>" in html
    assert '<td class="text-end">3</td><td>cost: &#39;abc&#39; is not a number</td>' in html
    run = db.session.get(FeedImport, run.id)
    assert (run.rows_read, run.offers_created, run.rows_skipped) == (3, 2, 1)
    assert db.session.scalar(select(Product).where(Product.mpn == "20XK0001")) is not None


def test_running_import_shows_live_progress_from_redis(client, store):
    run = FeedImport(
        supplier=store.supplier, filename="big.csv", status=ImportStatus.RUNNING, stored_path=""
    )
    db.session.add(run)
    db.session.flush()
    redis_conn().hset(feeds.progress_key(run.id), mapping={"done": 500, "total": 2000})
    login(client, store.sales)
    response = client.get(f"/admin/catalog/imports/{run.id}", headers=HX)
    html = response.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html
    assert "500 of about 2,000 rows" in html
    assert 'data-progress="25"' in html  # app.js sizes the bar (no style attributes)


def test_running_import_says_what_it_does_once_the_rows_are_read(client, store):
    run = FeedImport(
        supplier=store.supplier, filename="big.csv", status=ImportStatus.RUNNING, stored_path=""
    )
    db.session.add(run)
    db.session.flush()
    key = feeds.progress_key(run.id)
    redis_conn().hset(key, mapping={"done": 2000, "total": 2000, "step": "Updating product totals"})
    login(client, store.sales)
    html = client.get(f"/admin/catalog/imports/{run.id}", headers=HX).get_data(as_text=True)
    assert "2,000 of about 2,000 rows" in html
    assert '<span id="import-step">Updating product totals…</span>' in html


def test_failed_import_shows_why(client, store, run_jobs):
    login(client, store.purchasing)
    _upload(client, store.supplier, GOOD_FEED.encode())
    # The format changes between upload and run: the worker finds the header no longer fits.
    db.session.get(Supplier, store.supplier.id).feed_format = {"columns": {"cost": "Preis"}}
    db.session.commit()
    run_jobs()
    run = db.session.scalar(select(FeedImport))
    html = client.get(f"/admin/catalog/imports/{run.id}").get_data(as_text=True)
    assert run.status is ImportStatus.FAILED
    assert "The import failed and nothing of it was kept." in html
    assert "line 1: missing column(s) Preis" in html
    assert "every 1s" not in html


def test_feed_page_lists_the_supplier_import_history(client, store, run_jobs):
    login(client, store.purchasing)
    _upload(client, store.supplier, GOOD_FEED.encode(), "monday.csv")
    _upload(client, store.supplier, GOOD_FEED.encode(), "tuesday.csv")
    html = client.get(f"/admin/catalog/suppliers/{store.supplier.id}/feed").get_data(as_text=True)
    history = html[html.index('id="imports"') :]
    assert history.index("tuesday.csv") < history.index("monday.csv")


def test_upload_without_a_file_is_refused_with_422(app, client, store):
    login(client, store.purchasing)
    response = client.post(
        f"/admin/catalog/suppliers/{store.supplier.id}/imports",
        data={},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choose a feed file to upload." in response.get_data(as_text=True)
    assert db.session.scalar(select(FeedImport)) is None


def test_upload_of_an_empty_file_is_refused_with_422_and_not_kept(app, client, store):
    login(client, store.purchasing)
    response = _upload(client, store.supplier, b"")
    assert response.status_code == 422
    assert "ingram.csv is empty." in response.get_data(as_text=True)
    assert db.session.scalar(select(FeedImport)) is None
    assert _uploaded_files(app) == []


def test_upload_of_a_file_with_a_header_only_is_refused(app, client, store):
    login(client, store.purchasing)
    response = _upload(client, store.supplier, b"sku,mpn,brand,name,cost\n")
    assert response.status_code == 422
    assert "has a header but no rows" in response.get_data(as_text=True)
    assert _uploaded_files(app) == []


def test_upload_of_a_non_csv_file_name_is_refused_with_422(client, store):
    login(client, store.purchasing)
    response = _upload(client, store.supplier, b"%PDF-1.7 ...", "pricelist.pdf")
    assert response.status_code == 422
    assert "pricelist.pdf is not a CSV file" in response.get_data(as_text=True)


def test_upload_of_a_spreadsheet_renamed_to_csv_is_refused(app, client, store):
    login(client, store.purchasing)
    response = _upload(client, store.supplier, b"PK\x03\x04" + b"\x00" * 100, "feed.csv")
    assert response.status_code == 422
    assert "is a spreadsheet workbook, not CSV" in response.get_data(as_text=True)
    assert _uploaded_files(app) == []


def test_upload_missing_a_required_column_names_it(client, store):
    login(client, store.purchasing)
    response = _upload(client, store.supplier, b"sku,mpn,brand,name\nA,B,C,D\n")
    assert response.status_code == 422
    assert "line 1: missing column(s) cost" in response.get_data(as_text=True)


def test_upload_larger_than_the_limit_is_refused_with_413_and_a_clear_message(app, client, store):
    app.config["FEED_UPLOAD_MAX_BYTES"] = 4096
    login(client, store.purchasing)
    response = _upload(client, store.supplier, GOOD_FEED.encode() * 200)
    assert response.status_code == 413
    assert "larger than the 4 KB upload limit" in response.get_data(as_text=True)
    assert db.session.scalar(select(FeedImport)) is None
    assert _uploaded_files(app) == []


def test_upload_of_a_semicolon_feed_with_decimal_commas_follows_the_feed_format(
    client, store, run_jobs
):
    store.supplier.feed_format = {
        "delimiter": ";",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "full_feed": False,
    }
    login(client, store.purchasing)
    response = _upload(
        client,
        store.supplier,
        b"sku;mpn;brand;name;cost;category\nEU-1;EU-MPN;Lenovo;Yoga;1.234,56;Laptops\n",
    )
    assert response.status_code == 303
    run_jobs()
    offer = db.session.scalar(select(SupplierOffer).where(SupplierOffer.supplier_sku == "EU-1"))
    assert offer.cost == Decimal("1234.56")


def test_sales_cannot_upload_a_feed(client, store):
    login(client, store.sales)
    assert _upload(client, store.supplier, GOOD_FEED.encode()).status_code == 403


def test_unknown_import_is_404(client, store):
    login(client, store.sales)
    assert client.get("/admin/catalog/imports/99999").status_code == 404
