"""Supplier price-and-stock feeds: read a CSV in the supplier's format and upsert offers.

One import is one transaction: a bad row is skipped and reported with its line number, the
good rows are written, and if anything unexpected stops the run nothing of it is kept.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from flask import current_app
from slugify import slugify
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp import jobs
from webapp.catalog.models import (
    Brand,
    Category,
    FeedImport,
    ImportStatus,
    Product,
    ProductType,
    Supplier,
    SupplierCategoryMap,
    SupplierOffer,
)
from webapp.catalog.operations import refresh_product_aggregates
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.money import parse_decimal

CHUNK_ROWS = 2000
MAX_PROBLEMS_KEPT = 1000
MAX_COST = Decimal("9999999999")
REQUIRED = ("sku", "mpn", "brand", "name", "cost")
OPTIONAL = ("category", "stock", "eta_days", "description")


class FeedError(Exception):
    """The feed as a whole cannot be read (wrong columns, wrong encoding, ...)."""


@dataclass(frozen=True)
class FeedFormat:
    """How one supplier writes its feed; stored as JSON on the supplier."""

    columns: dict[str, str]
    delimiter: str = ","
    decimal_separator: str = "."
    thousands_separator: str = ""
    encoding: str = "utf-8-sig"
    full_feed: bool = True

    @classmethod
    def from_json(cls, data: dict | None) -> FeedFormat:
        data = dict(data or {})
        columns = {name: name for name in REQUIRED + OPTIONAL}
        columns.update(data.pop("columns", {}) or {})
        known = {"delimiter", "decimal_separator", "thousands_separator", "encoding", "full_feed"}
        unknown = set(data) - known
        if unknown:
            raise FeedError(f"unknown feed format setting(s): {', '.join(sorted(unknown))}")
        feed = cls(columns=columns, **data)
        if len(feed.delimiter) != 1:
            raise FeedError("the delimiter must be a single character")
        if feed.decimal_separator == feed.thousands_separator:
            raise FeedError("decimal and thousands separators must differ")
        return feed


@dataclass(frozen=True)
class FeedRow:
    line: int
    sku: str
    mpn: str
    brand: str
    name: str
    category: str
    cost: Decimal
    stock: int
    eta_days: int | None
    description: str


@dataclass
class ImportSummary:
    rows_read: int = 0
    products_created: int = 0
    offers_created: int = 0
    offers_updated: int = 0
    offers_withdrawn: int = 0
    rows_skipped: int = 0
    problems: list[dict] = field(default_factory=list)
    touched_products: set[int] = field(default_factory=set)

    def skip(self, line: int, reason: str) -> None:
        self.rows_skipped += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append({"line": line, "reason": reason})


def _int(text: str, label: str, *, minimum: int = 0, maximum: int = 10_000_000) -> int:
    cleaned = text.strip().replace(",", "") if text else ""
    if not cleaned.lstrip("-").isdigit():
        raise ValueError(f"{label}: {text!r} is not a whole number")
    value = int(cleaned)
    if not minimum <= value <= maximum:
        raise ValueError(f"{label}: {value} is out of range ({minimum} to {maximum:,})")
    return value


def parse_rows(path: Path, feed: FeedFormat, summary: ImportSummary) -> Iterator[FeedRow]:
    """Yield valid rows; record each invalid one in `summary` with its line number."""
    try:
        handle = open(path, newline="", encoding=feed.encoding)  # noqa: SIM115
    except LookupError:
        raise FeedError(f"unknown encoding {feed.encoding!r}") from None
    with handle:
        reader = csv.DictReader(handle, delimiter=feed.delimiter)
        try:
            header = reader.fieldnames or []
        except UnicodeDecodeError as error:
            raise FeedError(
                f"line 1: the file is not {feed.encoding} text ({error.reason})"
            ) from None
        except csv.Error as error:
            raise FeedError(f"line 1: {error}") from None
        missing = [feed.columns[name] for name in REQUIRED if feed.columns[name] not in header]
        if missing:
            raise FeedError(
                f"line 1: missing column(s) {', '.join(missing)}; the header has "
                f"{', '.join(header) if header else 'no columns'}"
            )
        present = {
            name: feed.columns[name] for name in REQUIRED + OPTIONAL if feed.columns[name] in header
        }
        seen_skus: dict[str, int] = {}
        line = 1
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as error:
                raise FeedError(
                    f"line {reader.line_num + 1}: the file is not {feed.encoding} text "
                    f"({error.reason})"
                ) from None
            except csv.Error as error:
                summary.rows_read += 1
                summary.skip(reader.line_num, f"unreadable row: {error}")
                continue
            line = reader.line_num
            summary.rows_read += 1
            if None in raw:
                summary.skip(
                    line,
                    f"{len(header) + len(raw[None])} fields where the header has {len(header)}",
                )
                continue
            value = {name: (raw.get(column) or "").strip() for name, column in present.items()}
            try:
                row = _validate(line, value, feed)
            except ValueError as error:
                summary.skip(line, str(error))
                continue
            first = seen_skus.setdefault(row.sku, line)
            if first != line:
                summary.skip(line, f"SKU {row.sku!r} already appeared on line {first}")
                continue
            yield row


def _validate(line: int, value: dict[str, str], feed: FeedFormat) -> FeedRow:
    for name in REQUIRED:
        if not value.get(name):
            raise ValueError(f"{name} is empty")
    for name, limit in (("sku", 100), ("mpn", 100), ("brand", 100), ("name", 300)):
        if len(value[name]) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    try:
        cost = parse_decimal(
            value["cost"],
            decimal_sep=feed.decimal_separator,
            thousands_sep=feed.thousands_separator,
        )
    except ValueError as error:
        raise ValueError(f"cost: {error}") from None
    if cost <= 0:
        raise ValueError(f"cost must be more than zero, not {value['cost']}")
    if cost > MAX_COST:
        raise ValueError(f"cost {value['cost']} is too large")
    stock = _int(value["stock"], "stock") if value.get("stock") else 0
    eta = _int(value["eta_days"], "eta_days", maximum=3650) if value.get("eta_days") else None
    return FeedRow(
        line=line,
        sku=value["sku"],
        mpn=value["mpn"],
        brand=value["brand"],
        name=value["name"],
        category=value.get("category", ""),
        cost=cost.quantize(Decimal("0.0001")),
        stock=stock,
        eta_days=eta,
        description=value.get("description", "")[:5000],
    )


class _Resolver:
    """Maps feed brand and category names onto our rows, creating brands as needed."""

    def __init__(self, supplier: Supplier):
        self.supplier = supplier
        self.brands = {
            name.lower(): id_ for id_, name in db.session.execute(select(Brand.id, Brand.name))
        }
        self.brand_slugs = set(db.session.scalars(select(Brand.slug)))
        self.categories = {
            name.lower(): id_
            for id_, name in db.session.execute(select(Category.id, Category.name))
        }
        self.mapped = {
            supplier_category.lower(): category_id
            for supplier_category, category_id in db.session.execute(
                select(
                    SupplierCategoryMap.supplier_category, SupplierCategoryMap.category_id
                ).where(SupplierCategoryMap.supplier_id == supplier.id)
            )
        }

    def category_id(self, name: str) -> int:
        key = name.strip().lower()
        found = self.mapped.get(key) or self.categories.get(key)
        if found is None:
            raise ValueError(
                f"category {name!r} is not mapped to one of ours"
                if name
                else "category is empty and the product is new"
            )
        return found

    def brand_id(self, name: str) -> int:
        key = name.strip().lower()
        if key not in self.brands:
            slug = base = slugify(name) or "brand"
            suffix = 2
            while slug in self.brand_slugs:
                slug, suffix = f"{base}-{suffix}", suffix + 1
            self.brand_slugs.add(slug)
            self.brands[key] = db.session.execute(
                insert(Brand).values(name=name.strip(), slug=slug).returning(Brand.id)
            ).scalar_one()
        return self.brands[key]


def _upsert_offers(rows: list[dict]) -> None:
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(SupplierOffer)
    statement = statement.on_conflict_do_update(
        index_elements=[SupplierOffer.supplier_id, SupplierOffer.supplier_sku],
        set_={
            "product_id": statement.excluded.product_id,
            "cost": statement.excluded.cost,
            "stock": statement.excluded.stock,
            "eta_days": statement.excluded.eta_days,
            "available": True,
            "updated_at": statement.excluded.updated_at,
            "last_import_id": statement.excluded.last_import_id,
        },
    )
    db.session.execute(statement, rows)


def _write_chunk(
    chunk: list[FeedRow],
    supplier: Supplier,
    run: FeedImport,
    resolver: _Resolver,
    summary: ImportSummary,
) -> None:
    now = utcnow()
    keyed: list[tuple[FeedRow, int]] = []
    for row in chunk:
        keyed.append((row, resolver.brand_id(row.brand)))
    mpns = {row.mpn for row, _ in keyed}
    existing = {
        (brand_id, mpn): product_id
        for product_id, brand_id, mpn in db.session.execute(
            select(Product.id, Product.brand_id, Product.mpn).where(Product.mpn.in_(mpns))
        )
    }
    new_products: dict[tuple[int, str], dict] = {}
    usable: list[tuple[FeedRow, int]] = []
    for row, brand_id in keyed:
        key = (brand_id, row.mpn)
        if key not in existing and key not in new_products:
            try:
                category_id = resolver.category_id(row.category)
            except ValueError as error:
                summary.skip(row.line, str(error))
                continue
            new_products[key] = {
                "brand_id": brand_id,
                "mpn": row.mpn,
                "name": row.name,
                "description": row.description,
                "category_id": category_id,
                "product_type": ProductType.PHYSICAL,
                "obsolete": False,
                "total_stock": 0,
                "created_at": now,
                "updated_at": now,
            }
        usable.append((row, brand_id))
    if new_products:
        created = db.session.execute(
            insert(Product).returning(
                Product.id, Product.brand_id, Product.mpn, sort_by_parameter_order=True
            ),
            list(new_products.values()),
        )
        for product_id, brand_id, mpn in created:
            existing[(brand_id, mpn)] = product_id
        summary.products_created += len(new_products)

    skus = [row.sku for row, _ in usable]
    known_skus = set(
        db.session.scalars(
            select(SupplierOffer.supplier_sku).where(
                SupplierOffer.supplier_id == supplier.id, SupplierOffer.supplier_sku.in_(skus)
            )
        )
    )
    offers = []
    for row, brand_id in usable:
        product_id = existing[(brand_id, row.mpn)]
        summary.touched_products.add(product_id)
        offers.append(
            {
                "supplier_id": supplier.id,
                "product_id": product_id,
                "supplier_sku": row.sku,
                "cost": row.cost,
                "stock": row.stock,
                "eta_days": row.eta_days,
                "available": True,
                "updated_at": now,
                "last_import_id": run.id,
            }
        )
    if offers:
        _upsert_offers(offers)
    summary.offers_updated += len(known_skus)
    summary.offers_created += len(offers) - len(known_skus)


def _withdraw_unlisted(supplier: Supplier, run: FeedImport, summary: ImportSummary) -> None:
    unlisted = (
        SupplierOffer.supplier_id == supplier.id,
        SupplierOffer.available.is_(True),
        (SupplierOffer.last_import_id != run.id) | SupplierOffer.last_import_id.is_(None),
    )
    product_ids = set(db.session.scalars(select(SupplierOffer.product_id).where(*unlisted)))
    if not product_ids:
        return
    result = db.session.execute(
        update(SupplierOffer).where(*unlisted).values(available=False, stock=0),
        execution_options={"synchronize_session": False},
    )
    summary.offers_withdrawn += result.rowcount
    summary.touched_products |= product_ids


ProgressCallback = Callable[[int], None]


def run_import(
    run: FeedImport, path: Path, progress: ProgressCallback | None = None
) -> ImportSummary:
    """Import one feed file for `run.supplier`; the caller commits or rolls back."""
    supplier = run.supplier
    feed = FeedFormat.from_json(supplier.feed_format)
    summary = ImportSummary()
    resolver = _Resolver(supplier)
    chunk: list[FeedRow] = []
    reported = 0
    for row in parse_rows(path, feed, summary):
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            _write_chunk(chunk, supplier, run, resolver, summary)
            chunk.clear()
            if progress:
                progress(summary.rows_read - reported)
                reported = summary.rows_read
    if chunk:
        _write_chunk(chunk, supplier, run, resolver, summary)
    if progress:
        progress(summary.rows_read - reported)
    if feed.full_feed:
        _withdraw_unlisted(supplier, run, summary)
    refresh_product_aggregates(sorted(summary.touched_products))
    run.rows_read = summary.rows_read
    run.products_created = summary.products_created
    run.offers_created = summary.offers_created
    run.offers_updated = summary.offers_updated
    run.offers_withdrawn = summary.offers_withdrawn
    run.rows_skipped = summary.rows_skipped
    run.problems = summary.problems
    run.status = ImportStatus.SUCCEEDED
    run.finished_at = utcnow()
    return summary


def count_lines(path: Path) -> int:
    """Count data lines quickly, for a progress bar's total (quoted newlines overcount)."""
    with open(path, "rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0)


def create_run(supplier: Supplier, path: Path, filename: str, actor_id: int | None) -> FeedImport:
    run = FeedImport(
        supplier=supplier,
        filename=filename,
        stored_path=str(path),
        status=ImportStatus.QUEUED,
        created_by_id=actor_id,
    )
    db.session.add(run)
    db.session.flush()
    return run


def queue_import(supplier: Supplier, upload_path: Path, filename: str, actor_id: int) -> FeedImport:
    """Record an uploaded feed and run it on the imports queue after commit."""
    run = create_run(supplier, upload_path, filename, actor_id)
    jobs.enqueue_after_commit(
        "workers.jobs.import_feed", run.id, queue="imports", job_id=f"feed-import-{run.id}"
    )
    return run


def progress_key(run_id: int) -> str:
    return f"feed-import:{run_id}:progress"


def execute(run_id: int, progress: ProgressCallback | None = None) -> FeedImport:
    """Run a recorded import to the end, committing its result either way."""
    run = db.session.get(FeedImport, run_id)
    if run is None or run.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
        return run
    run.status = ImportStatus.RUNNING
    run.started_at = utcnow()
    db.session.commit()
    total = count_lines(Path(run.stored_path))
    redis = jobs.redis_conn()
    key = progress_key(run.id)
    redis.hset(key, mapping={"done": 0, "total": total})
    redis.expire(key, 24 * 3600)

    def report(rows: int) -> None:
        redis.hincrby(key, "done", rows)
        if progress:
            progress(rows)

    try:
        run_import(run, Path(run.stored_path), report)
        db.session.commit()
    except FeedError as error:
        db.session.rollback()
        _fail(run_id, str(error))
    except BaseException as error:
        db.session.rollback()
        _fail(run_id, f"the import stopped and nothing was kept: {type(error).__name__}: {error}")
        raise
    return db.session.get(FeedImport, run_id)


def _fail(run_id: int, message: str) -> None:
    run = db.session.get(FeedImport, run_id)
    run.status = ImportStatus.FAILED
    run.error = message
    run.finished_at = utcnow()
    db.session.commit()
    current_app.logger.warning("feed import %s failed: %s", run_id, message)
