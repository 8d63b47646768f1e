"""The storefront catalog: categories, brands, search and product pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from webapp import htmx_responses
from webapp.catalog import cache, queries, search_sync
from webapp.catalog import search as product_search
from webapp.extensions import htmx
from webapp.pagination import offset_of
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


def _listing_page(
    template_context: dict,
    rows,
    *,
    page: int,
    has_next: bool,
    template: str = "catalog/listing.html",
    **extra,
) -> str:
    """The listing page, or only its results when HTMX asked for them."""
    return htmx_responses.render(
        template,
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
    refine = {"category" if kind == "cat" else "brand": slug}
    return _listing_page(
        {"title": listing.title, "in_stock": in_stock},
        listing.rows,
        page=page,
        has_next=listing.has_next,
        refine_url=url_for("catalog.search", **refine),
    )


def _search_text() -> str:
    return request.args.get("q", "").replace("\x00", "").strip()[:200]


def _price_band_arg() -> tuple[int, int | None] | None:
    raw = request.args.get("price", "")
    if not raw:
        return None
    for band in product_search.PRICE_BANDS:
        if raw == _band_value(band):
            return band
    choices = ", ".join(_band_value(b) for b in product_search.PRICE_BANDS)
    abort(400, description=f"price must be one of {choices}")


def _band_value(band: tuple[int, int | None]) -> str:
    low, high = band
    return f"{low}-{high if high is not None else ''}"


def _band_label(band: tuple[int, int | None]) -> str:
    low, high = band
    symbol = current_app.config.get("CURRENCY_SYMBOL", "$")
    if low == 0:
        return f"Under {symbol}{high:,}"
    if high is None:
        return f"{symbol}{low:,} and over"
    return f"{symbol}{low:,} – {symbol}{high:,}"


def _slug_arg(name: str, find):
    slug = request.args.get(name, "")
    if not slug:
        return None
    found = find(slug[:120])
    if found is None:
        abort(400, description=f"There is no {name} “{slug[:120]}”.")
    return found


def _sort_arg() -> product_search.Sort:
    raw = request.args.get("sort", "relevance")
    try:
        return product_search.Sort(raw)
    except ValueError:
        choices = ", ".join(s.value for s in product_search.Sort)
        abort(400, description=f"sort must be one of {choices}")


def _narrowing():
    """The brand, category and filters a search was narrowed to (a 400 names a bad one)."""
    brand = _slug_arg("brand", queries.brand_by_slug)
    category = _slug_arg("category", queries.category_by_slug)
    filters = product_search.Filters(
        in_stock_only=_in_stock_only(),
        category_id=category.id if category else None,
        brand_id=brand.id if brand else None,
        price_band=_price_band_arg(),
    )
    return brand, category, filters


@bp.get("/search")
def search():
    text = _search_text()
    page, in_stock = page_arg(maximum=2_000), _in_stock_only()
    sort = _sort_arg()
    brand, category, filters = _narrowing()
    per_page = current_app.config["CATALOG_PAGE_SIZE"]

    search_sync.keep_current()
    offset = offset_of(page, per_page)
    queries.prefetch_search_page(text, filters=filters, sort=sort, limit=per_page, offset=offset)

    def run(query_text: str) -> product_search.SearchPage:
        # The facet counts are not part of the page's search: they come inline when
        # already counted, else in their own request (`search_facets`).
        return queries.cached_search(
            query_text,
            filters=filters,
            sort=sort,
            limit=per_page,
            offset=offset,
        )

    found = run(text)
    corrected = None
    if found.total == 0 and text and page == 1:
        # Nothing as typed: try the words one typo away that the catalog does have.
        corrected = queries.cached_did_you_mean(text)
        if corrected is not None:
            found = run(corrected)
            if found.total == 0:
                corrected = None
    if text:
        title = f"Results for “{corrected or text}”"
    else:
        title = category.name if category else brand.name if brand else "Search"
    listing = queries.priced_listing(
        title,
        queries.products_in_order(found.product_ids),
        _group_id(),
        found.total > offset_of(page, per_page) + per_page,
    )
    rows = listing.rows
    if sort in (product_search.Sort.PRICE_LOW, product_search.Sort.PRICE_HIGH):
        # The index orders by list price; this customer's price group may move a product by
        # a little: the page is ordered by the prices it shows.
        descending = sort is product_search.Sort.PRICE_HIGH

        def price_key(row):
            if row.price is None:
                return (1, 0)
            return (0, -row.price if descending else row.price)

        rows = sorted(rows, key=price_key)
    counted, facets = queries.facets_if_cached(corrected or text, filters)
    return _listing_page(
        {"title": listing.title, "in_stock": in_stock, "query": text},
        rows,
        page=page,
        has_next=listing.has_next,
        total=found.total,
        template="catalog/search.html",
        facets=_facet_links(facets, filters, brand, category) if counted else None,
        facets_url=None if counted else _facets_url(corrected),
        sort=sort,
        sorts=list(product_search.Sort),
        corrected=corrected,
    )


def _facets_url(corrected: str | None) -> str:
    """The facet column's own URL: this search's arguments (the corrected words when the
    page shows a correction's results)."""
    args = request.args.to_dict()
    args.pop("page", None)  # the sort stays: the column's links keep it
    if corrected:
        args["q"] = corrected
    return url_for("catalog.search_facets", **args)


@bp.get("/search/facets")
def search_facets():
    """The search page's facet column with its counts: HTMX loads it into the page; without
    scripts it is a page of its own whose links lead back to the search."""
    text = _search_text()
    brand, category, filters = _narrowing()
    search_sync.keep_current()
    facets = queries.cached_facets(text, filters)
    return htmx_responses.render(
        "catalog/search_facets.html",
        block="facets",
        facets=_facet_links(facets, filters, brand, category),
        query=text,
        title=f"Narrow “{text}”" if text else "Narrow the results",
    )


def _facet_links(facets, filters, brand, category) -> dict:
    """Each facet value with its count and the URL that picks it (or drops it when picked)."""
    if facets is None:
        return {}
    names = {b.id: b for b in queries.brands()}
    categories = {c.id: c for c in queries.categories()}

    def option(label, count, arg, value, active):
        # The template builds the link: this URL with `arg` set (or removed when picked).
        return {"label": label, "count": count, "active": active, "change": {arg: value}}

    brand_options = [
        option(names[i].name, n, "brand", names[i].slug, brand is not None and brand.id == i)
        for i, n in sorted(facets.brands.items(), key=lambda item: (-item[1], item[0]))
        if i in names
    ]
    category_options = [
        option(
            categories[i].name,
            n,
            "category",
            categories[i].slug,
            category is not None and category.id == i,
        )
        for i, n in sorted(facets.categories.items(), key=lambda item: (-item[1], item[0]))
        if i in categories
    ]
    price_options = [
        option(_band_label(band), n, "price", _band_value(band), filters.price_band == band)
        for band, n in facets.price_bands.items()
        if n or filters.price_band == band
    ]
    stock_options = [option("In stock", facets.in_stock, "in_stock", "1", filters.in_stock_only)]
    return {
        "Category": category_options,
        "Brand": brand_options,
        "Price": price_options,
        "Availability": stock_options,
    }


@bp.get("/search/suggest")
def suggest():
    """Active search: the top matches for what has been typed so far."""
    text = _search_text()
    if len(text) < 2:
        return ""
    search_sync.keep_current()
    found = queries.cached_search(text, limit=8)
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


@bp.get("/p/<int:product_id>/image")
def product_image(product_id: int):
    """A picture staff uploaded, from the database (any server can answer)."""
    image = queries.product_image(product_id)
    if image is None or queries.live_product(product_id) is None:
        abort(404)
    response = make_response(image.content)
    response.headers["Content-Type"] = image.content_type
    # The URL carries the upload's version (?v=), so a new picture is a new URL.
    response.cache_control.max_age = 86400
    return response


@bp.get("/p/<int:product_id>")
def product(product_id: int):
    found = queries.live_product(product_id)
    if found is None:
        abort(404)
    offers = queries.offers_for(found.id) if found.product_type.is_stocked else []
    description, specs = queries.description_and_specs(found.description)
    return render_template(
        "catalog/product.html",
        image_version=queries.uploaded_images([found.id]).get(found.id, 0),
        product=found,
        description=description,
        specs=specs,
        price=queries.unit_price(found, _group_id()),
        supplier_count=len(offers),
        htmx=htmx,
    )
