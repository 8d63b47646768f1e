"""A purchase order's state machine, events, numbering, totals, row lock and input checks.

Every function flushes and never commits; the view or job that calls it commits once.
"""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from webapp import signals
from webapp.auth.models import User
from webapp.catalog.models import Supplier
from webapp.extensions import db
from webapp.parsing import unconfirmed_cost
from webapp.purchasing.errors import IllegalTransition, PurchasingError
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from webapp.purchasing.optimizer.allocation import freight_on
from webapp.sales import operations as sales_operations
from webapp.sales.models import SalesDocument
from webapp.statemachine import StateMachine, status_note

ZERO = Decimal(0)
MAX_QUANTITY = 1_000_000
MAX_UNIT_COST = Decimal("9999999999.9999")


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
MACHINE = StateMachine.from_targets(
    "purchase order", PurchaseOrderStatus, TRANSITIONS, error=IllegalTransition
)


def transition(
    po: PurchaseOrder, status: PurchaseOrderStatus, actor: User | None, reason: str = ""
) -> None:
    """Move a PO to `status`, or raise IllegalTransition."""
    previous = MACHINE.move(po, status)
    if status is PurchaseOrderStatus.CANCELLED:
        po.attention = ""  # nothing is left for anyone to do on a cancelled PO
        if previous is not PurchaseOrderStatus.DRAFT:
            signals.purchase_order_cancelled.send(po)
    type_, message, data = status_note(previous, status, reason)
    record_event(po, type_, message, actor, **data)


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
    return freight_on(subtotal, supplier.freight_fee or ZERO, supplier.free_freight_threshold)


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
    problem = unconfirmed_cost(
        cost,
        what,
        confirmed=zero_confirmed,
        confirm="Confirm a zero cost",
        because="the goods really are free",
    )
    if problem:
        raise PurchasingError(problem)
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


def documents_of(po: PurchaseOrder) -> list[SalesDocument]:
    seen: dict[int, SalesDocument] = {}
    for line in po.lines:
        if line.sales_document is not None:
            seen.setdefault(line.sales_document.id, line.sales_document)
    return list(seen.values())
