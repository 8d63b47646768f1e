"""Draft purchase orders: edit their lines, issue them to the supplier (PDF and CSV), cancel them.

Every function flushes and never commits; the view or job that calls it commits once.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from webapp import signals
from webapp.auth.models import User
from webapp.catalog.models import Product, Supplier, SupplierOffer
from webapp.csvsafe import Figure, csv_row
from webapp.extensions import db
from webapp.mail.operations import Attachment, public_url, queue_email
from webapp.models_base import utcnow
from webapp.purchasing import queries
from webapp.purchasing.errors import (
    IllegalTransition,
    PurchaseOrderLocked,
    PurchasingError,
    SupplierHasNoEmail,
)
from webapp.purchasing.fulfilment import refresh_procurement_status
from webapp.purchasing.lifecycle import (
    check_quantity,
    check_unit_cost,
    create_purchase_order,
    documents_of,
    lock,
    open_draft_for,
    recompute_totals,
    record_event,
    transition,
)
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from webapp.sales import operations as sales_operations
from webapp.sales.models import SalesDocument
from webapp.settings.operations import get_setting


def _require_draft(po: PurchaseOrder, doing: str) -> None:
    if po.status is PurchaseOrderStatus.DRAFT:
        return
    if po.is_locked:
        raise PurchaseOrderLocked(
            f"{po.number} is locked: goods were receipted against it, so it cannot {doing}."
        )
    raise PurchaseOrderLocked(
        f"{po.number} is {po.status.label.lower()}: only a draft can {doing}."
        + (" Cancel it and re-plan instead." if po.status is PurchaseOrderStatus.ISSUED else "")
    )


# --- editing drafts ---------------------------------------------------------------------------


def update_line(
    line: PurchaseOrderLine,
    *,
    quantity: int,
    unit_cost: Decimal,
    actor: User,
    zero_cost_confirmed: bool = False,
) -> None:
    """Change a draft line's quantity and unit cost (a zero cost only when confirmed)."""
    po = line.purchase_order
    _require_draft(po, "be edited")
    check_quantity(quantity)
    check_unit_cost(unit_cost, zero_confirmed=zero_cost_confirmed)
    if (line.quantity, line.unit_cost) == (quantity, unit_cost):
        return
    line.zero_cost_confirmed = unit_cost == 0
    record_event(
        po,
        "line.changed",
        f"Line {line.position} ({line.supplier_sku or line.product.mpn}): "
        f"{line.quantity} × {line.unit_cost} → {quantity} × {unit_cost}"
        + (" (zero cost confirmed)" if unit_cost == 0 else ""),
        actor,
        line_id=line.id,
        before={"quantity": line.quantity, "unit_cost": str(line.unit_cost)},
        after={"quantity": quantity, "unit_cost": str(unit_cost)},
    )
    line.quantity = quantity
    line.unit_cost = unit_cost
    recompute_totals(po)
    db.session.flush()
    if line.sales_document is not None:
        refresh_procurement_status(line.sales_document)


def remove_line(line: PurchaseOrderLine, actor: User) -> None:
    """Take a line off a draft PO (its demand, if any, becomes unplanned again)."""
    po = line.purchase_order
    _require_draft(po, "be edited")
    document = line.sales_document
    record_event(
        po,
        "line.removed",
        f"Line {line.position} ({line.supplier_sku or line.product.mpn}, {line.quantity} × "
        f"{line.unit_cost}) removed",
        actor,
    )
    po.lines.remove(line)
    recompute_totals(po)
    db.session.flush()
    if document is not None:
        refresh_procurement_status(document)


def add_manual_line(
    po: PurchaseOrder,
    *,
    product: Product,
    quantity: int,
    unit_cost: Decimal,
    actor: User,
    zero_cost_confirmed: bool = False,
) -> PurchaseOrderLine:
    """Add a line staff chose by hand (stock replenishment, a missed item)."""
    _require_draft(po, "be edited")
    check_quantity(quantity)
    check_unit_cost(unit_cost, zero_confirmed=zero_cost_confirmed)
    offer = _offer(po.supplier_id, product.id)
    line = PurchaseOrderLine(
        position=_next_position(po),
        product=product,
        supplier_sku=offer.supplier_sku if offer else "",
        description=product.name,
        quantity=quantity,
        unit_cost=unit_cost,
        eta_days=offer.eta_days if offer else None,
        overridden=True,
        decision={"summary": f"added by hand by {actor.name}", "candidates": []},
        zero_cost_confirmed=unit_cost == 0,
    )
    po.lines.append(line)
    recompute_totals(po)
    record_event(po, "line.added", f"{quantity} × {product.name} added at {unit_cost}", actor)
    db.session.flush()
    return line


