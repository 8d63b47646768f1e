"""A cancelled sales document: its procurement is taken back as far as it still can be."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import login
from tests.purchasing.conftest import issue, po_lines, purchase_orders
from webapp.extensions import db
from webapp.purchasing import ordering, planning, receipting
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderStatus,
    StockAllocation,
    StockItem,
)
from webapp.purchasing.receipting import ReceiptInput, ReceiptLineInput
from webapp.sales import operations as sales_operations
from webapp.sales.models import (
    DocumentStatus,
    FulfilmentStatus,
    ProcurementStatus,
    SalesDocument,
)


def reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def cancel(document: SalesDocument, actor, reason: str = "customer changed their mind") -> None:
    sales_operations.transition(document, DocumentStatus.CANCELLED, actor, reason)
    db.session.flush()


def receive_all(po: PurchaseOrder, number: str, actor) -> None:
    receipting.record_receipt(
        po,
        ReceiptInput(
            supplier_invoice_number=number,
            invoice_date=date(2026, 11, 1),
            due_date=None,
            freight=Decimal("0"),
            lines=[
                ReceiptLineInput(line.id, line.outstanding, line.unit_cost) for line in po.lines
            ],
        ),
        actor,
    )
    db.session.flush()


@pytest.fixture
def priced_freight(market):
    """Ingram charges 25 freight below 2,000 of goods: removing lines can bring it back."""
    market.ingram.freight_fee = Decimal("25.00")
    market.ingram.free_freight_threshold = Decimal("2000.00")
    db.session.commit()
    return market


def test_cancelling_removes_its_lines_from_a_shared_draft_and_recomputes_freight(
    store, priced_freight
):
    market = priced_freight
    kept = issue(store, (market.e16, 1))
    planning.plan_document(kept)
    cancelled = issue(store, (market.e16, 2))
    planning.plan_document(cancelled)
    db.session.flush()
    [po] = purchase_orders()  # both merged into one Ingram draft: 3 × 700, free freight
    assert (po.subtotal, po.freight) == (Decimal("2100.00"), Decimal("0.00"))

    cancel(cancelled, store.sales)

    assert po_lines(cancelled) == []
    assert [line.sales_document_id for line in po.lines] == [kept.id]
    assert po.status is PurchaseOrderStatus.DRAFT
    assert (po.subtotal, po.freight, po.total) == (
        Decimal("700.00"),
        Decimal("25.00"),
        Decimal("725.00"),
    )
    [event] = [e for e in po.events if e.type == "sales_document.cancelled"]
    assert event.message == (
        f"1 line for {cancelled.number} removed: the sales document was cancelled"
    )
    assert event.actor == store.sales
    assert cancelled.procurement_status is ProcurementStatus.NOT_NEEDED
    assert reload(SalesDocument, kept.id).procurement_status is ProcurementStatus.PLANNED


def test_a_draft_left_empty_by_the_cancellation_is_cancelled(store, market):
    document = issue(store, (market.e16, 2), (market.t14, 6))
    planning.plan_document(document)
    db.session.flush()
    drafts = purchase_orders()
    assert len(drafts) == 2  # the T14s are split between Ingram and Dicker

    cancel(document, store.sales)

    db.session.expire_all()
    assert {po.status for po in purchase_orders()} == {PurchaseOrderStatus.CANCELLED}
    assert all(po.lines == [] and po.cancelled_at is not None for po in purchase_orders())
    [summary] = [e for e in document.events if e.type == "procurement.cancelled"]
    assert "3 draft PO lines removed" in summary.message


def test_cancelling_returns_its_own_stock_allocations(store, market):
    item = StockItem(product=market.e16, quantity_on_hand=4, unit_cost=Decimal("650"))
    db.session.add(item)
    other = issue(store, (market.e16, 1))
    planning.plan_document(other)
    document = issue(store, (market.e16, 2))
    planning.plan_document(document)
    db.session.flush()
    assert item.quantity_allocated == 3

    cancel(document, store.sales)

    item = reload(StockItem, item.id)
    assert (item.quantity_allocated, item.available) == (1, 3)
    allocations = db.session.scalars(select(StockAllocation)).all()
    assert [a.sales_document_id for a in allocations] == [other.id]
    document = reload(SalesDocument, document.id)
    [event] = [e for e in document.events if e.type == "procurement.released"]
    assert event.message == "2 × ThinkPad E16 returned to own stock"


def test_issued_po_keeps_its_lines_and_asks_to_contact_the_supplier(client, store, market):
    document = issue(store, (market.e16, 3))
    planning.plan_document(document)
    db.session.flush()
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()

    cancel(document, store.sales, "duplicate order")
    db.session.commit()

    po = reload(PurchaseOrder, po.id)
    assert po.status is PurchaseOrderStatus.ISSUED
    assert [line.quantity for line in po.lines] == [3]
    assert po.attention == (
        f"Sales document {document.number} was cancelled (duplicate order): contact the "
        "supplier about 3 outstanding units on line 1."
    )
    assert [e.type for e in po.events][-1] == "sales_document.cancelled"
    document = reload(SalesDocument, document.id)
    assert document.procurement_status is ProcurementStatus.NEEDS_ATTENTION

    login(client, store.purchasing)
    page = client.get(f"/admin/purchasing/orders/{po.id}").get_data(as_text=True)
    assert f"Sales document {document.number} was cancelled (duplicate order)" in page
    panel = client.get(f"/admin/orders/{document.id}").get_data(as_text=True)
    assert f"{document.number} was cancelled (duplicate order): contact the supplier" in panel
    listed = client.get("/admin/purchasing/orders?attention=1").get_data(as_text=True)
    assert po.number in listed


def test_cancelling_the_flagged_po_clears_the_flag(store, market):
    document = issue(store, (market.e16, 3))
    planning.plan_document(document)
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    cancel(document, store.sales)
    assert document.procurement_status is ProcurementStatus.NEEDS_ATTENTION

    ordering.cancel_purchase_order(po, store.purchasing, "supplier took it back")

    assert po.attention == ""
    assert document.procurement_status is ProcurementStatus.NOT_NEEDED


def test_goods_still_arriving_for_a_cancelled_document_never_make_it_ready_to_invoice(
    store, market
):
    document = issue(store, (market.e16, 3))
    planning.plan_document(document)
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    cancel(document, store.sales)

    receive_all(po, "ING-77", store.purchasing)

    assert po.status is PurchaseOrderStatus.RECEIVED
    assert document.ready_to_invoice_at is None
    assert document.fulfilment_status is FulfilmentStatus.NONE
    assert document.procurement_status is ProcurementStatus.NOT_NEEDED  # nothing awaited now


def test_a_partly_received_po_is_flagged_only_for_what_is_outstanding(store, market):
    document = issue(store, (market.e16, 3), (market.x1, 1))
    planning.plan_document(document)
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    e16, x1 = sorted(po.lines, key=lambda line: line.product_id == market.x1.id)
    receipting.record_receipt(
        po,
        ReceiptInput(
            supplier_invoice_number="ING-1",
            invoice_date=date(2026, 11, 1),
            due_date=None,
            freight=Decimal("0"),
            lines=[ReceiptLineInput(e16.id, 3, e16.unit_cost)],
        ),
        store.purchasing,
    )
    assert po.status is PurchaseOrderStatus.PARTIALLY_RECEIVED

    cancel(document, store.sales, "")

    assert po.attention == (
        f"Sales document {document.number} was cancelled: contact the supplier about "
        f"1 outstanding unit on line {x1.position}."
    )
    assert sorted((line.quantity, line.quantity_received) for line in po.lines) == [
        (1, 0),
        (3, 3),
    ]


def test_a_planning_job_for_a_cancelled_document_does_nothing(store, market, run_jobs):
    document = issue(store, (market.e16, 2))  # approved: its planning job is queued
    db.session.commit()
    cancel(reload(SalesDocument, document.id), store.sales)
    db.session.commit()

    run_jobs()

    document = reload(SalesDocument, document.id)
    assert purchase_orders() == []
    assert db.session.scalars(select(StockAllocation)).all() == []
    assert "procurement.run" not in [e.type for e in document.events]
    assert document.status is DocumentStatus.CANCELLED


def test_cancelling_through_the_order_page_takes_the_draft_lines_back(client, store, market):
    document = issue(store, (market.e16, 2))
    planning.plan_document(document)
    db.session.commit()
    [po] = purchase_orders()
    login(client, store.sales)

    response = client.post(
        f"/admin/orders/{document.id}/status", data={"status": "cancelled", "reason": "dup"}
    )

    assert response.status_code == 303
    po = reload(PurchaseOrder, po.id)
    assert (po.status, po.lines) == (PurchaseOrderStatus.CANCELLED, [])
    assert po.events[-1].actor_id == store.sales.id


def test_cancelling_a_held_document_needs_nothing_from_purchasing(store, market, run_jobs):
    document = issue(store, (market.e16, 1), hold_reason="margin below floor")
    cancel(document, store.sales)
    db.session.commit()
    run_jobs()
    document = reload(SalesDocument, document.id)
    assert purchase_orders() == []
    assert document.procurement_status is ProcurementStatus.NOT_NEEDED
    assert "procurement.cancelled" not in [e.type for e in document.events]
