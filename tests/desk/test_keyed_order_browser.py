"""A staff-keyed order in a real browser: pick the customer, search, add, place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.steps import htmx_settled, reload_from_db
from webapp.extensions import db
from webapp.sales.models import DocumentSource, SalesDocument

pytestmark = pytest.mark.browser


def test_sales_key_an_order_for_a_customer_who_phones(new_page, shop):
    staff = new_page(shop.sales)
    staff.goto("/admin/orders/")
    staff.get_by_role("link", name="New order").click()

    # The organization comes from a search picker, not a typed id.
    staff.get_by_role("combobox", name="Organization").fill("conto")
    staff.get_by_role("option", name="Contoso").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("New order for Contoso")
    staff.wait_for_load_state("load")  # htmx (a deferred script) listens from here on

    staff.get_by_label("Search the catalog").fill("ThinkPad T14")
    staff.get_by_role("button", name="Add ThinkPad T14").click()
    line = staff.locator(".order-line[data-product='ThinkPad T14']")
    expect(line).to_contain_text("$1,100.00")
    expect(line.locator(".line-margin")).to_have_text("$100.00 (9.09%)")
    htmx_settled(staff)
    quantity = line.get_by_label("Quantity of ThinkPad T14")
    with staff.expect_response(lambda r: r.url.endswith("/new/lines")) as redrawn:
        quantity.fill("2")
        quantity.press("Tab")
    assert redrawn.value.status == 200
    expect(staff.locator("#order-total")).to_have_text("$2,436.50")  # (2200 + 15) + 10%
    htmx_settled(staff)

    staff.get_by_label("Contact").select_option(value=str(shop.customer.id))
    staff.get_by_label("Customer's PO number").fill("PO-PHONE-1")
    staff.get_by_role("button", name="Place order").click()
    expect(staff.locator(".alert")).to_contain_text("placed for Contoso")

    reload_from_db()
    document = db.session.scalars(select(SalesDocument)).one()
    assert document.source is DocumentSource.DESK
    assert (document.customer_po, document.contact_id) == ("PO-PHONE-1", shop.customer.id)
    assert [(line.quantity, line.unit_price) for line in document.lines] == [(2, 1100)]