def _next_position(po: PurchaseOrder) -> int:
    return max((line.position for line in po.lines), default=0) + 1


def _offer(supplier_id: int, product_id: int) -> SupplierOffer | None:
    """Return the supplier's cheapest live offer for the product, if any."""
    return db.session.scalar(
        select(SupplierOffer)
        .where(
            SupplierOffer.supplier_id == supplier_id,
            SupplierOffer.product_id == product_id,
            SupplierOffer.available.is_(True),
        )
        .order_by(SupplierOffer.cost, SupplierOffer.stock.desc(), SupplierOffer.id)
        .limit(1)
    )


def override_line_supplier(
    line: PurchaseOrderLine, supplier: Supplier, actor: User, reason: str = ""
) -> PurchaseOrder:
    """Move a draft line to another supplier chosen by staff; a re-plan keeps it there.

    Returns the draft PO the line now sits on (an open draft to that supplier when merging
    is on, else a new one). A source PO left without lines is cancelled.
    """
    source = line.purchase_order
    _require_draft(source, "be edited")
    if supplier.id == source.supplier_id:
        raise PurchasingError(f"Line {line.position} is already bought from {supplier.name}.")
    offer = _offer(supplier.id, line.product_id)
    if offer is None:
        raise PurchasingError(
            f"{supplier.name} has no offer for {line.product.name}: choose a supplier that "
            "sells it."
        )
    if offer.cost <= 0:
        raise PurchasingError(
            f"{supplier.name}'s offer for {line.product.name} has a cost of {offer.cost}; "
            "a supplier cost must be more than zero."
        )
    unit_cost, bid_used = offer.cost, False
    document = line.sales_document
    if document is not None:
        bid = queries.best_bid(supplier.id, line.product_id, document.organization_id)
        if bid is not None and bid.unit_cost < offer.cost:
            unit_cost, bid_used = bid.unit_cost, True

    target = open_draft_for(supplier) if get_setting("purchasing_merge_drafts") else None
    if target is None or target.id == source.id:
        target = create_purchase_order(supplier, actor)
    previous = source.supplier.name
    decision = dict(line.decision or {})
    decision["override"] = {
        "by": actor.name,
        "from": previous,
        "to": supplier.name,
        "reason": reason,
        "at": utcnow().isoformat(timespec="seconds"),
    }
    # Moving by the many-to-one side keeps the row (removing it from the collection first
    # would orphan it, and the delete-orphan cascade would delete it).
    position = _next_position(target)
    line.purchase_order = target
    line.position = position
    line.supplier_sku = offer.supplier_sku
    line.unit_cost = unit_cost
    line.bid_used = bid_used
    line.backorder = offer.stock < line.quantity
    line.eta_days = offer.eta_days
    line.overridden = True
    line.decision = decision
    message = (
        f"{line.quantity} × {line.product.name} moved from {previous} ({source.number}) to "
        f"{supplier.name} ({target.number}) by hand" + (f": {reason}" if reason else "")
    )
    record_event(source, "line.overridden", message, actor)
    record_event(target, "line.overridden", message, actor)
    recompute_totals(source)
    recompute_totals(target)
    if not source.lines:
        transition(
            source, PurchaseOrderStatus.CANCELLED, actor, f"all lines moved to {target.number}"
        )
        source.cancelled_at = utcnow()
    if document is not None:
        sales_operations.record_event(document, "procurement.overridden", message, actor)
    db.session.flush()
    return target


# --- issuing and cancelling -------------------------------------------------------------------


