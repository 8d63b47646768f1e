"""Settings > Sales > Display document as, switched by an admin in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.steps import assert_not_reloaded, buy, mark_page, page_ready, reload_from_db
from webapp.extensions import db
from webapp.sales.models import DocumentKind, SalesDocument
from webapp.settings.operations import get_setting, setting_row

pytestmark = pytest.mark.browser


def test_admin_switch_to_tax_invoice_applies_to_the_next_order_only(
    new_page, shop, run_jobs, mailbox
):
    customer = new_page(shop.customer)
    assert buy(customer, "ThinkPad T14") == "SO-000001"

    # The admin switches Display document as to Tax Invoice; it saves in place.
    admin = new_page(shop.admin)
    admin.get_by_role("link", name="Settings", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Settings · Sales")
    page_ready(admin)  # the radio saves through htmx, bound once its script has run
    setting = admin.locator("#setting-display_document_as")
    audit = setting.locator(".setting-audit")
    expect(audit).to_have_text("Default value; never changed.")
    expect(setting.get_by_label("Sales Order")).to_be_checked()
    mark = mark_page(admin)
    setting.get_by_text("Tax Invoice", exact=True).click()  # the radio is styled as a button
    expect(audit).to_contain_text("Saved.")
    expect(audit).to_contain_text("Last changed by Ada Admin on ")
    expect(setting.get_by_label("Tax Invoice")).to_be_checked()
    assert_not_reloaded(admin, mark)
    reload_from_db()
    assert get_setting("display_document_as") is DocumentKind.TAX_INVOICE
    assert setting_row("display_document_as").updated_by_id == shop.admin.id

    # The customer's next order is a Tax Invoice with its own numbering.
    assert buy(customer, "ThinkPad E16") == "INV-000001"
    expect(customer.locator("#document-title")).to_have_text("Tax Invoice INV-000001")
    customer.get_by_role("link", name="My orders", exact=True).click()
    rows = customer.locator("#my-orders tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="INV-000001")).to_contain_text("Tax Invoice")
    expect(rows.filter(has_text="SO-000001")).to_contain_text("Sales Order")

    # The earlier order keeps its kind and number.
    customer.get_by_role("link", name="SO-000001").click()
    expect(customer.locator("#document-title")).to_have_text("Sales Order SO-000001")
    reload_from_db()
    kinds = dict(db.session.execute(select(SalesDocument.number, SalesDocument.kind)).all())
    assert kinds == {"SO-000001": DocumentKind.SALES_ORDER, "INV-000001": DocumentKind.TAX_INVOICE}

    # Each confirmation is worded for its kind.
    assert run_jobs() >= 2
    by_subject = {message["Subject"]: message for message in mailbox.to(shop.customer.email)}
    assert set(by_subject) == {
        "Sales Order SO-000001 from Northwind MSP",
        "Tax Invoice INV-000001 from Northwind MSP",
    }
    invoice_text = mailbox.text(by_subject["Tax Invoice INV-000001 from Northwind MSP"])
    # E16: 700 + 10% markup = 770, plus Courier 15, plus 10% GST = 863.50.
    assert (
        "Here is your Tax Invoice INV-000001. Please pay $863.50 according to your account terms."
        in invoice_text
    )
    assert "will invoice it" not in invoice_text
    order_text = mailbox.text(by_subject["Sales Order SO-000001 from Northwind MSP"])
    assert "We have received it as Sales Order SO-000001 and will invoice it" in order_text
