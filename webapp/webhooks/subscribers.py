"""Business events become webhook events: thin payloads (ids, a few fields; the API has the rest).

Each receiver runs in the transaction that caused the event (see webapp.signals), so an event
is sent only if that transaction commits, and exactly once per endpoint.
"""

from __future__ import annotations

from typing import Any

from webapp import signals
from webapp.webhooks.operations import emit

QUOTE_EVENTS = {"sent": "quote.sent", "won": "quote.accepted", "lost": "quote.declined"}


def _money(value) -> str:
    return str(value) if value is not None else "0"


def _document(document) -> dict[str, Any]:
    return {
        "id": document.id,
        "number": document.number,
        "kind": document.kind.value,
        "status": document.status.value,
        "organization_id": document.organization_id,
        "currency": document.currency,
        "total": _money(document.total),
    }


def _quote(quote) -> dict[str, Any]:
    return {
        "id": quote.id,
        "number": quote.number,
        "status": quote.status.value,
        "organization_id": quote.organization_id,
        "version": quote.version,
    }


@signals.quote_status_changed.connect
def quote_status(quote, status, **_extra) -> None:
    event = QUOTE_EVENTS.get(status.value)
    if event:
        emit(event, _quote(quote))


@signals.quote_viewed.connect
def quote_viewed(quote, **_extra) -> None:
    emit("quote.viewed", _quote(quote))


@signals.sales_document_created.connect
def order_created(document, **_extra) -> None:
    emit("order.created", _document(document))


@signals.sales_document_cancelled.connect
def order_cancelled(document, **_extra) -> None:
    emit("order.cancelled", _document(document))


@signals.sales_document_ready_to_invoice.connect
def order_fulfilled(document, **_extra) -> None:
    emit("order.fulfilled", _document(document))


@signals.sales_document_payment_changed.connect
def payment_received(document, **_extra) -> None:
    data = _document(document)
    data["amount_paid"] = _money(document.amount_paid)
    data["payment_status"] = document.payment_status.value
    emit("payment.received", data)


@signals.purchase_order_issued.connect
def po_issued(order, **_extra) -> None:
    emit(
        "po.issued",
        {
            "id": order.id,
            "number": order.number,
            "supplier_id": order.supplier_id,
            "currency": order.currency,
            "total": _money(order.total),
        },
    )


@signals.receipt_recorded.connect
def po_receipted(receipt, **_extra) -> None:
    emit(
        "po.receipted",
        {
            "id": receipt.id,
            "purchase_order_id": receipt.purchase_order_id,
            "supplier_id": receipt.supplier_id,
            "supplier_invoice_number": receipt.supplier_invoice_number,
        },
    )


PRICE_BATCH = 500


@signals.product_prices_changed.connect
def product_price_changed(product_ids, reason: str = "cost", **_extra) -> None:
    """One event per 500 products (a feed reprices thousands), or one "all" event."""
    if product_ids is None:
        emit("product.price_changed", {"all": True, "product_ids": [], "reason": reason})
        return
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), PRICE_BATCH):
        batch = ids[start : start + PRICE_BATCH]
        emit("product.price_changed", {"all": False, "product_ids": batch, "reason": reason})


@signals.integration_delivery_confirmed.connect
def invoice_posted(delivery, **_extra) -> None:
    if delivery.kind != "invoice" or delivery.connection.domain != "ledger":
        return
    emit(
        "invoice.posted",
        {
            "order_id": delivery.subject_id,
            "ledger": delivery.connection.provider,
            "ledger_invoice_id": delivery.remote_id,
            "ledger_invoice_number": delivery.remote_number,
        },
    )


@signals.integration_failed.connect
def sync_failed(note, **_extra) -> None:
    connection = note.connection
    if connection is not None and connection.domain == "webhook":
        return  # a failing endpoint is not announced to the endpoints (it could loop)
    emit(
        "sync.failed",
        {
            "notification_id": note.id,
            "connection": connection.label if connection else "",
            "title": note.title,
        },
    )