def issue_purchase_order(po: PurchaseOrder, actor: User | None) -> None:
    """Email the PO (PDF + CSV) to its supplier and mark it issued."""
    lock(po)
    if po.status is not PurchaseOrderStatus.DRAFT:
        raise IllegalTransition(po, PurchaseOrderStatus.ISSUED)
    if not po.lines:
        raise PurchasingError(f"{po.number} has no lines: add one or cancel it.")
    email = (po.supplier.email or "").strip()
    if not email:
        raise SupplierHasNoEmail(
            f"{po.supplier.name} has no email address, so {po.number} cannot be sent: add one "
            "on the supplier's page, then issue it."
        )
    for line in po.lines:
        check_quantity(line.quantity, f"Line {line.position} quantity")
        check_unit_cost(
            line.unit_cost,
            f"Line {line.position} unit cost",
            zero_confirmed=line.zero_cost_confirmed,
        )
    recompute_totals(po)
    transition(po, PurchaseOrderStatus.ISSUED, actor)
    po.issued_at = utcnow()
    po.issued_by = actor
    po.issued_to = email
    po.attention = ""
    db.session.flush()
    site = current_app.config["SITE_NAME"]
    queue_email(
        to=email,
        subject=f"Purchase order {po.number} from {site}",
        template="purchase_order",
        topic=f"purchase_order:{po.id}",
        attachments=[
            Attachment(f"{po.number}.pdf", "application/pdf", purchase_order_pdf(po)),
            Attachment(f"{po.number}.csv", "text/csv", purchase_order_csv(po)),
        ],
        po=po,
        site_name=site,
    )
    record_event(po, "emailed", f"Emailed to {po.supplier.name} <{email}> with PDF and CSV", actor)
    for document in documents_of(po):
        sales_operations.record_event(
            document,
            "procurement.po_issued",
            f"{po.number} issued to {po.supplier.name}",
            actor,
            purchase_order_id=po.id,
        )
    db.session.flush()
    signals.purchase_order_issued.send(po)


def cancel_purchase_order(po: PurchaseOrder, actor: User, reason: str) -> None:
    """Cancel a draft or issued PO with nothing receipted; its demand needs planning again."""
    reason = reason.strip()
    if not reason:
        raise PurchasingError("Say why the purchase order is cancelled.")
    lock(po)
    if po.is_locked:
        raise PurchaseOrderLocked(
            f"{po.number} is locked: goods were receipted against it, so it cannot be cancelled."
        )
    transition(po, PurchaseOrderStatus.CANCELLED, actor, reason)
    po.cancelled_at = utcnow()
    db.session.flush()
    for document in documents_of(po):
        sales_operations.record_event(
            document,
            "procurement.po_cancelled",
            f"{po.number} to {po.supplier.name} cancelled: {reason}",
            actor,
        )
        refresh_procurement_status(document)


def purchase_order_pdf(po: PurchaseOrder) -> bytes:
    """Render the PO as the PDF the supplier receives."""
    from webapp.pdf import render_pdf

    return render_pdf(
        "purchasing_admin/po_pdf.html",
        po=po,
        site_name=current_app.config["SITE_NAME"],
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )


CSV_COLUMNS = (
    "PO Number",
    "PO Date",
    "Supplier",
    "Line",
    "Supplier SKU",
    "Manufacturer Part Number",
    "Description",
    "Quantity",
    "Unit Cost",
    "Line Total",
    "Currency",
    "Customer Reference",
)


def purchase_order_csv(po: PurchaseOrder) -> bytes:
    """Return the PO's lines as CSV (UTF-8), for suppliers that import orders."""
    out = [csv_row(CSV_COLUMNS)]
    when = (po.issued_at or po.created_at or utcnow()).date().isoformat()
    for line in po.lines:
        row = [
            po.number,
            when,
            po.supplier.name,
            line.position,
            line.supplier_sku,
            line.product.mpn,
            line.description,
            line.quantity,
            Figure(f"{line.unit_cost:.4f}"),
            Figure(f"{line.line_total:.2f}"),
            po.currency,
            line.sales_document.number if line.sales_document else "",
        ]
        out.append(csv_row(row))
    return "".join(out).encode("utf-8")


def notify_purchasing_officer(orders: Iterable[PurchaseOrder], document: SalesDocument) -> None:
    """Email the purchasing officer the drafts that wait for review (when an address is set)."""
    orders = list(orders)
    to = get_setting("purchasing_officer_email")
    if not to or not orders:
        return
    queue_email(
        to=to,
        subject=f"Purchasing suggestions for {document.number}",
        template="purchasing_suggestions",
        topic=f"purchasing_suggestions:{document.id}",
        document=document,
        orders=[(po, public_url("purchasing_admin.purchase_order", po_id=po.id)) for po in orders],
    )
