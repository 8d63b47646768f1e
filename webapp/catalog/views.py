"""The storefront catalog: categories, brands, search and product pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from webapp import htmx_responses
from webapp.catalog import queries
from webapp.catalog import search as product_search
from webapp.catalog.cache import cached_fragment
from webapp.extensions import htmx

bp = Blueprint("catalog", __name__, template_folder="templates")

_CSRF_PLACEHOLDER = "__CSRF_TOKEN__"
_MAX_PAGE = 2000


@bp.before_request
@login_required
def _signed_in_only():
    """The store is invitation-only: nothing of the catalog is public."""


def _group_id() -> int | None:
    organization = current_user.organization
    return organization.price_group_id if organization else None


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_PAGE:
        abort(400, description=f"page must be a whole number from 1 to {_MAX_PAGE}")
    return int(raw)


def _in_stock_only() -> bool:
    return request.args.get("in_stock") == "1"


def _results(page_products, *, page: int, has_next: bool, **extra) -> str:
    book = queries.price_book()
    group_id = _group_id()
    rows = [(product, book.price_of(product, group_id)) for product in page_products]
    return render_template(
        "catalog/_results.html",
        rows=rows,
        page=page,
        has_next=has_next,
        csrf_placeholder=_CSRF_PLACEHOLDER,
        add_url=url_for("store.add_to_cart"),
        **extra,
    )


@bp.get("/")
def home():
    return render_template(
        "catalog/home.html", categories=queries.categories(), brands=queries.brands()
    )


@bp.get("/c/<slug>")
def category(slug: str):
    found = queries.category_by_slug(slug)
    if found is None:
        abort(404)
    return _listing(title=found.name, key=f"cat:{found.id}", category_id=found.id)


@bp.get("/b/<slug>")
def brand(slug: str):
    found = queries.brand_by_slug(slug)
    if found is None:
        abort(404)
    return _listing(title=found.name, key=f"brand:{found.id}", brand_id=found.id)


def _listing(*, title: str, key: str, **filters):
    page, in_stock = _page(), _in_stock_only()
    per_page = current_app.config["CATALOG_PAGE_SIZE"]

    def render() -> str:
        result = queries.listing(page=page, in_stock_only=in_stock, per_page=per_page, **filters)
        return _results(result.products, page=page, has_next=result.has_next)

    # Prices differ per price group, so the group is part of the key; the CSRF token differs
    # per session, so it is put in after the cache.
    html = cached_fragment(f"{key}:p{page}:s{int(in_stock)}:g{_group_id()}", render)
    return htmx_responses.render(
        "catalog/listing.html",
        "results",
        title=title,
        results=html.replace(_CSRF_PLACEHOLDER, generate_csrf()),
        in_stock=in_stock,
    )


@bp.get("/search")
def search():
    text = request.args.get("q", "").strip()[:200]
    page, in_stock = _page(), _in_stock_only()
    per_page = current_app.config["CATALOG_PAGE_SIZE"]
    found = product_search.search(
        text, in_stock_only=in_stock, limit=per_page, offset=(page - 1) * per_page
    )
    results = _results(
        queries.products_in_order(found.product_ids),
        page=page,
        has_next=found.total > page * per_page,
        total=found.total,
    )
    return htmx_responses.render(
        "catalog/listing.html",
        "results",
        title=f"Results for “{text}”" if text else "Search",
        results=results.replace(_CSRF_PLACEHOLDER, generate_csrf()),
        in_stock=in_stock,
        query=text,
    )


@bp.get("/search/suggest")
def suggest():
    """Active search: the top matches for what has been typed so far."""
    text = request.args.get("q", "").strip()[:200]
    if len(text) < 2:
        return ""
    found = product_search.search(text, limit=8)
    products = queries.products_in_order(found.product_ids)
    book = queries.price_book()
    rows = [(product, book.price_of(product, _group_id())) for product in products]
    return render_template("catalog/_suggestions.html", rows=rows, total=found.total, query=text)


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
