"""Product pictures: the feed's image column, staff uploads kept in the database, and the
category placeholder otherwise."""

from __future__ import annotations

import io
import struct
import zlib

from sqlalchemy import select

from tests.catalog.test_feeds import run, write
from tests.factories import login, make_category, make_supplier
from webapp.catalog.models import FeedImport, Product, ProductImage
from webapp.extensions import db


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_feed_image_column_gives_new_products_their_picture(app, tmp_path):
    make_category("Laptops")
    supplier = make_supplier("ingram")
    db.session.commit()
    path = write(
        tmp_path,
        "sku,mpn,brand,name,category,cost,image_url\n"
        "I-1,T14,Lenovo,ThinkPad T14,Laptops,1000,https://cdn.example/t14.jpg\n"
        + "".join(f"I-{n},X{n},Lenovo,ThinkPad X{n},Laptops,900,\n" for n in range(3, 12))
        + "I-2,E16,Lenovo,ThinkPad E16,Laptops,700,http://cdn.example/e16.jpg\n",
    )
    result: FeedImport = run(supplier, path)
    product = db.session.scalar(select(Product).where(Product.mpn == "T14"))
    assert product.image_url == "https://cdn.example/t14.jpg"
    # A plain-http address (the page would not load it) is left out; the row still imports.
    assert result.rows_skipped == 0
    assert db.session.scalar(select(Product.image_url).where(Product.mpn == "E16")) == ""


def test_listing_shows_the_feed_picture_or_the_category_placeholder(client, store):
    store.products[0].image_url = "https://cdn.example/t14.jpg"
    db.session.commit()
    login(client, store.customer)
    page = client.get(f"/c/{store.category.slug}").get_data(as_text=True)
    assert 'src="https://cdn.example/t14.jpg"' in page
    assert page.count('class="product-thumb product-placeholder"') == 2
    assert 'data-category="Laptops"' in page


def test_staff_upload_is_stored_in_the_database_and_served_to_customers(app, store):
    staff, customer = app.test_client(), app.test_client()
    login(staff, store.sales)
    product = store.products[1]
    response = staff.post(
        f"/admin/catalog/products/{product.id}/image",
        data={"image": (io.BytesIO(png_bytes()), "x1.png"), "action": "upload"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    stored = db.session.get(ProductImage, product.id)
    assert stored.content == png_bytes() and stored.content_type == "image/png"
    login(customer, store.customer)
    page = customer.get(f"/p/{product.id}").get_data(as_text=True)
    src = page.split('id="product-picture">')[1].split('src="')[1].split('"')[0]
    assert src.startswith(f"/p/{product.id}/image?v=")
    image = customer.get(src)
    assert image.status_code == 200 and image.data == png_bytes()
    assert image.headers["Content-Type"] == "image/png"


def test_an_upload_that_is_not_a_picture_is_refused_and_nothing_is_stored(client, store):
    login(client, store.sales)
    product = store.products[1]
    response = client.post(
        f"/admin/catalog/products/{product.id}/image",
        data={"image": (io.BytesIO(b"<svg onload=alert(1)>"), "x.svg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "must be a PNG, JPEG, GIF or WebP" in response.get_data(as_text=True)
    assert db.session.get(ProductImage, product.id) is None


def test_customers_cannot_upload_and_missing_pictures_are_404(client, store):
    login(client, store.customer)
    product = store.products[0]
    response = client.post(
        f"/admin/catalog/products/{product.id}/image",
        data={"image": (io.BytesIO(png_bytes()), "x.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (403, 404)
    assert db.session.get(ProductImage, product.id) is None
    assert client.get(f"/p/{product.id}/image").status_code == 404
