"""The shared browser steps wait for htmx: a click before it binds is a plain form post."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.steps import add_to_cart, search

pytestmark = pytest.mark.browser

HTMX = (Path(__file__).parents[2] / "webapp/static/vendor/htmx.min.js").read_text()


def test_adding_to_cart_waits_for_htmx_on_a_slow_page(new_page, shop):
    """The full suite's flake: on a loaded machine the results page showed before htmx ran,
    Add to cart was posted as a plain form (a flash) and the toast never came. Here htmx
    starts 1.5 s after its script loads, every time."""
    page = new_page(shop.customer)
    page.route(
        "**/vendor/htmx.min.js",
        lambda route: route.fulfill(
            content_type="text/javascript",
            body="setTimeout(function () {" + HTMX + ";\nwindow.htmx = htmx;}, 1500);",
        ),
    )
    search(page, "ThinkPad T14")
    add_to_cart(page, "ThinkPad T14")  # fails without steps.page_ready in search()
