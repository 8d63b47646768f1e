"""Read a report's filters from query arguments; every refusal names the argument and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

# A day-by-day table longer than this is unreadable; a wider range needs week or month.
MAX_DAY_PERIODS = 400
MAX_RANGE_DAYS = 366 * 10

E = TypeVar("E", bound=StrEnum)


class ReportInputError(ValueError):
    """A filter value the report cannot use; the message is shown to people as is."""


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class DateRange:
    """Calendar dates, both inclusive, in UTC (documents store UTC timestamps)."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_before(self) -> datetime:
        """The first instant after the range (ranges are half-open in SQL)."""
        following = self.end + timedelta(days=1)
        return datetime(following.year, following.month, following.day, tzinfo=UTC)

    @property
    def slug(self) -> str:
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"


def default_range(today: date | None = None) -> DateRange:
    """This month so far: what a month-end run wants."""
    today = today or datetime.now(UTC).date()
    return DateRange(today.replace(day=1), today)


def parse_date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ReportInputError(f"{name}: {raw[:40]!r} is not a date (use YYYY-MM-DD)") from None


def parse_range(args: Mapping[str, str], today: date | None = None) -> DateRange:
    """Return the range in `from` and `to` (YYYY-MM-DD), defaulting to this month so far."""
    fallback = default_range(today)
    start_raw = (args.get("from") or "").strip()
    end_raw = (args.get("to") or "").strip()
    start = parse_date("from", start_raw) if start_raw else fallback.start
    end = parse_date("to", end_raw) if end_raw else fallback.end
    if start > end:
        raise ReportInputError(f"from ({start.isoformat()}) is after to ({end.isoformat()})")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ReportInputError("the date range is longer than ten years: choose a shorter one")
    return DateRange(start, end)


def parse_choice(name: str, raw: str | None, enum_cls: type[E], default: E) -> E:
    if not raw:
        return default
    try:
        return enum_cls(raw)
    except ValueError:
        choices = ", ".join(member.value for member in enum_cls)
        raise ReportInputError(f"{name}: {raw[:40]!r} is not one of {choices}") from None


def parse_grain(args: Mapping[str, str], date_range: DateRange) -> Grain:
    grain = parse_choice("grain", args.get("grain"), Grain, Grain.MONTH)
    if grain is Grain.DAY and (date_range.end - date_range.start).days >= MAX_DAY_PERIODS:
        raise ReportInputError(
            f"by day covers at most {MAX_DAY_PERIODS} days: choose week or month for this range"
        )
    return grain
