"""Purchasing's receivers: approved documents get planned, cancelled ones are taken back."""

from __future__ import annotations

from webapp import signals
from webapp.purchasing import fulfilment, queries
from webapp.purchasing.planning import enqueue_plan
from webapp.sales import progress

# My orders asks purchasing which orders went to a supplier.
progress.register_supplier_orders(queries.documents_ordered_from_suppliers)
# My orders and the shipment email ask it for the receipts' tracking numbers.
progress.register_shipments(queries.document_shipments)


@signals.sales_document_approved.connect
def plan_approved_document(document, **_extra) -> None:
    """Queue the planning job; it runs after the approving transaction commits."""
    enqueue_plan(document)


@signals.sales_document_cancelled.connect
def release_cancelled_document(document, **_extra) -> None:
    """Drop its draft PO lines and own-stock allocations; flag POs already issued.

    Runs in the cancelling transaction, so a planning job still queued for the document
    finds it cancelled and does nothing.
    """
    # The cancelling status event (just written) says who cancelled it and why.
    event = next((e for e in reversed(document.events) if e.type == "status.cancelled"), None)
    fulfilment.release_cancelled_document(
        document,
        event.actor if event is not None else None,
        (event.data or {}).get("reason", "") if event is not None else "",
    )
