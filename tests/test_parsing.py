"""Whole numbers from URLs and forms: ASCII digits within bounds, or None."""

import pytest

from tests.factories import login
from webapp.parsing import DB_INT_MAX, whole_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", 7),
        (" 42 ", 42),
        ("007", 7),
        (str(DB_INT_MAX), DB_INT_MAX),
        (str(DB_INT_MAX + 1), None),
        ("9" * 5000, None),
        ("²", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("", None),
        (None, None),
    ],
)
def test_whole_number_takes_only_ascii_digits_within_bounds(raw, expected):
    assert whole_number(raw) == expected


def test_whole_number_applies_the_callers_range():
    assert whole_number("0", minimum=1) is None
    assert whole_number("10", maximum=9) is None
    assert whole_number("9", minimum=1, maximum=9) == 9


@pytest.mark.parametrize("page", ["²", "9" * 5000])
def test_a_page_argument_that_is_not_ascii_digits_is_a_400(client, store, page):
    login(client, store.customer)
    category = store.products[0].category
    assert client.get(f"/c/{category.slug}?page={page}").status_code == 400
