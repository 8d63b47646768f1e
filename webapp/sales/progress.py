"""Where a customer's order is, in their words, from what sales, purchasing and receipting
record. Purchasing sits above sales, so it registers the one question sales asks of it
(which documents suppliers have been sent an order for) instead of sales importing it."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from webapp.sales.models import DocumentKind, DocumentStatus, FulfilmentStatus, SalesDocument


class OrderProgress(enum.StrEnum):
    PLACED = "placed"
    ON_HOLD = "on_hold"
    ORDERED = "ordered"
    PARTLY_SHIPPED = "partly_shipped"
    SHIPPED = "shipped"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "placed": "Placed",
            "on_hold": "Being checked",
            "ordered": "Ordered from supplier",
            "partly_shipped": "Partly shipped",
            "shipped": "Shipped",
            "invoiced": "Invoiced",
            "cancelled": "Cancelled",
        }[self.value]

    @property
    def colour(self) -> str:
        """A Bootstrap badge colour whose text meets AA contrast."""
        return {
            "placed": "secondary",
            "on_hold": "warning",
            "ordered": "info",
            "partly_shipped": "primary",
            "shipped": "success",
            "invoiced": "success",
            "cancelled": "dark",
        }[self.value]


@dataclass(frozen=True)
class Shipment:
    """A consignment the customer can follow: the carrier's tracking number for their goods."""

    number: str
    carrier: str = ""  # the carrier's name ("" when not known)
    url: str = ""  # the carrier's tracking page ("" when the carrier is not known)


_ordered_from_suppliers: Callable[[list[int]], set[int]] | None = None
_shipments: Callable[[list[int]], dict[int, list[Shipment]]] | None = None


def register_supplier_orders(query: Callable[[list[int]], set[int]]) -> None:
    """Purchasing: tell which of these document ids have a purchase order sent for them."""
    global _ordered_from_suppliers
    _ordered_from_suppliers = query


def register_shipments(query: Callable[[list[int]], dict[int, list[Shipment]]]) -> None:
    """Purchasing: tell the tracking numbers receipts gave for goods of these document ids."""
    global _shipments
    _shipments = query


def shipments_of(document_ids: list[int]) -> dict[int, list[Shipment]]:
    """Each document's consignments with a tracking number (one question for all of them)."""
    found = _shipments(document_ids) if document_ids and _shipments else {}
    return {i: found.get(i, []) for i in document_ids}


def progress_of(documents: Iterable[SalesDocument]) -> dict[int, OrderProgress]:
    """Each document's progress, with one question to purchasing for all of them."""
    documents = list(documents)
    waiting = [d.id for d in documents if d.fulfilment_status is FulfilmentStatus.NONE]
    ordered = _ordered_from_suppliers(waiting) if waiting and _ordered_from_suppliers else set()
    return {d.id: _progress(d, d.id in ordered) for d in documents}


def _progress(document: SalesDocument, ordered: bool) -> OrderProgress:
    if document.status is DocumentStatus.CANCELLED:
        return OrderProgress.CANCELLED
    if document.fulfilment_status is FulfilmentStatus.FULFILLED:
        # Every line receipted or served from stock: shipped, and invoiced only once the tax
        # invoice exists (a ledger confirmed it, or the document was issued as one).
        if document.invoiced_at is not None or document.kind is DocumentKind.TAX_INVOICE:
            return OrderProgress.INVOICED
        return OrderProgress.SHIPPED
    if document.fulfilment_status is FulfilmentStatus.PARTIAL:
        return OrderProgress.PARTLY_SHIPPED
    if document.status is DocumentStatus.ON_HOLD:
        return OrderProgress.ON_HOLD
    return OrderProgress.ORDERED if ordered else OrderProgress.PLACED
