"""What a person does in the store, as Playwright steps shared by the browser tests."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect

from tests.factories import PASSWORD
from webapp.extensions import db


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait to land past it."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page_ready(page)


def mark_page(page: Page) -> str:
    """Leave a marker on `window`: it survives HTMX swaps but not a navigation or reload."""
    mark = uuid.uuid4().hex
    page.evaluate("mark => { window.__browserTestMark = mark; }", mark)
    return mark


def htmx_settled(page: Page) -> None:
    """Wait until HTMX has no request in flight and has settled its last swap: new content
    gets its hx-trigger listeners only when it settles (it is `.htmx-added` until then), so
    typing into it earlier is lost."""
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    expect(page.locator(busy)).to_have_count(0)


def assert_not_reloaded(page: Page, mark: str) -> None:
    assert page.evaluate("() => window.__browserTestMark") == mark, "the page was reloaded"


def page_ready(page: Page) -> None:
    """Wait until a page just navigated to has run its scripts: htmx is deferred and binds
    its forms only then, so a click before that is a plain form post (a full page with a
    flash message instead of an HTMX request and its toast)."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")


def search(page: Page, text: str) -> None:
    """Search from the navbar box and open the results page."""
    box = page.locator("#search-box")
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Results for “{text}”")
    page_ready(page)


def product_card(page: Page, name: str) -> Locator:
    return page.locator(".product-card").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


def add_to_cart(page: Page, name: str) -> None:
    """Click a result's Add to cart and wait for the confirmation toast."""
    product_card(page, name).get_by_role("button", name="Add to cart").click()
    expect(page.locator("#toasts")).to_contain_text(f"× {name} to your cart.")


def cart_line(page: Page, name: str) -> Locator:
    return page.locator("#cart-table tbody tr").filter(has_text=name)


def open_cart(page: Page) -> None:
    page.locator("#cart-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    page_ready(page)


def start_checkout(page: Page) -> None:
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    page_ready(page)


def place_order(page: Page) -> str:
    """Click Place order, wait for the document page and return the document's number."""
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/orders/[A-Z]+-\d+$"))
    return page.url.rsplit("/", 1)[1]


def buy(page: Page, name: str) -> str:
    """Order one of a product with the checkout's defaults; return the document number."""
    search(page, name)
    add_to_cart(page, name)
    open_cart(page)
    start_checkout(page)
    return place_order(page)


def reload_from_db() -> None:
    """End the test's transaction so its next reads see what the browser committed."""
    db.session.commit()
    db.session.expire_all()
