"""A session that ends while a page is open: the next HTMX click signs in and comes back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.steps import page_ready, product_card, search
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_an_htmx_click_after_the_session_ended_returns_to_the_page_after_sign_in(new_page, shop):
    page = new_page(shop.customer)
    search(page, "thinkpad")
    results = page.url
    page.context.clear_cookies()  # the session cookie expired

    product_card(page, "ThinkPad T14").get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("body")).to_contain_text("Your session ended")
    page.get_by_label("Email").fill(shop.customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(results)  # the results page, not /cart/add
    page_ready(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “thinkpad”")
