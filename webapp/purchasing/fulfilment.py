"""Keep a sales document's procurement and fulfilment in step; take back a cancelled one's.

Every function flushes and never commits; the view or job that calls it commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from webapp.auth.models import User
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.purchasing import queries
from webapp.purchasing.lifecycle import lock, recompute_totals, record_event, transition
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
)
from webapp.sales import operations as sales_operations
from webapp.sales.models import DocumentStatus, FulfilmentStatus, ProcurementStatus, SalesDocument

# --- the sales document's view of procurement ------------------------------------------------


def refresh_procurement_status(document: SalesDocument) -> ProcurementStatus:
    """Set the document's procurement status from what is allocated and on order.

    A cancelled document needs attention while a supplier still owes goods for it (someone
    must call the supplier), and needs nothing once those POs are cancelled or received.
    """
    if document.status is DocumentStatus.CANCELLED:
        awaited = queries.units_awaited_from_suppliers(document.id)
        status = ProcurementStatus.NEEDS_ATTENTION if awaited else ProcurementStatus.NOT_NEEDED
    else:
        status = _coverage_status(document)
    if sales_operations.set_procurement_status(document, status):
        sales_operations.record_event(
            document,
            f"procurement.{status.value}",
            f"Procurement: {status.label.lower()}",
            None,
        )
    return status


def _coverage_status(document: SalesDocument) -> ProcurementStatus:
    coverage = queries.document_coverage(document)
    if any(c.uncovered > 0 for c in coverage):
        status = ProcurementStatus.NEEDS_ATTENTION
    elif any(c.on_order for c in coverage):
        status = ProcurementStatus.PLANNED
    else:
        status = ProcurementStatus.NOT_NEEDED
    return status


def refresh_fulfilment(document: SalesDocument) -> FulfilmentStatus:
    """Set fulfilment from receipts and own stock; mark the document ready to invoice once
    every goods line is in, and tell the ledger (sales_document_ready_to_invoice).

    A cancelled document is never invoiced: goods still arriving for it change nothing.
    """
    if document.status is DocumentStatus.CANCELLED:
        return document.fulfilment_status
    coverage = queries.document_coverage(document)
    needed = sum(c.quantity for c in coverage)
    received = sum(min(c.received, c.quantity) for c in coverage)
    if needed == 0 or received >= needed:
        status = FulfilmentStatus.FULFILLED
    elif received > 0:
        status = FulfilmentStatus.PARTIAL
    else:
        status = FulfilmentStatus.NONE
    sales_operations.record_fulfilment(document, status)
    return status


# --- a cancelled sales document ---------------------------------------------------------------


@dataclass
class CancellationOutcome:
    """What taking a cancelled document's procurement back did."""

    removed_lines: int = 0
    emptied: list[PurchaseOrder] = field(default_factory=list)
    returned_units: int = 0
    flagged: list[PurchaseOrder] = field(default_factory=list)


def release_cancelled_document(
    document: SalesDocument, actor: User | None = None, reason: str = ""
) -> CancellationOutcome:
    """Take back a cancelled document's procurement as far as it can still be taken back.

    Its lines leave draft POs (a draft left empty is cancelled, totals and freight are
    recomputed), its own-stock allocations return to stock, and an issued or part-received
    PO that still expects goods for it keeps its lines but asks for attention: only the
    supplier can take an order back.
    """
    outcome = CancellationOutcome()
    orders: dict[int, PurchaseOrder] = {}
    for line in queries.document_purchase_lines(document.id):
        orders.setdefault(line.purchase_order_id, line.purchase_order)
    for po_id in sorted(orders):  # lock in id order: two cancellations never deadlock
        po = orders[po_id]
        lock(po)
        mine = [line for line in po.lines if line.sales_document_id == document.id]
        if not mine:
            continue
        if po.status is PurchaseOrderStatus.DRAFT:
            _drop_cancelled_lines(po, mine, document, actor, outcome)
        elif po.status in (PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.PARTIALLY_RECEIVED):
            _flag_cancelled_lines(po, mine, document, actor, reason, outcome)
        # A received or cancelled PO expects nothing more from its supplier.
    _return_allocations(document, actor, outcome)
    db.session.flush()
    _record_cancellation(document, actor, outcome)
    refresh_procurement_status(document)
    db.session.flush()
    return outcome


