"""The staff lists' searches take % and _ literally (organizations.queries.like_pattern), as the
organization, product and quote searches do: "%" must not list every order, PO or receipt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.factories import issue_order
from webapp.extensions import db
from webapp.purchasing import lifecycle
from webapp.purchasing import queries as purchasing_queries
from webapp.purchasing.models import Receipt
from webapp.sales import queries as sales_queries


@pytest.fixture
def records(store):
    document = issue_order(store)
    po = lifecycle.create_purchase_order(store.supplier, store.purchasing)
    receipt = Receipt(
        purchase_order=po,
        supplier=store.supplier,
        supplier_invoice_number="INV_7%",
        invoice_date=date(2026, 1, 5),
        due_date=date(2026, 2, 5),
        currency=po.currency,
        subtotal=Decimal("0"),
        total=Decimal("0"),
    )
    db.session.add(receipt)
    db.session.commit()
    return document, po, receipt


def _found(results):
    items, _more = results
    return items


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_a_wildcard_alone_matches_only_what_holds_it(records, wildcard):
    document, po, receipt = records
    assert _found(sales_queries.documents(search=wildcard)) == []
    assert _found(purchasing_queries.purchase_orders(search=wildcard)) == []
    assert _found(purchasing_queries.receipts(search=wildcard)) == [receipt]  # "INV_7%"


def test_searches_still_find_by_part_of_a_number(records):
    document, po, receipt = records
    assert _found(sales_queries.documents(search=document.number[-3:])) == [document]
    assert _found(purchasing_queries.purchase_orders(search=po.number.lower())) == [po]
    assert _found(purchasing_queries.receipts(search="inv_7")) == [receipt]
    assert _found(purchasing_queries.receipts(search="INV%7")) == []
