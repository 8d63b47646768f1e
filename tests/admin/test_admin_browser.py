"""The admin's in-place (HTMX) interactions, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.steps import assert_not_reloaded, mark_page, reload_from_db
from webapp.auth.models import User
from webapp.extensions import db
from webapp.organizations.models import Organization

pytestmark = pytest.mark.browser

FEED = (
    "sku,mpn,brand,name,cost,category\n"
    "B-1,B-MPN-1,Lenovo,ThinkPad L14,800.00,Laptops\n"
    "B-2,B-MPN-2,Lenovo,ThinkPad L15,not-a-price,Laptops\n"
)


def test_feed_import_page_follows_the_worker_live_and_stops_polling_when_done(
    new_page, store, run_jobs, tmp_path
):
    # A small full feed with a bad row: past the limits a real one is held at.
    limits = {"max_bad_rows_percent": 100, "max_withdrawn_percent": 100}
    store.supplier.feed_format = {**(store.supplier.feed_format or {}), **limits}
    db.session.commit()
    feed = tmp_path / "ingram-monday.csv"
    feed.write_text(FEED)
    page = new_page(store.purchasing)
    page.get_by_role("link", name="Suppliers & feeds").click()
    page.get_by_role("link", name="Ingram").click()
    page.get_by_role("link", name="Feed & imports").click()
    page.get_by_label("Feed file").set_input_files(str(feed))
    page.get_by_role("button", name="Upload and import").click()

    expect(page).to_have_url(re.compile(r"/admin/catalog/imports/\d+$"))
    status = page.locator("#import-status")
    expect(status).to_contain_text("Waiting for a worker")
    mark = mark_page(page)

    run_jobs()
    # The page polls every second and swaps in the summary without a reload.
    expect(status).to_contain_text("Succeeded")
    expect(page.locator("#import-problems")).to_contain_text("3")
    expect(page.locator("#import-problems")).to_contain_text("cost: 'not-a-price' is not a number")
    expect(status).not_to_have_attribute("hx-trigger", re.compile(".*"))
    assert_not_reloaded(page, mark)


def test_sales_approves_an_organization_and_makes_a_contact_approver_in_place(new_page, store):
    page = new_page(store.sales)
    page.goto("/admin/")
    page.get_by_role("link", name="Organizations awaiting approval").click()
    page.get_by_role("link", name="Litware").click()
    mark = mark_page(page)

    page.get_by_role("button", name="Approve for ordering").click()
    expect(page.locator("#approval")).to_contain_text("Contacts can place orders.")
    expect(page.locator("#toasts")).to_contain_text("Litware is approved")

    row = page.locator(f"#contact-{store.unapproved_customer.id}")
    row.get_by_role("button", name="Make approver").click()
    expect(row.get_by_role("button", name="Approver ✓")).to_be_visible()
    assert_not_reloaded(page, mark)

    reload_from_db()
    assert db.session.get(Organization, store.unapproved_org.id).approved is True
    assert db.session.get(User, store.unapproved_customer.id).is_approver is True
