"""Supplier price-and-stock feeds: read a CSV in the supplier's format and upsert offers.

One import is one transaction: a bad row is skipped and reported with the line of the file
it starts on, the good rows are written, and if anything unexpected stops the run nothing of
it is kept. A full feed that would withdraw more than `max_withdrawn_percent` of the
supplier's live offers, or whose bad rows are more than `max_bad_rows_percent` of its rows,
is held instead: nothing changes until someone confirms it (`confirm`), which runs it again
with `override_limits`.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path

from flask import current_app
from slugify import slugify
from sqlalchemy import func, insert, select, update

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
_KEYS_TABLE = "feed_import_keys"
MAX_PROBLEMS_KEPT = 1000
MAX_COST = Decimal("9999999999")
REQUIRED = ("sku", "mpn", "brand", "name", "cost")
OPTIONAL = ("category", "stock", "eta_days", "description", "image_url")
# The order _validate reads a row's fields in.
_FIELDS = (
    "sku", "mpn", "brand", "name", "category", "cost", "stock", "eta_days", "description",
    "image_url",
)  # fmt: skip
_COST_PLACES = Decimal("0.0001")


class FeedError(Exception):
    """The feed as a whole cannot be read (wrong columns, wrong encoding, ...)."""


class FeedHeld(Exception):
    """A full feed would destroy data: the run keeps nothing and waits for a confirmation."""

    def __init__(self, reasons: list[str], summary: ImportSummary):
        super().__init__("; ".join(reasons))
        self.summary = summary


@dataclass(frozen=True)
class FeedFormat:
    """How one supplier writes its feed; stored as JSON on the supplier."""

    columns: dict[str, str]
    delimiter: str = ","
    decimal_separator: str = "."
    thousands_separator: str = ""
    encoding: str = "utf-8-sig"
    full_feed: bool = True
    # Limits past which a full feed is held for confirmation instead of imported.
    max_withdrawn_percent: int = 20
    max_bad_rows_percent: int = 2

    @classmethod
    def from_json(cls, data: dict | None) -> FeedFormat:
        data = dict(data or {})
        columns = {name: name for name in REQUIRED + OPTIONAL}
        columns.update(data.pop("columns", {}) or {})
        known = {
            "delimiter",
            "decimal_separator",
            "thousands_separator",
            "encoding",
            "full_feed",
            "max_withdrawn_percent",
            "max_bad_rows_percent",
        }
        unknown = set(data) - known
        if unknown:
            raise FeedError(f"unknown feed format setting(s): {', '.join(sorted(unknown))}")
        feed = cls(columns=columns, **data)
        if len(feed.delimiter) != 1:
            raise FeedError("the delimiter must be a single character")
        if feed.decimal_separator == feed.thousands_separator:
            raise FeedError("decimal and thousands separators must differ")
        for name in ("max_withdrawn_percent", "max_bad_rows_percent"):
            value = getattr(feed, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise FeedError(f"{name} must be a whole number from 0 to 100")
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
    image_url: str


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
    # No separators: "1,5" is not fifteen.
    cleaned = text.strip() if text else ""
    if not (cleaned.lstrip("-").isascii() and cleaned.lstrip("-").isdigit()):
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
    with handle, closing(_RawLines(path, feed)) as raw_lines:
        # A plain reader with column positions: csv.DictReader builds a dict per row, which
        # was a third of the parse time of a million-row feed.
        reader = csv.reader(handle, delimiter=feed.delimiter, strict=True)
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
        # As with DictReader, a column named twice is read from its last position; a column
        # the feed lacks reads as the empty string kept one past the header's width.
        width = len(header)
        position = {column: index for index, column in enumerate(header)}
        fields = itemgetter(*(position.get(feed.columns[name], width) for name in _FIELDS))
        padding = [""] * (width + 1)
        seen_skus: dict[str, int] = {}
        raw_lines.header = header
        # Lines of the file: a record starts on the line after the previous one ended, so a
        # quoted newline moves every later line number on by one. `base` is the lines read by
        # earlier readers (a stray quote restarts the reader after its line).
        base = 0
        ended = reader.line_num
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as error:
                raise FeedError(
                    f"line {base + ended + 1}: the file is not {feed.encoding} text "
                    f"({error.reason})"
                ) from None
            except csv.Error as error:
                raw = None
                problem = f"unreadable row: {error}"
            else:
                problem = None
            line = base + ended + 1
            ended = reader.line_num
            if raw == []:
                continue
            summary.rows_read += 1
            if problem or ended > line - base or '"' in "".join(raw):
                # Unreadable, spanning lines or holding a quote: check the text as written,
                # where a stray quote shows (csv reads one into the field, or runs on past it).
                stray = raw_lines.explain(line, base + ended)
                if stray and base + ended > line:
                    # Read again from the line after the stray quote's.
                    rest = raw_lines.after(line, base + ended)
                    base = line
                    reader = csv.reader(chain(rest, handle), delimiter=feed.delimiter, strict=True)
                    ended = 0
                if stray or problem:
                    summary.skip(line, stray or problem)
                    continue
            if len(raw) > width:
                summary.skip(line, _too_many_fields(len(raw), width, feed))
                continue
            raw.extend(padding[len(raw) :])
            try:
                row = _validate(line, [value.strip() for value in fields(raw)], feed)
            except ValueError as error:
                summary.skip(line, str(error))
                continue
            first = seen_skus.setdefault(row.sku, line)
            if first != line:
                summary.skip(line, f"SKU {row.sku!r} already appeared on line {first}")
                continue
            yield row


def _too_many_fields(count: int, width: int, feed: FeedFormat) -> str:
    reason = f"{count} fields where the header has {width}"
    if feed.delimiter in (feed.decimal_separator, feed.thousands_separator, ","):
        name = {",": "a decimal comma", ".": "a decimal point"}.get(feed.delimiter, "a number")
        reason += f": a value with a {feed.delimiter!r} in it ({name}?) must be quoted"
    return reason


class _RawLines:
    """The feed's lines as written, read on demand by a second handle moving forward only."""

    def __init__(self, path: Path, feed: FeedFormat):
        self._path = path
        self._feed = feed
        self.header: list[str] = []
        self._handle = None
        self._next_line = 1
        self._last: tuple[int, int, list[str]] = (0, 0, [])
        d = re.escape(feed.delimiter)
        self._quoted = re.compile(rf'"(?:[^"]|"")*"(?={d}|\r?\n|$)')
        self._plain = re.compile(rf'[^"{d}\r\n]*(?={d}|\r?\n|$)')

    def lines(self, first: int, last: int) -> list[str]:
        if self._last[:2] == (first, last):
            return self._last[2]
        if self._handle is None or first < self._next_line:
            self.close()
            self._handle = open(self._path, newline="", encoding=self._feed.encoding)  # noqa: SIM115
            self._next_line = 1
        taken = list(islice(self._handle, first - self._next_line, last - self._next_line + 1))
        self._next_line = last + 1
        self._last = (first, last, taken)
        return taken

    def after(self, line: int, last: int) -> list[str]:
        """The lines after `line` up to `last`, which a stray quote had run together."""
        return self.lines(line, last)[1:]

    def explain(self, line: int, last: int) -> str | None:
        """Say where the record of lines `line`..`last` has a stray quote, if it has one."""
        text = "".join(self.lines(line, last))
        delimiter = self._feed.delimiter
        position, column = 0, 1
        while True:
            match = self._quoted.match(text, position) or self._plain.match(text, position)
            if match is None:
                return self._stray(text, position, column, line, last)
            position = match.end()
            if position >= len(text) or text[position] in "\r\n":
                return None
            position += len(delimiter)
            column += 1

    def _stray(self, text: str, position: int, column: int, line: int, last: int) -> str:
        name = self.header[column - 1] if column <= len(self.header) else "beyond the header"
        where = f"stray quote character in column {column} ({name})"
        end = text.find(self._feed.delimiter, position)
        newline = text.find("\n", position)
        if text.startswith('"', position) and last > line:
            return (
                f"{where}: its quote is not closed on this line, so the lines after it ran "
                "together; quote the whole field and double the quotes inside it"
            )
        value = text[position : min(i for i in (end, newline, len(text)) if i >= 0)].strip()
        quoted = '"' + value.replace('"', '""') + '"'
        return f"{where}: quote the whole field and double the quotes inside it ({quoted})"

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _whole(text: str, label: str, maximum: int) -> int:
    if text.isascii() and text.isdigit():  # the usual case, without _int's clean-up
        value = int(text)
        if value <= maximum:
            return value
    return _int(text, label, maximum=maximum)


