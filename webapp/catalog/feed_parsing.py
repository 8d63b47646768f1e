"""Reading a supplier feed: its format, its rows, and the line-numbered reason for each bad one.

`parse_rows` yields the valid rows of a CSV in the supplier's format and records every invalid
one in the `ImportSummary` with the line of the file it starts on; nothing here writes to the
database (`feed_writing` and `feed_staging` do, `feeds` runs an import).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path

from webapp.catalog.operations import SET_BASED_FROM
from webapp.money import parse_decimal

MAX_PROBLEMS_KEPT = 1000
MAX_COST = Decimal("9999999999")
REQUIRED = ("sku", "mpn", "brand", "name", "cost")
OPTIONAL = ("category", "stock", "eta_days", "description", "image_url")
# The order validate_row reads a row's fields in.
FIELDS = (
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
    # With touched_all: when not None, only these products' totals can be out of date (the
    # others were created by this import with their totals); all are still reindexed.
    stale_totals: list[int] | None = None

    def touch(self, product_ids: Iterable[int]) -> None:
        if self.touched_all:
            return
        self.touched_products.update(product_ids)
        if len(self.touched_products) >= SET_BASED_FROM:
            self.touch_all()

    def touch_all(self) -> None:
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
        fields = itemgetter(*(position.get(feed.columns[name], width) for name in FIELDS))
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
                row = validate_row(line, [value.strip() for value in fields(raw)], feed)
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


NAME_MAX = 300
DESCRIPTION_MAX = 5000
IMAGE_URL_MAX = 1000


def product_name(name: str) -> str:
    """Check a product's name as a feed line's: raise ValueError saying what is wrong."""
    if not name:
        raise ValueError("name is empty")
    if len(name) > NAME_MAX:
        raise ValueError(f"name is longer than {NAME_MAX} characters")
    return name


def product_description(description: str) -> str:
    return description[:DESCRIPTION_MAX]


def product_image_url(image_url: str) -> str:
    """Pages load pictures over https only (the Content-Security-Policy): another address
    leaves the product on its placeholder rather than refusing the row."""
    if not image_url.startswith("https://") or len(image_url) > IMAGE_URL_MAX:
        return ""
    return image_url


def validate_row(line: int, value: list[str], feed: FeedFormat) -> FeedRow:
    """Check one row's stripped fields (in FIELDS order) and convert them."""
    sku, mpn, brand, name, category, cost_text, stock, eta_days, description, image_url = value
    for field_name, text in (("sku", sku), ("mpn", mpn), ("brand", brand)):
        if not text:
            raise ValueError(f"{field_name} is empty")
    name = product_name(name)
    if not cost_text:
        raise ValueError("cost is empty")
    for field_name, text, limit in (("sku", sku, 100), ("mpn", mpn, 100), ("brand", brand, 100)):
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
    # Costs are kept to 4 decimals: more are rounded, but one that rounds to nothing would be
    # an offer at $0 (100 laptops once ordered for nothing, issue 13).
    cost = cost.quantize(_COST_PLACES)
    if cost <= 0:
        raise ValueError(f"cost {cost_text} rounds to 0 at 4 decimal places")
    return FeedRow(
        line,
        sku,
        mpn,
        brand,
        name,
        category,
        cost,
        _whole(stock, "stock", 10_000_000) if stock else 0,
        _whole(eta_days, "eta_days", 3650) if eta_days else None,
        product_description(description),
        product_image_url(image_url),
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
