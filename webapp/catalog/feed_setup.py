"""Staff set-up of a supplier's feed: its format, its category mapping, and uploaded files."""

from __future__ import annotations

import codecs
import csv
import secrets
from pathlib import Path, PurePosixPath

from sqlalchemy import func, select

from webapp.catalog import feeds
from webapp.catalog.errors import CatalogError
from webapp.catalog.models import Category, SupplierCategoryMap
from webapp.extensions import db


def save_feed_format(supplier, settings: dict, actor):
    """Store how the supplier writes its feed, after checking FeedFormat accepts it."""
    try:
        feed = feeds.FeedFormat.from_json(settings)
    except (feeds.FeedError, TypeError) as error:
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
