"""Gross profit from receipted costs: per document and per period, figures by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.reports.conftest import Item, allocate, order, receive, sell
from webapp.extensions import db
from webapp.reports import profit
from webapp.reports.forms import DateRange, Grain
from webapp.sales import operations as sales_operations
from webapp.sales.models import DocumentStatus

MAY = DateRange(date(2025, 5, 1), date(2025, 5, 31))


def test_cost_is_the_receipted_unit_cost_not_the_purchase_order_cost(books):
    doc = sell(
        books.org, books.store.customer, Item(books.laptop, 2, "1250.00", "1000"), on="2025-05-06"
    )
    po = order(books.ingram, (doc.lines[0], 2, "1000.00"), on="2025-05-06")
    # The supplier invoiced 990.50 a unit, not the 1000.00 on the PO.
    receive(po, (po.lines[0], 2, "990.50"), invoice="ING-1", on="2025-05-08")
    db.session.commit()

    [row] = profit.gross_profit_by_document(MAY)

    assert row.number == doc.number
    assert row.revenue == Decimal("2500.00")
    assert row.cost == Decimal("1981.00")
    assert row.gross_profit == Decimal("519.00")
    assert row.margin_pct == Decimal("20.8")
    assert row.complete
    assert row.completeness == "Fully receipted"


def test_partly_receipted_document_counts_only_what_is_receipted_and_says_so(books):
    doc = sell(
        books.org, books.store.customer, Item(books.laptop, 5, "1200.00", "1000"), on="2025-05-10"
    )
    po = order(books.ingram, (doc.lines[0], 5, "1000.00"), on="2025-05-10")
    receive(po, (po.lines[0], 2, "1010.00"), invoice="ING-7", on="2025-05-12")
    db.session.commit()

    [row] = profit.gross_profit_by_document(MAY)

    assert row.revenue == Decimal("6000.00")
    assert row.cost == Decimal("2020.00")  # 2 x 1010.00; 3 units not invoiced yet
    assert row.gross_profit == Decimal("3980.00")
    assert row.awaiting_units == 3
    assert not row.complete
    assert row.completeness == (
        "Partly receipted: 3 awaiting supplier invoice (their cost is not included)"
    )


def test_stock_labour_and_split_receipts_add_up_per_line(books):
    doc = sell(
        books.org,
        books.store.customer,
        Item(books.laptop, 4, "1250.00", "1000"),
        Item(books.dock, 3, "199.99", "150"),
        Item(books.labour, 2, "120.00", "45.5"),
        on="2025-05-20",
    )
    laptop_line, dock_line, _labour_line = doc.lines
    # Laptops: 1 from own stock at 950.1234, 3 bought across two suppliers and invoices.
    allocate(laptop_line, 1, "950.1234")
    ingram_po = order(
        books.ingram, (laptop_line, 2, "1000.00"), (dock_line, 3, "150.00"), on="2025-05-20"
    )
    dicker_po = order(books.dicker, (laptop_line, 1, "995.00"), on="2025-05-21")
    receive(
        ingram_po,
        (ingram_po.lines[0], 1, "999.99"),
        (ingram_po.lines[1], 3, "149.333"),
        invoice="A1",
        on="2025-05-22",
    )
    receive(ingram_po, (ingram_po.lines[0], 1, "1001.00"), invoice="A2", on="2025-06-03")
    receive(dicker_po, (dicker_po.lines[0], 1, "990.00"), invoice="D1", on="2025-06-04")
    db.session.commit()

    [row] = profit.gross_profit_by_document(MAY)

    revenue = Decimal("5000.00") + Decimal("599.97") + Decimal("240.00")
    cost = (
        Decimal("950.1234")  # own stock, rounded once at the document
        + Decimal("999.99")
        + Decimal("448.00")  # 3 x 149.333 = 447.999 -> 448.00 per receipt line
        + Decimal("1001.00")
        + Decimal("990.00")
        + Decimal("91.00")  # labour is never bought: 2 x 45.5 recorded on the line
    )
    assert row.revenue == revenue
    assert row.cost == Decimal("4480.11")
    assert row.cost == cost.quantize(Decimal("0.01"))
    assert row.gross_profit == revenue - Decimal("4480.11")
    assert row.complete


def test_goods_not_yet_purchased_add_no_cost_and_are_flagged(books):
    doc = sell(
        books.org, books.store.customer, Item(books.dock, 2, "200.00", "150"), on="2025-05-02"
    )
    db.session.commit()

    [row] = profit.gross_profit_by_document(MAY)

    assert (row.revenue, row.cost, row.unplanned_units) == (Decimal("400.00"), Decimal("0.00"), 2)
    assert row.completeness == "Partly receipted: 2 not yet purchased (their cost is not included)"
    assert doc.number == row.number


def test_cancelled_documents_and_documents_outside_the_range_are_left_out(books):
    kept = sell(
        books.org, books.store.customer, Item(books.labour, 1, "100.00", "40"), on="2025-05-31"
    )
    cancelled = sell(
        books.org, books.store.customer, Item(books.labour, 1, "100.00", "40"), on="2025-05-15"
    )
    sales_operations.transition(cancelled, DocumentStatus.CANCELLED, books.store.admin, "test")
    sell(books.org, books.store.customer, Item(books.labour, 1, "100.00", "40"), on="2025-06-01")
    sell(books.org, books.store.customer, Item(books.labour, 1, "100.00", "40"), on="2025-04-30")
    db.session.commit()

    assert [row.number for row in profit.gross_profit_by_document(MAY)] == [kept.number]


def test_costs_stay_in_the_documents_period_whatever_the_receipt_date(books):
    april = sell(
        books.org, books.store.customer, Item(books.dock, 2, "200.00", "150"), on="2025-04-28"
    )
    may = sell(
        books.org, books.store.customer, Item(books.dock, 1, "210.00", "150"), on="2025-05-05"
    )
    po = order(
        books.ingram, (april.lines[0], 2, "150.00"), (may.lines[0], 1, "150.00"), on="2025-04-29"
    )
    # April's goods are invoiced in May, May's in June: GP stays with the sale's month.
    receive(po, (po.lines[0], 2, "151.00"), invoice="X1", on="2025-05-02")
    receive(po, (po.lines[1], 1, "149.00"), invoice="X2", on="2025-06-10")
    db.session.commit()

    rows = profit.gross_profit_by_period(
        DateRange(date(2025, 4, 1), date(2025, 6, 30)), Grain.MONTH, "USD"
    )

    assert [(r.label, r.documents, r.revenue, r.cost, r.gross_profit) for r in rows] == [
        ("Apr 2025", 1, Decimal("400.00"), Decimal("302.00"), Decimal("98.00")),
        ("May 2025", 1, Decimal("210.00"), Decimal("149.00"), Decimal("61.00")),
        ("Jun 2025", 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
    ]


def test_weeks_start_on_monday_and_empty_days_show_as_zero(books):
    sell(
        books.org, books.store.customer, Item(books.labour, 1, "100.00", "40"), on="2025-05-04"
    )  # Sun
    sell(
        books.org, books.store.customer, Item(books.labour, 1, "300.00", "40"), on="2025-05-05"
    )  # Mon
    sell(
        books.org, books.store.customer, Item(books.labour, 1, "50.00", "10"), on="2025-05-11"
    )  # Sun
    db.session.commit()
    weeks = profit.gross_profit_by_period(
        DateRange(date(2025, 5, 1), date(2025, 5, 14)), Grain.WEEK, "USD"
    )
    days = profit.gross_profit_by_period(
        DateRange(date(2025, 5, 3), date(2025, 5, 5)), Grain.DAY, "USD"
    )

    assert [(r.start, r.revenue, r.gross_profit) for r in weeks] == [
        (date(2025, 4, 28), Decimal("100.00"), Decimal("60.00")),
        (date(2025, 5, 5), Decimal("350.00"), Decimal("300.00")),
        (date(2025, 5, 12), Decimal("0.00"), Decimal("0.00")),
    ]
    assert [(r.label, r.revenue) for r in days] == [
        ("2025-05-03", Decimal("0.00")),
        ("2025-05-04", Decimal("100.00")),
        ("2025-05-05", Decimal("300.00")),
    ]


def test_period_totals_equal_the_documents_totals(books):
    for day, price in (("2025-05-01", "10.01"), ("2025-05-17", "20.02"), ("2025-05-31", "30.03")):
        sell(books.org, books.store.customer, Item(books.labour, 3, price, "1.1111"), on=day)
    db.session.commit()
    documents = profit.total_profit(profit.gross_profit_by_document(MAY))
    periods = profit.total_profit(profit.gross_profit_by_period(MAY, Grain.WEEK, "USD"))

    assert documents.revenue == periods.revenue == Decimal("180.18")
    # 3 x 1.1111 = 3.3333, rounded once per document: 3.33 each.
    assert documents.cost == periods.cost == Decimal("9.99")
