"""Upsert a supplier's offers (and the products they bring) from records, all or nothing;
make products that no supplier offers yet (`create_products`).

The records are feed rows by another road (the REST API's bulk upsert): each is checked by
the feed import's own row validation and written by its own writer, so a record is refused
for exactly the reasons a CSV line would be. Unlike a feed, one bad record refuses them all
(nothing is written) and nothing unlisted is withdrawn: it is never a full feed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from webapp.catalog import feeds
from webapp.catalog.errors import CatalogError
from webapp.catalog.feed_parsing import (
    FIELDS,
    FeedFormat,
    FeedRow,
    ImportSummary,
    product_description,
    product_image_url,
    product_name,
    validate_row,
)
from webapp.catalog.feed_writing import ProductInserter, Resolver
from webapp.catalog.models import Brand, Category, FeedImport, ImportStatus, Supplier
from webapp.catalog.operations import catalog_changed, refresh_product_aggregates
from webapp.extensions import db
from webapp.models_base import utcnow

MAX_RECORDS = feeds.CHUNK_ROWS
# A record's numbers as the feed's default format writes them: "." for decimals, no grouping.
_FORMAT = FeedFormat.from_json({"full_feed": False})


@dataclass
class BulkRefused(Exception):
    """Some records are not valid; ``problems`` is [{"row": 1-based, "reason": ...}]."""

    problems: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.problems)} record(s) refused; nothing was written"


@dataclass(frozen=True)
class BulkResult:
    run: FeedImport
    rows: int
    products_created: int
    offers_created: int
    offers_updated: int


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _rows(records: Sequence[Mapping]) -> tuple[list[FeedRow], list[dict]]:
    rows: list[FeedRow] = []
    problems: list[dict] = []
    first_of: dict[str, int] = {}
    for number, record in enumerate(records, 1):
        try:
            row = validate_row(number, [_text(record.get(name)) for name in FIELDS], _FORMAT)
        except ValueError as error:
            problems.append({"row": number, "reason": str(error)})
            continue
        first = first_of.setdefault(row.sku, number)
        if first != number:
            problems.append(
                {"row": number, "reason": f"SKU {row.sku!r} already appeared on row {first}"}
            )
            continue
        rows.append(row)
    return rows, problems


def upsert_offers(
    supplier: Supplier, records: Sequence[Mapping], actor_id: int | None
) -> BulkResult:
    """Write every record or none: raise BulkRefused naming each bad record's row.

    The run is recorded as a feed import of the supplier (its history shows it); the caller
    commits, or rolls back on BulkRefused."""
    if not records:
        raise BulkRefused([{"row": 0, "reason": "send at least one record"}])
    if len(records) > MAX_RECORDS:
        raise BulkRefused([{"row": 0, "reason": f"at most {MAX_RECORDS:,} records per request"}])
    rows, problems = _rows(records)
    if problems:
        raise BulkRefused(problems)
    run = FeedImport(
        supplier=supplier,
        filename=f"API bulk upsert ({len(rows)} records)",
        status=ImportStatus.RUNNING,
        started_at=utcnow(),
        created_by_id=actor_id,
    )
    db.session.add(run)
    db.session.flush()
    summary = ImportSummary(rows_read=len(rows))
    writer = feeds.open_writer(supplier, run, Resolver(supplier))
    offers_before = writer.offer_count()
    written = writer.write(rows, summary)
    written += writer.finish(summary)
    created = writer.offer_count() - offers_before
    writer.close()
    if summary.problems:  # the writer's own refusals (a new product's category not mapped)
        raise BulkRefused([{"row": p["line"], "reason": p["reason"]} for p in summary.problems])
    refresh_product_aggregates(None if summary.touched_all else sorted(summary.touched_products))
    run.rows_read = len(rows)
    run.products_created = summary.products_created
    run.offers_created = created
    run.offers_updated = written - created
    feeds.IMPORT.fire(run, "succeed")
    run.finished_at = utcnow()
    db.session.flush()
    return BulkResult(run, len(rows), summary.products_created, created, written - created)


MPN_MAX = 100


@dataclass(frozen=True)
class NewProduct:
    """A product not yet in the catalog, checked as a new product of a feed line is."""

    brand_id: int
    mpn: str
    name: str
    category_id: int
    description: str = ""
    image_url: str = ""

    @property
    def key(self) -> tuple[int, str]:
        return self.brand_id, self.mpn


def new_product(record: Mapping) -> NewProduct:
    """Check a record (brand_id, mpn, name, category_id, description, image_url) for a new
    product: the feed's rules for its name, description and picture address, a brand and a
    category that exist. Raise CatalogError naming the field."""
    mpn = _text(record.get("mpn"))
    if not mpn:
        raise CatalogError("mpn is empty", "mpn")
    if len(mpn) > MPN_MAX:
        raise CatalogError(f"mpn is longer than {MPN_MAX} characters", "mpn")
    brand_id = record.get("brand_id")
    if brand_id is None or db.session.get(Brand, brand_id) is None:
        raise CatalogError(f"there is no brand {brand_id}", "brand_id")
    try:
        name = product_name(_text(record.get("name")))
    except ValueError as error:
        raise CatalogError(f"{error} and the product is new", "name") from None
    category_id = record.get("category_id")
    if category_id is None:
        raise CatalogError("category_id is needed: the product is new", "category_id")
    if db.session.get(Category, category_id) is None:
        raise CatalogError(f"there is no category {category_id}", "category_id")
    return NewProduct(
        brand_id,
        mpn,
        name,
        category_id,
        product_description(_text(record.get("description"))),
        product_image_url(_text(record.get("image_url"))),
    )


def create_products(products: Sequence[NewProduct]) -> dict[tuple[int, str], int]:
    """Make the products (no offers yet: no cost, no stock) through the feed's own product
    insert; return their ids by (brand id, MPN). The search index hears of them."""
    if not products:
        return {}
    db.session.flush()
    inserter = ProductInserter(db.session.connection())
    at = inserter.time(utcnow())
    made = inserter.insert(
        [
            inserter.row(
                p.brand_id,
                p.mpn,
                p.name,
                p.description,
                p.image_url,
                p.category_id,
                None,
                0,
                None,
                at,
            )  # fmt: skip
            for p in products
        ]
    )
    catalog_changed(sorted(made.values()))
    return made
