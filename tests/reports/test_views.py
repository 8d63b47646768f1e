"""Report pages: roles, in-place refresh, filters, bad input, downloads."""

from __future__ import annotations

import pytest

from tests.factories import login
from tests.reports.conftest import Item, order, receive, sell
from webapp.extensions import db

PAGES = {
    "/admin/reports/gross-profit": {"admin", "sales"},
    "/admin/reports/sales": {"admin", "sales"},
    "/admin/reports/purchases": {"admin", "purchasing"},
    "/admin/reports/backorders": {"admin", "sales", "purchasing"},
    "/admin/reports/payables": {"admin", "purchasing"},
    "/admin/reports/erp-exports": {"admin", "sales", "purchasing"},
}


@pytest.fixture
def month(books):
    """One receipted sale and one overdue bill in May 2025."""
    doc = sell(
        books.org, books.store.customer, Item(books.laptop, 2, "1250.00", "1000"), on="2025-05-06"
    )
    po = order(books.ingram, (doc.lines[0], 2, "1000.00"), on="2025-05-06")
    receive(
        po, (po.lines[0], 1, "990.00"), invoice="ING-OVERDUE", on="2025-05-08", due="2025-06-07"
    )
    receive(po, (po.lines[0], 1, "990.00"), invoice="ING-LATER", on="2025-05-09", due="2099-01-01")
    db.session.commit()
    return doc


@pytest.mark.parametrize("path", sorted(PAGES))
@pytest.mark.parametrize("role", ["admin", "sales", "purchasing"])
def test_each_report_is_open_to_its_roles_only(client, books, path, role):
    login(client, getattr(books.store, role))
    response = client.get(path)
    assert response.status_code == (200 if role in PAGES[path] else 403)


def test_index_lists_only_the_reports_of_the_role(client, books):
    login(client, books.store.purchasing)
    page = client.get("/admin/reports/").get_data(as_text=True)
    assert "Purchases summary" in page and "Accounts payable" in page
    assert "Gross profit" not in page and "Sales summary" not in page


def test_customers_do_not_learn_reports_exist_and_visitors_must_sign_in(client, books):
    assert client.get("/admin/reports/gross-profit").status_code == 302
    login(client, books.store.customer)
    assert client.get("/admin/reports/gross-profit").status_code == 404
    assert client.get("/admin/reports/export/myob-sales").status_code == 404


def test_gross_profit_page_shows_figures_chart_and_export_links(client, books, month):
    login(client, books.store.sales)
    page = client.get("/admin/reports/gross-profit?from=2025-05-01&to=2025-05-31&grain=week")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert month.number in html
    assert "$2,500.00" in html and "$1,980.00" in html and "$520.00" in html
    assert "Week of 2025-05-05" in html
    assert "data-chart=" in html and "vendor/chart.umd.min.js" in html
    assert "/admin/reports/export/gross-profit?from=2025-05-01&amp;to=2025-05-31" in html


def test_htmx_refresh_returns_only_the_report_body(client, books, month):
    login(client, books.store.admin)
    response = client.get(
        "/admin/reports/gross-profit?from=2025-05-01&to=2025-05-31&grain=month",
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="report-body">')
    assert "<html" not in html and 'id="report-filters"' not in html
    assert "May 2025" in html and month.number in html
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2025-13-01", "from: &#39;2025-13-01&#39; is not a date (use YYYY-MM-DD)"),
        ("from=2025-05-01&to=yesterday", "to: &#39;yesterday&#39; is not a date"),
        ("from=2025-05-31&to=2025-05-01", "from (2025-05-31) is after to (2025-05-01)"),
        ("grain=fortnight", "grain: &#39;fortnight&#39; is not one of day, week, month"),
        ("from=2020-01-01&to=2025-01-01&grain=day", "by day covers at most 400 days"),
        ("from=1900-01-01&to=2025-01-01", "longer than ten years"),
    ],
)
def test_bad_filters_are_refused_with_a_message(client, books, query, message):
    login(client, books.store.admin)
    response = client.get(f"/admin/reports/gross-profit?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_bad_filters_on_htmx_refresh_answer_400_with_the_message_for_the_toast(client, books):
    login(client, books.store.admin)
    response = client.get("/admin/reports/sales?by=colour", headers={"HX-Request": "true"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "data-message" in body and "by: &#39;colour&#39; is not one of" in body


def test_payables_highlight_overdue_bills(client, books, month):
    login(client, books.store.purchasing)
    html = client.get("/admin/reports/payables?from=2025-05-01&to=2025-05-31").get_data(
        as_text=True
    )
    overdue_row = html[html.index("ING-OVERDUE") - 600 : html.index("ING-OVERDUE")]
    later_row = html[html.index("ING-LATER") - 600 : html.index("ING-LATER")]
    assert "data-overdue" in overdue_row.split("<tr")[-1]
    assert "data-overdue" not in later_row.split("<tr")[-1]
    assert "days overdue" in html


def test_backorders_and_purchases_pages_render(client, books, month):
    login(client, books.store.admin)
    backorders = client.get("/admin/reports/backorders?from=2025-05-01&to=2025-05-31")
    purchases = client.get(
        "/admin/reports/purchases?from=2025-05-01&to=2025-05-31&by=date&grain=week"
    )
    sales = client.get("/admin/reports/sales?from=2025-05-01&to=2025-05-31&by=staff")
    assert backorders.status_code == purchases.status_code == sales.status_code == 200
    assert "Every sales line in this range has its goods." in backorders.get_data(as_text=True)
    assert "Week of 2025-05-05" in purchases.get_data(as_text=True)


def test_export_downloads_a_named_attachment(client, books, month):
    login(client, books.store.sales)
    response = client.get("/admin/reports/export/gross-profit?from=2025-05-01&to=2025-05-31")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="gross-profit-20250501-20250531.csv"'
    )
    assert month.number in response.get_data(as_text=True)


def test_export_refuses_unknown_kinds_other_roles_and_bad_dates(client, books):
    login(client, books.store.sales)
    assert client.get("/admin/reports/export/everything").status_code == 404
    assert client.get("/admin/reports/export/myob-bills").status_code == 403
    assert client.get("/admin/reports/export/accounts-payable").status_code == 403
    bad = client.get("/admin/reports/export/myob-sales?from=2025-02-30")
    assert bad.status_code == 400
    assert "from: &#39;2025-02-30&#39; is not a date" in bad.get_data(as_text=True)


def test_erp_exports_page_defaults_to_last_month_and_offers_the_roles_files(client, books):
    login(client, books.store.purchasing)
    html = client.get("/admin/reports/erp-exports").get_data(as_text=True)
    assert "MYOB Item Purchases: purchase orders" in html
    assert "MYOB Item Purchases: bills from receipts" in html
    assert "MYOB Item Sales" not in html
    assert "/admin/reports/export/myob-bills?from=" in html
