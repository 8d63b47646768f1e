"""Catalog reads for the storefront and the admin."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from flask import g
from sqlalchemy import or_, select
from sqlalchemy.orm import lazyload, load_only

from webapp.catalog import cache, search, search_sync
from webapp.catalog.models import (
    Brand,
    Category,
    PricingRule,
    Product,
    ProductImage,
    SupplierOffer,
)
from webapp.catalog.pricing import PriceBook
from webapp.extensions import db
from webapp.organizations.queries import like_pattern
from webapp.pagination import page_of

PRICE_BOOK_KEY = "price_book"


def price_book() -> PriceBook:
    """The pricing rules: cached per catalog version (every change to a rule or a setting
    bumps it), read once per request or job."""
    if "price_book" not in g:
        g.price_book = cache.cached(PRICE_BOOK_KEY, _load_price_book)
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


# "Memory: 16GB": a feed's description line that is a key specification.
_SPEC_LINE = re.compile(r"^\s*([A-Z][\w ()/&.+-]{0,39}):\s+(\S.{0,199})$")


def description_and_specs(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a feed description into its prose and its "Label: value" specification lines."""
    prose: list[str] = []
    specs: list[tuple[str, str]] = []
    for line in (text or "").splitlines():
        match = _SPEC_LINE.match(line)
        if match:
            specs.append((match.group(1).strip(), match.group(2).strip()))
        elif line.strip():
            prose.append(line.strip())
    return "\n".join(prose), specs


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
    Product.image_url,
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
    products, has_next = page_of(query, page, per_page)
    return ListingPage(products, page, has_next)


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
    # Class defaults: listings cached before these fields existed still load.
    image_url: str = ""
    image_version: int = 0  # of a picture staff uploaded; 0 = none
    category: str = ""

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
    uploads = uploaded_images([product.id for product in products])
    names = category_names()
    rows = [
        ListedProduct(
            id=product.id,
            name=product.name,
            mpn=product.mpn,
            price=book.price_of(product, group_id),
            is_stocked=product.product_type.is_stocked,
            total_stock=product.total_stock,
            min_eta_days=product.min_eta_days,
            image_url=product.image_url,
            image_version=uploads.get(product.id, 0),
            category=names.get(product.category_id, ""),
        )
        for product in products
    ]
    return PricedListing(title, rows, has_next)


def uploaded_images(product_ids: list[int]) -> dict[int, int]:
    """Product id -> version (upload time) of the pictures staff uploaded for them."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(ProductImage.product_id, ProductImage.updated_at).where(
            ProductImage.product_id.in_(product_ids)
        )
    )
    return {product_id: int(updated.timestamp()) for product_id, updated in rows}


def product_image(product_id: int) -> ProductImage | None:
    return db.session.get(ProductImage, product_id)


def category_names() -> dict[int, str]:
    if "category_names" not in g:
        g.category_names = dict(db.session.execute(select(Category.id, Category.name)).all())
    return g.category_names


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
    search_sync.keep_current()
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


def _search_key(text, filters, sort, limit, offset, with_facets) -> str:
    key = repr((text, filters, sort.value, limit, offset, with_facets))
    return f"search:{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()}"


def prefetch_search_page(
    text: str, *, filters: search.Filters, sort: search.Sort, limit: int, offset: int
) -> None:
    """Read what a search page takes from the cache — its search, its facet counts and the
    price book — in one round trip instead of three (see `cache.prefetch`)."""
    cache.prefetch(
        _search_key(text, filters, sort, limit, offset, False),
        _facets_key(text, filters),
        PRICE_BOOK_KEY,
    )


def cached_search(
    text: str,
    *,
    filters: search.Filters | None = None,
    sort: search.Sort = search.Sort.RELEVANCE,
    limit: int = 48,
    offset: int = 0,
    with_facets: bool = False,
) -> search.SearchPage:
    """`search.search`, cached at the catalog version: a page of ids, its total and facet
    counts are the same for every customer (prices are applied afterwards). Each node bumps
    the version once its index has taken in a change (`search_sync`)."""
    filters = filters or search.Filters()
    return cache.cached(
        _search_key(text, filters, sort, limit, offset, with_facets),
        lambda: search.search(
            text,
            filters=filters,
            sort=sort,
            limit=limit,
            offset=offset,
            with_facets=with_facets,
        ),
    )


def _facets_key(text: str, filters: search.Filters) -> str:
    digest = hashlib.sha1(repr((text, filters)).encode(), usedforsecurity=False).hexdigest()
    return f"facets:{digest}"


def cached_facets(text: str, filters: search.Filters) -> search.Facets | None:
    """`search.facet_counts`, cached at the catalog version like `cached_search`."""
    (facets,) = cache.cached(
        _facets_key(text, filters), lambda: (search.facet_counts(text, filters),)
    )
    return facets


def facets_if_cached(text: str, filters: search.Filters) -> tuple[bool, search.Facets | None]:
    """(True, the facet counts) when `cached_facets` already holds them at this catalog
    version, else (False, None): nothing is counted."""
    found = cache.peek(_facets_key(text, filters))
    return (True, found[0]) if found is not None else (False, None)


def cached_did_you_mean(text: str) -> str | None:
    """`search.did_you_mean`, cached like `cached_search` (walking the term dictionary for
    a misspelt word is the slowest thing a search page does)."""
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
    (corrected,) = cache.cached(f"did-you-mean:{digest}", lambda: (search.did_you_mean(text),))
    return corrected
