"""The purchasing officer in a real browser: review a suggestion, move a line, issue, receipt."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.steps import reload_from_db
from tests.purchasing.conftest import issue, offer
from webapp.extensions import db
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderStatus, Receipt
from webapp.sales.models import FulfilmentStatus, SalesDocument

pytestmark = pytest.mark.browser


def test_officer_reviews_overrides_issues_and_part_receipts_a_suggested_po(
    new_page, store, market, run_jobs
):
    # Dicker sells the E16 too, dearer: the optimizer picks Ingram, the officer prefers Dicker.
    offer(market.dicker, market.e16, "720.00", 10)
    document = issue(store, (market.e16, 3))
    db.session.commit()
    run_jobs()  # the planning job: one Ingram draft (purchasing suggestions is the default)
    suggested = db.session.scalars(select(PurchaseOrder)).one()
    assert suggested.status is PurchaseOrderStatus.DRAFT

    page = new_page(store.purchasing)
    page.goto("/admin/purchasing/orders?status=draft")
    page.get_by_role("link", name=suggested.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{suggested.number} to Ingram")
    expect(page.locator("#po-status")).to_have_text("Draft")

    # The decision record: every candidate with its landed cost, and why it won or lost.
    line = page.locator("#po-lines tbody tr").first
    line.locator("details.decision summary").click()
    candidates = line.locator("table.decision-candidates tbody tr")
    expect(candidates.filter(has_text="Ingram")).to_contain_text("Won")
    expect(candidates.filter(has_text="Dicker Data")).to_contain_text("Lost")

    # Move the line to Dicker by hand, saying why.
    line.get_by_label("Buy from another supplier").select_option(str(market.dicker.id))
    line.get_by_label("Reason", exact=True).fill("account manager asked")
    line.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("to Dicker Data")
    moved = page.locator("#po-lines tbody tr").first
    expect(moved).to_contain_text("chosen by hand")
    moved.locator("details.decision summary").click()
    expect(moved.locator("details.decision")).to_contain_text(
        "Moved by hand from Ingram to Dicker Data"
    )
    expect(page.locator("#po-total")).to_have_text("$2,160.00")

    # Issue it, then receipt 2 of the 3 units against the supplier's invoice.
    page.get_by_role("button", name="Issue and email to supplier").click()
    expect(page.locator("#po-status")).to_have_text("Issued")
    page.get_by_role("link", name="Receipt supplier invoice").click()
    page.get_by_label("Supplier invoice number").fill("DD-5501")
    page.get_by_label("Invoice date").fill("2026-11-02")
    quantity = page.get_by_label("Quantity received for line 1")
    expect(quantity).to_have_value("3")  # prefilled with what is outstanding
    quantity.fill("2")
    page.get_by_label("Actual unit cost for line 1").fill("715.50")
    page.get_by_role("button", name="Receipt invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Supplier invoice DD-5501")
    page.get_by_role("link", name=re.compile(r"^PO-\d+$")).click()
    expect(page.locator("#po-status")).to_have_text("Partially received")

    reload_from_db()
    receipt = db.session.scalars(select(Receipt)).one()
    po = receipt.purchase_order
    assert (po.supplier_id, po.status) == (market.dicker.id, PurchaseOrderStatus.PARTIALLY_RECEIVED)
    assert [(line.quantity, line.quantity_received) for line in po.lines] == [(3, 2)]
    assert [(rl.quantity, str(rl.unit_cost)) for rl in receipt.lines] == [(2, "715.5000")]
    assert db.session.get(PurchaseOrder, suggested.id).status is PurchaseOrderStatus.CANCELLED
    document = db.session.get(SalesDocument, document.id)
    assert document.fulfilment_status is FulfilmentStatus.PARTIAL
