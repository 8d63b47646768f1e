"""One guard for every file a spreadsheet may open (CSV, MYOB's tab-delimited text).

A text cell that starts with = + - @, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (CSV injection: `=HYPERLINK(...)`, `=cmd|...`), so it is
written with a leading apostrophe, which spreadsheets show as text and do not display.
OWASP, "CSV Injection": https://owasp.org/www-community/attacks/CSV_Injection

Only *text* is guarded: numbers are typed values until they are written, so -12.50 stays a
number a spreadsheet or an importer can add up. A number our code has already formatted
(two decimals, a unit cost) is a `Figure`, written as it is; every other `str` is text,
whoever typed it.

`csv_row` is the one CSV writer (RFC 4180: comma, double quotes, CRLF) of every export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Figure(str):
    """A number already formatted for a file (e.g. "-12.50"): written as is, never guarded."""

    __slots__ = ()


def guard_text(text: str) -> str:
    """Return text that a spreadsheet shows as typed instead of running it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell(value: object) -> object:
    """Guard a cell if it is text; numbers, dates, figures and None pass unchanged."""
    if isinstance(value, Figure) or not isinstance(value, str):
        return value
    return guard_text(value)


def csv_row(cells: Iterable[object]) -> str:
    """Write one CSV record (RFC 4180, CRLF) with every text cell guarded."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()
