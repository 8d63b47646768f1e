"""A customer's whole visit in a real browser: sign in, search, cart, checkout, orders."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.steps import (
    add_to_cart,
    assert_not_reloaded,
    cart_line,
    mark_page,
    open_cart,
    page_ready,
    place_order,
    reload_from_db,
    sign_in,
    start_checkout,
)
from webapp.extensions import db
from webapp.sales.models import DocumentKind, PaymentMethod, SalesDocument

pytestmark = pytest.mark.browser


@contextmanager
def checkout_saved(page: Page):
    """Wait for the checkout form's in-place save that the enclosed change triggers."""
    with page.expect_response(
        lambda response: (
            response.url.endswith("/checkout/details") and response.request.method == "POST"
        )
    ) as saved:
        yield
    assert saved.value.ok, saved.value.status


def test_customer_searches_fills_cart_in_place_and_orders_by_card(
    new_page, shop, run_jobs, mailbox
):
    page = new_page()

    # Sign in.
    sign_in(page, shop.customer.email)
    expect(page.get_by_role("heading", name="Shop by category")).to_be_visible()
    badge = page.locator("#cart-badge")
    expect(badge).to_have_text("0")

    # Active search: suggestions follow what is typed.
    box = page.locator("#search-box")
    suggestions = page.locator("#search-suggestions")
    box.press_sequentially("thinkpad", delay=30)
    expect(suggestions.get_by_role("link")).to_have_count(4)
    for name in ("ThinkPad T14", "ThinkPad X1 Carbon", "ThinkPad E16"):
        expect(suggestions.get_by_role("link", name=re.compile(name))).to_be_visible()
    expect(suggestions.get_by_role("link", name="All 3 results for “thinkpad”")).to_be_visible()
    box.press_sequentially(" x1", delay=30)
    expect(suggestions.get_by_role("link")).to_have_count(2)
    expect(suggestions.get_by_role("link").first).to_contain_text("ThinkPad X1 Carbon")

    # Then the results page.
    box.fill("thinkpad")
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “thinkpad”")
    page_ready(page)
    expect(page.locator("#result-count")).to_have_text("3 products found")
    expect(page.locator(".product-card")).to_have_count(3)

    # Add to cart without leaving the page: the badge counts the items.
    results_url = page.url
    mark = mark_page(page)
    add_to_cart(page, "ThinkPad T14")
    expect(badge).to_have_text("1")
    add_to_cart(page, "ThinkPad E16")
    expect(badge).to_have_text("2")
    assert_not_reloaded(page, mark)
    assert page.url == results_url

    # Cart: change a quantity and remove a line, each in place.
    open_cart(page)
    expect(page.locator("#cart-table tbody tr")).to_have_count(2)
    mark = mark_page(page)
    quantity = page.get_by_label("Quantity of ThinkPad T14")
    quantity.fill("3")
    quantity.press("Tab")  # the change event fires when the field loses focus
    expect(cart_line(page, "ThinkPad T14").locator(".line-subtotal")).to_have_text("$3,300.00")
    expect(page.locator("#cart-subtotal")).to_have_text("$4,070.00")
    expect(badge).to_have_text("4")
    cart_line(page, "ThinkPad E16").get_by_role("button", name="Remove").click()
    expect(page.locator("#cart-table tbody tr")).to_have_count(1)
    expect(cart_line(page, "ThinkPad E16")).to_have_count(0)
    expect(page.locator("#cart-subtotal")).to_have_text("$3,300.00")
    expect(badge).to_have_text("3")
    assert_not_reloaded(page, mark)

    # Checkout: ship-to, shipping method and card payment, saved as they are chosen.
    start_checkout(page)
    mark = mark_page(page)
    for label, value in (
        ("Ship to (name)", "Contoso Receiving"),
        ("Address", "1 Dock Road"),
        ("City", "Shelbyville"),
        ("Postcode", "62565"),
        ("Your PO number", "PO-7781"),
    ):
        field = page.get_by_label(label, exact=True)
        with checkout_saved(page):
            field.fill(value)
            field.press("Tab")
    with checkout_saved(page):
        page.get_by_label("Shipping method").select_option(label="Express — $40.00")
    expect(page.locator("#summary-shipping")).to_have_text("$40.00")
    expect(page.locator("#summary-surcharge")).to_have_count(0)
    with checkout_saved(page):
        page.get_by_label("Card, by phone").check()
    summary = page.locator("#summary")
    # 1.5% of goods, shipping and their tax: (3,300 + 330 + 40 + 4) x 1.5% = 55.11, tax
    # included: 50.10 before tax + 5.01 tax. Total 3,674.00 + 55.11.
    expect(summary.get_by_role("row", name=re.compile(r"Card surcharge \(1\.5%\)"))).to_be_visible()
    expect(page.locator("#summary-surcharge")).to_have_text("$50.10")
    expect(page.locator("#summary-total")).to_have_text("$3,729.11")
    assert_not_reloaded(page, mark)

    # Place order: the document page.
    number = place_order(page)
    assert number == "SO-000001"
    expect(page.locator("#document-title")).to_have_text("Sales Order SO-000001")
    expect(page.get_by_role("alert")).to_contain_text(
        "Thank you. Your order is Sales Order SO-000001."
    )
    expect(page.locator("#document-surcharge")).to_have_text("$50.10")
    expect(page.locator("#document-total")).to_have_text("$3,729.11")
    expect(page.locator("address")).to_contain_text("Contoso Receiving")
    expect(badge).to_have_text("0")

    # My orders lists it.
    page.get_by_role("link", name="My orders", exact=True).click()
    row = page.locator("#my-orders tbody tr").filter(has_text="SO-000001")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Sales Order")
    expect(row).to_contain_text("PO-7781")
    expect(row).to_contain_text("$3,729.11")

    reload_from_db()
    document = db.session.scalar(select(SalesDocument))
    assert document.number == "SO-000001"
    assert document.kind is DocumentKind.SALES_ORDER
    assert document.payment_method is PaymentMethod.CARD
    assert document.shipping_method_name == "Express"
    assert [(line.sku, line.quantity) for line in document.lines] == [(shop.products[0].mpn, 3)]

    # The confirmation email goes out from the worker, worded for a sales order.
    assert run_jobs() >= 1
    [message] = mailbox.to(shop.customer.email)
    assert message["Subject"] == "Sales Order SO-000001 from Northwind MSP"
    text = mailbox.text(message)
    assert "We have received it as Sales Order SO-000001 and will invoice it" in text
    assert "Card surcharge: $50.10" in text
    assert "Total: $3,729.11" in text
