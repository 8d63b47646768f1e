"""Supplier price-and-stock feeds: run an import of a CSV in the supplier's format.

One import is one transaction: a bad row is skipped and reported with the line of the file
it starts on, the good rows are written, and if anything unexpected stops the run nothing of
it is kept. A full feed that would withdraw more than `max_withdrawn_percent` of the
supplier's live offers, or whose bad rows are more than `max_bad_rows_percent` of its rows,
is held instead: nothing changes until someone confirms it (`confirm`), which runs it again
with `override_limits`.

The pieces: `feed_parsing` reads and validates rows (line-numbered problems), `feed_writing`
writes them chunk by chunk (SQLite), `feed_staging` COPies them into a staging table and
merges them in SQL (PostgreSQL); this module runs an import, applies the hold rules and
withdrawals, and schedules runs on the imports queue with their progress in Redis.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import Constraint, UniqueConstraint, func, select, update
from sqlalchemy.schema import AddConstraint, DropConstraint

from webapp import jobs
from webapp.catalog.feed_parsing import (
    OPTIONAL,
    REQUIRED,
    FeedError,
    FeedFormat,
    FeedHeld,
    FeedRow,
    ImportSummary,
    parse_rows,
)
from webapp.catalog.feed_staging import StagingWriter
from webapp.catalog.feed_writing import ChunkWriter, Resolver
from webapp.catalog.models import FeedImport, ImportStatus, Product, Supplier, SupplierOffer
from webapp.catalog.operations import refresh_product_aggregates
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.statemachine import StateMachine, Transition

_Q, _R = ImportStatus.QUEUED, ImportStatus.RUNNING
# Every status change of a feed import is one of these steps (``IMPORT.fire``). A run read
# in-process (the demo seed) goes from queued to its outcome without a worker's "start".
IMPORT = StateMachine(
    "feed import",
    ImportStatus,
    [
        Transition("start", frozenset({_Q}), ImportStatus.RUNNING),
        Transition("succeed", frozenset({_Q, _R}), ImportStatus.SUCCEEDED),
        Transition("hold", frozenset({_Q, _R}), ImportStatus.HELD),  # past its limits
        Transition("fail", frozenset({_Q, _R}), ImportStatus.FAILED),
        Transition("confirm", frozenset({ImportStatus.HELD}), ImportStatus.QUEUED),
    ],
    initial=_Q,
)

__all__ = [
    "OPTIONAL",
    "REQUIRED",
    "FeedError",
    "FeedFormat",
    "FeedHeld",
    "ImportSummary",
    "confirm",
    "count_lines",
    "create_run",
    "execute",
    "parse_rows",
    "progress_key",
    "queue_import",
    "run_import",
]

CHUNK_ROWS = 5000


def open_writer(supplier: Supplier, run: FeedImport, resolver: Resolver) -> ChunkWriter:
    """The writer for this database: COPY into a staging table on PostgreSQL, chunks on SQLite.

    Used by the file import and by the API's bulk upsert (webapp.catalog.bulk)."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    return (StagingWriter if postgres else ChunkWriter)(supplier, run, resolver)


def _write_chunk(chunk: list[FeedRow], writer: ChunkWriter, summary: ImportSummary) -> int:
    """Hand one chunk of valid rows to the writer; return the offers written so far by it."""
    return writer.write(chunk, summary)


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
StepCallback = Callable[[str], None]


def _no_step(_text: str) -> None:
    pass


# The category and brand listings' name-ordered indexes. Into an empty catalog, inserting a
# million rows one by one into them costs more than building them once at the end (a sort).
_LISTING_INDEXES = ("ix_products_category_listing", "ix_products_brand_listing")
# PostgreSQL can also drop and re-add the unique constraints (SQLite cannot: they are part
# of the table's definition): the set-based merge does not need them, and the offers go in
# with a plain INSERT while the supplier_offers table is empty.
_OFFER_INDEXES = ("ix_supplier_offers_product",)


