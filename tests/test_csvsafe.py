"""The one formula guard of every export file (webapp/csvsafe.py)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from webapp.csvsafe import FORMULA_STARTS, Figure, csv_row, guard_text, safe_cell


@given(start=st.sampled_from(FORMULA_STARTS), rest=st.text())
def test_text_that_would_run_as_a_formula_is_quoted(start, rest):
    assert safe_cell(start + rest) == "'" + start + rest


@given(text=st.text().filter(lambda t: not t.startswith(FORMULA_STARTS)))
def test_other_text_is_written_as_typed(text):
    assert guard_text(text) == text


def test_numbers_and_formatted_figures_keep_their_minus_sign():
    assert safe_cell(Decimal("-12.50")) == Decimal("-12.50")
    assert safe_cell(-3) == -3
    assert safe_cell(Figure("-12.50")) == "-12.50"
    assert safe_cell(None) is None


def test_a_csv_row_guards_its_text_quotes_its_commas_and_ends_in_crlf():
    row = csv_row(["=1+1", 'a, "b"', Figure("-2.00"), -3, None])
    assert row == '\'=1+1,"a, ""b""",-2.00,-3,\r\n'


@given(text=st.text())
def test_guarding_twice_is_guarding_once(text):
    assert guard_text(guard_text(text)) == guard_text(text)
