"""What stops a checkout, as the customer sees it in a real browser."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.steps import (
    add_to_cart,
    open_cart,
    place_order,
    reload_from_db,
    search,
    start_checkout,
)
from webapp.catalog.models import SupplierOffer
from webapp.catalog.operations import refresh_product_aggregates
from webapp.extensions import db
from webapp.sales.models import SalesDocument
from webapp.store.models import Cart

pytestmark = pytest.mark.browser


def _documents() -> int:
    return db.session.scalar(select(func.count()).select_from(SalesDocument))


def test_unapproved_organization_customer_sees_why_checkout_is_closed(new_page, shop):
    page = new_page(shop.unapproved_customer)
    search(page, "ThinkPad T14")
    add_to_cart(page, "ThinkPad T14")
    open_cart(page)

    expect(page.locator("#not-approved")).to_have_text(
        "Litware is not yet approved to order online, so you cannot check out. "
        "Your account manager can approve your organization or send you a quote for these items."
    )
    check_out = page.get_by_role("button", name="Check out")
    expect(check_out).to_be_disabled()

    # Forcing the button does not get past the server either; it says the same thing.
    check_out.evaluate("button => { button.disabled = false; }")
    check_out.click()
    expect(page.get_by_role("alert").filter(has_text="approved")).to_contain_text(
        "Litware is not yet approved to order online. "
        "Your account manager can approve it, or send you a quote."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    reload_from_db()
    cart = db.session.scalar(select(Cart).where(Cart.user_id == shop.unapproved_customer.id))
    assert not cart.is_frozen
    assert _documents() == 0


def test_price_change_during_checkout_is_shown_and_order_waits_for_confirmation(new_page, shop):
    t14 = shop.products[0]
    page = new_page(shop.customer)
    search(page, "ThinkPad T14")
    add_to_cart(page, "ThinkPad T14")
    open_cart(page)
    start_checkout(page)
    summary = page.locator("#summary")
    expect(summary).to_contain_text("1 × ThinkPad T14")
    expect(summary).to_contain_text("$1,100.00")

    # Meanwhile the supplier's cost goes up: 1,200 + 10% markup = 1,320.
    offer = db.session.scalar(select(SupplierOffer).where(SupplierOffer.product_id == t14.id))
    offer.cost = Decimal("1200.00")
    refresh_product_aggregates([t14.id])
    db.session.commit()

    page.get_by_role("button", name="Place order").click()
    changes = page.locator("#checkout-changes")
    expect(changes).to_contain_text("Some items changed since you opened checkout.")
    expect(changes.get_by_role("listitem")).to_have_text(
        ["ThinkPad T14 price changed from $1,100.00 to $1,320.00."]
    )
    # 1,320 + Courier 15 + 10% GST.
    expect(page.locator("#summary-total")).to_have_text("$1,468.50")
    reload_from_db()
    assert _documents() == 0

    # Placing it again, at the price now shown, goes through.
    assert place_order(page) == "SO-000001"
    expect(page.locator("#document-total")).to_have_text("$1,468.50")
    reload_from_db()
    document = db.session.scalar(select(SalesDocument))
    assert [line.unit_price for line in document.lines] == [Decimal("1320.00")]
