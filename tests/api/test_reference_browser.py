"""The API reference page renders the OpenAPI document in a real browser, under our CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_reference_page_lists_the_operations(new_page):
    page = new_page()
    page.goto("/api/v1/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/quotes").first).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("MSP commerce API")
