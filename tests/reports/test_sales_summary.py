"""Sales summary by staff, organization, payment method and date, figures by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.quotes.conftest import build_quote, send
from tests.quotes.test_flows import _accept
from tests.reports.conftest import Item, sell
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.reports import periods, sales_figures
from webapp.reports.forms import DateRange, Grain
from webapp.reports.sales_figures import SalesDimension
from webapp.sales import operations as sales_operations
from webapp.sales.models import DocumentStatus, PaymentMethod

MAY = DateRange(date(2025, 5, 1), date(2025, 5, 31))


@pytest.fixture
def may_sales(books):
    """Four documents in May (one cancelled), one in June. GST 10% is the default tax."""
    store = books.store
    # Contoso, store checkout on account: 2 x 100.00 + shipping 15.00 -> subtotal 215.00,
    # tax 21.50, total 236.50.
    a = sell(
        books.org,
        store.customer,
        Item(books.labour, 2, "100.00"),
        shipping="15.00",
        on="2025-05-02",
    )
    # Contoso by card (2% surcharge), keyed by Dana: 1 x 50.00 -> goods 50.00, tax 5.00,
    # surcharge 2% of 55.00 = 1.10 tax included (1.00 + tax 0.10) -> subtotal 51.00,
    # tax 5.10, total 56.10.
    b = sell(
        books.org,
        store.customer,
        Item(books.labour, 1, "50.00"),
        payment=PaymentMethod.CARD,
        surcharge_pct="2",
        actor=books.seller,
        on="2025-05-02",
    )
    # Fabrikam on account, keyed by Dana: 3 x 33.33 = 99.99, tax 10.00, total 109.99.
    c = sell(
        books.other_org,
        store.other_customer,
        Item(books.labour, 3, "33.33"),
        actor=books.seller,
        on="2025-05-20",
    )
    cancelled = sell(
        books.other_org, store.other_customer, Item(books.labour, 1, "999.00"), on="2025-05-21"
    )
    sales_operations.transition(cancelled, DocumentStatus.CANCELLED, store.admin, "test")
    sell(books.org, store.customer, Item(books.labour, 1, "999.00"), on="2025-06-01")
    db.session.commit()
    return a, b, c


def _rows(by, grain=Grain.MONTH, date_range=MAY):
    return [
        (r.label, r.documents, r.subtotal, r.tax, r.total)
        for r in sales_figures.sales_summary(date_range, by, grain)
    ]


def test_documents_add_up_as_computed_by_hand(may_sales):
    a, b, c = may_sales
    assert (a.subtotal, a.tax_total, a.total) == (
        Decimal("215.00"),
        Decimal("21.50"),
        Decimal("236.50"),
    )
    assert (b.subtotal, b.tax_total, b.total) == (
        Decimal("51.00"),
        Decimal("5.10"),
        Decimal("56.10"),
    )
    assert (c.subtotal, c.tax_total, c.total) == (
        Decimal("99.99"),
        Decimal("10.00"),
        Decimal("109.99"),
    )


def test_by_organization_biggest_first_without_cancelled_or_out_of_range(may_sales):
    assert _rows(SalesDimension.ORGANIZATION) == [
        ("Contoso", 2, Decimal("266.00"), Decimal("26.60"), Decimal("292.60")),
        ("Fabrikam", 1, Decimal("99.99"), Decimal("10.00"), Decimal("109.99")),
    ]


def test_by_payment_method(may_sales):
    assert _rows(SalesDimension.PAYMENT_METHOD) == [
        ("On account", 2, Decimal("314.99"), Decimal("31.50"), Decimal("346.49")),
        ("Card, by phone", 1, Decimal("51.00"), Decimal("5.10"), Decimal("56.10")),
    ]


def test_by_staff_store_checkouts_have_no_salesperson(may_sales):
    assert _rows(SalesDimension.STAFF) == [
        (periods.NO_SALESPERSON, 1, Decimal("215.00"), Decimal("21.50"), Decimal("236.50")),
        ("Dana Seller", 2, Decimal("150.99"), Decimal("15.10"), Decimal("166.09")),
    ]


def test_by_date_lists_every_day_of_the_range(may_sales):
    rows = _rows(SalesDimension.DATE, Grain.DAY, DateRange(date(2025, 5, 1), date(2025, 5, 3)))
    assert rows == [
        ("2025-05-01", 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
        ("2025-05-02", 2, Decimal("266.00"), Decimal("26.60"), Decimal("292.60")),
        ("2025-05-03", 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
    ]


def test_every_dimension_totals_the_same(may_sales):
    totals = {
        by: sales_figures.total_sales(sales_figures.sales_summary(MAY, by, Grain.WEEK))
        for by in SalesDimension
    }
    assert {(t.documents, t.subtotal, t.tax, t.total) for t in totals.values()} == {
        (3, Decimal("365.99"), Decimal("36.60"), Decimal("402.59"))
    }


def test_by_staff_credits_an_order_won_from_a_quote_to_the_quote_owner(client, store):
    store.sales.name = "Sam Sales"
    quote = build_quote(store)
    send(quote)
    assert _accept(client, quote, store.customer).status_code == 303  # the customer accepts
    db.session.commit()
    document = db.session.get(type(quote), quote.id).document
    today = utcnow().date()
    rows = _rows(SalesDimension.STAFF, date_range=DateRange(today - timedelta(days=1), today))
    assert [(label, count) for label, count, *_ in rows] == [("Sam Sales", 1)]
    assert rows[0][2:] == (document.subtotal, document.tax_total, document.total)
