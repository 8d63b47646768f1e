"""Purchase orders and receipts: create, edit, issue, cancel, receipt; keep documents in step.

Every function flushes and never commits; the view or job that calls it commits once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from webapp import signals
from webapp.auth.models import User
from webapp.catalog.models import Product, Supplier, SupplierOffer
from webapp.csvsafe import Figure, safe_cell
from webapp.extensions import db
from webapp.mail.operations import Attachment, public_url, queue_email
from webapp.models_base import utcnow
from webapp.money import round_money
from webapp.purchasing import queries, tracking
from webapp.purchasing.models import (
    BidPrice,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    ReceiptLine,
    StockItem,
)
from webapp.sales import operations as sales_operations
from webapp.sales.models import (
    DocumentStatus,
    FulfilmentStatus,
    ProcurementStatus,
    SalesDocument,
)
from webapp.settings.operations import get_setting
from webapp.statemachine import StateMachine

ZERO = Decimal(0)
MAX_QUANTITY = 1_000_000
MAX_UNIT_COST = Decimal("9999999999.9999")


class PurchasingError(Exception):
    """A purchasing change refused; the message says why, for people."""


class IllegalTransition(PurchasingError):
    """A PO status change its state machine does not allow."""

    def __init__(self, po: PurchaseOrder, wanted: PurchaseOrderStatus):
        super().__init__(
            f"{po.number} is {po.status.label.lower()}: it cannot become {wanted.label.lower()}"
        )
        self.current = po.status
        self.wanted = wanted


class PurchaseOrderLocked(PurchasingError):
    """An edit to a PO that was issued or receipted."""


class SupplierHasNoEmail(PurchasingError):
    """The PO cannot be sent: its supplier has no email address."""


class ReceiptRefused(PurchasingError):
    """A receipt that would be wrong (too many units, bad costs, nothing received...)."""


class DuplicateInvoice(ReceiptRefused):
    """The supplier's invoice number was already receipted."""


TRANSITIONS: dict[PurchaseOrderStatus, frozenset[PurchaseOrderStatus]] = {
    PurchaseOrderStatus.DRAFT: frozenset(
        {PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.CANCELLED}
    ),
    PurchaseOrderStatus.ISSUED: frozenset(
        {
            PurchaseOrderStatus.PARTIALLY_RECEIVED,
            PurchaseOrderStatus.RECEIVED,
            PurchaseOrderStatus.CANCELLED,
        }
    ),
    PurchaseOrderStatus.PARTIALLY_RECEIVED: frozenset({PurchaseOrderStatus.RECEIVED}),
    PurchaseOrderStatus.RECEIVED: frozenset(),
    PurchaseOrderStatus.CANCELLED: frozenset(),
}
MACHINE = StateMachine.from_targets("purchase order", PurchaseOrderStatus, TRANSITIONS)


def transition(
    po: PurchaseOrder, status: PurchaseOrderStatus, actor: User | None, reason: str = ""
) -> None:
    """Move a PO to `status`, or raise IllegalTransition."""
    if not MACHINE.allows(po.status, status):
        raise IllegalTransition(po, status)
    previous = po.status
    po.status = status
    if status is PurchaseOrderStatus.CANCELLED:
        po.attention = ""  # nothing is left for anyone to do on a cancelled PO
    record_event(
        po,
        f"status.{status.value}",
        f"{previous.label} → {status.label}" + (f": {reason}" if reason else ""),
        actor,
        previous=previous.value,
        reason=reason,
    )


def record_event(
    po: PurchaseOrder, type_: str, message: str, actor: User | None = None, **data
) -> PurchaseOrderEvent:
    event = PurchaseOrderEvent(type=type_, message=message, actor=actor, data=data)
    po.events.append(event)
    return event


# --- numbering, creation, totals ------------------------------------------------------------

PO_PREFIX = "PO"


def next_po_number() -> str:
    """Take the next PO number (PO-000123) from the shared document sequences."""
    return sales_operations.take_number(PO_PREFIX)


def create_purchase_order(
    supplier: Supplier, actor: User | None, *, method: str = "manual", note: str = ""
) -> PurchaseOrder:
    """Open a new draft PO to `supplier`."""
    po = PurchaseOrder(
        number=next_po_number(),
        supplier=supplier,
        currency=supplier.currency or current_app.config["CURRENCY"],
        planning_method=method,
        note=note,
        created_by=actor,
    )
    db.session.add(po)
    who = "the purchasing optimizer" if actor is None else actor.name
    record_event(po, "created", f"Draft {po.number} to {supplier.name} created by {who}", actor)
    db.session.flush()
    return po


