"""Purchases summary, unfulfilled / back-order lists and accounts payable."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.reports.conftest import Item, allocate, order, receive, sell
from webapp.extensions import db
from webapp.purchasing import ordering
from webapp.reports import payable_figures, purchase_figures
from webapp.reports.forms import DateRange, Grain
from webapp.reports.purchase_figures import PurchaseDimension

MAY = DateRange(date(2025, 5, 1), date(2025, 5, 31))


@pytest.fixture
def purchases(books):
    """Ingram: PO 2 x 1000 + 1 x 150 (free freight none) issued 5 May, billed in two invoices;
    Dicker: PO 1 x 995 issued 20 May, not billed; a draft and a cancelled PO are not purchases."""
    store = books.store
    books.ingram.freight_fee = Decimal("12.50")
    doc = sell(
        books.org,
        store.customer,
        Item(books.laptop, 3, "1250.00"),
        Item(books.dock, 1, "199.00"),
        on="2025-05-05",
    )
    laptops, dock = doc.lines
    ingram = order(
        books.ingram, (laptops, 2, "1000.00"), (dock, 1, "150.00"), on="2025-05-05", eta_days=4
    )
    dicker = order(books.dicker, (laptops, 1, "995.00"), on="2025-05-20", eta_days=10)
    order(books.dicker, (books.dock, 5, "140.00"), on="2025-05-21", issue=False)  # a draft
    cancelled = order(books.ingram, (books.dock, 1, "150.00"), on="2025-05-22")
    ordering.cancel_purchase_order(cancelled, store.admin, "duplicate")
    receive(
        ingram,
        (ingram.lines[0], 1, "1001.00"),
        invoice="ING-1",
        on="2025-05-07",
        due="2025-06-06",
        freight="12.50",
    )
    receive(
        ingram, (ingram.lines[1], 1, "149.90"), invoice="ING-2", on="2025-06-02", due="2025-07-02"
    )
    db.session.commit()
    return doc, ingram, dicker


def test_purchases_by_supplier(purchases):
    rows = purchase_figures.purchases_summary(MAY, PurchaseDimension.SUPPLIER)
    assert [
        (
            r.label,
            r.orders,
            r.ordered_value,
            r.bills,
            r.billed_goods,
            r.billed_freight,
            r.billed_total,
        )
        for r in rows
    ] == [
        # 2 x 1000 + 150 + 12.50 freight; one bill dated in May: 1001.00 + 12.50 freight.
        (
            "Ingram",
            1,
            Decimal("2162.50"),
            1,
            Decimal("1001.00"),
            Decimal("12.50"),
            Decimal("1013.50"),
        ),
        ("Dicker Data", 1, Decimal("995.00"), 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
    ]


def test_purchases_by_month_put_each_bill_in_its_invoice_month(purchases):
    rows = purchase_figures.purchases_summary(
        DateRange(date(2025, 5, 1), date(2025, 6, 30)), PurchaseDimension.DATE, Grain.MONTH
    )
    assert [(r.label, r.orders, r.ordered_value, r.bills, r.billed_total) for r in rows] == [
        ("May 2025", 2, Decimal("3157.50"), 1, Decimal("1013.50")),
        ("Jun 2025", 0, Decimal("0.00"), 1, Decimal("149.90")),
    ]


def test_unfulfilled_lines_show_what_is_missing_and_when_it_is_expected(purchases):
    doc, _ingram, _dicker = purchases
    rows = purchase_figures.unfulfilled_lines(MAY)
    # Laptops: 3 sold, 1 receipted, 2 on order (Ingram's second by 9 May, Dicker's by 30 May).
    # The dock was receipted (in June): nothing missing.
    assert [
        (
            r.number,
            r.sku,
            r.quantity,
            r.from_stock,
            r.received,
            r.on_order,
            r.not_ordered,
            r.expected,
        )
        for r in rows
    ] == [(doc.number, doc.lines[0].sku, 3, 0, 1, 2, 0, date(2025, 5, 30))]


def test_goods_served_from_stock_or_not_yet_ordered(books):
    doc = sell(
        books.org,
        books.store.customer,
        Item(books.dock, 5, "199.00"),
        Item(books.labour, 1, "90.00"),
        on="2025-05-09",
    )
    allocate(doc.lines[0], 2, "140.00")
    db.session.commit()

    [row] = purchase_figures.unfulfilled_lines(MAY)  # labour is never waited for

    assert (row.quantity, row.from_stock, row.on_order, row.not_ordered, row.waiting) == (
        5,
        2,
        0,
        3,
        3,
    )
    assert row.expected is None


def test_outstanding_purchase_order_lines_with_eta_and_lateness(purchases):
    doc, ingram, dicker = purchases
    rows = purchase_figures.outstanding_po_lines(MAY)
    assert [
        (r.po_number, r.sku, r.quantity, r.received, r.outstanding, r.expected) for r in rows
    ] == [
        (ingram.number, ingram.lines[0].supplier_sku, 2, 1, 1, date(2025, 5, 9)),
        (dicker.number, dicker.lines[0].supplier_sku, 1, 0, 1, date(2025, 5, 30)),
    ]
    assert rows[0].sales_document_number == doc.number
    assert rows[0].days_late(date(2025, 5, 12)) == 3
    assert rows[1].days_late(date(2025, 5, 12)) == 0


def test_accounts_payable_lists_bills_by_due_date_with_overdue_and_ageing(purchases):
    bills = payable_figures.payable_bills(DateRange(date(2025, 5, 1), date(2025, 6, 30)))
    assert [(b.supplier_invoice_number, b.due_date, b.total) for b in bills] == [
        ("ING-1", date(2025, 6, 6), Decimal("1013.50")),
        ("ING-2", date(2025, 7, 2), Decimal("149.90")),
    ]
    today = date(2025, 7, 1)
    assert [(b.is_overdue(today), b.days_overdue(today)) for b in bills] == [(True, 25), (False, 0)]
    [ageing] = payable_figures.payables_ageing(bills, today)
    assert ageing.total == Decimal("1163.40")
    assert ageing.overdue == Decimal("1013.50")
    assert ageing.buckets == {
        "Not yet due": Decimal("149.90"),
        "1–30 days overdue": Decimal("1013.50"),
        "31–60 days overdue": Decimal("0.00"),
        "61–90 days": Decimal("0.00"),
        "90+ days": Decimal("0.00"),
    }


def test_due_date_defaults_to_the_suppliers_payment_terms(purchases):
    _doc, _ingram, dicker = purchases
    bill = receive(dicker, (dicker.lines[0], 1, "995.00"), invoice="DD-9", on="2025-05-25")
    db.session.commit()
    [row] = [b for b in payable_figures.payable_bills(MAY) if b.supplier_invoice_number == "DD-9"]
    assert row.due_date == bill.due_date > date(2025, 5, 25)
    assert row.due_date - row.invoice_date == timedelta(
        days=(bill.due_date - bill.invoice_date).days
    )
