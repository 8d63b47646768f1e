"""Receipt a supplier invoice against an issued purchase order.

Every function flushes and never commits; the view or job that calls it commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from webapp import signals
from webapp.auth.models import User
from webapp.extensions import db
from webapp.money import round_money
from webapp.parsing import unconfirmed_cost
from webapp.purchasing import queries, tracking
from webapp.purchasing.errors import DuplicateInvoice, ReceiptRefused
from webapp.purchasing.fulfilment import refresh_fulfilment, refresh_procurement_status
from webapp.purchasing.lifecycle import (
    MAX_UNIT_COST,
    ZERO,
    documents_of,
    lock,
    record_event,
    transition,
)
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    ReceiptLine,
)
from webapp.sales import operations as sales_operations
from webapp.settings.operations import get_setting

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
    for document in documents_of(po):
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
    if not item.unit_cost.is_finite():
        return f"{label}: unit cost must be a number."
    problem = unconfirmed_cost(
        item.unit_cost,
        f"{label}: unit cost",
        confirmed=zero_confirmed,
        confirm="Confirm zero costs",
        because="the supplier really charged nothing",
    )
    if problem:
        return problem
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
