"""Purchasing reads: coverage of sales lines, PO and receipt lists, bids, receipted costs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from webapp.catalog.models import Product, Supplier
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.queries import like_pattern
from webapp.pagination import page_of
from webapp.purchasing import tracking
from webapp.purchasing.models import (
    BidPrice,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    ReceiptLine,
    StockAllocation,
)
from webapp.sales.models import SalesDocument, SalesDocumentLine
from webapp.sales.progress import Shipment


def is_bought(product: Product | None) -> bool:
    """Tell whether a sales line's product is goods that come from stock or a supplier."""
    return product is not None and product.product_type.is_stocked


@dataclass(frozen=True)
class LineCoverage:
    """How one goods line of a sales document is being sourced."""

    line: SalesDocumentLine
    quantity: int
    allocated: int  # served from own stock
    on_order: int  # on non-cancelled PO lines (draft, issued or received)
    receipted: int  # of those, receipted

    @property
    def uncovered(self) -> int:
        """Return the units neither allocated from stock nor on a PO."""
        return max(0, self.quantity - self.allocated - self.on_order)

    @property
    def received(self) -> int:
        """Return the units in hand: from own stock, or receipted from a supplier."""
        return self.allocated + self.receipted


def document_coverage(document: SalesDocument) -> list[LineCoverage]:
    """Return the coverage of each goods line of the document (services are left out)."""
    lines = [
        line
        for line in document.lines
        if line.product_id is not None and is_bought(db.session.get(Product, line.product_id))
    ]
    if not lines:
        return []
    ids = [line.id for line in lines]
    allocated: dict[int, int] = dict(
        db.session.execute(
            select(StockAllocation.sales_document_line_id, func.sum(StockAllocation.quantity))
            .where(StockAllocation.sales_document_line_id.in_(ids))
            .group_by(StockAllocation.sales_document_line_id)
        ).all()
    )
    ordered: dict[int, tuple[int, int]] = {
        line_id: (int(qty or 0), int(received or 0))
        for line_id, qty, received in db.session.execute(
            select(
                PurchaseOrderLine.sales_document_line_id,
                func.sum(PurchaseOrderLine.quantity),
                func.sum(PurchaseOrderLine.quantity_received),
            )
            .join(PurchaseOrder)
            .where(
                PurchaseOrderLine.sales_document_line_id.in_(ids),
                PurchaseOrder.status != PurchaseOrderStatus.CANCELLED,
            )
            .group_by(PurchaseOrderLine.sales_document_line_id)
        ).all()
    }
    return [
        LineCoverage(
            line=line,
            quantity=line.quantity,
            allocated=int(allocated.get(line.id) or 0),
            on_order=ordered.get(line.id, (0, 0))[0],
            receipted=ordered.get(line.id, (0, 0))[1],
        )
        for line in lines
    ]


def document_purchase_lines(document_id: int) -> list[PurchaseOrderLine]:
    """Return every PO line bought for the document, with its PO, oldest first."""
    return list(
        db.session.scalars(
            select(PurchaseOrderLine)
            .options(selectinload(PurchaseOrderLine.purchase_order))
            .where(PurchaseOrderLine.sales_document_id == document_id)
            .order_by(PurchaseOrderLine.purchase_order_id, PurchaseOrderLine.position)
        )
    )


def document_shipments(document_ids: list[int]) -> dict[int, list[Shipment]]:
    """The tracking numbers receipts gave for goods of these sales documents, oldest first."""
    rows = db.session.execute(
        select(PurchaseOrderLine.sales_document_id, Receipt.tracking_number, Receipt.carrier)
        .select_from(Receipt)
        .join(ReceiptLine, ReceiptLine.receipt_id == Receipt.id)
        .join(PurchaseOrderLine, PurchaseOrderLine.id == ReceiptLine.purchase_order_line_id)
        .where(
            PurchaseOrderLine.sales_document_id.in_(document_ids),
            Receipt.tracking_number != "",
        )
        .group_by(PurchaseOrderLine.sales_document_id, Receipt.tracking_number, Receipt.carrier)
        .order_by(func.min(Receipt.id))
    ).all()
    found: dict[int, list[Shipment]] = defaultdict(list)
    for document_id, number, carrier in rows:
        found[document_id].append(
            Shipment(
                number=number,
                carrier=tracking.carrier_name(carrier),
                url=tracking.tracking_url(number, carrier),
            )
        )
    return dict(found)


def documents_ordered_from_suppliers(document_ids: list[int]) -> set[int]:
    """Which of these sales documents a purchase order was sent to a supplier for."""
    return set(
        db.session.scalars(
            select(PurchaseOrderLine.sales_document_id)
            .join(PurchaseOrder)
            .where(
                PurchaseOrderLine.sales_document_id.in_(document_ids),
                PurchaseOrder.status.in_(
                    [
                        PurchaseOrderStatus.ISSUED,
                        PurchaseOrderStatus.PARTIALLY_RECEIVED,
                        PurchaseOrderStatus.RECEIVED,
                    ]
                ),
            )
            .distinct()
        )
    )


def units_awaited_from_suppliers(document_id: int) -> int:
    """Return the units issued POs still expect from suppliers for the document."""
    return int(
        db.session.scalar(
            select(
                func.coalesce(
                    func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.quantity_received), 0
                )
            )
            .join(PurchaseOrder)
            .where(
                PurchaseOrderLine.sales_document_id == document_id,
                PurchaseOrder.status.in_(
                    [PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.PARTIALLY_RECEIVED]
                ),
            )
        )
        or 0
    )


