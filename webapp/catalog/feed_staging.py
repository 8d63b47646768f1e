"""PostgreSQL: a feed's valid rows are COPied into a staging table, then merged in SQL.

Row by row (or an array per chunk, unnested) the driver spent more time dumping parameters
than the server spent writing, and each chunk waited for the one before. Here each chunk of
parsed rows is streamed with COPY (the driver's C copy path), and once the file is read a few
set-based statements do the rest in the import's transaction:

1. rows of a product that is new and whose category maps to none of ours are skipped, with
   their line — unless an earlier row of the same product had a category (as the chunked
   path: the product is created from its first row that can create it);
2. the new products are inserted from their first row, with their aggregates over all their
   rows of the feed;
3. the offers are upserted by (supplier, SKU).

Validation, brand and category resolution stay in Python (`feed_parsing`, `Resolver`), so a
row is refused with the same message on either database.
"""

from __future__ import annotations

from webapp.catalog.feed_parsing import FeedRow, ImportSummary
from webapp.catalog.feed_writing import OFFER_COLUMNS, OFFER_UPDATED, PRODUCT_COLUMNS, ChunkWriter
from webapp.catalog.operations import SET_BASED_FROM

_STAGING = "feed_import_staging"
_STAGED = (
    "line", "sku", "mpn", "brand_id", "category_id", "category", "name", "description",
    "image_url", "cost", "stock", "eta_days",
)  # fmt: skip
# Hash joins and the DISTINCT ON sort of a million rows spill to disk at the default 4 MB.
_WORK_MEM = "256MB"
_NEW = "NOT EXISTS (SELECT 1 FROM products p WHERE p.brand_id = s.brand_id AND p.mpn = s.mpn)"


class StagingWriter(ChunkWriter):
    """Streams each chunk into a temporary table; `finish` merges it into the catalog."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.staged = 0
        self._driver = self.connection.connection.driver_connection
        self.connection.exec_driver_sql(f"SET LOCAL work_mem = '{_WORK_MEM}'")
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGING}")
        self.connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {_STAGING} (line integer NOT NULL, sku text NOT NULL, "
            "mpn text NOT NULL, brand_id integer NOT NULL, category_id integer, "
            "category text NOT NULL, name text NOT NULL, description text NOT NULL, "
            "image_url text NOT NULL, cost numeric(14, 4) NOT NULL, stock integer NOT NULL, "
            "eta_days integer) ON COMMIT DROP"
        )

    def write(self, chunk: list[FeedRow], summary: ImportSummary) -> int:
        """Stage one chunk; nothing is written to the catalog until `finish`."""
        resolver = self.resolver
        # Names first: a new brand is an INSERT, which cannot run while a COPY is open.
        brands = [resolver.brand_id(row.brand) for row in chunk]
        categories = [self._category_id(row.category) for row in chunk]
        with (
            self._driver.cursor() as cursor,
            cursor.copy(f"COPY {_STAGING} ({', '.join(_STAGED)}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            for row, brand_id, category_id in zip(chunk, brands, categories, strict=True):
                write_row(
                    (
                        row.line,
                        row.sku,
                        row.mpn,
                        brand_id,
                        category_id,
                        row.category,
                        row.name,
                        row.description,
                        row.image_url,
                        row.cost,
                        row.stock,
                        row.eta_days,
                    )  # fmt: skip
                )
        self.staged += len(chunk)
        return 0

    def _category_id(self, name: str) -> int | None:
        try:
            return self.resolver.category_id(name)
        except ValueError:
            return None  # only a problem if the row's product is new (see `finish`)

    def finish(self, summary: ImportSummary) -> int:
        """Merge the staged rows into products and offers; return the offers written."""
        if not self.staged:
            return 0
        execute = self.connection.exec_driver_sql
        execute(f"ANALYZE {_STAGING}")
        refused = execute(
            f"DELETE FROM {_STAGING} s WHERE s.category_id IS NULL AND {_NEW} "
            f"AND NOT EXISTS (SELECT 1 FROM {_STAGING} t WHERE t.brand_id = s.brand_id "
            "AND t.mpn = s.mpn AND t.category_id IS NOT NULL AND t.line < s.line) "
            "RETURNING s.line, s.category"
        ).fetchall()
        for line, category in refused:
            summary.skip(
                line,
                f"category {category!r} is not mapped to one of ours"
                if category
                else "category is empty and the product is new",
            )
        product_time, offer_time = self.stamp()
        # Into an empty offers table (a first import) only the products that exist already
        # can have totals to recompute afterwards: the new ones get theirs from their rows.
        existing = (
            execute("SELECT id FROM products").scalars().all() if self.offers_table_empty else None
        )
        # Each new product from its first row that has a category, with its aggregates over
        # all its rows (as refresh_product_aggregates computes them over live offers).
        created = execute(
            f"INSERT INTO products ({', '.join(PRODUCT_COLUMNS)}) "
            "SELECT f.brand_id, f.mpn, f.name, f.description, f.image_url, f.category_id, "
            "t.best_cost, t.total_stock, t.min_eta_days, %s, %s, %s, %s FROM ("
            "SELECT brand_id, mpn, min(line) FILTER (WHERE category_id IS NOT NULL) AS line, "
            "min(cost) AS best_cost, sum(stock) AS total_stock, "
            "coalesce(min(eta_days) FILTER (WHERE stock > 0), min(eta_days)) AS min_eta_days "
            f"FROM {_STAGING} s WHERE {_NEW} GROUP BY brand_id, mpn) t "
            f"JOIN {_STAGING} f ON f.line = t.line",
            (self.physical, self.not_obsolete, product_time, product_time),
        )
        summary.products_created += created.rowcount
        few = self.staged - len(refused) < SET_BASED_FROM
        upsert = (
            ""
            if self.offers_table_empty
            else " ON CONFLICT (supplier_id, supplier_sku) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in OFFER_UPDATED)
            + ", last_import_id = excluded.last_import_id"
        )
        offers = execute(
            f"INSERT INTO supplier_offers ({', '.join(OFFER_COLUMNS)}) "
            "SELECT %s, p.id, s.sku, s.cost, s.stock, s.eta_days, %s, %s, %s "
            f"FROM {_STAGING} s JOIN products p ON p.brand_id = s.brand_id AND p.mpn = s.mpn"
            + upsert
            + (" RETURNING product_id" if few else ""),
            (self.supplier_id, self.available, offer_time, self.run_id),
        )
        if not few:
            summary.touch_all()
            summary.stale_totals = existing
            return offers.rowcount
        product_ids = offers.scalars().all()
        summary.touch(product_ids)
        return len(product_ids)

    def close(self) -> None:
        super().close()
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGING}")