def _validate(line: int, value: list[str], feed: FeedFormat) -> FeedRow:
    """Check one row's stripped fields (in _FIELDS order) and convert them."""
    sku, mpn, brand, name, category, cost_text, stock, eta_days, description, image_url = value
    if not image_url.startswith("https://") or len(image_url) > 1000:
        # Pages load pictures over https only (the Content-Security-Policy): another address
        # leaves the product on its placeholder rather than refusing the row.
        image_url = ""
    for field_name, text in (
        ("sku", sku),
        ("mpn", mpn),
        ("brand", brand),
        ("name", name),
        ("cost", cost_text),
    ):
        if not text:
            raise ValueError(f"{field_name} is empty")
    for field_name, text, limit in (
        ("sku", sku, 100),
        ("mpn", mpn, 100),
        ("brand", brand, 100),
        ("name", name, 300),
    ):
        if len(text) > limit:
            raise ValueError(f"{field_name} is longer than {limit} characters")
    try:
        cost = parse_decimal(
            cost_text,
            decimal_sep=feed.decimal_separator,
            thousands_sep=feed.thousands_separator,
        )
    except ValueError as error:
        raise ValueError(f"cost: {_number_problem(cost_text, feed) or error}") from None
    if cost <= 0:
        raise ValueError(f"cost must be more than zero, not {cost_text}")
    if cost > MAX_COST:
        raise ValueError(f"cost {cost_text} is too large")
    return FeedRow(
        line,
        sku,
        mpn,
        brand,
        name,
        category,
        cost.quantize(_COST_PLACES),
        _whole(stock, "stock", 10_000_000) if stock else 0,
        _whole(eta_days, "eta_days", 3650) if eta_days else None,
        description[:5000],
        image_url,
    )


