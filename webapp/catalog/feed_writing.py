"""Writing parsed feed rows, chunk by chunk (SQLite): brands and categories resolved, new
products inserted with their aggregates, offers upserted by the supplier's SKU.

PostgreSQL takes the rows through a staging table instead (`feed_staging`); both use the
`Resolver` for brand and category names.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from slugify import slugify
from sqlalchemy import insert, select

from webapp.catalog.feed_parsing import FeedRow, ImportSummary
from webapp.catalog.models import (
    Brand,
    Category,
    FeedImport,
    Product,
    ProductType,
    Supplier,
    SupplierCategoryMap,
    SupplierOffer,
)
from webapp.extensions import db
from webapp.models_base import utcnow

_KEYS_TABLE = "feed_import_keys"


class Resolver:
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


PRODUCT_COLUMNS = (
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
OFFER_COLUMNS = (
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
OFFER_UPDATED = ("product_id", "cost", "stock", "eta_days", "available", "updated_at")


def _same(value):
    return value


def _bind(dialect, column, value=None):
    """A column type's bind processor (or the value it makes): what the ORM stores."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect) or _same
    return process if value is None else process(value)


class ProductInserter:
    """Products made from rows of PRODUCT_COLUMNS handed to the driver.

    A feed import's chunks (SQLite) and the REST API's bulk upsert (`bulk.create_products`)
    both insert through it, so a product is stored the same way whichever road it came by;
    PostgreSQL's feed imports insert the same columns from their staging table
    (`feed_staging`)."""

    def __init__(self, connection):
        self.connection = connection
        dialect = connection.dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        products = Product.__table__
        self.sql = (
            f"INSERT INTO products ({', '.join(PRODUCT_COLUMNS)}) "
            f"VALUES ({', '.join([self.mark] * len(PRODUCT_COLUMNS))})"
        )
        self.best_cost = _bind(dialect, products.c.best_cost)
        self.physical = _bind(dialect, products.c.product_type, ProductType.PHYSICAL)
        self.not_obsolete = _bind(dialect, products.c.obsolete, False)
        self.time = _bind(dialect, products.c.updated_at)

    def row(
        self, brand_id, mpn, name, description, image_url, category_id, best_cost, stock, eta,
        at,
    ) -> tuple:  # fmt: skip
        """One product's row; ``at`` is a timestamp already bound (``self.time(now)``)."""
        return (
            brand_id, mpn, name, description, image_url, category_id, self.best_cost(best_cost),
            stock, eta, self.physical, self.not_obsolete, at, at,
        )  # fmt: skip

    def insert(self, rows: list[tuple]) -> dict[tuple[int, str], int]:
        """Insert products; return their new ids by (brand id, MPN)."""
        # New ids are all above the highest id before the insert, on both databases (a
        # SQLite rowid is max + 1, a PostgreSQL sequence only grows), so one range scan of
        # the primary key finds them: cheaper than a second look-up by (brand, MPN), and a
        # plain executemany beat multi-row INSERT ... RETURNING by half on SQLite.
        before = self.connection.exec_driver_sql("SELECT max(id) FROM products").scalar()
        self.connection.exec_driver_sql(self.sql, rows)
        wanted = {(row[0], row[1]) for row in rows}
        found = self.connection.exec_driver_sql(
            f"SELECT id, brand_id, mpn FROM products WHERE id > {self.mark}", (before or 0,)
        )
        return {
            (brand_id, mpn): product_id
            for product_id, brand_id, mpn in found.fetchall()
            if (brand_id, mpn) in wanted
        }


class ChunkWriter:
    """SQLite: each chunk of rows is written as it is read, with driver-level executemany.

    At a million rows SQLAlchemy's per-row parameter handling cost more than the database's
    own work, so rows go to the DBAPI as tuples. Values still pass through each column type's
    bind processor, so they are stored exactly as the ORM stores them.
    """

    def __init__(self, supplier: Supplier, run: FeedImport, resolver: Resolver):
        self.resolver = resolver
        self.connection = db.session.connection()
        dialect = self.connection.dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        offers = SupplierOffer.__table__

        def bind(column, value=None):
            return _bind(dialect, column, value)

        self.upsert_sql = (
            f"INSERT INTO supplier_offers ({', '.join(OFFER_COLUMNS)}) "
            f"VALUES ({self._marks(len(OFFER_COLUMNS))}) "
            "ON CONFLICT (supplier_id, supplier_sku) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in OFFER_UPDATED)
            + ", last_import_id = excluded.last_import_id"
        )
        self.products = ProductInserter(self.connection)
        self.cost = bind(offers.c.cost)
        self.best_cost = self.products.best_cost
        self.physical = self.products.physical
        self.not_obsolete = self.products.not_obsolete
        self.available = bind(offers.c.available, True)
        self.supplier_id = supplier.id
        self.run_id = run.id
        self._keys_table = False
        # Set when the first import into an empty catalog dropped the offers' unique index.
        self.offers_table_empty = False
        self.step = lambda _text: None  # what the run does now (see feeds.run_import)
        self._product_time = self.products.time
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
        return self.products.insert(rows)

    def upsert_offers(self, rows: list[tuple]) -> None:
        if rows:
            self.connection.exec_driver_sql(self.upsert_sql, rows)

    def write(self, chunk: list[FeedRow], summary: ImportSummary) -> int:
        """Write one chunk of valid rows; return how many offers were written."""
        return _write_chunk(chunk, self.resolver, self, summary)

    def finish(self, summary: ImportSummary) -> int:
        """Every chunk is already written: nothing is left to merge."""
        return 0


def _write_chunk(
    chunk: list[FeedRow],
    resolver: Resolver,
    writer: ChunkWriter,
    summary: ImportSummary,
) -> int:
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
            best_cost, total_stock, eta_days = offer_totals(offers_of[key])
            rows.append(
                writer.products.row(*product, best_cost, total_stock, eta_days, product_time)
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


def offer_totals(rows: list[FeedRow]) -> tuple[Decimal, int, int | None]:
    """Best cost, total stock and ETA of live offers: refresh_product_aggregates's rule."""
    best_cost = min(row.cost for row in rows)
    total_stock = sum(row.stock for row in rows)
    stocked = [row.eta_days for row in rows if row.stock > 0 and row.eta_days is not None]
    any_eta = [row.eta_days for row in rows if row.eta_days is not None]
    return best_cost, total_stock, min(stocked or any_eta, default=None)
