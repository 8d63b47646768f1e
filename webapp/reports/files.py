"""The cells and the file of an export: CSV (RFC 4180) and MYOB's tab-delimited records."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app

from webapp.csvsafe import Figure, csv_row, safe_cell
from webapp.money import round_money

# --- cell formatting ------------------------------------------------------------------------


def money(amount: Decimal | None) -> str:
    """Two decimals, no symbol, no thousands separator, leading minus (what importers read)."""
    if amount is None:
        return ""
    return Figure(f"{round_money(Decimal(amount)):.2f}")


def unit_amount(amount: Decimal | None) -> str:
    """A unit price or cost: two decimals, or up to four when the cost has them (12.3456)."""
    if amount is None:
        return ""
    value = Decimal(amount).quantize(Decimal("0.0001"))
    if value == value.quantize(Decimal("0.01")):
        return Figure(f"{value:.2f}")
    return Figure(f"{value.normalize():f}")


def percent(value: Decimal | None) -> str:
    """A percentage as computed (22.5, -3.1): a number, so a negative margin is not text."""
    return "" if value is None else Figure(f"{value}")


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return Figure(str(value))
    return safe_cell(value if isinstance(value, str) else str(value))


def myob_text(value: object) -> str:
    """A field of a tab-delimited MYOB record: no tabs or line breaks inside it, and text
    guarded like a CSV cell (people open these files in spreadsheets too)."""
    if value is None:
        return ""
    if isinstance(value, Figure | int):
        return str(value)
    return safe_cell(" ".join(str(value).replace("\t", " ").splitlines()).strip())


def myob_date(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date()
    return day.strftime(current_app.config.get("MYOB_DATE_FORMAT", "%d/%m/%Y"))


# --- the file and its writer ----------------------------------------------------------------


@dataclass
class ExportFile:
    """An export ready to write: a header, then one rendered chunk per record."""

    filename: str
    content_type: str
    header: str
    records: Sequence[Any]
    render: Callable[[Any], str]

    def chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[str]:
        yield self.header
        for record in self.records:
            yield self.render(record)
            if progress is not None:
                progress(1)

    def text(self) -> str:
        return "".join(self.chunks())

    def data(self) -> bytes:
        return self.text().encode("utf-8")


def _csv_line(cells: Sequence[object]) -> str:
    return csv_row(csv_cell(cell) for cell in cells)


def csv_file(filename: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> ExportFile:
    return ExportFile(filename, "text/csv; charset=utf-8", _csv_line(columns), rows, _csv_line)


def _myob_record(fields: Sequence[str], values: Mapping[str, object]) -> str:
    unknown = set(values) - set(fields)
    if unknown:  # a misspelt field would silently vanish from the file
        raise KeyError(f"not MYOB fields: {sorted(unknown)}")
    return "\t".join(myob_text(values.get(name, "")) for name in fields) + "\r\n"


def myob_file(
    filename: str,
    fields: Sequence[str],
    transactions: Sequence[Any],
    lines_of: Callable[[Any], list[dict[str, object]]],
) -> ExportFile:
    """One record per line of a transaction; a blank line closes each transaction."""

    def render(transaction: Any) -> str:
        return "".join(_myob_record(fields, values) for values in lines_of(transaction)) + "\r\n"

    return ExportFile(
        filename,
        "text/tab-separated-values; charset=utf-8",
        "\t".join(fields) + "\r\n",
        transactions,
        render,
    )