def _number_problem(text: str, feed: FeedFormat) -> str | None:
    """Name a separator the feed's format does not use, the usual reason a cost is unreadable."""
    for mark in ",.":
        if mark in text and mark not in (feed.decimal_separator, feed.thousands_separator):
            thousands = (
                f"its thousands separator is {feed.thousands_separator!r}"
                if feed.thousands_separator
                else "it has no thousands separator"
            )
            return (
                f"{text!r} has a {mark!r} but this feed's decimal separator is "
                f"{feed.decimal_separator!r} and {thousands}"
            )
    return None


class _Resolver:
    """Maps feed brand and category names onto our rows, creating brands as needed."""

    def __init__(self, supplier: Supplier):
        self.supplier = supplier
        self._brand_by_text: dict[str, int] = {}
        self._category_by_text: dict[str, int] = {}
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
        found = self._category_by_text.get(name)
        if found is None:
            found = self._category_by_text[name] = self._category_id(name)
        return found

    def _category_id(self, name: str) -> int:
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
        # Feeds spell a brand the same way on almost every row: remember the exact text.
        found = self._brand_by_text.get(name)
        if found is None:
            found = self._brand_by_text[name] = self._brand_id(name)
        return found

    def _brand_id(self, name: str) -> int:
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
    "image_url",
    "category_id",
    "best_cost",
    "total_stock",
    "min_eta_days",
    "product_type",
    "obsolete",
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
    """Driver-level SQL for the statements run once per feed row (SQLite: executemany).

    At a million rows SQLAlchemy's per-row parameter handling cost more than the database's
    own work, so rows go to the DBAPI as tuples. Values still pass through each column type's
    bind processor, so they are stored exactly as the ORM stores them.
    """

    @staticmethod
    def open(supplier: Supplier, run: FeedImport) -> _BulkWriter:
        dialect = db.session.get_bind().dialect.name
        return (_PostgresBulkWriter if dialect == "postgresql" else _BulkWriter)(supplier, run)

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
        self.insert_sql = (
            f"INSERT INTO products ({', '.join(_PRODUCT_COLUMNS)}) "
            f"VALUES ({self._marks(len(_PRODUCT_COLUMNS))})"
        )
        self.cost = bind(offers.c.cost)
        self.best_cost = bind(products.c.best_cost)
        self.physical = bind(products.c.product_type, ProductType.PHYSICAL)
        self.not_obsolete = bind(products.c.obsolete, False)
        self.available = bind(offers.c.available, True)
        self.supplier_id = supplier.id
        self.run_id = run.id
        self._keys_table = False
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
        # The keys go through a temporary table joined on the (brand_id, mpn) unique index:
        # three statements of fixed text. An OR of IN-lists was as fast, but each chunk's
        # statement was new and SQLite's statement cache kept ~1 MB of every one.
        if not self._keys_table:
            # IF NOT EXISTS: a run rolled back (held or failed) may roll back its DROP too.
            self.connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {_KEYS_TABLE} "
                "(brand_id INTEGER NOT NULL, mpn VARCHAR(100) NOT NULL)"
            )
            self._keys_table = True
        self.connection.exec_driver_sql(f"DELETE FROM {_KEYS_TABLE}")
        rows = list(keys)
        if not rows:
            return {}
        self.connection.exec_driver_sql(
            f"INSERT INTO {_KEYS_TABLE} (brand_id, mpn) VALUES ({self.mark}, {self.mark})", rows
        )
        found = self.connection.exec_driver_sql(
            f"SELECT p.id, p.brand_id, p.mpn FROM {_KEYS_TABLE} k JOIN products p "
            "ON p.brand_id = k.brand_id AND p.mpn = k.mpn"
        )
        return {(brand_id, mpn): product_id for product_id, brand_id, mpn in found.fetchall()}

    def close(self) -> None:
        if self._keys_table:
            self.connection.exec_driver_sql(f"DROP TABLE {_KEYS_TABLE}")
            self._keys_table = False

    def insert_products(self, rows: list[tuple]) -> dict[tuple[int, str], int]:
        """Insert products; return their new ids by (brand id, MPN)."""
        # New ids are all above the highest id before the insert, on both databases (a
        # SQLite rowid is max + 1, a PostgreSQL sequence only grows), so one range scan of
        # the primary key finds them: cheaper than a second look-up by (brand, MPN), and a
        # plain executemany beat multi-row INSERT ... RETURNING by half on SQLite.
        before = self.connection.exec_driver_sql("SELECT max(id) FROM products").scalar()
        self.connection.exec_driver_sql(self.insert_sql, rows)
        wanted = {(row[0], row[1]) for row in rows}
        found = self.connection.exec_driver_sql(
            f"SELECT id, brand_id, mpn FROM products WHERE id > {self.mark}", (before or 0,)
        )
        return {
            (brand_id, mpn): product_id
            for product_id, brand_id, mpn in found.fetchall()
            if (brand_id, mpn) in wanted
        }

    def upsert_offers(self, rows: list[tuple]) -> None:
        if rows:
            self.connection.exec_driver_sql(self.upsert_sql, rows)


