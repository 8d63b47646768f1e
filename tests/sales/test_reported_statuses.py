"""Procurement, fulfilment and payment are reported to sales, which owns the fields."""

from decimal import Decimal

import pytest

from tests.factories import issue_order
from webapp import signals
from webapp.extensions import db
from webapp.sales import operations
from webapp.sales.models import FulfilmentStatus, PaymentStatus, ProcurementStatus
from webapp.statemachine import IllegalTransition


def test_a_reported_procurement_status_is_set_once_and_a_repeat_changes_nothing(store):
    document = issue_order(store)
    document.procurement_status = ProcurementStatus.PENDING
    assert operations.set_procurement_status(document, ProcurementStatus.PLANNED) is True
    assert document.procurement_status is ProcurementStatus.PLANNED
    assert operations.set_procurement_status(document, ProcurementStatus.PLANNED) is False


def test_every_reported_status_may_move_either_way_but_not_onto_itself():
    for machine, states in (
        (operations.PROCUREMENT, ProcurementStatus),
        (operations.FULFILMENT, FulfilmentStatus),
        (operations.PAYMENT, PaymentStatus),
    ):
        for state in states:
            assert machine.targets(state) == frozenset(states) - {state}
            with pytest.raises(IllegalTransition):
                machine.check(state, state)


def test_fulfilled_makes_the_document_ready_to_invoice_once(store):
    document = issue_order(store)
    sent = []
    receiver = sent.append  # held: blinker keeps only a weak reference
    signals.sales_document_ready_to_invoice.connect(receiver)
    try:
        operations.record_fulfilment(document, FulfilmentStatus.PARTIAL)
        assert document.ready_to_invoice_at is None
        operations.record_fulfilment(document, FulfilmentStatus.FULFILLED)
        first = document.ready_to_invoice_at
        operations.record_fulfilment(document, FulfilmentStatus.FULFILLED)
    finally:
        signals.sales_document_ready_to_invoice.disconnect(receiver)
    db.session.flush()
    assert first is not None and document.ready_to_invoice_at == first
    assert sent == [document]
    types = [event.type for event in document.events]
    assert types.count("fulfilment.partial") == 1
    assert types.count("fulfilment.fulfilled") == 1
    assert types.count("ready_to_invoice") == 1


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (Decimal(0), PaymentStatus.UNPAID),
        (Decimal("0.5"), PaymentStatus.PARTIALLY_PAID),
        (Decimal(1), PaymentStatus.PAID),
    ],
)
def test_the_amount_paid_decides_the_payment_status(store, share, expected):
    document = issue_order(store)
    paid = (document.total * share).quantize(Decimal("0.01"))
    changed = []
    receiver = changed.append  # held: blinker keeps only a weak reference
    signals.sales_document_payment_changed.connect(receiver)
    try:
        operations.record_amount_paid(document, Decimal("1.00"))
        operations.record_amount_paid(document, paid)
        operations.record_amount_paid(document, paid)
    finally:
        signals.sales_document_payment_changed.disconnect(receiver)
    assert (document.amount_paid, document.payment_status) == (paid, expected)
    assert len(changed) == 2  # the repeat changed nothing and said nothing
