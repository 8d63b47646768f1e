"""Reports in a real browser: charts drawn, filters refresh the table in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.steps import assert_not_reloaded, mark_page
from tests.reports.conftest import Item, order, receive, sell
from webapp.extensions import db

pytestmark = pytest.mark.browser


def test_gross_profit_chart_draws_and_the_grain_refreshes_the_table_in_place(new_page, books):
    doc = sell(
        books.org, books.store.customer, Item(books.laptop, 2, "1250.00", "1000"), on="2025-05-06"
    )
    po = order(books.ingram, (doc.lines[0], 2, "1000.00"), on="2025-05-06")
    receive(po, (po.lines[0], 2, "990.00"), invoice="ING-1", on="2025-05-08")
    sell(
        books.other_org,
        books.store.other_customer,
        Item(books.labour, 1, "300.00", "100"),
        on="2025-06-02",
    )
    db.session.commit()

    page = new_page(books.store.sales)
    page.goto("/admin/reports/")
    page.get_by_role("link", name="Gross profit").click()
    page.get_by_label("From").fill("2025-05-01")
    page.get_by_label("To").fill("2025-06-30")
    page.get_by_role("button", name="Show").click()
    periods = page.locator("#gp-periods tbody tr")
    expect(periods).to_have_count(2)
    expect(periods.first).to_contain_text("May 2025")
    expect(periods.first).to_contain_text("$520.00")
    expect(page.locator("#gp-documents")).to_contain_text(doc.number)
    # Chart.js drew on the canvas (it registers every chart it draws).
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 1")

    mark = mark_page(page)
    page.get_by_label("Per", exact=True).select_option("week")
    expect(periods.first).to_contain_text("Week of 2025-04-28")
    expect(page).to_have_url("/admin/reports/gross-profit?from=2025-05-01&to=2025-06-30&grain=week")
    assert_not_reloaded(page, mark)
    # The swapped-out chart was destroyed and the new one drawn: still exactly one.
    page.wait_for_function("() => Object.keys(Chart.instances).length === 1")
    labels = page.evaluate("() => Object.values(Chart.instances)[0].data.labels")
    assert labels[0] == "Week of 2025-04-28" and len(labels) == 10


def test_sales_by_organization_chart_and_a_bad_date_shows_a_toast(new_page, books):
    sell(books.org, books.store.customer, Item(books.labour, 2, "100.00"), on="2025-05-02")
    sell(
        books.other_org, books.store.other_customer, Item(books.labour, 1, "50.00"), on="2025-05-03"
    )
    db.session.commit()

    page = new_page(books.store.admin)
    page.goto("/admin/reports/sales?from=2025-05-01&to=2025-05-31&by=organization")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 1")
    assert page.evaluate("() => Object.values(Chart.instances)[0].data.labels") == [
        "Contoso",
        "Fabrikam",
    ]
    page.get_by_label("From").fill("2025-06-15")  # after "to": the server refuses it
    page.get_by_label("From").dispatch_event("change")
    expect(page.locator("#toasts")).to_contain_text("from (2025-06-15) is after to (2025-05-31)")
    expect(page.locator("#sales-summary")).to_contain_text("Contoso")  # the table stays