class _PostgresBulkWriter(_BulkWriter):
    """PostgreSQL: one statement per chunk, the rows passed as arrays and unnested.

    An executemany is one statement per row there, each a round trip's worth of work: the
    first million-row import took about twenty minutes that way.
    """

    def existing_products(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
        brand_ids, mpns = _columns(list(keys), 2)
        if not brand_ids:
            return {}
        found = self.connection.exec_driver_sql(
            "SELECT p.id, p.brand_id, p.mpn FROM products p "
            "JOIN unnest(%s::integer[], %s::text[]) AS k(brand_id, mpn) "
            "ON p.brand_id = k.brand_id AND p.mpn = k.mpn",
            (brand_ids, mpns),
        )
        return {(brand_id, mpn): product_id for product_id, brand_id, mpn in found.fetchall()}

    def insert_products(self, rows: list[tuple]) -> dict[tuple[int, str], int]:
        columns = _columns(rows, 9)
        # The rest is the same for every row of a chunk (see _write_chunk).
        product_type, obsolete, created_at, updated_at = rows[0][9:]
        found = self.connection.exec_driver_sql(
            f"INSERT INTO products ({', '.join(_PRODUCT_COLUMNS)}) "
            "SELECT b, m, n, d, i, c, p, q, e, %s, %s, %s, %s FROM unnest(%s::integer[], "
            "%s::text[], %s::text[], %s::text[], %s::text[], %s::integer[], %s::numeric[], "
            "%s::integer[], %s::integer[]) "
            "AS r(b, m, n, d, i, c, p, q, e) RETURNING id, brand_id, mpn",
            (product_type, obsolete, created_at, updated_at, *columns),
        )
        return {(brand_id, mpn): product_id for product_id, brand_id, mpn in found.fetchall()}

    def upsert_offers(self, rows: list[tuple]) -> None:
        if not rows:
            return
        _, product_ids, skus, costs, stocks, etas, _, _, _ = _columns(rows, 9)
        supplier_id, _, _, _, _, _, available, updated_at, run_id = rows[0]
        self.connection.exec_driver_sql(
            f"INSERT INTO supplier_offers ({', '.join(_OFFER_COLUMNS)}) "
            "SELECT %s, p, s, c, q, e, %s, %s, %s FROM unnest("
            "%s::integer[], %s::text[], %s::numeric[], %s::integer[], %s::integer[]) "
            "AS r(p, s, c, q, e) "
            "ON CONFLICT (supplier_id, supplier_sku) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in _OFFER_UPDATED)
            + ", last_import_id = excluded.last_import_id",
            (supplier_id, available, updated_at, run_id, product_ids, skus, costs, stocks, etas),
        )


def _columns(rows: list[tuple], width: int) -> list[list]:
    """Rows to columns (the first `width` of them)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)][:width]


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
                brand, row.mpn, row.name, row.description, row.image_url, category_id
            )  # fmt: skip
        usable.append((row, key))
    if new_products:
        # New products are written with their aggregates over this chunk's offers, so the
        # refresh at the end of the import finds nothing to change in them: rewriting a
        # million fresh rows cost seconds (PostgreSQL: a new version in every index).
        offers_of: dict[tuple[int, str], list[FeedRow]] = {}
        for row, key in usable:
            if key in new_products:
                offers_of.setdefault(key, []).append(row)
        rows = []
        for key, product in new_products.items():
            best_cost, total_stock, eta_days = _offer_totals(offers_of[key])
            rows.append(
                (
                    *product,
                    writer.best_cost(best_cost),
                    total_stock,
                    eta_days,
                    writer.physical,
                    writer.not_obsolete,
                    product_time,
                    product_time,
                )
            )
        existing.update(writer.insert_products(rows))
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


def _offer_totals(rows: list[FeedRow]) -> tuple[Decimal, int, int | None]:
    """Best cost, total stock and ETA of live offers: refresh_product_aggregates's rule."""
    best_cost = min(row.cost for row in rows)
    total_stock = sum(row.stock for row in rows)
    stocked = [row.eta_days for row in rows if row.stock > 0 and row.eta_days is not None]
    any_eta = [row.eta_days for row in rows if row.eta_days is not None]
    return best_cost, total_stock, min(stocked or any_eta, default=None)


def _live_offers(supplier: Supplier) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(SupplierOffer)
        .where(SupplierOffer.supplier_id == supplier.id, SupplierOffer.available.is_(True))
    )


