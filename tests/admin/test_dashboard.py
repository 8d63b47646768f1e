"""The dashboard's charts: the report queries' own figures, and orders waiting per stage."""

from __future__ import annotations

import html
import json
import re

from tests.factories import issue_order, login
from webapp.extensions import db
from webapp.sales.models import DocumentStatus, FulfilmentStatus, ProcurementStatus

_CHART = re.compile(r"<canvas role=\"img\" aria-label=\"([^\"]+)\" data-chart='([^']+)'")


def _charts(page: str) -> dict[str, dict]:
    return {label: json.loads(html.unescape(spec)) for label, spec in _CHART.findall(page)}


def test_the_sales_trend_is_the_gross_profit_reports_chart_for_the_last_12_months(client, store):
    issue_order(store, "a")
    issue_order(store, "b")
    db.session.commit()
    login(client, store.sales)
    page = client.get("/admin/").get_data(as_text=True)
    trend = _charts(page)["Revenue, receipted cost and gross profit per month"]
    report_url = re.search(r'href="(/admin/reports/gross-profit[^"]+)"', page).group(1)
    report = client.get(html.unescape(report_url)).get_data(as_text=True)
    assert trend == _charts(report)["Revenue, receipted cost and gross profit per month"]
    assert len(trend["labels"]) == 12
    revenue = trend["datasets"][0]["data"]
    assert revenue[-1] == "199.98"  # two documents of 3 x 33.33, ex tax and shipping
    assert set(revenue[:-1]) == {"0.00"}


def test_orders_waiting_are_counted_per_stage_and_link_to_the_same_orders(client, store):
    documents = [issue_order(store, f"k{i}") for i in range(5)]
    documents[1].status = DocumentStatus.ON_HOLD
    documents[2].procurement_status = ProcurementStatus.PLANNED
    documents[3].procurement_status = ProcurementStatus.PLANNED
    documents[3].fulfilment_status = FulfilmentStatus.PARTIAL
    documents[4].status = DocumentStatus.CANCELLED  # not waiting anywhere
    db.session.commit()
    login(client, store.admin)
    page = client.get("/admin/").get_data(as_text=True)
    chart = _charts(page)["Open orders per stage"]
    counts = dict(zip(chart["labels"], chart["datasets"][0]["data"], strict=True))
    assert counts["On hold for review"] == "1"
    assert counts["Waiting to be planned"] == "1"
    assert counts["Waiting for goods"] == "1"
    assert counts["Partly received"] == "1"
    assert sum(int(n) for n in counts.values()) == 4
    for key, number in [("on_hold", documents[1]), ("goods", documents[2])]:
        item = re.search(rf'data-stage="{key}"><a href="([^"]+)"', page).group(1)
        listed = client.get(html.unescape(item)).get_data(as_text=True)
        assert number.number in listed
        assert documents[0].number not in listed


def test_purchasing_sees_where_orders_wait_but_not_the_sales_trend(client, store):
    login(client, store.purchasing)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="orders-waiting"' in page
    assert 'id="sales-trend"' not in page
