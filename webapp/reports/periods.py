"""What every report shares: periods, date ranges, and aggregates read back as Decimal.

Conventions shared by the reports:

- Dates are UTC calendar dates; a sales document belongs to the day it was created, a bill
  to its supplier invoice date, a purchase order to the day it was issued (or created).
- Cancelled sales documents and cancelled purchase orders are left out.
- Gross profit is on goods and services lines (ex tax). Its cost is what was *receipted*:
  the actual unit cost on supplier invoices (receipt lines), and the recorded unit cost of
  own stock allocated to the line. Lines that are never bought (services, labour) count at
  the unit cost recorded on the line. Goods units awaiting a supplier invoice, or not yet
  purchased, add no cost, and the document says so. A document's costs
  stay in the document's period whenever they are receipted, so gross profit per period is
  right even when invoice and receipt dates differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import DateTime, Numeric, and_, cast, func, literal_column
from sqlalchemy.sql import ColumnElement

from webapp.catalog.models import ProductType
from webapp.extensions import db
from webapp.reports.forms import DateRange, Grain
from webapp.sales.models import DocumentStatus, SalesDocument

T = TypeVar("T")
ZERO = Decimal("0.00")
# Wide enough for quantity x 4-decimal cost sums; SQLite hands these back rounded to 4 places.
COST_TYPE = Numeric(20, 4, asdecimal=True)
MONEY_TYPE = Numeric(20, 2, asdecimal=True)
NO_SALESPERSON = "Online store (no salesperson)"
BOUGHT_TYPES = [t for t in ProductType if t.is_stocked]


def to_decimal(value: object, places: str = "0.01") -> Decimal:
    """Return a SQL aggregate as Decimal (SUM of nothing is NULL; SQLite SUM of ints is int)."""
    if value is None:
        return Decimal(places) * 0
    return Decimal(str(value)).quantize(Decimal(places))


# --- periods --------------------------------------------------------------------------------


def dialect() -> str:
    return db.session.get_bind().dialect.name


def period_start(column, grain: Grain, *, is_date: bool = False) -> ColumnElement:
    """SQL for the first day of the day/week (Monday)/month that `column` falls in (UTC)."""
    if dialect() == "postgresql":
        # Literal SQL, not bound parameters: PostgreSQL must see the SELECT and the GROUP BY
        # expressions as the same expression. `grain` is one of three fixed words.
        utc = literal_column("'UTC'")
        moment = cast(column, DateTime) if is_date else func.timezone(utc, column)
        return func.date(func.date_trunc(literal_column(f"'{grain.value}'"), moment))
    if grain is Grain.DAY:
        return func.date(column)
    if grain is Grain.WEEK:
        # SQLite: forward to the next Sunday (or stay on it), then back six days to Monday.
        return func.date(column, "weekday 0", "-6 days")
    return func.strftime("%Y-%m-01", column)


def as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def floor_to_period(day: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def next_period(start: date, grain: Grain) -> date:
    if grain is Grain.DAY:
        return start + timedelta(days=1)
    if grain is Grain.WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def periods(date_range: DateRange, grain: Grain) -> list[date]:
    """Every period start the range touches, so empty periods show as zero, not a gap."""
    current = floor_to_period(date_range.start, grain)
    starts = []
    while current <= date_range.end:
        starts.append(current)
        current = next_period(current, grain)
    return starts


def period_label(start: date, grain: Grain) -> str:
    if grain is Grain.MONTH:
        return start.strftime("%b %Y")
    if grain is Grain.WEEK:
        return f"Week of {start.isoformat()}"
    return start.isoformat()


def in_range(column, date_range: DateRange) -> ColumnElement:
    return and_(column >= date_range.start_at, column < date_range.end_before)


def live_documents(date_range: DateRange) -> ColumnElement:
    return and_(
        SalesDocument.status != DocumentStatus.CANCELLED,
        in_range(SalesDocument.created_at, date_range),
    )


def add_up(total: T, rows: Iterable[object], fields: Sequence[str]) -> T:
    """Add the named figures of every row into `total` (a report's total row); return it."""
    for row in rows:
        for name in fields:
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return total