def _percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.0f}%" if whole else "0%"


def _check_limits(
    feed: FeedFormat, summary: ImportSummary, live_before: int, withdrawing: int
) -> None:
    """Hold a full feed that would withdraw, or skip, more than its format allows."""
    reasons = []
    if live_before and withdrawing * 100 > feed.max_withdrawn_percent * live_before:
        reasons.append(
            f"this full feed would withdraw {withdrawing:,} of {live_before:,} offers "
            f"({_percent(withdrawing, live_before)}), more than the "
            f"{feed.max_withdrawn_percent}% allowed"
        )
    if summary.rows_skipped * 100 > feed.max_bad_rows_percent * summary.rows_read:
        reasons.append(
            f"{summary.rows_skipped:,} of {summary.rows_read:,} rows "
            f"({_percent(summary.rows_skipped, summary.rows_read)}) could not be read, more "
            f"than the {feed.max_bad_rows_percent}% allowed"
        )
    if reasons:
        raise FeedHeld(reasons, summary)


def _withdraw_unlisted(
    supplier: Supplier, run: FeedImport, summary: ImportSummary, check: Callable[[int], None]
) -> None:
    unlisted = (
        SupplierOffer.supplier_id == supplier.id,
        SupplierOffer.available.is_(True),
        (SupplierOffer.last_import_id != run.id) | SupplierOffer.last_import_id.is_(None),
    )
    product_ids = set(db.session.scalars(select(SupplierOffer.product_id).where(*unlisted)))
    check(len(product_ids))
    if not product_ids:
        return
    result = db.session.execute(
        update(SupplierOffer).where(*unlisted).values(available=False, stock=0),
        execution_options={"synchronize_session": False},
    )
    summary.offers_withdrawn += result.rowcount
    summary.touch(product_ids)


