"""Staff edits of one product: its fixed price, withdrawal, type, description and picture."""

from __future__ import annotations

from decimal import Decimal

from webapp import signals
from webapp.catalog import feed_parsing
from webapp.catalog.errors import CatalogError
from webapp.catalog.feed_setup import size_label
from webapp.catalog.models import Product, ProductImage, ProductType
from webapp.catalog.operations import catalog_changed
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.money import round_money


def set_fixed_price(product: Product, fixed_price, actor) -> Product:
    """Fix the product's sell price (None returns it to the pricing rules)."""
    if fixed_price is not None:
        fixed_price = Decimal(fixed_price)
        if not fixed_price.is_finite() or fixed_price < 0:
            raise CatalogError("A fixed price must be zero or more.", "fixed_price")
        fixed_price = round_money(fixed_price)
    if product.fixed_price != fixed_price:
        product.fixed_price = fixed_price
        db.session.flush()
        catalog_changed([product.id])
        signals.product_prices_changed.send((product.id,), reason="fixed_price")
    return product


def set_obsolete(product: Product, obsolete: bool, actor) -> Product:
    """Withdraw a product from the store (kept for history), or bring it back."""
    if product.obsolete != obsolete:
        product.obsolete = obsolete
        db.session.flush()
        catalog_changed([product.id])
    return product


def set_product_type(product: Product, product_type, actor) -> Product:
    """Make the product physical, non-physical or a service (what the store and the search
    index show, and what quote lines take it as)."""
    try:
        product_type = ProductType(product_type)
    except ValueError:
        raise CatalogError("Choose a product type from the list.", "product_type") from None
    if product.product_type != product_type:
        product.product_type = product_type
        db.session.flush()
        catalog_changed([product.id])
    return product


def describe_product(product: Product, changes: dict, actor) -> Product:
    """Change a product's name, description or picture address (the keys of ``changes``),
    checked as a feed line's are: an empty or too long name is refused, a description is cut
    at 5,000 characters, an address that is not https:// is dropped."""
    checks = {
        "name": feed_parsing.product_name,
        "description": feed_parsing.product_description,
        "image_url": feed_parsing.product_image_url,
    }
    values = {}
    for field_name, value in changes.items():
        try:
            values[field_name] = checks[field_name]((value or "").strip())
        except ValueError as error:
            raise CatalogError(str(error), field_name) from None
    changed = False
    for field_name, value in values.items():
        if getattr(product, field_name) != value:
            setattr(product, field_name, value)
            changed = True
    if changed:
        db.session.flush()
        catalog_changed([product.id])
    return product


MAX_IMAGE_BYTES = 2 * 1024 * 1024
# What a picture's first bytes say it is; SVG is not accepted (it can carry script).
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _image_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, content_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def set_product_image(product: Product, data: bytes | None, actor):
    """Store a picture for the product (in the database), replacing any; None removes it."""
    existing = db.session.get(ProductImage, product.id)
    if data is None:
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
            catalog_changed([product.id])
        return None
    if not data:
        raise CatalogError("Choose a picture to upload.", "image")
    if len(data) > MAX_IMAGE_BYTES:
        raise CatalogError(
            f"The picture is larger than {size_label(MAX_IMAGE_BYTES)}: make it smaller.", "image"
        )
    content_type = _image_type(data)
    if content_type is None:
        raise CatalogError("The picture must be a PNG, JPEG, GIF or WebP file.", "image")
    if existing is None:
        existing = ProductImage(product_id=product.id)
        db.session.add(existing)
    existing.content, existing.content_type, existing.updated_at = data, content_type, utcnow()
    db.session.flush()
    catalog_changed([product.id])
    return existing
