"""Catalog reads: products (by manufacturer part number), categories, brands, suppliers."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp.api.common import get_or_404, msp_only
from webapp.api.idempotency import HEADER_DOC, idempotent
from webapp.api.listing import (
    GetArgs,
    ListArgs,
    expansions,
    json_response,
    list_page,
    page_schema,
    schema_for,
)
from webapp.api.problems import problem
from webapp.api.schemas.catalog import (
    BrandSchema,
    CategorySchema,
    OfferBulkResultSchema,
    OfferBulkSchema,
    ProductBulkResultSchema,
    ProductBulkSchema,
    ProductSchema,
    ProductSupplierSchema,
    SupplierSchema,
)
from webapp.api.security import acting_user, requires
from webapp.catalog import bulk, product_editing
from webapp.catalog.errors import CatalogError
from webapp.catalog.models import Brand, Category, Product, Supplier, SupplierOffer
from webapp.extensions import db
from webapp.parsing import DB_INT_MAX

blp = Blueprint("api_catalog", __name__, url_prefix="/api/v1", description="The catalog")

ID = validate.Range(1, DB_INT_MAX)
PRODUCT_EXPANSIONS = {"brand": "brand", "category": "category", "offers": "offers"}


class ProductListArgs(ListArgs):
    mpn = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "Manufacturer part number (exact)"},
    )
    brand_id = fields.Integer(validate=ID)
    category_id = fields.Integer(validate=ID)
    obsolete = fields.Boolean()


def _product_expansions(raw: str | None) -> set[str]:
    wanted = expansions(raw, set(PRODUCT_EXPANSIONS))
    if "offers" in wanted:
        msp_only("supplier offers")
    return wanted


def _product_query(wanted: set[str]):
    query = select(Product)
    if "category" in wanted:
        query = query.options(selectinload(Product.category))
    if "offers" in wanted:
        query = query.options(selectinload(Product.offers))
    return query


@blp.route("/products")
@requires("catalog:read")
@blp.arguments(ProductListArgs, location="query")
@blp.response(200, page_schema(ProductSchema, "ProductPage"))
def list_products(args):
    """List products. Scope: `catalog:read`; expand: brand, category, offers."""
    wanted = _product_expansions(args.get("expand"))
    query = _product_query(wanted)
    if "mpn" in args:
        query = query.where(Product.mpn == args["mpn"])
    for name in ("brand_id", "category_id", "obsolete"):
        if name in args:
            query = query.where(getattr(Product, name) == args[name])
    return list_page(
        query,
        Product,
        args,
        modified_column=Product.updated_at,
        schema=schema_for(ProductSchema, wanted, PRODUCT_EXPANSIONS),
    )


@blp.route("/products/<int:product_id>")
@requires("catalog:read")
@blp.arguments(GetArgs, location="query")
@blp.response(200, ProductSchema)
def get_product(args, product_id: int):
    """One product. Scope: `catalog:read`."""
    wanted = _product_expansions(args.get("expand"))
    product = get_or_404(Product, product_id, "product")
    return json_response(schema_for(ProductSchema, wanted, PRODUCT_EXPANSIONS).dump(product))


@blp.route("/categories")
@requires("catalog:read")
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(CategorySchema, "CategoryPage"))
def list_categories(args):
    """List categories. Scope: `catalog:read`."""
    expansions(args.get("expand"), set())
    return list_page(select(Category), Category, args, schema=CategorySchema())


@blp.route("/brands")
@requires("catalog:read")
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(BrandSchema, "BrandPage"))
def list_brands(args):
    """List brands. Scope: `catalog:read`."""
    expansions(args.get("expand"), set())
    return list_page(select(Brand), Brand, args, schema=BrandSchema())


class ProductSupplierListArgs(ListArgs):
    product_id = fields.Integer(validate=ID)
    supplier_id = fields.Integer(validate=ID)
    supplier_sku = fields.String(validate=validate.Length(max=100))
    available = fields.Boolean()


@blp.route("/product-suppliers")
@requires("catalog:read")
@blp.arguments(ProductSupplierListArgs, location="query")
@blp.response(200, page_schema(ProductSupplierSchema, "ProductSupplierPage"))
def list_product_suppliers(args):
    """Suppliers' offers of products: cost, stock, ETA (MSP-wide keys only).
    Scope: `catalog:read`."""
    msp_only("supplier offers")
    expansions(args.get("expand"), set())
    query = select(SupplierOffer)
    for name in ("product_id", "supplier_id", "supplier_sku", "available"):
        if name in args:
            query = query.where(getattr(SupplierOffer, name) == args[name])
    return list_page(
        query,
        SupplierOffer,
        args,
        modified_column=SupplierOffer.updated_at,
        schema=ProductSupplierSchema(),
    )


class SupplierListArgs(ListArgs):
    code = fields.String(validate=validate.Length(max=50))


@blp.route("/suppliers")
@requires("catalog:read")
@blp.arguments(SupplierListArgs, location="query")
@blp.response(200, page_schema(SupplierSchema, "SupplierPage"))
def list_suppliers(args):
    """List suppliers (MSP-wide keys only). Scope: `catalog:read`."""
    msp_only("suppliers")
    expansions(args.get("expand"), set())
    query = select(Supplier)
    if "code" in args:
        query = query.where(Supplier.code == args["code"])
    return list_page(
        query, Supplier, args, modified_column=Supplier.updated_at, schema=SupplierSchema()
    )


@blp.route("/suppliers/<int:supplier_id>")
@requires("catalog:read")
@blp.response(200, SupplierSchema)
def get_supplier(supplier_id: int):
    """One supplier (MSP-wide keys only). Scope: `catalog:read`."""
    msp_only("suppliers")
    return json_response(SupplierSchema().dump(get_or_404(Supplier, supplier_id, "supplier")))


@blp.route("/suppliers/<int:supplier_id>/offers/bulk", methods=["POST"])
@requires("catalog:write")
@blp.arguments(OfferBulkSchema)
@blp.doc(parameters=[HEADER_DOC], operationId="upsertOffers")
@idempotent
@blp.response(200, OfferBulkResultSchema)
def upsert_offers(body, supplier_id: int):
    """Upsert up to 5,000 of a supplier's offers, each checked as a feed line is; a new
    (brand, MPN) makes the product. All or nothing: any bad record refuses the request with
    each bad record's row (`/records/<index>`). Offers not sent are left as they are.
    Scope: `catalog:write`."""
    msp_only("supplier offers")
    supplier = get_or_404(Supplier, supplier_id, "supplier")
    try:
        result = bulk.upsert_offers(supplier, body["records"], acting_user().id)
    except bulk.BulkRefused as refused:
        db.session.rollback()
        errors = [
            {
                "pointer": f"/records/{p['row'] - 1}" if p["row"] else "/records",
                "row": p["row"],
                "detail": p["reason"],
            }
            for p in refused.problems
        ]
        raise problem(422, f"Nothing was written: {refused}.", errors=errors) from None
    return json_response(
        OfferBulkResultSchema().dump(
            {
                "feed_import_id": result.run.id,
                "rows": result.rows,
                "products_created": result.products_created,
                "offers_created": result.offers_created,
                "offers_updated": result.offers_updated,
            }
        )
    )


def _product_of(record: dict) -> Product | None:
    if "id" in record:
        return db.session.get(Product, record["id"])
    return db.session.scalar(
        select(Product).where(
            Product.brand_id == record["brand_id"], Product.mpn == record["mpn"].strip()
        )
    )


PRODUCT_TEXT = ("name", "description", "image_url")


@blp.route("/products/bulk", methods=["POST"])
@requires("catalog:write")
@blp.arguments(ProductBulkSchema)
@blp.doc(parameters=[HEADER_DOC], operationId="upsertProducts")
@idempotent
@blp.response(200, ProductBulkResultSchema)
def upsert_products(body):
    """Upsert up to 1,000 products: change a product's name, description, picture address,
    fixed price and obsolete flag through the catalog's operations; a `brand_id` + `mpn` not
    in the catalog makes the product (it then needs `name` and `category_id`), checked as a
    feed line's new product is. Text is checked as a feed line's is. All or nothing: each
    bad record is named by its pointer and its row (1-based, as a feed's line numbers are).
    Scope: `catalog:write`."""
    msp_only("product changes")
    errors: list[dict] = []
    first_of: dict[object, int] = {}
    # (row, record, product or the key of the product to make), in the request's order.
    accepted: list[tuple[int, dict, Product | tuple[int, str]]] = []
    new: list[bulk.NewProduct] = []
    actor = acting_user()

    def refuse(index: int, detail: str, field: str | None = None) -> None:
        pointer = f"/records/{index}" + (f"/{field}" if field else "")
        errors.append({"pointer": pointer, "row": index + 1, "detail": detail})

    for index, record in enumerate(body["records"]):
        row = index + 1
        if "id" not in record and not {"brand_id", "mpn"} <= set(record):
            refuse(index, "give the product's id, or brand_id and mpn")
            continue
        product = _product_of(record)
        if product is None and "id" in record:
            refuse(index, f"there is no such product (id {record['id']})")
            continue
        if product is None:
            try:
                made = bulk.new_product(record)
            except CatalogError as error:
                refuse(index, str(error), error.field)
                continue
            key: object = made.key
        else:
            key = product.id
        first = first_of.setdefault(key, row)
        if first != row:
            refuse(index, f"this product already appeared on row {first}")
            continue
        if product is None:
            new.append(made)
        accepted.append((index, record, product if product is not None else made.key))
    # Made even when a record is refused, so that every record is checked (and each bad
    # one named); a refusal rolls them back with the rest.
    try:
        created = bulk.create_products(new)
    except IntegrityError:
        # Another request made one of these products at this moment: its unique key caught it.
        db.session.rollback()
        raise problem(
            409, "Another request made one of these products at the same moment; send it again."
        ) from None
    for index, record, found in accepted:
        product = found if isinstance(found, Product) else db.session.get(Product, created[found])
        try:
            text = {name: record[name] for name in PRODUCT_TEXT if name in record}
            if text and isinstance(found, Product):
                product_editing.describe_product(product, text, actor)
            if "fixed_price" in record:
                product_editing.set_fixed_price(product, record["fixed_price"], actor)
            if "obsolete" in record:
                product_editing.set_obsolete(product, record["obsolete"], actor)
        except CatalogError as error:
            refuse(index, str(error), error.field)
    if errors:
        db.session.rollback()
        errors.sort(key=lambda error: error["row"])  # stable: a row's own order is kept
        raise problem(422, f"Nothing was changed: {len(errors)} record(s) refused.", errors=errors)
    ids = [found.id if isinstance(found, Product) else created[found] for _, _, found in accepted]
    return json_response(
        ProductBulkResultSchema().dump(
            {"rows": len(ids), "product_ids": ids, "created_ids": sorted(created.values())}
        )
    )
