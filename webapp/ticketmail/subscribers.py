"""Sales order events become ticket emails (issued, changed, cancelled).

Each receiver runs in the transaction that caused the event (see webapp.signals), so a ticket
email is written only if that transaction commits.
"""

from __future__ import annotations

from webapp import signals
from webapp.ticketmail.operations import queue


@signals.sales_document_created.connect
def order_issued(document, **_extra) -> None:
    queue(document, "issued")


@signals.sales_document_approved.connect
def order_released(document, **_extra) -> None:
    # Approved at issue is the "issued" email; approved after a hold is a change.
    last = next((e for e in reversed(document.events) if e.type.startswith("status.")), None)
    if last is not None and last.type == "status.approved":
        queue(document, "changed", f"Released from hold: {last.message}")


@signals.sales_document_ready_to_invoice.connect
def order_received(document, **_extra) -> None:
    queue(document, "changed", "Every line is received or served from stock: ready to invoice.")


@signals.sales_document_payment_changed.connect
def order_paid(document, **_extra) -> None:
    paid = f"{document.amount_paid} {document.currency}"
    queue(document, "changed", f"Payment: {document.payment_status.label} ({paid} paid).")


@signals.sales_document_cancelled.connect
def order_cancelled(document, **_extra) -> None:
    event = next((e for e in reversed(document.events) if e.type == "status.cancelled"), None)
    reason = (event.data or {}).get("reason", "") if event is not None else ""
    queue(document, "cancelled", f"Cancelled: {reason}" if reason else "Cancelled.")
