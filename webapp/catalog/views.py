"""The storefront catalog: categories, brands, search and product pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from webapp import htmx_responses
from webapp.catalog import cache, queries
from webapp.catalog import search as product_search
from webapp.extensions import htmx
from webapp.parsing import page_arg

bp = Blueprint("catalog", __name__, template_folder="templates")

_ID_MARK = 987654321  # a product id that shows where ids go in a product URL


@bp.before_request
@login_required
def _signed_in_only():
    """The store is invitation-only: nothing of the catalog is public."""


@bp.after_request
def _private(response):
    # Prices differ per customer's price group: no shared cache may keep a catalog page.
    response.cache_control.private = True
    return response


def _group_id() -> int | None:
    organization = current_user.organization
    return organization.price_group_id if organization else None


def _in_stock_only() -> bool:
    return request.args.get("in_stock") == "1"


def _product_urls():
    """url_for("catalog.product", product_id=...) for many rows: built once, the id put in
    per row (48 url_for calls were a third of rendering a page of results)."""
    prefix, _, suffix = url_for("catalog.product", product_id=_ID_MARK).partition(str(_ID_MARK))
    return lambda product_id: f"{prefix}{product_id}{suffix}"


def _listing_page(template_context: dict, rows, *, page: int, has_next: bool, **extra) -> str:
    """The listing page, or only its results when HTMX asked for them."""
    return htmx_responses.render(
        "catalog/listing.html",
        block="results",
        rows=rows,
        page=page,
        has_next=has_next,
        add_url=url_for("store.add_to_cart"),
        product_url=_product_urls(),
        path=request.path,
        **template_context,
        **extra,
    )


@bp.get("/")
def home():
    return render_template(
        "catalog/home.html", categories=queries.categories(), brands=queries.brands()
    )


@bp.get("/c/<slug>")
def category(slug: str):
    return _listing("cat", slug, queries.category_by_slug, "category_id")


@bp.get("/b/<slug>")
def brand(slug: str):
    return _listing("brand", slug, queries.brand_by_slug, "brand_id")


def _listing(kind: str, slug: str, find, filter_name: str):
    try:
        page = page_arg(maximum=2_000)
    except HTTPException:
        if find(slug) is None:
            abort(404)  # an unknown page is "not found" before its arguments are wrong
        raise
    in_stock = _in_stock_only()
    per_page = current_app.config["CATALOG_PAGE_SIZE"]
    group_id = _group_id()

    def load() -> queries.PricedListing | bool:
        found = find(slug)
        if found is None:
            return False  # cached too: unknown slugs cost no query either
        result = queries.listing(
            page=page, in_stock_only=in_stock, per_page=per_page, **{filter_name: found.id}
        )
        return queries.priced_listing(found.name, result.products, group_id, result.has_next)

    # Prices differ per price group, so the group is part of the key.
    key = f"listing:{kind}:{slug}:g{group_id}:p{page}:s{int(in_stock)}:n{per_page}"
    listing = cache.cached(key, load)
    if listing is False:
        abort(404)
    return _listing_page(
        {"title": listing.title, "in_stock": in_stock},
        listing.rows,
        page=page,
        has_next=listing.has_next,
    )


def _search_text() -> str:
    return request.args.get("q", "").replace("\x00", "").strip()[:200]


@bp.get("/search")
def search():
    text = _search_text()
    page, in_stock = page_arg(maximum=2_000), _in_stock_only()
    per_page = current_app.config["CATALOG_PAGE_SIZE"]
    found = product_search.search(
        text, in_stock_only=in_stock, limit=per_page, offset=(page - 1) * per_page
    )
    listing = queries.priced_listing(
        f"Results for “{text}”" if text else "Search",
        queries.products_in_order(found.product_ids),
        _group_id(),
        found.total > page * per_page,
    )
    return _listing_page(
        {"title": listing.title, "in_stock": in_stock, "query": text},
        listing.rows,
        page=page,
        has_next=listing.has_next,
        total=found.total,
    )


@bp.get("/search/suggest")
def suggest():
    """Active search: the top matches for what has been typed so far."""
    text = _search_text()
    if len(text) < 2:
        return ""
    found = product_search.search(text, limit=8)
    products = queries.products_in_order(found.product_ids)
    book = queries.price_book()
    rows = [(product, book.price_of(product, _group_id())) for product in products]
    return render_template(
        "catalog/_suggestions.html",
        rows=rows,
        total=found.total,
        query=text,
        product_url=_product_urls(),
    )


@bp.get("/p/<int:product_id>")
def product(product_id: int):
    found = queries.live_product(product_id)
    if found is None:
        abort(404)
    offers = queries.offers_for(found.id) if found.product_type.is_stocked else []
    return render_template(
        "catalog/product.html",
        product=found,
        price=queries.unit_price(found, _group_id()),
        supplier_count=len(offers),
        htmx=htmx,
    )
