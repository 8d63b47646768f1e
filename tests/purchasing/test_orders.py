"""PO state machine, editing, issuing and receipting: the rules in operations."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.purchasing.conftest import issue, po_lines, purchase_orders
from webapp import signals
from webapp.extensions import db
from webapp.purchasing import errors, lifecycle, ordering, planning, receipting
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderStatus, Receipt
from webapp.purchasing.receipting import ReceiptInput, ReceiptLineInput
from webapp.sales.models import FulfilmentStatus, ProcurementStatus

S = PurchaseOrderStatus


@pytest.fixture
def planned(store, market):
    """A document for 3 × E16 and 1 × X1 (back-ordered), planned into one Ingram draft."""
    document = issue(store, (market.e16, 3), (market.x1, 1))
    planning.plan_document(document)
    db.session.flush()
    [po] = purchase_orders()
    return document, po


@pytest.fixture
def issued(planned, store):
    document, po = planned
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.flush()
    return document, po


def receipt_of(po, *quantities, number="INV-1", costs=None, serials=None, **extra):
    lines = [
        ReceiptLineInput(
            line.id,
            qty,
            (costs or {}).get(line.position, line.unit_cost),
            (serials or {}).get(line.position, ()),
        )
        for line, qty in zip(po.lines, quantities, strict=True)
    ]
    return ReceiptInput(
        supplier_invoice_number=number,
        invoice_date=extra.pop("invoice_date", date(2026, 11, 1)),
        due_date=extra.pop("due_date", None),
        freight=extra.pop("freight", Decimal("0")),
        lines=lines,
    )


# --- the state machine -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "wanted", "allowed"),
    [
        (S.DRAFT, S.ISSUED, True),
        (S.DRAFT, S.CANCELLED, True),
        (S.DRAFT, S.RECEIVED, False),
        (S.ISSUED, S.PARTIALLY_RECEIVED, True),
        (S.ISSUED, S.RECEIVED, True),
        (S.ISSUED, S.CANCELLED, True),
        (S.ISSUED, S.DRAFT, False),
        (S.PARTIALLY_RECEIVED, S.RECEIVED, True),
        (S.PARTIALLY_RECEIVED, S.CANCELLED, False),
        (S.RECEIVED, S.CANCELLED, False),
        (S.RECEIVED, S.ISSUED, False),
        (S.CANCELLED, S.DRAFT, False),
        (S.CANCELLED, S.ISSUED, False),
    ],
)
def test_po_transitions(app, start, wanted, allowed):
    # In the app: cancelling an issued PO tells the ledger (accounting's subscriber reads pushes).
    po = PurchaseOrder(number="PO-1", status=start)
    if allowed:
        lifecycle.transition(po, wanted, None)
        assert po.status is wanted
        assert po.events[-1].type == f"status.{wanted.value}"
    else:
        with pytest.raises(errors.IllegalTransition, match="cannot become"):
            lifecycle.transition(po, wanted, None)
        assert po.status is start


def test_po_numbers_follow_their_own_sequence(store, market):
    first = lifecycle.create_purchase_order(market.ingram, store.purchasing)
    second = lifecycle.create_purchase_order(market.dicker, store.purchasing)
    assert (first.number, second.number) == ("PO-000001", "PO-000002")


# --- issuing ---------------------------------------------------------------------------------


def test_issuing_sends_the_signal_and_records_who(issued, store):
    _document, po = issued
    assert po.status is S.ISSUED
    assert po.issued_by == store.purchasing
    assert po.issued_to == "orders@ingram.example"


def test_issuing_sends_purchase_order_issued(planned, store):
    _document, po = planned
    received = []
    with signals.purchase_order_issued.connected_to(lambda sender: received.append(sender)):
        ordering.issue_purchase_order(po, store.purchasing)
    assert received == [po]


def test_supplier_with_no_email_cannot_be_issued(planned, store, market):
    _document, po = planned
    market.ingram.email = "  "
    with pytest.raises(errors.SupplierHasNoEmail, match="Ingram has no email address"):
        ordering.issue_purchase_order(po, store.purchasing)
    assert po.status is S.DRAFT


def test_an_issued_po_cannot_be_issued_again(issued, store):
    _document, po = issued
    with pytest.raises(errors.IllegalTransition):
        ordering.issue_purchase_order(po, store.purchasing)


# --- editing ---------------------------------------------------------------------------------


def test_editing_a_draft_line_recomputes_totals(planned, store):
    _document, po = planned
    line = po.lines[0]
    ordering.update_line(line, quantity=4, unit_cost=Decimal("650.5"), actor=store.purchasing)
    assert po.subtotal == Decimal("2602.00") + po.lines[1].line_total
    assert po.events[-1].type == "line.changed"


@pytest.mark.parametrize("cost", ["0", "-1", "0.00001"])
def test_zero_negative_or_too_precise_costs_are_refused(planned, store, cost):
    _document, po = planned
    with pytest.raises(errors.PurchasingError, match="Unit cost"):
        ordering.update_line(
            po.lines[0], quantity=1, unit_cost=Decimal(cost), actor=store.purchasing
        )


def test_an_issued_po_cannot_be_edited(issued, store):
    _document, po = issued
    with pytest.raises(errors.PurchaseOrderLocked, match="only a draft"):
        ordering.update_line(
            po.lines[0], quantity=1, unit_cost=Decimal("1"), actor=store.purchasing
        )


def test_a_po_cannot_be_edited_or_cancelled_after_receipting(issued, store):
    _document, po = issued
    receipting.record_receipt(po, receipt_of(po, 1, 0), store.purchasing)
    with pytest.raises(errors.PurchaseOrderLocked, match="locked: goods were receipted"):
        ordering.update_line(
            po.lines[0], quantity=9, unit_cost=Decimal("1"), actor=store.purchasing
        )
    with pytest.raises(errors.PurchaseOrderLocked, match="locked"):
        ordering.cancel_purchase_order(po, store.purchasing, "changed my mind")


def test_removing_a_line_leaves_its_demand_needing_attention(planned, store):
    document, po = planned
    ordering.remove_line(po.lines[0], store.purchasing)
    assert document.procurement_status is ProcurementStatus.NEEDS_ATTENTION


def test_cancelling_an_issued_po_leaves_the_document_needing_attention(issued, store):
    document, po = issued
    ordering.cancel_purchase_order(po, store.purchasing, "supplier out of business")
    assert po.status is S.CANCELLED
    assert document.procurement_status is ProcurementStatus.NEEDS_ATTENTION


def test_override_to_a_supplier_without_an_offer_is_refused(planned, store, market):
    _document, po = planned
    with pytest.raises(errors.PurchasingError, match="has no offer"):
        ordering.override_line_supplier(po.lines[0], market.silent, store.purchasing)


def test_override_moves_the_line_and_records_it_in_the_decision(planned, store, market):
    document, po = planned
    from tests.purchasing.conftest import offer

    offer(market.dicker, market.e16, "720.00", 10)
    line = po.lines[0]
    target = ordering.override_line_supplier(line, market.dicker, store.purchasing, "faster")
    assert line.purchase_order is target
    assert target.supplier == market.dicker
    assert line.unit_cost == Decimal("720.00")
    assert line.overridden is True
    assert line.decision["override"]["from"] == "Ingram"
    assert line.decision["override"]["reason"] == "faster"
    assert len(po.lines) == 1 and po.status is S.DRAFT
    assert document.procurement_status is ProcurementStatus.PLANNED


# --- receipting ------------------------------------------------------------------------------


def test_partial_then_full_receipt_moves_po_and_document_statuses(issued, store):
    document, po = issued
    first = receipting.record_receipt(po, receipt_of(po, 2, 0, number="A-1"), store.purchasing)
    assert po.status is S.PARTIALLY_RECEIVED
    assert [line.outstanding for line in po.lines] == [1, 1]
    assert document.fulfilment_status is FulfilmentStatus.PARTIAL
    assert document.ready_to_invoice_at is None
    assert first.due_date == date(2026, 12, 1)  # 30 days' terms by default

    ready = []
    with signals.sales_document_ready_to_invoice.connected_to(lambda sender: ready.append(sender)):
        receipting.record_receipt(po, receipt_of(po, 1, 1, number="A-2"), store.purchasing)
    assert po.status is S.RECEIVED
    assert document.fulfilment_status is FulfilmentStatus.FULFILLED
    assert document.ready_to_invoice_at is not None
    assert ready == [document]


def test_receipt_records_actual_costs_freight_and_serials(issued, store):
    _document, po = issued
    receipt = receipting.record_receipt(
        po,
        receipt_of(
            po,
            2,
            1,
            costs={1: Decimal("689.995")},
            serials={1: ("SN1", "SN2")},
            freight=Decimal("12.50"),
            due_date=date(2026, 11, 15),
        ),
        store.purchasing,
    )
    e16, x1 = receipt.lines
    assert (e16.unit_cost, e16.line_total, e16.serial_numbers) == (
        Decimal("689.995"),
        Decimal("1379.99"),
        ["SN1", "SN2"],
    )
    assert receipt.subtotal == Decimal("1379.99") + x1.line_total
    assert receipt.total == receipt.subtotal + Decimal("12.50")
    assert receipt.due_date == date(2026, 11, 15)


def test_receipt_sends_receipt_recorded(issued, store):
    _document, po = issued
    seen = []
    with signals.receipt_recorded.connected_to(lambda sender: seen.append(sender)):
        receipt = receipting.record_receipt(po, receipt_of(po, 1, 0), store.purchasing)
    assert seen == [receipt]


def test_receiving_more_than_outstanding_is_refused_and_nothing_is_written(issued, store):
    _document, po = issued
    with pytest.raises(receipting.ReceiptProblems) as caught:
        receipting.record_receipt(po, receipt_of(po, 4, 1), store.purchasing)
    assert "4 received but only 3 outstanding" in str(caught.value)
    assert po.lines[0].id in caught.value.by_line
    assert [line.quantity_received for line in po.lines] == [0, 0]
    assert db.session.scalars(select(Receipt)).all() == []


def test_receiving_beyond_an_earlier_partial_receipt_is_refused(issued, store):
    _document, po = issued
    receipting.record_receipt(po, receipt_of(po, 2, 0, number="A-1"), store.purchasing)
    with pytest.raises(receipting.ReceiptProblems, match="2 received but only 1 outstanding"):
        receipting.record_receipt(po, receipt_of(po, 2, 0, number="A-2"), store.purchasing)


def test_duplicate_supplier_invoice_number_is_refused(issued, store):
    _document, po = issued
    receipting.record_receipt(po, receipt_of(po, 1, 0, number="INV-77"), store.purchasing)
    with pytest.raises(errors.DuplicateInvoice, match="invoice inv-77 was already receipted"):
        receipting.record_receipt(po, receipt_of(po, 1, 0, number=" inv-77 "), store.purchasing)


def test_the_same_invoice_number_from_another_supplier_is_fine(issued, store, market):
    document, po = issued
    receipting.record_receipt(po, receipt_of(po, 1, 0, number="INV-77"), store.purchasing)
    other = lifecycle.create_purchase_order(market.dicker, store.purchasing)
    ordering.add_manual_line(
        other, product=market.e16, quantity=1, unit_cost=Decimal("5"), actor=store.purchasing
    )
    ordering.issue_purchase_order(other, store.purchasing)
    receipting.record_receipt(other, receipt_of(other, 1, number="INV-77"), store.purchasing)
    assert other.status is S.RECEIVED


@pytest.mark.parametrize(
    ("quantities", "kwargs", "message"),
    [
        ((0, 0), {}, "Nothing received"),
        ((1, 0), {"costs": {1: Decimal("0")}}, "unit cost must be more than zero"),
        ((1, 0), {"costs": {1: Decimal("-3")}}, "unit cost must be more than zero"),
        ((2, 0), {"serials": {1: ("SN1",)}}, "1 serial number for 2 units"),
        ((2, 0), {"serials": {1: ("SN1", "SN1")}}, "listed twice"),
        ((1, 0), {"number": "  "}, "invoice number"),
        ((1, 0), {"freight": Decimal("-1")}, "Freight"),
        ((1, 0), {"due_date": date(2026, 10, 1)}, "due date is before"),
    ],
)
def test_bad_receipts_are_refused_with_a_clear_message(issued, store, quantities, kwargs, message):
    _document, po = issued
    with pytest.raises(errors.ReceiptRefused, match=message):
        receipting.record_receipt(po, receipt_of(po, *quantities, **kwargs), store.purchasing)
    assert po.status is S.ISSUED


def test_a_draft_cannot_be_receipted(planned, store):
    _document, po = planned
    with pytest.raises(errors.ReceiptRefused, match="issue it before receipting"):
        receipting.record_receipt(po, receipt_of(po, 1, 0), store.purchasing)


def test_a_received_po_cannot_be_receipted_again(issued, store):
    _document, po = issued
    receipting.record_receipt(po, receipt_of(po, 3, 1, number="A"), store.purchasing)
    with pytest.raises(errors.ReceiptRefused, match="nothing is outstanding"):
        receipting.record_receipt(po, receipt_of(po, 0, 0, number="B"), store.purchasing)


def test_receipted_costs_feed_gross_profit(issued, store):
    from webapp.purchasing import queries

    document, po = issued
    receipting.record_receipt(po, receipt_of(po, 2, 0, costs={1: Decimal("650")}), store.purchasing)
    costs = queries.receipted_costs(line.id for line in document.lines)
    e16_line = po_lines(document)[0].sales_document_line_id
    assert costs[e16_line] == (2, Decimal("1300.00"))


def test_due_date_defaults_from_the_payment_terms_setting(issued, store):
    from tests.purchasing.conftest import configure

    _document, po = issued
    configure(store, supplier_payment_terms_days="14")
    receipt = receipting.record_receipt(po, receipt_of(po, 1, 0), store.purchasing)
    assert receipt.due_date == receipt.invoice_date + timedelta(days=14)