def _drop_cancelled_lines(
    po: PurchaseOrder,
    lines: list[PurchaseOrderLine],
    document: SalesDocument,
    actor: User | None,
    outcome: CancellationOutcome,
) -> None:
    for line in lines:
        po.lines.remove(line)
    outcome.removed_lines += len(lines)
    recompute_totals(po)
    record_event(
        po,
        "sales_document.cancelled",
        f"{len(lines)} line{'s' if len(lines) != 1 else ''} for {document.number} removed: "
        "the sales document was cancelled",
        actor,
        sales_document_id=document.id,
        lines=[line.position for line in lines],
    )
    if not po.lines:
        transition(po, PurchaseOrderStatus.CANCELLED, actor, f"{document.number} was cancelled")
        po.cancelled_at = utcnow()
        outcome.emptied.append(po)


def _flag_cancelled_lines(
    po: PurchaseOrder,
    lines: list[PurchaseOrderLine],
    document: SalesDocument,
    actor: User | None,
    reason: str,
    outcome: CancellationOutcome,
) -> None:
    open_lines = [line for line in lines if line.outstanding > 0]
    positions = ", ".join(str(line.position) for line in lines)
    if not open_lines:
        record_event(
            po,
            "sales_document.cancelled",
            f"Sales document {document.number} was cancelled; its goods on this PO (line "
            f"{positions}) are already receipted",
            actor,
            sales_document_id=document.id,
        )
        return
    units = sum(line.outstanding for line in open_lines)
    why = f" ({reason})" if reason else ""
    note = (
        f"Sales document {document.number} was cancelled{why}: contact the supplier about "
        f"{units} outstanding unit{'s' if units != 1 else ''} on line "
        f"{', '.join(str(line.position) for line in open_lines)}."
    )
    if document.number not in po.attention:
        po.attention = f"{po.attention} {note}".strip()
    record_event(
        po,
        "sales_document.cancelled",
        note,
        actor,
        sales_document_id=document.id,
        lines=[line.position for line in open_lines],
        outstanding=units,
    )
    outcome.flagged.append(po)


def _return_allocations(
    document: SalesDocument, actor: User | None, outcome: CancellationOutcome
) -> None:
    for allocation in queries.document_allocations(document.id):
        item = db.session.scalar(
            select(StockItem)
            .where(StockItem.id == allocation.stock_item_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        item.quantity_allocated = max(0, item.quantity_allocated - allocation.quantity)
        outcome.returned_units += allocation.quantity
        sales_operations.record_event(
            document,
            "procurement.released",
            f"{allocation.quantity} × {allocation.sales_document_line.description} returned "
            "to own stock",
            actor,
            line_id=allocation.sales_document_line_id,
            quantity=allocation.quantity,
        )
        db.session.delete(allocation)


def _record_cancellation(
    document: SalesDocument, actor: User | None, outcome: CancellationOutcome
) -> None:
    parts = []
    if outcome.removed_lines:
        parts.append(
            f"{outcome.removed_lines} draft PO line{'s' if outcome.removed_lines != 1 else ''} "
            "removed"
            + (
                f" ({', '.join(po.number for po in outcome.emptied)} cancelled as empty)"
                if outcome.emptied
                else ""
            )
        )
    if outcome.returned_units:
        parts.append(f"{outcome.returned_units} unit(s) returned to own stock")
    if outcome.flagged:
        parts.append(
            f"already issued on {', '.join(po.number for po in outcome.flagged)}: contact the "
            "supplier"
        )
    if not parts:
        return
    sales_operations.record_event(
        document,
        "procurement.cancelled",
        "Procurement taken back: " + "; ".join(parts),
        actor,
        removed_lines=outcome.removed_lines,
        returned_units=outcome.returned_units,
        flagged=[po.number for po in outcome.flagged],
    )