ProgressCallback = Callable[[int], None]
# The category and brand listings' name-ordered indexes. Into an empty catalog, inserting a
# million rows one by one into them costs more than building them once at the end (a sort).
_LISTING_INDEXES = ("ix_products_category_listing", "ix_products_brand_listing")


@contextmanager
def _listing_indexes_built_after(connection):
    """On the first import into an empty catalog, build the listing indexes after the rows.

    Only then: dropping an index on a table others read would block them on PostgreSQL for
    the whole import, and an empty catalog has no listing to serve. The DROP and CREATE are in
    the import's transaction, so a failed import rolls them back with its rows.
    """
    empty = connection.exec_driver_sql("SELECT NOT EXISTS (SELECT 1 FROM products)").scalar()
    indexes = [i for i in Product.__table__.indexes if i.name in _LISTING_INDEXES]
    if not empty:
        yield
        return
    driver = connection.connection.driver_connection
    if connection.dialect.name == "sqlite" and not driver.in_transaction:
        # pysqlite (legacy transaction mode) opens a transaction only before a DML statement;
        # DDL ahead of any write would be committed at once and outlive a rollback.
        connection.exec_driver_sql("BEGIN")
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


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
    writer = _BulkWriter.open(supplier, run)
    offers_before = writer.offer_count()
    live_before = _live_offers(supplier)
    limits = feed.full_feed and not run.override_limits
    written = 0
    chunk: list[FeedRow] = []
    reported = 0
    with _big_sqlite_cache(writer.connection), _listing_indexes_built_after(writer.connection):
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
        writer.close()

        def check(withdrawing: int) -> None:
            if limits:
                _check_limits(feed, summary, live_before, withdrawing)

        # When every offer the supplier had was listed again there is nothing to withdraw,
        # and no need to scan its offers for the ones this run did not list.
        if feed.full_feed and summary.offers_updated < offers_before:
            _withdraw_unlisted(supplier, run, summary, check)
        else:
            check(0)
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
    """Record an uploaded feed and run it on the imports queue after commit.

    The file goes into the database with the run, so a worker on another machine reads it.
    """
    run = create_run(supplier, upload_path, filename, actor_id)
    run.content = Path(upload_path).read_bytes()
    jobs.enqueue_after_commit(
        "workers.jobs.import_feed", run.id, queue="imports", job_id=f"feed-import-{run.id}"
    )
    return run


