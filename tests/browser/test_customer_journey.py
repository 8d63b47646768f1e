"""The customer's journey in a real browser: a misspelled search, a facet, a sort, the
product page, the cart, checkout, My orders with the order's progress, and Order again;
every customer page at a 390 px phone width; and an axe-core accessibility check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import htmx_settled, open_cart, place_order, sign_in, start_checkout

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def _names_on_page(page: Page) -> list[str]:
    return page.locator("#product-grid .card-title").all_inner_texts()


def test_typo_facet_sort_product_cart_order_progress_and_order_again(new_page, shop):
    page = new_page()
    sign_in(page, shop.customer.email)

    # Suggestions close on Escape and when the box loses focus.
    box, suggestions = page.locator("#search-box"), page.locator("#search-suggestions")
    box.press_sequentially("thinkp", delay=30)
    expect(suggestions.get_by_role("link").first).to_be_visible()
    box.press("Escape")
    expect(suggestions.get_by_role("link")).to_have_count(0)
    box.press_sequentially("thinkpa", delay=30)
    expect(suggestions.get_by_role("link").first).to_be_visible()
    page.locator("#cart-link").focus()  # focus leaves the search form
    expect(suggestions.get_by_role("link")).to_have_count(0)

    # A misspelled search finds nothing as typed and offers the correction's results.
    box.fill("thinkpda")
    box.press("Enter")
    expect(page.locator("#did-you-mean")).to_contain_text("“thinkpad”")
    expect(page.locator("#product-grid .product-card")).to_have_count(3)

    # Facet: in stock only (the X1 Carbon has none); the URL keeps it.
    page.locator('[data-facet="availability"] a', has_text="In stock").click()
    expect(page).to_have_url(re.compile(r"in_stock=1"))
    expect(page.locator("#product-grid .product-card")).to_have_count(2)
    htmx_settled(page)

    # Sort: cheapest first, in place.
    page.get_by_label("Sort by").select_option("price")
    expect(page).to_have_url(re.compile(r"sort=price"))
    expect(page.locator("#product-grid .card-title").first).to_have_text("ThinkPad E16")
    assert _names_on_page(page) == ["ThinkPad E16", "ThinkPad T14"]

    # Product page, then the cart from there.
    page.get_by_role("link", name="ThinkPad T14").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ThinkPad T14")
    expect(page.locator("#product-picture .product-placeholder")).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#toasts")).to_contain_text("ThinkPad T14 to your cart.")
    open_cart(page)
    start_checkout(page)
    expect(page.get_by_text("Nothing is charged online")).to_be_visible()
    number = place_order(page)

    # My orders shows where the order is.
    page.get_by_role("link", name="My orders", exact=True).click()
    row = page.locator("#my-orders tr", has_text=number)
    expect(row.locator("[data-progress-step]")).to_have_text("Placed")
    row.get_by_role("link", name=number).click()

    # Order again puts it back in the cart.
    page.get_by_role("button", name="Order again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    expect(page.locator("#cart-table tbody tr", has_text="ThinkPad T14")).to_have_count(1)


def _customer_pages(page: Page, shop) -> list[str]:
    """Sign in, put something in the cart and place an order, so every page has content."""
    sign_in(page, shop.customer.email)
    product = shop.products[0]
    page.goto(f"/p/{product.id}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#toasts")).to_contain_text("to your cart.")
    open_cart(page)
    start_checkout(page)
    number = place_order(page)
    page.goto(f"/p/{product.id}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#toasts")).to_contain_text("to your cart.")
    return [
        "/",
        f"/c/{shop.category.slug}",
        "/search?q=thinkpad",
        "/search?q=thinkpda",
        f"/p/{product.id}",
        "/cart",
        "/orders",
        f"/orders/{number}",
        "/my/quotes",
        "/account",
        "/no-such-page",
    ]


def test_every_customer_page_fits_a_390px_phone_without_sideways_scrolling(new_page, shop):
    page = new_page()
    paths = _customer_pages(page, shop)
    page.set_viewport_size({"width": 390, "height": 844})
    too_wide = []
    for path in [*paths, "/checkout"]:
        if path == "/checkout":
            page.goto("/cart")  # at phone width the cart link is in the collapsed menu
            start_checkout(page)
        else:
            page.goto(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 390:
            too_wide.append(f"{path}: {width}px")
    assert too_wide == []


def test_customer_pages_have_no_serious_accessibility_violations(new_page, shop):
    page = new_page()
    paths = _customer_pages(page, shop)
    source = AXE.read_text()
    found = []
    for path in paths:
        page.goto(path)
        # Evaluated through the DevTools protocol: the page's CSP does not apply to it.
        page.evaluate(source)
        result = page.evaluate(
            """async () => {
                const result = await axe.run(document);
                const serious = result.violations.filter(
                    (v) => v.impact === "serious" || v.impact === "critical");
                return {
                    passes: result.passes.length,
                    violations: serious.map((v) =>
                        `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" "))}`),
                };
            }"""
        )
        assert result["passes"] > 10, f"axe checked next to nothing on {path}"
        found += [f"{path} {v}" for v in result["violations"]]
    assert found == [], "\n".join(found)
