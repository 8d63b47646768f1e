"""Catalog writes: keep product aggregates and the search index in step with offers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, case, func, or_, select, update

from webapp import jobs, signals
from webapp.catalog import search
from webapp.catalog.cache import bump_catalog_version
from webapp.catalog.models import Brand, Category, Product, SearchIndexChange, SupplierOffer
from webapp.extensions import db

_CHUNK = 500
# From this many products on, one pass over all offers (GROUP BY) is cheaper than correlated
# subqueries per product: a full feed touches most of the catalog.
SET_BASED_FROM = 20_000


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def refresh_product_aggregates(
    product_ids: Sequence[int] | None = None, stale: Sequence[int] | None = None
) -> None:
    """Recompute best cost, total stock and ETA from live offers (all products if None).

    `stale` (with None): only these products' figures can be out of date — a first feed
    import created all the others with theirs — so only they are recomputed; search and
    pricing are still told that every product changed."""
    if product_ids is None or len(product_ids) >= SET_BASED_FROM:
        if stale is not None and len(stale) < SET_BASED_FROM:
            for chunk in _chunks(list(stale)):
                _refresh_some_aggregates(chunk)
        else:
            _refresh_all_aggregates()
        # Reindexing everything is the same work as reindexing most of it, and the job's
        # arguments stay small.
        catalog_changed(None)
        signals.product_prices_changed.send(None, reason="cost")
        return
    repriced: list[int] = []
    for chunk in _chunks(list(product_ids)):
        before = _best_costs(chunk)
        _refresh_some_aggregates(chunk)
        after = _best_costs(chunk)
        repriced += [pid for pid in chunk if before.get(pid) != after.get(pid)]
    catalog_changed(product_ids)
    if repriced:
        signals.product_prices_changed.send(tuple(repriced), reason="cost")


def _refresh_some_aggregates(product_ids: Sequence[int]) -> None:
    live = and_(SupplierOffer.product_id == Product.id, SupplierOffer.available.is_(True))
    stocked_eta = (
        select(func.min(SupplierOffer.eta_days))
        .where(live, SupplierOffer.stock > 0)
        .scalar_subquery()
    )
    any_eta = select(func.min(SupplierOffer.eta_days)).where(live).scalar_subquery()
    values = {
        Product.best_cost: select(func.min(SupplierOffer.cost)).where(live).scalar_subquery(),
        Product.total_stock: select(func.coalesce(func.sum(SupplierOffer.stock), 0))
        .where(live)
        .scalar_subquery(),
        # Available now: the fastest supplier that has stock; otherwise the back-order ETA.
        Product.min_eta_days: func.coalesce(stocked_eta, any_eta),
    }
    db.session.execute(
        update(Product).where(Product.id.in_(product_ids)).values(values),
        execution_options={"synchronize_session": False},
    )


def _best_costs(product_ids: Sequence[int]) -> dict[int, object]:
    # Prices follow the best cost (through the pricing rules): a change is a price change.
    return dict(
        db.session.execute(
            select(Product.id, Product.best_cost).where(Product.id.in_(product_ids))
        ).all()
    )


def _refresh_all_aggregates() -> None:
    """The same aggregates for every product, as two set-based UPDATEs (SQLite and PostgreSQL
    both run UPDATE ... FROM); rows whose figures did not change are not rewritten."""
    live = SupplierOffer.available.is_(True)
    totals = (
        select(
            SupplierOffer.product_id.label("product_id"),
            func.min(SupplierOffer.cost).label("best_cost"),
            func.sum(SupplierOffer.stock).label("total_stock"),
            # Available now: the fastest supplier that has stock; otherwise the back-order ETA.
            func.coalesce(
                func.min(case((SupplierOffer.stock > 0, SupplierOffer.eta_days))),
                func.min(SupplierOffer.eta_days),
            ).label("min_eta_days"),
        )
        .where(live)
        .group_by(SupplierOffer.product_id)
        .subquery()
    )
    db.session.execute(
        update(Product)
        .where(
            Product.id == totals.c.product_id,
            or_(
                Product.best_cost.is_distinct_from(totals.c.best_cost),
                Product.total_stock.is_distinct_from(totals.c.total_stock),
                Product.min_eta_days.is_distinct_from(totals.c.min_eta_days),
            ),
        )
        .values(
            best_cost=totals.c.best_cost,
            total_stock=totals.c.total_stock,
            min_eta_days=totals.c.min_eta_days,
        ),
        execution_options={"synchronize_session": False},
    )
    # Products left with no live offer at all.
    has_live_offer = (
        select(SupplierOffer.id).where(SupplierOffer.product_id == Product.id, live).exists()
    )
    db.session.execute(
        update(Product)
        .where(
            ~has_live_offer,
            or_(
                Product.best_cost.is_not(None),
                Product.total_stock != 0,
                Product.min_eta_days.is_not(None),
            ),
        )
        .values(best_cost=None, total_stock=0, min_eta_days=None),
        execution_options={"synchronize_session": False},
    )


def catalog_changed(product_ids: Sequence[int] | None) -> None:
    """Record the change for every node's search index (all products if None); after commit,
    drop cached listings and have a worker bring its node's index up to date."""
    db.session.add(
        SearchIndexChange(product_ids=list(product_ids) if product_ids is not None else None)
    )
    jobs.call_after_commit(bump_catalog_version)
    jobs.enqueue_after_commit(
        "workers.jobs.reindex_products",
        list(product_ids) if product_ids is not None else None,
        queue="imports",
    )


