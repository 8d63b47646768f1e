"""Catalog reads for the storefront and the admin."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import g
from sqlalchemy import or_, select
from sqlalchemy.orm import lazyload, load_only

from webapp.catalog import cache, search
from webapp.catalog.models import Brand, Category, PricingRule, Product, SupplierOffer
from webapp.catalog.pricing import PriceBook
from webapp.extensions import db
from webapp.organizations.queries import like_pattern


def price_book() -> PriceBook:
    """The pricing rules: cached per catalog version (every change to a rule or a setting
    bumps it), read once per request or job."""
    if "price_book" not in g:
        g.price_book = cache.cached("price_book", _load_price_book)
    return g.price_book


def _load_price_book() -> PriceBook:
    from webapp.settings.operations import get_setting

    rules = {
        (rule.price_group_id, rule.category_id, rule.brand_id): rule.markup_pct
        for rule in db.session.scalars(select(PricingRule))
    }
    return PriceBook(rules, get_setting("default_markup_pct"))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


def brands() -> list[Brand]:
    return list(db.session.scalars(select(Brand).order_by(Brand.name)))


def category_by_slug(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def brand_by_slug(slug: str) -> Brand | None:
    return db.session.scalar(select(Brand).where(Brand.slug == slug))


def live_product(product_id: int) -> Product | None:
    """Return a product a customer may see: it exists and is not obsolete."""
    product = db.session.get(Product, product_id)
    if product is None or product.obsolete:
        return None
    return product


_LISTING_COLUMNS = (
    Product.id,
    Product.name,
    Product.mpn,
    Product.brand_id,
    Product.category_id,
    Product.product_type,
    Product.fixed_price,
    Product.best_cost,
    Product.total_stock,
    Product.min_eta_days,
    Product.obsolete,
)


def _listing_options() -> tuple:
    # Listings show no brand name: skip the brand join that Product.brand makes by default.
    # (Built on use: options made at import time would configure the mappers too early.)
    return load_only(*_LISTING_COLUMNS), lazyload(Product.brand)


@dataclass(frozen=True)
class ListingPage:
    products: list[Product]
    page: int
    has_next: bool


def listing(
    *,
    category_id: int | None = None,
    brand_id: int | None = None,
    in_stock_only: bool = False,
    page: int = 1,
    per_page: int = 48,
) -> ListingPage:
    """Return one page of live products of a category or brand, in name order."""
    query = (
        select(Product)
        .options(*_listing_options())
        .where(Product.obsolete.is_(False))
        .order_by(Product.name, Product.id)
    )
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    if brand_id is not None:
        query = query.where(Product.brand_id == brand_id)
    if in_stock_only:
        query = query.where(Product.total_stock > 0)
    # Fetch one extra row to know whether there is a next page, instead of counting.
    rows = list(db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)))
    return ListingPage(rows[:per_page], page, len(rows) > per_page)


@dataclass(frozen=True)
class ListedProduct:
    """What a listing shows of a product, priced for one price group (kept in the cache)."""

    id: int
    name: str
    mpn: str
    price: Decimal | None
    is_stocked: bool
    total_stock: int
    min_eta_days: int | None

    @property
    def in_stock(self) -> bool:
        return self.total_stock > 0 or not self.is_stocked


@dataclass(frozen=True)
class PricedListing:
    title: str
    rows: list[ListedProduct]
    has_next: bool


def priced_listing(
    title: str, products: list[Product], group_id: int | None, has_next: bool
) -> PricedListing:
    """A page of products with the price group's prices, as plain values to cache."""
    book = price_book()
    rows = [
        ListedProduct(
            id=product.id,
            name=product.name,
            mpn=product.mpn,
            price=book.price_of(product, group_id),
            is_stocked=product.product_type.is_stocked,
            total_stock=product.total_stock,
            min_eta_days=product.min_eta_days,
        )
        for product in products
    ]
    return PricedListing(title, rows, has_next)


def products_in_order(ids: list[int]) -> list[Product]:
    """Load live products by id, keeping the order of `ids` (a search ranking)."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(Product)
        .options(*_listing_options())
        .where(Product.id.in_(ids), Product.obsolete.is_(False))
    )
    by_id = {product.id: product for product in rows}
    return [by_id[i] for i in ids if i in by_id]


def offers_for(product_id: int) -> list[SupplierOffer]:
    return list(
        db.session.scalars(
            select(SupplierOffer)
            .where(SupplierOffer.product_id == product_id, SupplierOffer.available.is_(True))
            .order_by(SupplierOffer.cost)
        )
    )


def unit_price(product: Product, group_id: int | None) -> Decimal | None:
    return price_book().price_of(product, group_id)


def staff_matches(text: str, limit: int = 10) -> list[Product]:
    """Find products for staff searches (builder, desk, pickers): ranked, then name or MPN."""
    text = text.strip()[:200]
    if len(text) < 2:
        return []
    found = products_in_order(search.search(text, limit=limit).product_ids)
    if found:
        return found
    # Just-imported products reach the search index a moment later, through a job.
    like = like_pattern(text)
    return list(
        db.session.scalars(
            select(Product)
            .where(
                Product.obsolete.is_(False),
                or_(Product.name.ilike(like, escape="\\"), Product.mpn.ilike(like, escape="\\")),
            )
            .order_by(Product.name, Product.id)
            .limit(limit)
        )
    )
