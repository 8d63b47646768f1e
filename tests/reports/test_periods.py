"""Pure pieces: period arithmetic and the number formats of the export files."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.reports.files import money, myob_text, unit_amount
from webapp.reports.forms import DateRange, Grain, ReportInputError, parse_range
from webapp.reports.periods import floor_to_period, next_period, periods

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


@given(start=days, length=st.integers(min_value=0, max_value=800), grain=st.sampled_from(Grain))
def test_periods_tile_the_range_without_gaps_or_overlaps(start, length, grain):
    end = start + timedelta(days=length)
    starts = periods(DateRange(start, end), grain)
    assert starts[0] <= start < next_period(starts[0], grain)
    assert starts[-1] <= end < next_period(starts[-1], grain)
    for first, second in zip(starts, starts[1:], strict=False):
        assert next_period(first, grain) == second
    # Every day of the range falls in exactly the period that floor_to_period names.
    for offset in range(0, length + 1, 17):
        day = start + timedelta(days=offset)
        assert floor_to_period(day, grain) in starts


@given(day=days)
def test_weeks_start_on_monday_and_months_on_the_first(day):
    assert floor_to_period(day, Grain.WEEK).weekday() == 0
    assert floor_to_period(day, Grain.MONTH).day == 1
    assert floor_to_period(day, Grain.DAY) == day


@given(amount=st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False))
def test_amounts_are_plain_numbers_that_read_back_to_the_rounded_value(amount):
    text = money(amount)
    assert "," not in text and "$" not in text and text.count(".") == 1
    assert len(text.split(".")[1]) == 2
    assert abs(Decimal(text) - amount) <= Decimal("0.005")
    unit = unit_amount(amount)
    assert Decimal(unit) == amount.quantize(Decimal("0.0001"))


@given(text=st.text())
def test_myob_fields_never_carry_tabs_or_line_breaks(text):
    cleaned = myob_text(text)
    assert "\t" not in cleaned and "\n" not in cleaned and "\r" not in cleaned


def test_range_defaults_to_this_month_so_far():
    assert parse_range({}, date(2025, 5, 17)) == DateRange(date(2025, 5, 1), date(2025, 5, 17))
    assert parse_range({"from": " 2025-01-02 ", "to": ""}, date(2025, 5, 17)) == DateRange(
        date(2025, 1, 2), date(2025, 5, 17)
    )


def test_a_range_may_be_one_day_but_not_backwards():
    assert parse_range({"from": "2025-05-03", "to": "2025-05-03"}).start == date(2025, 5, 3)
    with pytest.raises(ReportInputError, match=r"^from \(2025-05-04\) is after to \(2025-05-03\)$"):
        parse_range({"from": "2025-05-04", "to": "2025-05-03"})
