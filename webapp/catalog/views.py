"""The storefront catalog: categories, brands, search and product pages."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from webapp.catalog import queries
from webapp.catalog import search as product_search
from webapp.catalog.cache import cached_fragment
from webapp.csrf_tokens import csrf_token
from webapp.extensions import htmx
from webapp.local_cache import local_cache, peek
from webapp.parsing import whole_number
from webapp.store.queries import cart_badge_count

bp = Blueprint("catalog", __name__, template_folder="templates")

_CSRF_PLACEHOLDER = "__CSRF_TOKEN__"
# Markers in a cached page frame (NUL never occurs in text we render).
_TITLE_MARK = "\x00title\x00"
_RESULTS_MARK = "\x00results\x00"
_QUERY_MARK = "\x00query\x00"
_SEARCH_BOX_MARK = "\x00box\x00"
_PATH_MARK = "\x00path\x00"
_TITLE_END = "\x00"
_MAX_PAGE = 2000
_ID_MARK = 987654321  # a product id that shows where ids go in a product URL


@bp.before_request
@login_required
def _signed_in_only():
    """The store is invitation-only: nothing of the catalog is public."""


def _group_id() -> int | None:
    organization = current_user.organization
    return organization.price_group_id if organization else None


def _page() -> int:
    raw = request.args.get("page", "1")
    page = whole_number(raw, minimum=1, maximum=_MAX_PAGE)
    if page is None:
        abort(400, description=f"page must be a whole number from 1 to {_MAX_PAGE}")
    return page


def _in_stock_only() -> bool:
    return request.args.get("in_stock") == "1"


def _product_urls():
    """url_for("catalog.product", product_id=...) for many rows: built once, the id put in
    per row (48 url_for calls were a third of rendering a page of results)."""
    prefix, _, suffix = url_for("catalog.product", product_id=_ID_MARK).partition(str(_ID_MARK))
    return lambda product_id: f"{prefix}{product_id}{suffix}"


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
        product_url=_product_urls(),
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
        page = _page()
    except HTTPException:
        if find(slug) is None:
            abort(404)  # an unknown page is "not found" before its arguments are wrong
        raise
    in_stock = _in_stock_only()
    per_page = current_app.config["CATALOG_PAGE_SIZE"]

    def render() -> str:
        found = find(slug)
        if found is None:
            abort(404)  # raised before anything is cached
        result = queries.listing(
            page=page, in_stock_only=in_stock, per_page=per_page, **{filter_name: found.id}
        )
        results = _results(result.products, page=page, has_next=result.has_next)
        return f"{found.name}{_TITLE_END}{results}"

    # Prices differ per price group, so the group is part of the key; so is the whole query
    # string, which the pager's links repeat. The CSRF token differs per session, so it is
    # put in after the cache.
    query = urlencode(sorted(request.args.items(multi=True)))
    cached = cached_fragment(listing_key(kind, slug, _group_id(), query), render)
    title, _, results = cached.partition(_TITLE_END)
    token = csrf_token()
    if _wants_fragment():
        return results.replace(_CSRF_PLACEHOLDER, token)  # the "results" block, as rendered
    return _framed(title=title, results=results, in_stock=in_stock).replace(
        _CSRF_PLACEHOLDER, token
    )


# The cache keys and the assembly of a listing page, shared with webapp.catalog.fast_path,
# which serves the same bytes from the same caches without going through Flask.


def listing_key(kind: str, slug: str, group_id: int | None, query: str) -> str:
    """The cache key of a category or brand page's title and results."""
    return f"{kind}:{slug}:g{group_id}:{query}"


def frame_key(
    in_stock: bool,
    query: str | None,
    *,
    user_id: int,
    name: str,
    is_staff: bool,
    organization_name: str | None,
    cart_count: int,
) -> tuple:
    """The cache key of the page around a listing: what the navbar shows of the customer (the
    page's path is put in on assembly)."""
    has_query = None if query is None else bool(query)
    return (in_stock, has_query, user_id, name, is_staff, organization_name, cart_count)


def peek_frame(app: Flask, key: tuple) -> str | None:
    """The page frame cached in this process under `key` (no app context)."""
    return peek(app, "catalog_frames", key)


def assemble_listing(frame: str, path: str, cached: str, token: str) -> str:
    """A whole category or brand page from its frame, its path, its cached title and results,
    and the session's CSRF token."""
    title, _, results = cached.partition(_TITLE_END)
    return _filled(frame, path, title, results).replace(_CSRF_PLACEHOLDER, token)


def _filled(frame: str, path: str, title: str, results: str) -> str:
    page = frame.replace(_PATH_MARK, escape(path)).replace(_TITLE_MARK, escape(title))
    return page.replace(_RESULTS_MARK, results)


def _wants_fragment() -> bool:
    # The rule of htmx_responses.render: an HTMX request that is not boosted gets the block.
    return bool(htmx) and not htmx.boosted


def _framed(*, title: str, results: str, in_stock: bool, query: str | None = None) -> str:
    """The whole listing page around its results, with the customer's navbar.

    The page around the results depends on the switch, whether there is a query, and what
    the navbar shows of the customer; rendered once with markers (for the path too), it is
    reused from a per-process cache.
    """
    context = {"in_stock": in_stock}
    if query is not None:
        context["query"] = query
    if "_flashes" in session:  # a message to show once: render it the ordinary way
        return render_template(
            "catalog/listing.html", title=title, results=results, path=request.path, **context
        )
    organization = current_user.organization
    key = frame_key(
        in_stock,
        query,
        user_id=current_user.id,
        name=current_user.name,
        is_staff=current_user.is_staff,
        organization_name=organization.name if organization else None,
        cart_count=cart_badge_count(),
    )
    frames = local_cache("catalog_frames", 512)
    frame = frames.get(key)
    if frame is None:
        if query:
            context["query"] = _QUERY_MARK
        frame = _render_frame(path=_PATH_MARK, title=_TITLE_MARK, results=_RESULTS_MARK, **context)
        frames.put(key, frame)
    if query is not None:
        # The navbar's search box shows the q argument as typed; the form keeps the query.
        frame = frame.replace(_QUERY_MARK, escape(query)).replace(
            _SEARCH_BOX_MARK, escape(request.args.get("q", "").replace("\x00", ""))
        )
    return _filled(frame, request.path, title, results)


def _render_frame(**context) -> str:
    if "query" in context:  # the search page: its navbar box shows the q argument
        context["search_box"] = _SEARCH_BOX_MARK
    return render_template("catalog/listing.html", csrf_token=lambda: _CSRF_PLACEHOLDER, **context)


def _search_text() -> str:
    # NUL marks the places in a cached frame where parts go in; typed text never has one.
    return request.args.get("q", "").replace("\x00", "").strip()[:200]


@bp.get("/search")
def search():
    text = _search_text()
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
    token = csrf_token()
    if _wants_fragment():
        return results.replace(_CSRF_PLACEHOLDER, token)  # the "results" block, as rendered
    title = f"Results for “{text}”" if text else "Search"
    return _framed(title=title, results=results, in_stock=in_stock, query=text).replace(
        _CSRF_PLACEHOLDER, token
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
