"""The catalog: categories, brands, suppliers, products and offers, and their bulk upserts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from webapp.api.schemas.field_types import Amount, MoneyIn, Nullable, Status, feed_field
from webapp.catalog.models import ProductType


class CategorySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    parent_id = Nullable(fields.Integer)
    position = fields.Integer()


class BrandSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()


class SupplierSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    email = fields.String()
    online = fields.Boolean()
    currency = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class OfferSchema(Schema):
    id = fields.Integer()
    supplier_id = fields.Integer()
    supplier_sku = fields.String()
    cost = Amount()
    stock = fields.Integer()
    eta_days = Nullable(fields.Integer)
    available = fields.Boolean()
    updated_at = fields.AwareDateTime()


class ProductSchema(Schema):
    id = fields.Integer()
    mpn = fields.String(metadata={"description": "Manufacturer part number"})
    name = fields.String()
    description = fields.String()
    product_type = Status(ProductType)
    brand_id = fields.Integer()
    category_id = fields.Integer()
    obsolete = fields.Boolean()
    fixed_price = Nullable(Amount)  # set: the sell price is fixed, not from the rules
    in_stock = fields.Boolean()
    total_stock = fields.Integer()
    min_eta_days = Nullable(fields.Integer)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    brand = fields.Nested(BrandSchema, metadata={"description": "With expand=brand"})
    category = fields.Nested(CategorySchema, metadata={"description": "With expand=category"})
    offers = fields.List(
        fields.Nested(OfferSchema),
        metadata={"description": "With expand=offers (MSP-wide keys only)"},
    )


class ProductSupplierSchema(OfferSchema):
    """A supplier's offer of a product (the product's suppliers, with cost and stock)."""

    product_id = fields.Integer()


class OfferRecordSchema(Schema):
    """One supplier offer, as one line of a feed: the feed import's checks apply."""

    sku = feed_field("The supplier's SKU (unique in the request)", required=True)
    mpn = feed_field("Manufacturer part number", required=True)
    brand = feed_field("Brand name (made when new)", required=True)
    name = feed_field(required=True)
    cost = feed_field('Unit cost, more than zero, e.g. "1234.50"', required=True)
    category = feed_field("Ours or the supplier's mapped name; needed for a new product")
    stock = feed_field("Whole number, default 0")
    eta_days = feed_field("Whole number of days")
    description = feed_field()
    image_url = feed_field("https:// only (another address is dropped)")


class OfferBulkSchema(Schema):
    records = fields.List(
        fields.Nested(OfferRecordSchema), required=True, validate=validate.Length(1, 5000)
    )


class ProductRecordSchema(Schema):
    """One product's changes, found by `id` or by `brand_id` + `mpn`; fields left out are
    left as they are. A `brand_id` + `mpn` not in the catalog makes the product: it then
    needs `name` and `category_id`."""

    id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    brand_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    mpn = fields.String(validate=validate.Length(1, 100))
    name = feed_field("Checked as a feed line's name: not empty, at most 300 characters")
    description = feed_field("Cut at 5,000 characters, as a feed's")
    image_url = feed_field("https:// only (another address is dropped, as a feed's)")
    fixed_price = MoneyIn(
        "The sell price, fixed; null returns it to the pricing rules", allow_none=True
    )
    obsolete = fields.Boolean(metadata={"description": "Withdrawn from the store (kept)"})
    category_id = fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "A new product's category (ignored for one that exists)"},
    )


class ProductBulkSchema(Schema):
    records = fields.List(
        fields.Nested(ProductRecordSchema), required=True, validate=validate.Length(1, 1000)
    )


class ProductBulkResultSchema(Schema):
    rows = fields.Integer()
    product_ids = fields.List(fields.Integer(), metadata={"description": "In the records' order"})
    created_ids = fields.List(
        fields.Integer(), metadata={"description": "The products this request made"}
    )


class OfferBulkResultSchema(Schema):
    feed_import_id = fields.Integer(metadata={"description": "The run in the feed history"})
    rows = fields.Integer()
    products_created = fields.Integer()
    offers_created = fields.Integer()
    offers_updated = fields.Integer()
