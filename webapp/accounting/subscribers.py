"""Write accounting outbox deliveries when business events happen (never commit here)."""

from __future__ import annotations

from webapp import signals
from webapp.accounting import deliveries


@signals.sales_document_ready_to_invoice.connect
def invoice_when_ready(document, **_extra) -> None:
    """Every line is receipted: the customer invoice goes to each ledger."""
    deliveries.queue_invoice(document)


@signals.receipt_recorded.connect
def bill_on_receipt(receipt, **_extra) -> None:
    """A supplier invoice was receipted: it becomes a bill in each ledger."""
    deliveries.queue_bill(receipt)


@signals.purchase_order_issued.connect
def purchase_order_on_issue(order, **_extra) -> None:
    """Push the purchase order where the admin chose to (QuickBooks only)."""
    deliveries.queue_purchase_order(order)


@signals.sales_document_cancelled.connect
def void_on_cancel(document, **_extra) -> None:
    """A cancelled document: its unsent invoice is dropped, a sent one voided or credited."""
    deliveries.cancel_invoice(document)


@signals.purchase_order_cancelled.connect
def close_on_cancel(order, **_extra) -> None:
    """A cancelled PO: its unsent push is dropped, one the ledger holds is closed."""
    deliveries.cancel_purchase_order(order)