def freight_due(supplier: Supplier, subtotal: Decimal) -> Decimal:
    """Return the supplier's freight on a PO of `subtotal` (free from its threshold)."""
    if subtotal <= 0:
        return ZERO
    threshold = supplier.free_freight_threshold
    if threshold is not None and subtotal >= threshold:
        return ZERO
    return supplier.freight_fee or ZERO


def recompute_totals(po: PurchaseOrder) -> None:
    """Set subtotal, freight and total from the lines (each rounded to the cent once)."""
    po.subtotal = sum((line.line_total for line in po.lines), ZERO)
    po.freight = freight_due(po.supplier, po.subtotal)
    po.total = po.subtotal + po.freight


def open_draft_for(supplier: Supplier) -> PurchaseOrder | None:
    """Return the oldest open draft PO to `supplier` that demand may be merged into."""
    return db.session.scalar(
        select(PurchaseOrder)
        .where(
            PurchaseOrder.supplier_id == supplier.id,
            PurchaseOrder.status == PurchaseOrderStatus.DRAFT,
        )
        .order_by(PurchaseOrder.id)
        .limit(1)
    )


# --- validation of staff input ---------------------------------------------------------------


def check_quantity(quantity: int, what: str = "Quantity") -> int:
    if not isinstance(quantity, int) or quantity <= 0:
        raise PurchasingError(f"{what} must be a whole number above zero.")
    if quantity > MAX_QUANTITY:
        raise PurchasingError(f"{what} must be at most {MAX_QUANTITY:,}.")
    return quantity


def check_unit_cost(cost: Decimal, what: str = "Unit cost", *, zero_confirmed=False) -> Decimal:
    """Refuse a cost that is not a positive amount of at most 4 decimals; a zero cost passes
    only when staff confirmed it (free goods are real, a cost that rounded to $0 is not)."""
    if not isinstance(cost, Decimal) or not cost.is_finite():
        raise PurchasingError(f"{what} must be a number.")
    if cost < 0 or (cost == 0 and not zero_confirmed):
        hint = " or, if the goods really are free, tick Confirm a zero cost" if cost == 0 else ""
        raise PurchasingError(f"{what} must be more than zero (got {cost}){hint}.")
    if cost > MAX_UNIT_COST or cost.as_tuple().exponent < -4:  # type: ignore[operator]
        raise PurchasingError(f"{what} must have at most 4 decimal places and 10 digits.")
    return cost


