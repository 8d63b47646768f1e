"""The quote builder in a real browser: two tabs on one quote never undo each other."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.steps import htmx_settled, reload_from_db
from tests.quotes.conftest import build_quote
from webapp.extensions import db
from webapp.quotes.models import QuoteLine

pytestmark = pytest.mark.browser


def test_an_edit_in_an_older_tab_is_refused_with_an_offer_to_reload(new_page, shop):
    quote = build_quote(shop)
    db.session.commit()
    line = quote.lines[0]  # Lenovo ThinkPad E16, quantity 2
    name = line.description
    first = new_page(shop.sales)
    second = new_page(shop.sales)
    for tab in (first, second):
        tab.goto(f"/admin/quotes/{quote.id}")
        expect(tab.get_by_label(f"Quantity of {name}")).to_have_value("2")

    # The first tab saves 5.
    with first.expect_response(lambda r: f"/lines/{line.id}" in r.url) as saved:
        first.get_by_label(f"Quantity of {name}").fill("5")
        first.get_by_label(f"Quantity of {name}").press("Tab")
    assert saved.value.status == 200
    htmx_settled(first)

    # The second tab, still showing 2, tries 3: refused, and it says how to catch up.
    with second.expect_response(lambda r: f"/lines/{line.id}" in r.url) as refused:
        second.get_by_label(f"Quantity of {name}").fill("3")
        second.get_by_label(f"Quantity of {name}").press("Tab")
    assert refused.value.status == 409
    toast = second.locator("#toasts")
    expect(toast).to_contain_text("changed in another tab")
    reload_from_db()
    assert db.session.get(QuoteLine, line.id).quantity == 5

    # Reloading shows the first tab's 5, and an edit from there is saved.
    toast.get_by_role("link", name="Reload the quote").click()
    quantity = second.get_by_label(f"Quantity of {name}")
    expect(quantity).to_have_value("5")
    with second.expect_response(lambda r: f"/lines/{line.id}" in r.url) as again:
        quantity.fill("4")
        quantity.press("Tab")
    assert again.value.status == 200
    reload_from_db()
    assert db.session.get(QuoteLine, line.id).quantity == 4
