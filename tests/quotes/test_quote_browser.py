"""A quote end to end in a real browser: built and sent in the admin, accepted from the email."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.steps import assert_not_reloaded, htmx_settled, mark_page, reload_from_db
from tests.conftest import Mailbox
from tests.quotes.conftest import link_in
from webapp.extensions import db
from webapp.quotes.models import Quote, QuoteDecision, QuoteStatus, QuoteTemplate
from webapp.sales.models import DocumentKind, DocumentSource, SalesDocument
from webapp.settings.operations import set_setting

pytestmark = pytest.mark.browser


def test_build_send_and_accept_a_quote_from_the_emailed_link(
    new_page, shop, run_jobs, mailbox, live_server
):
    set_setting("display_document_as", "tax_invoice", shop.admin)
    db.session.commit()

    # Sales builds the quote in the admin.
    staff = new_page(shop.sales)
    staff.goto("/admin/quotes/")
    staff.get_by_role("link", name="New quote").click()
    staff.get_by_role("combobox", name="Organization").fill("Contoso")
    staff.get_by_role("option", name="Contoso").click()
    staff.get_by_role("button", name="Start quote").click()
    expect(staff.locator("#quote-title")).to_contain_text("version 1")
    mark = mark_page(staff)

    # Two laptops to choose from, in a "choose one" section, found by searching in place.
    staff.get_by_label("New section title").fill("Laptop")
    staff.locator("#section-form").get_by_label("Choose one").check()
    staff.get_by_role("button", name="Add section").click()
    laptop_section = staff.locator(".quote-section").filter(
        has=staff.locator("input[value='Laptop']")
    )
    expect(laptop_section).to_be_visible()
    # The T14 from the search under the section itself, the E16 from the one below all sections.
    htmx_settled(staff)
    laptop_section.get_by_label("Search the catalog for Laptop").fill("ThinkPad T14")
    laptop_section.get_by_role("button", name="Add ThinkPad T14").click()
    expect(
        laptop_section.locator(".quote-line[data-description='Lenovo ThinkPad T14']")
    ).to_have_count(1)
    htmx_settled(staff)  # the add swapped in new search boxes
    staff.get_by_label("Add to section").select_option(label="Laptop")
    staff.get_by_label("Search the catalog", exact=True).fill("ThinkPad E16")
    staff.get_by_role("button", name="Add ThinkPad E16").click()
    expect(
        laptop_section.locator(".quote-line[data-description='Lenovo ThinkPad E16']")
    ).to_have_count(1)
    # An optional labour line in the first section.
    staff.get_by_label("New line description").fill("Onsite setup")
    staff.get_by_label("New line kind").select_option(label="Labour")
    staff.get_by_label("New line unit price").fill("150")
    staff.get_by_label("New line unit cost").fill("80")
    staff.get_by_label("New line section").select_option(label="Items")
    staff.get_by_role("button", name="Add line").click()
    setup = staff.locator(".quote-line[data-description='Onsite setup']")
    setup.get_by_label("Optional").check()
    expect(setup.get_by_label("Optional")).to_be_checked()
    # T14 1100 is the default pick: 1100 + 10% GST.
    expect(staff.locator("#total-due")).to_have_text("$1,210.00")
    assert_not_reloaded(staff, mark)
    staff.get_by_role("button", name="Send quote").click()
    expect(staff.locator("#quote-status")).to_have_text("Sent")
    reload_from_db()
    quote = db.session.scalars(select(Quote)).one()
    assert quote.status is QuoteStatus.SENT

    # The approver opens the link from the email, picks the E16 and the setup, and accepts.
    assert run_jobs() >= 1
    (message,) = mailbox.to(shop.customer.email)
    link = link_in(Mailbox.text(message))
    approver = new_page()
    approver.goto(live_server + link)
    expect(approver.locator("#quote-heading")).to_have_text(f"Quote {quote.number}")
    expect(approver.locator("#total-due")).to_have_text("$1,210.00")
    approver.get_by_label("Lenovo ThinkPad E16").check()
    expect(approver.locator("#total-due")).to_have_text("$847.00")  # 770 + 10%
    approver.get_by_label("Onsite setup").check()
    expect(approver.locator("#total-due")).to_have_text("$1,012.00")  # + 150 + 15 tax
    approver.get_by_label("Your full name").fill("Jordan Lee")
    # The approver signs by drawing in the box with the mouse.
    pad = approver.get_by_role("img", name="Signature drawing box")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    approver.mouse.move(box["x"] + 20, box["y"] + box["height"] - 20)
    approver.mouse.down()
    for step in range(1, 9):
        approver.mouse.move(box["x"] + 20 + step * 30, box["y"] + 20 + (step % 2) * 60)
    approver.mouse.up()
    expect(approver.locator("#signature_drawn")).to_have_value(
        re.compile("^data:image/png;base64,")
    )
    approver.get_by_label("Your PO number (optional)").fill("PO-99")
    approver.get_by_label(re.compile("I accept this quote")).check()
    approver.get_by_role("button", name="Accept quote").click()
    expect(approver.locator("#quote-outcome")).to_contain_text("accepted by Jordan Lee")
    expect(approver.locator("#accepted-signature img")).to_be_visible()
    expect(approver.locator("#document-ref")).to_have_text(re.compile(r"Tax Invoice INV-\d{6}"))

    reload_from_db()
    document = db.session.scalars(select(SalesDocument)).one()
    assert (document.kind, document.source) == (DocumentKind.TAX_INVOICE, DocumentSource.QUOTE)
    assert [line.description for line in document.lines] == ["Onsite setup", "Lenovo ThinkPad E16"]
    assert document.customer_po == "PO-99"
    assert db.session.get(Quote, quote.id).status is QuoteStatus.WON
    decision = db.session.scalars(select(QuoteDecision)).one()
    assert decision.signature_png.startswith(b"\x89PNG") and decision.signature_text == ""


def test_an_admin_builds_a_template_in_place_and_a_quote_starts_from_it(new_page, shop):
    admin = new_page(shop.admin)
    admin.goto("/admin/quotes/templates")
    admin.get_by_role("link", name="New template").click()
    admin.get_by_label("Name").fill("Laptop refresh")
    admin.get_by_label("Quotes expire after (days)").fill("21")
    admin.get_by_label("Terms").fill("Prices include setup.")
    admin.get_by_role("button", name="Create template").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Template · Laptop refresh")
    mark = mark_page(admin)

    admin.get_by_label("New section title").fill("Laptop")
    admin.locator("#template-section-form").get_by_label("Choose one").check()
    admin.get_by_role("button", name="Add section").click()
    laptop = admin.locator(".template-section").filter(has=admin.locator("input[value='Laptop']"))
    expect(laptop).to_be_visible()
    for name in ("ThinkPad T14", "ThinkPad E16"):
        htmx_settled(admin)  # the last add swapped in a new search box
        admin.get_by_label("Add to section").select_option(label="Laptop")
        admin.get_by_label("Search the catalog").fill(name)
        admin.get_by_role("button", name=f"Add {name}").click()
        expect(laptop.locator(f".template-line[data-description='Lenovo {name}']")).to_have_count(1)

    admin.get_by_label("New line description").fill("Managed laptop")
    admin.get_by_label("New line kind").select_option(label="Recurring-service")
    admin.get_by_label("New line unit price").fill("30")
    admin.get_by_label("New line section").select_option(label="Items")
    admin.get_by_role("button", name="Add line").click()
    managed = admin.locator(".template-line[data-description='Managed laptop']")
    term = managed.get_by_label("Term in months of Managed laptop")
    expect(term).to_have_value("12")  # a recurring service starts at 12 months
    # Each change posts the line and swaps the editor: let one settle before the next.
    with admin.expect_response(lambda response: "/lines/" in response.url):
        managed.get_by_label("Optional").check()
    expect(admin.locator(".htmx-request")).to_have_count(0)
    with admin.expect_response(lambda response: "/lines/" in response.url):
        term.fill("24")
        term.press("Tab")
    expect(admin.locator(".htmx-request")).to_have_count(0)
    expect(term).to_have_value("24")
    expect(managed.get_by_label("Optional")).to_be_checked()
    assert_not_reloaded(admin, mark)

    reload_from_db()
    line = next(
        line
        for section in db.session.scalars(select(QuoteTemplate)).one().sections
        for line in section.lines
        if line.description == "Managed laptop"
    )
    assert (line.optional, line.recurrence.value, line.term_months) == (True, "monthly", 24)

    # Sales start a quote from it: sections, options and catalog prices are in place.
    staff = new_page(shop.sales)
    staff.goto("/admin/quotes/new")
    staff.get_by_role("combobox", name="Organization").fill("Contoso")
    staff.get_by_role("option", name="Contoso").click()
    staff.get_by_role("combobox", name="Template").fill("laptop")
    staff.get_by_role("option", name="Laptop refresh").click()
    staff.get_by_role("button", name="Start quote").click()
    expect(staff.locator(".quote-line")).to_have_count(3)
    expect(staff.locator("#total-due")).to_have_text("$1,210.00")  # the T14, first pick