def progress_key(run_id: int) -> str:
    return f"feed-import:{run_id}:progress"


def execute(run_id: int, progress: ProgressCallback | None = None) -> FeedImport:
    """Run a recorded import to the end, committing its result either way."""
    run = db.session.get(FeedImport, run_id)
    if run is None or run.status is not ImportStatus.QUEUED:
        return run
    run.status = ImportStatus.RUNNING
    run.started_at = utcnow()
    db.session.commit()
    with _feed_file(run) as path:
        return _execute(run, path, progress)


@contextmanager
def _feed_file(run: FeedImport):
    """The run's file: from the database when it was stored there, else the local path."""
    if run.content is None:
        yield Path(run.stored_path)
        return
    with tempfile.NamedTemporaryFile(prefix=f"feed-{run.id}-", suffix=".csv") as handle:
        handle.write(run.content)
        handle.flush()
        db.session.expire(run, ["content"])  # not kept in memory for the whole run
        yield Path(handle.name)


def _execute(run: FeedImport, path: Path, progress: ProgressCallback | None) -> FeedImport:
    run_id = run.id
    total = count_lines(path)
    redis = jobs.redis_conn()
    key = progress_key(run.id)
    redis.hset(key, mapping={"done": 0, "total": total})
    redis.expire(key, 24 * 3600)

    def report(rows: int) -> None:
        redis.hincrby(key, "done", rows)
        if progress:
            progress(rows)

    try:
        run_import(run, path, report)
        db.session.commit()
    except FeedError as error:
        db.session.rollback()
        _fail(run_id, str(error))
    except FeedHeld as held:
        db.session.rollback()
        _hold(run_id, held)
    except BaseException as error:
        db.session.rollback()
        _fail(run_id, f"the import stopped and nothing was kept: {type(error).__name__}: {error}")
        raise
    return db.session.get(FeedImport, run_id)


def _hold(run_id: int, held: FeedHeld) -> None:
    run = db.session.get(FeedImport, run_id)
    summary = held.summary
    run.status = ImportStatus.HELD
    run.error = f"Nothing was changed: {held}. Check the file, or confirm to import it anyway."
    run.rows_read = summary.rows_read
    run.rows_skipped = summary.rows_skipped
    run.problems = summary.problems
    run.products_created = run.offers_created = run.offers_updated = run.offers_withdrawn = 0
    run.finished_at = utcnow()
    db.session.commit()
    current_app.logger.warning("feed import %s held: %s", run_id, held)


def confirm(run: FeedImport, actor_id: int | None) -> FeedImport:
    """Queue a held import again, this time past its limits; the caller commits."""
    if run.status is not ImportStatus.HELD:
        raise FeedError(f"only a held import can be confirmed; this one is {run.status.label}")
    run.status = ImportStatus.QUEUED
    run.override_limits = True
    run.error = ""
    run.finished_at = None
    db.session.flush()
    current_app.logger.info("feed import %s confirmed by user %s", run.id, actor_id)
    jobs.enqueue_after_commit(
        "workers.jobs.import_feed",
        run.id,
        queue="imports",
        job_id=f"feed-import-{run.id}-confirmed",
    )
    return run


def _fail(run_id: int, message: str) -> None:
    run = db.session.get(FeedImport, run_id)
    run.status = ImportStatus.FAILED
    run.error = message
    run.finished_at = utcnow()
    db.session.commit()
    current_app.logger.warning("feed import %s failed: %s", run_id, message)