def lock(po: PurchaseOrder) -> None:
    """Lock the PO and its lines for this transaction and reload them (PostgreSQL row locks):
    two people receipting or issuing at once must take turns, not both pass the checks."""
    db.session.scalars(
        select(PurchaseOrder)
        .where(PurchaseOrder.id == po.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    db.session.scalars(
        select(PurchaseOrderLine)
        .where(PurchaseOrderLine.purchase_order_id == po.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


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
    for document in _documents_of(po):
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
    for document in _documents_of(po):
        sales_operations.record_event(
            document,
            "procurement.po_cancelled",
            f"{po.number} to {po.supplier.name} cancelled: {reason}",
            actor,
        )
        refresh_procurement_status(document)


def _documents_of(po: PurchaseOrder) -> list[SalesDocument]:
    seen: dict[int, SalesDocument] = {}
    for line in po.lines:
        if line.sales_document is not None:
            seen.setdefault(line.sales_document.id, line.sales_document)
    return list(seen.values())


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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
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
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue().encode("utf-8")


# --- receipting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLineInput:
    line_id: int
    quantity: int
    unit_cost: Decimal
    serial_numbers: Sequence[str] = ()


@dataclass(frozen=True)
class ReceiptInput:
    supplier_invoice_number: str
    invoice_date: date
    due_date: date | None
    freight: Decimal
    lines: Sequence[ReceiptLineInput]
    note: str = ""
    zero_costs_confirmed: bool = False  # staff ticked "Confirm zero costs"
    tracking_number: str = ""
    carrier: str = ""


class ReceiptProblems(ReceiptRefused):
    """Every problem found in a receipt, each tied to its line when it has one."""

    def __init__(self) -> None:
        super().__init__("")
        self.problems: list[str] = []
        self.by_line: dict[int, str] = {}

    def __str__(self) -> str:
        return " ".join(self.problems)


def record_receipt(po: PurchaseOrder, data: ReceiptInput, actor: User | None) -> Receipt:
    """Receipt a supplier invoice against the PO; lock what it receipts.

    Refuses (nothing written) a PO that is not issued, a duplicate invoice number for the
    supplier, more units than are outstanding, costs of zero or less, and an empty receipt.
    """
    lock(po)
    if po.status not in (PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.PARTIALLY_RECEIVED):
        if po.status is PurchaseOrderStatus.DRAFT:
            raise ReceiptRefused(f"{po.number} is a draft: issue it before receipting.")
        raise ReceiptRefused(f"{po.number} is {po.status.label.lower()}: nothing is outstanding.")
    number = data.supplier_invoice_number.strip()
    if not number:
        raise ReceiptRefused("Enter the supplier's invoice number.")
    if len(number) > 100:
        raise ReceiptRefused("The supplier's invoice number is longer than 100 characters.")
    existing = queries.receipt_by_invoice(po.supplier_id, number)
    if existing is not None:
        raise DuplicateInvoice(
            f"{po.supplier.name} invoice {number} was already receipted on "
            f"{existing.purchase_order.number} ({existing.received_at:%d %b %Y}): "
            "a bill cannot be entered twice."
        )
    due = data.due_date or data.invoice_date + timedelta(
        days=get_setting("supplier_payment_terms_days")
    )
    if due < data.invoice_date:
        raise ReceiptRefused("The due date is before the invoice date.")
    if not data.freight.is_finite() or data.freight < 0:
        raise ReceiptRefused("Freight must be zero or more.")
    try:
        tracking_number, carrier = tracking.clean(data.tracking_number, data.carrier)
    except tracking.TrackingRefused as refused:
        raise ReceiptRefused(str(refused)) from None

    lines = {line.id: line for line in po.lines}
    problems = ReceiptProblems()
    wanted: list[tuple[PurchaseOrderLine, ReceiptLineInput]] = []
    seen: set[int] = set()
    for item in data.lines:
        line = lines.get(item.line_id)
        if line is None or item.line_id in seen:
            problems.problems.append(f"Line #{item.line_id} is not on {po.number}.")
            continue
        seen.add(item.line_id)
        label = f"Line {line.position} ({line.supplier_sku or line.product.mpn})"
        if item.quantity == 0:
            continue
        problem = _receipt_line_problem(line, item, label, data.zero_costs_confirmed)
        if problem:
            problems.problems.append(problem)
            problems.by_line[line.id] = problem
            continue
        wanted.append((line, item))
    if problems.problems:
        raise problems
    if not wanted:
        raise ReceiptRefused("Nothing received: enter a quantity on at least one line.")

    receipt = Receipt(
        purchase_order=po,
        supplier_id=po.supplier_id,
        supplier_invoice_number=number,
        invoice_date=data.invoice_date,
        due_date=due,
        currency=po.currency,
        freight=round_money(data.freight),
        note=data.note.strip(),
        tracking_number=tracking_number,
        carrier=carrier,
        received_by=actor,
    )
    for line, item in wanted:
        receipt.lines.append(
            ReceiptLine(
                purchase_order_line=line,
                quantity=item.quantity,
                unit_cost=item.unit_cost,
                line_total=round_money(item.quantity * item.unit_cost),
                serial_numbers=list(item.serial_numbers),
            )
        )
        line.quantity_received += item.quantity
    receipt.subtotal = sum((rl.line_total for rl in receipt.lines), ZERO)
    receipt.total = receipt.subtotal + receipt.freight
    db.session.add(receipt)
    complete = all(line.outstanding == 0 for line in po.lines)
    units = sum(item.quantity for _line, item in wanted)
    wanted_status = (
        PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTIALLY_RECEIVED
    )
    if wanted_status is not po.status:
        transition(po, wanted_status, actor)
    record_event(
        po,
        "receipted",
        f"Supplier invoice {number}: {units} unit{'s' if units != 1 else ''} receipted, "
        f"total {receipt.total} {receipt.currency}",
        actor,
        supplier_invoice_number=number,
    )
    db.session.flush()
    signals.receipt_recorded.send(receipt)
    for document in _documents_of(po):
        sales_operations.record_event(
            document,
            "procurement.receipted",
            f"Goods receipted on {po.number} (supplier invoice {number})",
            actor,
            receipt_id=receipt.id,
        )
        refresh_fulfilment(document)
        # A cancelled document's flag clears once nothing more is expected for it.
        refresh_procurement_status(document)
    return receipt


def _receipt_line_problem(
    line: PurchaseOrderLine, item: ReceiptLineInput, label: str, zero_confirmed: bool = False
) -> str:
    if not isinstance(item.quantity, int) or item.quantity < 0:
        return f"{label}: quantity must be a whole number, zero or more."
    if item.quantity > line.outstanding:
        return (
            f"{label}: {item.quantity} received but only {line.outstanding} outstanding "
            f"({line.quantity} ordered, {line.quantity_received} already receipted)."
        )
    if not item.unit_cost.is_finite() or item.unit_cost < 0:
        return f"{label}: unit cost must be more than zero."
    if item.unit_cost == 0 and not zero_confirmed:
        return (
            f"{label}: unit cost must be more than zero, or, if the supplier really charged "
            "nothing, tick Confirm zero costs."
        )
    if item.unit_cost > MAX_UNIT_COST or item.unit_cost.as_tuple().exponent < -4:  # type: ignore[operator]
        return f"{label}: unit cost must have at most 4 decimal places and 10 digits."
    serials = list(item.serial_numbers)
    if serials:
        if len(serials) != item.quantity:
            return (
                f"{label}: {len(serials)} serial number{'s' if len(serials) != 1 else ''} for "
                f"{item.quantity} unit{'s' if item.quantity != 1 else ''}; give one per unit "
                "or none."
            )
        if len(set(serials)) != len(serials):
            return f"{label}: a serial number is listed twice."
        if any(len(s) > 100 for s in serials):
            return f"{label}: serial numbers are at most 100 characters."
    return ""


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
    if status is not document.procurement_status:
        document.procurement_status = status
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
    if status is not document.fulfilment_status:
        document.fulfilment_status = status
        sales_operations.record_event(
            document, f"fulfilment.{status.value}", f"Fulfilment: {status.label.lower()}", None
        )
        if status is not FulfilmentStatus.NONE:
            sales_operations.email_shipment(document, partial=status is FulfilmentStatus.PARTIAL)
    if status is FulfilmentStatus.FULFILLED and document.ready_to_invoice_at is None:
        document.ready_to_invoice_at = utcnow()
        sales_operations.record_event(
            document,
            "ready_to_invoice",
            "Every line is receipted or served from stock: ready to invoice",
            None,
        )
        db.session.flush()
        signals.sales_document_ready_to_invoice.send(document)
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


# --- own stock --------------------------------------------------------------------------------


def set_stock(
    product: Product, *, on_hand: int, unit_cost: Decimal, actor: User | None, location: str = ""
) -> StockItem:
    """Set how many of a product the MSP holds itself, and what a unit cost."""
    if not isinstance(on_hand, int) or on_hand < 0:
        raise PurchasingError("Stock on hand must be a whole number, zero or more.")
    check_unit_cost(unit_cost, "Stock unit cost")
    item = db.session.scalar(
        select(StockItem).where(StockItem.product_id == product.id).with_for_update()
    ) or StockItem(product=product, quantity_allocated=0)
    if on_hand < (item.quantity_allocated or 0):
        raise PurchasingError(
            f"{item.quantity_allocated} of {product.name} are already allocated to orders: "
            "on hand cannot go below that."
        )
    item.quantity_on_hand = on_hand
    item.unit_cost = unit_cost
    item.location = location.strip()[:100]
    db.session.add(item)
    db.session.flush()
    return item


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


def add_bid_price(
    *,
    supplier: Supplier,
    product: Product,
    organization,
    unit_cost: Decimal,
    valid_from: date,
    valid_until: date | None,
    reference: str,
    actor: User,
) -> BidPrice:
    """Record a supplier's special cost for one organization's deal."""
    check_unit_cost(unit_cost, "Bid unit cost")
    if valid_until is not None and valid_until < valid_from:
        raise PurchasingError("The bid ends before it starts: check the dates.")
    bid = BidPrice(
        supplier=supplier,
        product=product,
        organization=organization,
        unit_cost=unit_cost,
        valid_from=valid_from,
        valid_until=valid_until,
        reference=reference.strip()[:100],
    )
    db.session.add(bid)
    db.session.flush()
    return bid