def reindex(product_ids: Sequence[int] | None = None, progress=None) -> int:
    """Write products to the search index in one commit; obsolete ones are removed."""
    if product_ids is None:
        product_ids = list(db.session.scalars(select(Product.id).order_by(Product.id)))
    removed: list[int] = []
    # Plain rows, not ORM objects: a full reindex reads a million products.
    columns = select(
        Product.id,
        Product.name,
        Product.mpn,
        Brand.name,
        Category.name,
        Product.description,
        Product.category_id,
        Product.brand_id,
        Product.total_stock,
        Product.product_type,
        Product.obsolete,
        Product.fixed_price,
        Product.best_cost,
        Product.min_eta_days,
    ).join_from(Product, Brand, Product.brand_id == Brand.id)
    columns = columns.join(Category, Product.category_id == Category.id)

    from webapp.catalog.queries import price_book

    book = price_book()

    def documents() -> Iterable[search.IndexedProduct]:
        for chunk in _chunks(list(product_ids), 5000):
            seen = set()
            for (
                product_id,
                name,
                mpn,
                brand,
                category,
                description,
                category_id,
                brand_id,
                total_stock,
                product_type,
                obsolete,
                fixed_price,
                best_cost,
                min_eta_days,
            ) in db.session.execute(columns.where(Product.id.in_(chunk))):
                seen.add(product_id)
                if obsolete:
                    removed.append(product_id)
                    continue
                yield search.IndexedProduct(
                    id=product_id,
                    name=name,
                    mpn=mpn,
                    brand=brand,
                    category=category,
                    description=description,
                    category_id=category_id,
                    brand_id=brand_id,
                    # As Product.in_stock: services and labour are always available.
                    in_stock=total_stock > 0 or not product_type.is_stocked,
                    # The list price (no price group) sorts and bands search results.
                    price_cents=_cents(
                        book.sell_price(
                            fixed_price=fixed_price,
                            best_cost=best_cost,
                            category_id=category_id,
                            brand_id=brand_id,
                            group_id=None,
                        )
                    ),
                    eta_days=min_eta_days,
                )
            # Deleted products leave the index too.
            removed.extend(set(chunk) - seen)
            if progress is not None:
                progress(len(chunk))

    return search.upsert(documents(), remove_ids=removed)


def _cents(amount) -> int | None:
    return None if amount is None else int(amount * 100)


# --- staff admin writes ----------------------------------------------------------------------
# Imports stay inside these functions: catalog.feeds imports this module at load time.


class CatalogError(ValueError):
    """A refused catalog change; the message is for people, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def set_fixed_price(product: Product, fixed_price, actor) -> Product:
    """Fix the product's sell price (None returns it to the pricing rules)."""
    from decimal import Decimal

    from webapp.money import round_money

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


def describe_product(product: Product, changes: dict, actor) -> Product:
    """Change a product's name, description or picture address (the keys of ``changes``),
    checked as a feed line's are: an empty or too long name is refused, a description is cut
    at 5,000 characters, an address that is not https:// is dropped."""
    from webapp.catalog import feed_parsing

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
    from webapp.catalog.models import ProductImage
    from webapp.models_base import utcnow

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


def save_feed_format(supplier, settings: dict, actor):
    """Store how the supplier writes its feed, after checking FeedFormat accepts it."""
    from webapp.catalog.feeds import FeedError, FeedFormat

    try:
        feed = FeedFormat.from_json(settings)
    except (FeedError, TypeError) as error:
        raise CatalogError(f"The feed format is not valid: {error}.") from None
    supplier.feed_format = {
        "columns": dict(feed.columns),
        "delimiter": feed.delimiter,
        "decimal_separator": feed.decimal_separator,
        "thousands_separator": feed.thousands_separator,
        "encoding": feed.encoding,
        "full_feed": feed.full_feed,
        "max_withdrawn_percent": feed.max_withdrawn_percent,
        "max_bad_rows_percent": feed.max_bad_rows_percent,
    }
    db.session.flush()
    return feed


