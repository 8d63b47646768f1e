"""Quotes and sales orders reach ConnectWise (webapp.psa.connectwise.sync), in their transaction."""

from __future__ import annotations

from webapp import signals
from webapp.psa.connectwise import sync


@signals.quote_status_changed.connect
def connectwise_opportunity(quote, status, **_extra) -> None:
    if status.value == "sent":
        sync.queue_opportunity(quote)
    elif status.value in ("won", "lost"):
        sync.queue_result(quote)


@signals.sales_document_approved.connect
def connectwise_ticket(document, **_extra) -> None:
    sync.queue_ticket(document)


@signals.receipt_recorded.connect
def connectwise_purchase_order(receipt, **_extra) -> None:
    sync.queue_purchase_order(receipt.purchase_order, receipt)
