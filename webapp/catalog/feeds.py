"""Supplier price-and-stock feeds: read a CSV in the supplier's format and upsert offers.

One import is one transaction: a bad row is skipped and reported with its line number, the
good rows are written, and if anything unexpected stops the run nothing of it is kept.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from pathlib import Path

from flask import current_app
from slugify import slugify
from sqlalchemy import insert, select, update

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
from webapp.catalog.operations import SET_BASED_FROM, refresh_product_aggregates
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.money import parse_decimal

CHUNK_ROWS = 5000
# Products per multi-row INSERT (times ten columns: well under SQLite's 32,766 parameters).
_INSERT_ROWS = 250
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


@dataclass(slots=True)
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
    # Set once so many products were touched that all are refreshed and reindexed: the ids
    # are then no longer kept (a million of them is 60 MB).
    touched_all: bool = False

    def touch(self, product_ids: Iterable[int]) -> None:
        if self.touched_all:
            return
        self.touched_products.update(product_ids)
        if len(self.touched_products) >= SET_BASED_FROM:
            self.touched_all = True
            self.touched_products = set()

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
        # A plain reader with column positions: csv.DictReader builds a dict per row, which
        # was a third of the parse time of a million-row feed.
        reader = csv.reader(handle, delimiter=feed.delimiter)
        try:
            header = next(reader, None) or []
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
        # As with DictReader, a column named twice is read from its last position.
        position = {column: index for index, column in enumerate(header)}
        present = [
            (name, position[feed.columns[name]])
            for name in REQUIRED + OPTIONAL
            if feed.columns[name] in position
        ]
        width = len(header)
        seen_skus: dict[str, int] = {}
        # Line numbers (and skipped blank lines) exactly as csv.DictReader reported them.
        line = reader.line_num
        while True:
            try:
                raw = next(reader)
                line = reader.line_num
                while not raw:
                    raw = next(reader)
                line = reader.line_num
            except StopIteration:
                break
            except UnicodeDecodeError as error:
                raise FeedError(
                    f"line {line + 1}: the file is not {feed.encoding} text ({error.reason})"
                ) from None
            except csv.Error as error:
                summary.rows_read += 1
                summary.skip(line, f"unreadable row: {error}")
                continue
            summary.rows_read += 1
            if len(raw) > width:
                summary.skip(line, f"{len(raw)} fields where the header has {width}")
                continue
            if len(raw) == width:
                value = {name: raw[index].strip() for name, index in present}
            else:
                value = {
                    name: raw[index].strip() if index < len(raw) else "" for name, index in present
                }
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


_PRODUCT_COLUMNS = (
    "brand_id",
    "mpn",
    "name",
    "description",
    "category_id",
    "product_type",
    "obsolete",
    "total_stock",
    "created_at",
    "updated_at",
)
_OFFER_COLUMNS = (
    "supplier_id",
    "product_id",
    "supplier_sku",
    "cost",
    "stock",
    "eta_days",
    "available",
    "updated_at",
    "last_import_id",
)
_OFFER_UPDATED = ("product_id", "cost", "stock", "eta_days", "available", "updated_at")


def _same(value):
    return value


class _BulkWriter:
    """Driver-level SQL for the statements run once per feed row.

    At a million rows SQLAlchemy's per-row parameter handling cost more than the database's
    own work, so rows go to the DBAPI as tuples. Values still pass through each column type's
    bind processor, so they are stored exactly as the ORM stores them; the SQL is the same
    on SQLite and PostgreSQL apart from the parameter marker.
    """

    def __init__(self, supplier: Supplier, run: FeedImport):
        self.connection = db.session.connection()
        dialect = self.connection.dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        products, offers = Product.__table__, SupplierOffer.__table__

        def bind(column, value=None):
            process = column.type.dialect_impl(dialect).bind_processor(dialect) or _same
            return process if value is None else process(value)

        self.upsert_sql = (
            f"INSERT INTO supplier_offers ({', '.join(_OFFER_COLUMNS)}) "
            f"VALUES ({self._marks(len(_OFFER_COLUMNS))}) "
            "ON CONFLICT (supplier_id, supplier_sku) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in _OFFER_UPDATED)
            + ", last_import_id = excluded.last_import_id"
        )
        self._insert_sql: dict[int, str] = {}
        self.cost = bind(offers.c.cost)
        self.physical = bind(products.c.product_type, ProductType.PHYSICAL)
        self.not_obsolete = bind(products.c.obsolete, False)
        self.available = bind(offers.c.available, True)
        self.supplier_id = supplier.id
        self.run_id = run.id
        self._product_time = bind(products.c.updated_at)
        self._offer_time = bind(offers.c.updated_at)

    def _marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def stamp(self) -> tuple[object, object]:
        """Return (product, offer) timestamps for this chunk, as the database stores them."""
        now = utcnow()
        return self._product_time(now), self._offer_time(now)

    def offer_count(self) -> int:
        """Count the supplier's offers, listed or not (read from the unique index)."""
        return self.connection.exec_driver_sql(
            f"SELECT count(*) FROM supplier_offers WHERE supplier_id = {self.mark}",
            (self.supplier_id,),
        ).scalar_one()

    def existing_products(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """Return the ids of the products among (brand id, MPN) pairs that already exist."""
        mpns_by_brand: dict[int, list[str]] = {}
        for brand_id, mpn in keys:
            mpns_by_brand.setdefault(brand_id, []).append(mpn)
        if not mpns_by_brand:
            return {}
        # One OR term per brand, each answered from the (brand_id, mpn) unique index; matching
        # on MPN alone would scan every product, once per chunk.
        terms, params = [], []
        for brand_id, mpns in mpns_by_brand.items():
            terms.append(f"(brand_id = {self.mark} AND mpn IN ({self._marks(len(mpns))}))")
            params.append(brand_id)
            params.extend(mpns)
        found = self.connection.exec_driver_sql(
            f"SELECT id, brand_id, mpn FROM products WHERE {' OR '.join(terms)}", tuple(params)
        )
        return {(brand_id, mpn): product_id for product_id, brand_id, mpn in found.fetchall()}

    def insert_products(self, rows: list[tuple]) -> dict[tuple[int, str], int]:
        """Insert products; return their new ids by (brand id, MPN).

        Multi-row INSERT ... RETURNING, a few hundred rows a statement: the rows come back
        keyed, so their order does not matter, and no second look-up is needed.
        """
        created: dict[tuple[int, str], int] = {}
        for start in range(0, len(rows), _INSERT_ROWS):
            batch = rows[start : start + _INSERT_ROWS]
            sql = self._insert_sql.get(len(batch))
            if sql is None:
                row = f"({self._marks(len(_PRODUCT_COLUMNS))})"
                sql = self._insert_sql[len(batch)] = (
                    f"INSERT INTO products ({', '.join(_PRODUCT_COLUMNS)}) "
                    f"VALUES {', '.join([row] * len(batch))} RETURNING id, brand_id, mpn"
                )
            result = self.connection.exec_driver_sql(sql, tuple(chain.from_iterable(batch)))
            for product_id, brand_id, mpn in result.fetchall():
                created[(brand_id, mpn)] = product_id
        return created

    def upsert_offers(self, rows: list[tuple]) -> None:
        if rows:
            self.connection.exec_driver_sql(self.upsert_sql, rows)


def _write_chunk(
    chunk: list[FeedRow],
    resolver: _Resolver,
    writer: _BulkWriter,
    summary: ImportSummary,
) -> int:
    """Write one chunk of valid rows; return how many offers were written."""
    product_time, offer_time = writer.stamp()
    brand_id = resolver.brand_id
    keyed = [(row, brand_id(row.brand)) for row in chunk]
    existing = writer.existing_products({(brand, row.mpn) for row, brand in keyed})
    new_products: dict[tuple[int, str], tuple] = {}
    usable: list[tuple[FeedRow, tuple[int, str]]] = []
    for row, brand in keyed:
        key = (brand, row.mpn)
        if key not in existing and key not in new_products:
            try:
                category_id = resolver.category_id(row.category)
            except ValueError as error:
                summary.skip(row.line, str(error))
                continue
            new_products[key] = (
                brand,
                row.mpn,
                row.name,
                row.description,
                category_id,
                writer.physical,
                writer.not_obsolete,
                0,
                product_time,
                product_time,
            )
        usable.append((row, key))
    if new_products:
        existing.update(writer.insert_products(list(new_products.values())))
        summary.products_created += len(new_products)

    cost, available = writer.cost, writer.available
    supplier_id, run_id = writer.supplier_id, writer.run_id
    offers = [
        (
            supplier_id,
            existing[key],
            row.sku,
            cost(row.cost),
            row.stock,
            row.eta_days,
            available,
            offer_time,
            run_id,
        )
        for row, key in usable
    ]
    writer.upsert_offers(offers)
    summary.touch(offer[1] for offer in offers)
    return len(offers)


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
    summary.touch(product_ids)


ProgressCallback = Callable[[int], None]
# SQLite's default page cache is 2 MB: a million rows inserted into name-ordered indexes
# then miss it on almost every row (68 s against 21 s for the same inserts measured here).
_IMPORT_SQLITE_CACHE_KIB = 128 * 1024


@contextmanager
def _big_sqlite_cache(connection):
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{_IMPORT_SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def run_import(
    run: FeedImport, path: Path, progress: ProgressCallback | None = None
) -> ImportSummary:
    """Import one feed file for `run.supplier`; the caller commits or rolls back."""
    supplier = run.supplier
    feed = FeedFormat.from_json(supplier.feed_format)
    summary = ImportSummary()
    resolver = _Resolver(supplier)
    writer = _BulkWriter(supplier, run)
    offers_before = writer.offer_count()
    written = 0
    chunk: list[FeedRow] = []
    reported = 0
    with _big_sqlite_cache(writer.connection):
        for row in parse_rows(path, feed, summary):
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                written += _write_chunk(chunk, resolver, writer, summary)
                chunk.clear()
                if progress:
                    progress(summary.rows_read - reported)
                    reported = summary.rows_read
        if chunk:
            written += _write_chunk(chunk, resolver, writer, summary)
        if progress:
            progress(summary.rows_read - reported)
        # A feed lists each SKU once, so the offers it created are the supplier's new count
        # less the old one: two counts instead of a look-up per chunk.
        summary.offers_created = writer.offer_count() - offers_before
        summary.offers_updated = written - summary.offers_created
        # When every offer the supplier had was listed again there is nothing to withdraw,
        # and no need to scan its offers for the ones this run did not list.
        if feed.full_feed and summary.offers_updated < offers_before:
            _withdraw_unlisted(supplier, run, summary)
        refresh_product_aggregates(
            None if summary.touched_all else sorted(summary.touched_products)
        )
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