@contextmanager
def _indexes_built_after(connection, writer: ChunkWriter):
    """On the first feed import, build the catalog's indexes after the rows.

    Only then — no supplier offer exists yet, so the catalog holds at most the few products
    staff keyed in by hand (the demo's services): dropping an index takes a lock that holds
    every reader of the table for the whole import on PostgreSQL, acceptable only while there
    is no catalog to serve. Measured at 200,000 rows on PostgreSQL, the two name-ordered
    listing indexes were 8 of the 14 s of the products INSERT, the (brand, MPN) constraint 2.
    The DROP and CREATE are in the import's transaction, so a failed import rolls them back
    with its rows.
    """
    first = connection.exec_driver_sql("SELECT NOT EXISTS (SELECT 1 FROM supplier_offers)")
    if not first.scalar():
        yield
        return
    postgres = connection.dialect.name == "postgresql"
    indexes = [i for i in Product.__table__.indexes if i.name in _LISTING_INDEXES]
    constraints = []
    if postgres:
        indexes += [i for i in SupplierOffer.__table__.indexes if i.name in _OFFER_INDEXES]
        constraints += [
            _unique_constraint(Product),
            _unique_constraint(SupplierOffer),
            # Checked row by row, each offer's foreign key locks its product's row (a write
            # to every product); added back, it is checked by one join. Only this key: the
            # others' tables (brands, suppliers, feed_imports) are read while an import runs.
            next(iter(SupplierOffer.__table__.c.product_id.foreign_keys)).constraint,
        ]
        writer.offers_table_empty = True
    driver = connection.connection.driver_connection
    if not postgres and not driver.in_transaction:
        # pysqlite (legacy transaction mode) opens a transaction only before a DML statement;
        # DDL ahead of any write would be committed at once and outlive a rollback.
        connection.exec_driver_sql("BEGIN")
    for index in indexes:
        index.drop(connection)
    for constraint in constraints:
        connection.execute(DropConstraint(constraint))
    yield
    writer.step("Building the catalog's indexes")
    for constraint in constraints:
        connection.execute(AddConstraint(constraint))
    for index in indexes:
        index.create(connection)


def _unique_constraint(model) -> Constraint:
    (found,) = (c for c in model.__table__.constraints if isinstance(c, UniqueConstraint))
    return found


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
    run: FeedImport,
    path: Path,
    progress: ProgressCallback | None = None,
    step: StepCallback | None = None,
) -> ImportSummary:
    """Import one feed file for `run.supplier`; the caller commits or rolls back.

    `progress` is told how many more rows were read; `step` what the run does once the rows
    are all read (the PostgreSQL merge, withdrawals, totals, indexes take a while)."""
    step = step or _no_step
    supplier = run.supplier
    feed = FeedFormat.from_json(supplier.feed_format)
    summary = ImportSummary()
    writer = open_writer(supplier, run, Resolver(supplier))
    writer.step = step
    offers_before = writer.offer_count()
    live_before = _live_offers(supplier)
    limits = feed.full_feed and not run.override_limits
    written = 0
    chunk: list[FeedRow] = []
    reported = 0
    with _big_sqlite_cache(writer.connection), _indexes_built_after(writer.connection, writer):
        for row in parse_rows(path, feed, summary):
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                written += _write_chunk(chunk, writer, summary)
                chunk.clear()
                if progress:
                    progress(summary.rows_read - reported)
                    reported = summary.rows_read
        if chunk:
            written += _write_chunk(chunk, writer, summary)
        if progress:
            progress(summary.rows_read - reported)
        step("Writing products and offers")
        written += writer.finish(summary)
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
            step("Withdrawing the offers the feed no longer lists")
            _withdraw_unlisted(supplier, run, summary, check)
        else:
            check(0)
        step("Updating product totals")
        refresh_product_aggregates(
            None if summary.touched_all else sorted(summary.touched_products),
            # Withdrawn offers change their products' totals too (none on a first import).
            stale=None if summary.offers_withdrawn else summary.stale_totals,
        )
    run.rows_read = summary.rows_read
    run.products_created = summary.products_created
    run.offers_created = summary.offers_created
    run.offers_updated = summary.offers_updated
    run.offers_withdrawn = summary.offers_withdrawn
    run.rows_skipped = summary.rows_skipped
    run.problems = _by_line(summary.problems)
    IMPORT.fire(run, "succeed")
    run.finished_at = utcnow()
    return summary


def _by_line(problems: list[dict]) -> list[dict]:
    # Rows refused at the merge (PostgreSQL) are found after the rows refused while reading.
    return sorted(problems, key=lambda problem: problem["line"])


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
    if run is None or not IMPORT.can(run, "start"):
        return run
    IMPORT.fire(run, "start")
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

    def step(text: str) -> None:
        redis.hset(key, "step", text)

    try:
        run_import(run, path, report, step)
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
    IMPORT.fire(run, "hold")
    run.error = f"Nothing was changed: {held}. Check the file, or confirm to import it anyway."
    run.rows_read = summary.rows_read
    run.rows_skipped = summary.rows_skipped
    run.problems = _by_line(summary.problems)
    run.products_created = run.offers_created = run.offers_updated = run.offers_withdrawn = 0
    run.finished_at = utcnow()
    db.session.commit()
    current_app.logger.warning("feed import %s held: %s", run_id, held)


def confirm(run: FeedImport, actor_id: int | None) -> FeedImport:
    """Queue a held import again, this time past its limits; the caller commits."""
    if not IMPORT.can(run, "confirm"):
        raise FeedError(f"only a held import can be confirmed; this one is {run.status.label}")
    IMPORT.fire(run, "confirm")
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
    IMPORT.fire(run, "fail")
    run.error = message
    run.finished_at = utcnow()
    db.session.commit()
    current_app.logger.warning("feed import %s failed: %s", run_id, message)
