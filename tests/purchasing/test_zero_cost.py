"""A zero cost on a purchase order or a receipt needs an explicit confirmation (issue 13):
100 laptops were once ordered at $0 from a cost that rounded to nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import login
from tests.purchasing.conftest import issue, purchase_orders
from tests.purchasing.test_admin import HX, reload
from webapp.extensions import db
from webapp.purchasing import errors, ordering, planning
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, Receipt


@pytest.fixture
def draft(store, market):
    document = issue(store, (market.t14, 6), (market.e16, 1))
    planning.plan_document(document)
    db.session.commit()
    ingram = next(po for po in purchase_orders() if po.supplier_id == market.ingram.id)
    return document, ingram


@pytest.fixture
def issued(draft, store):
    document, po = draft
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()
    return document, po


def _edit(client, po, line, cost, **extra):
    return client.post(
        f"/admin/purchasing/orders/{po.id}/lines/{line.id}",
        data={"quantity": "2", "unit_cost": cost, **extra},
        headers=HX,
    )


def test_a_zero_cost_without_confirmation_is_refused_saying_how_to_confirm(client, store, draft):
    _document, po = draft
    line = po.lines[0]
    login(client, store.purchasing)
    response = _edit(client, po, line, "0")
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "more than zero" in body and "Confirm a zero cost" in body
    assert reload(PurchaseOrderLine, line.id).unit_cost == Decimal("1000.0000")


def test_a_confirmed_zero_cost_is_kept_recorded_and_the_po_issues(client, store, draft):
    _document, po = draft
    line = po.lines[0]
    login(client, store.purchasing)
    response = _edit(client, po, line, "0", confirm_zero_cost="y")
    assert response.status_code == 204  # HTMX: saved, the page refreshes
    saved = reload(PurchaseOrderLine, line.id)
    assert (saved.unit_cost, saved.zero_cost_confirmed) == (Decimal("0"), True)
    event = reload(PurchaseOrder, po.id).events[-1]
    assert event.type == "line.changed" and "zero cost confirmed" in event.message

    ordering.issue_purchase_order(reload(PurchaseOrder, po.id), store.purchasing)
    assert reload(PurchaseOrder, po.id).status is PurchaseOrderStatus.ISSUED


def test_a_later_cost_clears_the_confirmation(client, store, draft):
    _document, po = draft
    line = po.lines[0]
    login(client, store.purchasing)
    _edit(client, po, line, "0", confirm_zero_cost="y")
    _edit(client, po, line, "12.50")
    assert reload(PurchaseOrderLine, line.id).zero_cost_confirmed is False
    assert _edit(client, po, line, "0").status_code == 409  # a new zero asks again


@pytest.mark.parametrize("cost", ["-1", "0.00004"])
def test_negative_or_sub_precision_costs_are_refused_even_when_confirmed(
    client, store, draft, cost
):
    _document, po = draft
    line = po.lines[0]
    login(client, store.purchasing)
    response = _edit(client, po, line, cost, confirm_zero_cost="y")
    assert response.status_code in (409, 422)
    assert reload(PurchaseOrderLine, line.id).unit_cost == Decimal("1000.0000")


def test_a_manual_line_at_zero_needs_the_confirmation_too(client, store, draft, market):
    _document, po = draft
    login(client, store.purchasing)
    url = f"/admin/purchasing/orders/{po.id}/lines"
    data = {"product_id": str(market.e16.id), "quantity": "1", "unit_cost": "0"}
    assert client.post(url, data=data, headers=HX).status_code == 409
    count = len(reload(PurchaseOrder, po.id).lines)
    assert client.post(url, data={**data, "confirm_zero_cost": "y"}, headers=HX).status_code == 204
    lines = reload(PurchaseOrder, po.id).lines
    assert len(lines) == count + 1 and lines[-1].zero_cost_confirmed


def test_issuing_refuses_a_zero_line_nobody_confirmed(store, draft):
    _document, po = draft
    po.lines[0].unit_cost = Decimal("0")  # as an older row could hold
    db.session.flush()
    with pytest.raises(errors.PurchasingError, match="Line 1 unit cost must be more than zero"):
        ordering.issue_purchase_order(po, store.purchasing)
    assert po.status is PurchaseOrderStatus.DRAFT


def _receive(client, po, cost, **extra):
    data = {"supplier_invoice_number": "R-0", "invoice_date": "2026-11-20", **extra}
    for line in po.lines:
        data[f"qty-{line.id}"] = "0"
    data[f"qty-{po.lines[0].id}"] = "1"
    data[f"cost-{po.lines[0].id}"] = cost
    return client.post(f"/admin/purchasing/orders/{po.id}/receive", data=data)


def test_a_zero_receipt_cost_needs_the_confirmation(client, store, issued):
    _document, po = issued
    login(client, store.purchasing)
    refused = _receive(client, po, "0")
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "more than zero" in body and "Confirm zero costs" in body
    assert db.session.scalars(select(Receipt)).all() == []

    assert _receive(client, po, "0", confirm_zero_costs="y").status_code == 303
    [receipt] = db.session.scalars(select(Receipt)).all()
    assert [(rl.unit_cost, rl.line_total) for rl in receipt.lines] == [(0, 0)]
