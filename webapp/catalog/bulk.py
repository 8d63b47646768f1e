"""Upsert a supplier's offers (and the products they bring) from records, all or nothing.

The records are feed rows by another road (the REST API's bulk upsert): each is checked by
the feed import's own row validation and written by its own writer, so a record is refused
for exactly the reasons a CSV line would be. Unlike a feed, one bad record refuses them all
(nothing is written) and nothing unlisted is withdrawn: it is never a full feed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from webapp.catalog import feeds
from webapp.catalog.feed_parsing import FIELDS, FeedFormat, FeedRow, ImportSummary, validate_row
from webapp.catalog.feed_writing import Resolver
from webapp.catalog.models import FeedImport, ImportStatus, Supplier
from webapp.catalog.operations import refresh_product_aggregates
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