def document_allocations(document_id: int) -> list[StockAllocation]:
    return list(
        db.session.scalars(
            select(StockAllocation)
            .where(StockAllocation.sales_document_id == document_id)
            .order_by(StockAllocation.id)
        )
    )


def document_panel(document: SalesDocument) -> dict:
    """Return what the order page's purchasing panel shows."""
    lines = document_purchase_lines(document.id)
    orders: dict[int, PurchaseOrder] = {}
    for line in lines:
        orders.setdefault(line.purchase_order_id, line.purchase_order)
    return {
        "coverage": document_coverage(document),
        "lines": lines,
        "orders": list(orders.values()),
        "allocations": document_allocations(document.id),
    }


def best_bid(
    supplier_id: int, product_id: int, organization_id: int, on: date | None = None
) -> BidPrice | None:
    """Return the lowest bid the supplier granted the organization for the product today."""
    return bids_for([product_id], organization_id, on or utcnow().date()).get(
        (supplier_id, product_id)
    )


def bids_for(
    product_ids: Iterable[int], organization_id: int, on: date
) -> dict[tuple[int, int], BidPrice]:
    """Return the lowest valid bid per (supplier, product) for the organization on a day."""
    rows = db.session.scalars(
        select(BidPrice)
        .where(
            BidPrice.product_id.in_(list(product_ids)),
            BidPrice.organization_id == organization_id,
            BidPrice.valid_from <= on,
            or_(BidPrice.valid_until.is_(None), BidPrice.valid_until >= on),
        )
        .order_by(BidPrice.unit_cost, BidPrice.id)
    )
    best: dict[tuple[int, int], BidPrice] = {}
    for bid in rows:
        best.setdefault((bid.supplier_id, bid.product_id), bid)
    return best


def receipt_by_invoice(supplier_id: int, invoice_number: str) -> Receipt | None:
    """Return the receipt of a supplier invoice number (compared without case or spaces)."""
    return db.session.scalar(
        select(Receipt).where(
            Receipt.supplier_id == supplier_id,
            func.lower(Receipt.supplier_invoice_number) == func.lower(invoice_number.strip()),
        )
    )


def purchase_orders(
    *,
    status: PurchaseOrderStatus | None = None,
    supplier_id: int | None = None,
    needs_attention: bool = False,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
):
    """Return a page of POs (newest first) and whether another page follows."""
    query = (
        select(PurchaseOrder)
        .options(selectinload(PurchaseOrder.supplier), selectinload(PurchaseOrder.lines))
        .order_by(PurchaseOrder.id.desc())
    )
    if status is not None:
        query = query.where(PurchaseOrder.status == status)
    if supplier_id is not None:
        query = query.where(PurchaseOrder.supplier_id == supplier_id)
    if needs_attention:
        query = query.where(PurchaseOrder.attention != "")
    if search:
        like = like_pattern(search)
        query = query.where(
            PurchaseOrder.number.ilike(like, escape="\\")
            | PurchaseOrder.id.in_(
                select(PurchaseOrderLine.purchase_order_id)
                .join(SalesDocument, SalesDocument.id == PurchaseOrderLine.sales_document_id)
                .where(SalesDocument.number.ilike(like, escape="\\"))
            )
        )
    return page_of(query, page, per_page)


def receipts(*, supplier_id: int | None = None, search: str = "", page: int = 1, per_page=50):
    """Return a page of receipts (newest first) and whether another page follows."""
    query = (
        select(Receipt)
        .options(selectinload(Receipt.purchase_order), selectinload(Receipt.supplier))
        .order_by(Receipt.id.desc())
    )
    if supplier_id is not None:
        query = query.where(Receipt.supplier_id == supplier_id)
    if search:
        like = like_pattern(search)
        query = query.where(
            Receipt.supplier_invoice_number.ilike(like, escape="\\")
            | Receipt.purchase_order_id.in_(
                select(PurchaseOrder.id).where(PurchaseOrder.number.ilike(like, escape="\\"))
            )
        )
    return page_of(query, page, per_page)


def suppliers_with_orders() -> list[Supplier]:
    return list(
        db.session.scalars(
            select(Supplier)
            .where(Supplier.id.in_(select(PurchaseOrder.supplier_id)))
            .order_by(Supplier.name)
        )
    )


def receipted_costs(document_line_ids: Iterable[int]) -> dict[int, tuple[int, Decimal]]:
    """Return {sales line id: (units in hand, their actual cost)} from receipts and own stock.

    Gross profit uses these (receipted) costs, not PO costs: receipt lines at the cost the
    supplier invoiced, stock allocations at the stock's unit cost.
    """
    ids = list(document_line_ids)
    totals: dict[int, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    if not ids:
        return {}
    for line_id, qty, cost in db.session.execute(
        select(
            PurchaseOrderLine.sales_document_line_id,
            func.sum(ReceiptLine.quantity),
            func.sum(ReceiptLine.line_total),
        )
        .join(ReceiptLine, ReceiptLine.purchase_order_line_id == PurchaseOrderLine.id)
        .where(PurchaseOrderLine.sales_document_line_id.in_(ids))
        .group_by(PurchaseOrderLine.sales_document_line_id)
    ):
        units, amount = totals[line_id]
        totals[line_id] = (units + int(qty), amount + Decimal(cost))
    for allocation in db.session.scalars(
        select(StockAllocation).where(StockAllocation.sales_document_line_id.in_(ids))
    ):
        units, amount = totals[allocation.sales_document_line_id]
        totals[allocation.sales_document_line_id] = (
            units + allocation.quantity,
            amount + allocation.quantity * allocation.unit_cost,
        )
    return dict(totals)