def map_supplier_category(supplier, supplier_category: str, category_id: int, actor):
    """Map the supplier's category name onto ours (replacing an earlier mapping of it)."""
    from webapp.catalog.models import Category, SupplierCategoryMap

    name = supplier_category.strip()
    if not name:
        raise CatalogError("Enter the supplier's category name.", "supplier_category")
    category = db.session.get(Category, category_id) if category_id is not None else None
    if category is None:
        raise CatalogError("Choose one of our categories.", "category_id")
    mapping = db.session.scalar(
        select(SupplierCategoryMap).where(
            SupplierCategoryMap.supplier_id == supplier.id,
            func.lower(SupplierCategoryMap.supplier_category) == func.lower(name),
        )
    )
    if mapping is None:
        mapping = SupplierCategoryMap(supplier_id=supplier.id, supplier_category=name)
        db.session.add(mapping)
    mapping.category = category
    db.session.flush()
    return mapping


def unmap_supplier_category(mapping, actor) -> None:
    db.session.delete(mapping)
    db.session.flush()


FEED_EXTENSIONS = (".csv", ".txt", ".tsv")


def size_label(size: int) -> str:
    """Say a byte count for people: 200 MB, 64 KB, 900 bytes."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:,.3g} {unit}"
    return f"{size} bytes"


_SNIFF_BYTES = 64 * 1024


def upload_feed(supplier, source, filename: str, actor, *, upload_dir, max_bytes: int):
    """Save an uploaded feed file under `upload_dir` and queue its import after commit.

    The file is checked before anything is recorded: it must be a non-empty CSV text file in
    the supplier's encoding, whose header has the columns the feed format requires and which
    has at least one row (an empty full feed would withdraw every offer).
    """
    import csv
    import secrets
    from pathlib import Path, PurePosixPath

    from webapp.catalog import feeds

    display_name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()[:200]
    if not display_name:
        raise CatalogError("Choose a feed file to upload.", "file")
    if not display_name.lower().endswith(FEED_EXTENSIONS):
        raise CatalogError(
            f"{display_name} is not a CSV file: export the feed as .csv and upload that.", "file"
        )
    try:
        feed = feeds.FeedFormat.from_json(supplier.feed_format)
    except feeds.FeedError as error:
        raise CatalogError(f"Fix the supplier's feed format first: {error}.", "file") from None

    directory = Path(upload_dir)
    directory.mkdir(parents=True, exist_ok=True)
    # Our own name, never the uploader's: no path tricks, no clashes between uploads.
    path = directory / f"supplier-{supplier.id}-{secrets.token_hex(12)}.csv"
    try:
        size = 0
        head = b""
        with open(path, "xb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise CatalogError(
                        f"{display_name} is larger than the {size_label(max_bytes)} upload "
                        "limit: split the feed or ask the supplier for a smaller file.",
                        "file",
                    )
                if len(head) < _SNIFF_BYTES:
                    head += chunk[: _SNIFF_BYTES - len(head)]
                out.write(chunk)
        if size == 0:
            raise CatalogError(f"{display_name} is empty.", "file")
        _check_feed_head(display_name, head, feed)
        with open(path, newline="", encoding=feed.encoding) as handle:
            reader = csv.reader(handle, delimiter=feed.delimiter)
            try:
                header = next(reader, [])
                first_row = next(reader, None)
            except (csv.Error, UnicodeDecodeError) as error:
                raise CatalogError(
                    f"{display_name} cannot be read as CSV: {error}.", "file"
                ) from None
        header = [column.strip() for column in header]
        missing = [feed.columns[n] for n in feeds.REQUIRED if feed.columns[n] not in header]
        if missing:
            raise CatalogError(
                f"{display_name}, line 1: missing column(s) {', '.join(missing)}; the header "
                f"has {', '.join(header) if any(header) else 'no columns'}. Check the file, or "
                "the supplier's column mapping.",
                "file",
            )
        if first_row is None:
            raise CatalogError(f"{display_name} has a header but no rows.", "file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return feeds.queue_import(supplier, path, display_name, actor.id)


def _check_feed_head(display_name: str, head: bytes, feed) -> None:
    import codecs

    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CatalogError(
            f"{display_name} is a spreadsheet workbook, not CSV: save it as CSV and upload that.",
            "file",
        )
    if b"\x00" in head:
        raise CatalogError(f"{display_name} is not a CSV text file.", "file")
    try:
        codecs.getincrementaldecoder(feed.encoding)().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise CatalogError(
            f"{display_name} is not {feed.encoding} text ({error.reason}): export it as "
            "UTF-8, or change the supplier's feed encoding.",
            "file",
        ) from None
    except LookupError:
        raise CatalogError(f"Unknown feed encoding {feed.encoding!r}.", "file") from None


def _rule_key_clause(model_column, value):
    # The unique constraint cannot see NULLs as equal, so "any category" is matched with IS NULL.
    return model_column.is_(None) if value is None else model_column == value


_DUPLICATE_RULE = (
    "There is already a rule for this price group, category and brand: edit that rule instead."
)


def save_pricing_rule(rule, *, price_group_id, category_id, brand_id, markup_pct, actor):
    """Create (rule None) or change a markup rule; one rule per group/category/brand."""
    from decimal import Decimal

    from sqlalchemy.exc import IntegrityError

    from webapp.catalog.models import Brand, Category, PricingRule
    from webapp.organizations.models import PriceGroup

    markup = Decimal(markup_pct)
    if not markup.is_finite() or not Decimal("-50") <= markup <= Decimal("1000"):
        raise CatalogError("Enter a markup from -50% to 1,000%.", "markup_pct")
    for model, value, field, label in (
        (PriceGroup, price_group_id, "price_group_id", "price group"),
        (Category, category_id, "category_id", "category"),
        (Brand, brand_id, "brand_id", "brand"),
    ):
        if value is not None and db.session.get(model, value) is None:
            raise CatalogError(f"That {label} no longer exists.", field)
    clash = select(PricingRule).where(
        _rule_key_clause(PricingRule.price_group_id, price_group_id),
        _rule_key_clause(PricingRule.category_id, category_id),
        _rule_key_clause(PricingRule.brand_id, brand_id),
    )
    if rule is not None:
        clash = clash.where(PricingRule.id != rule.id)
    if db.session.scalar(clash.limit(1)) is not None:
        raise CatalogError(_DUPLICATE_RULE, "category_id")
    if rule is None:
        rule = PricingRule()
        db.session.add(rule)
    rule.price_group_id = price_group_id
    rule.category_id = category_id
    rule.brand_id = brand_id
    rule.markup_pct = markup.quantize(Decimal("0.001"))
    try:
        db.session.flush()
    except IntegrityError:
        # Another admin saved the same combination a moment ago.
        raise CatalogError(_DUPLICATE_RULE, "category_id") from None
    # The index keeps list prices (to sort and band by price): a rule reprices products.
    catalog_changed(None)
    signals.product_prices_changed.send(None, reason="pricing_rule")
    return rule


def delete_pricing_rule(rule, actor) -> None:
    db.session.delete(rule)
    db.session.flush()
    catalog_changed(None)
    signals.product_prices_changed.send(None, reason="pricing_rule")


def save_tax_code(tax_code, *, code: str, name: str, rate, is_default: bool, actor):
    """Create (tax_code None) or change a tax code; exactly one tax code is the default."""
    from decimal import Decimal

    from webapp.catalog.models import TaxCode

    code = code.strip().upper()
    if not code:
        raise CatalogError("Enter a code.", "code")
    rate = Decimal(rate)
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        raise CatalogError("Enter a rate from 0% to 100%.", "rate")
    taken = select(TaxCode.id).where(func.upper(TaxCode.code) == code)
    if tax_code is not None:
        taken = taken.where(TaxCode.id != tax_code.id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise CatalogError(f"Tax code {code} already exists.", "code")
    has_default = db.session.scalar(select(TaxCode.id).where(TaxCode.is_default.is_(True)).limit(1))
    if tax_code is not None and tax_code.is_default and not is_default:
        raise CatalogError(
            f"{tax_code.code} is the default tax code: make another code the default instead.",
            "is_default",
        )
    if tax_code is None:
        tax_code = TaxCode()
        db.session.add(tax_code)
        # The first tax code is the default whatever the box said: there must be one.
        is_default = is_default or has_default is None
    tax_code.code = code
    tax_code.name = name.strip()
    tax_code.rate = rate.quantize(Decimal("0.001"))
    db.session.flush()
    if is_default:
        make_default_tax_code(tax_code, actor)
    return tax_code


def make_default_tax_code(tax_code, actor):
    """Make this the default tax code, and no other."""
    from webapp.catalog.models import TaxCode

    # Lock the (few) tax codes: two admins choosing different defaults at once must not
    # leave two defaults behind.
    db.session.execute(select(TaxCode.id).with_for_update())
    db.session.execute(
        update(TaxCode)
        .where(TaxCode.id != tax_code.id, TaxCode.is_default.is_(True))
        .values(is_default=False),
        execution_options={"synchronize_session": "fetch"},
    )
    tax_code.is_default = True
    db.session.flush()
    return tax_code
