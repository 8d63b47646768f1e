"""A search picker in a real browser: a product chosen by typing and the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.steps import reload_from_db
from webapp.extensions import db
from webapp.purchasing.models import StockItem

pytestmark = pytest.mark.browser


def test_own_stock_is_set_for_a_product_picked_by_search_with_the_keyboard(new_page, shop):
    page = new_page(shop.purchasing)
    page.goto("/admin/purchasing/stock")
    page.wait_for_load_state("load")
    search = page.get_by_role("combobox", name="Product")
    search.fill("E16")
    option = page.get_by_role("option", name="ThinkPad E16")
    expect(option).to_be_visible()
    search.press("ArrowDown")
    expect(option).to_be_focused()
    option.press("Enter")
    expect(page.locator("[data-picker-chosen]")).to_have_text("Chosen: ThinkPad E16")
    expect(option).to_have_count(0)  # the matches close once one is chosen
    page.get_by_label("On hand").fill("7")
    page.get_by_label("Unit cost").fill("650")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert")).to_contain_text("Stock of ThinkPad E16 saved.")
    reload_from_db()
    item = db.session.scalars(select(StockItem)).one()
    assert (item.product_id, item.quantity_on_hand) == (shop.products[2].id, 7)
