"""Plan a sales document's procurement: own stock first, then the optimizer, then draft POs.

`plan_document_id` maps database rows to the pure optimizer's inputs and its Plan back to PO
lines, all in the caller's transaction: a failure leaves nothing half-planned (the job rolls
back and marks the document "needs attention" in a fresh transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from webapp.auth.models import User
from webapp.catalog.models import Product, Supplier, SupplierOffer
from webapp.extensions import db
from webapp.jobs import enqueue_after_commit
from webapp.models_base import utcnow
from webapp.money import format_money
from webapp.purchasing import errors, fulfilment, lifecycle, ordering, queries
from webapp.purchasing import optimizer as opt
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockAllocation,
    StockItem,
)
from webapp.sales import operations as sales_operations
from webapp.sales.models import DocumentStatus, ProcurementStatus, SalesDocument
from webapp.settings.operations import get_setting

# Wall-clock budget of one optimizer run (a sales document has tens of lines, not thousands).
TIME_LIMIT_SECONDS = 2.0


class PlanningError(Exception):
    """The document cannot be planned as it stands; the message says why, for people."""


@dataclass
class PlanOutcome:
    """What one planning run did."""

    document: SalesDocument
    method: str = ""
    allocated_units: int = 0
    orders: list[PurchaseOrder] = field(default_factory=list)
    issued: list[PurchaseOrder] = field(default_factory=list)
    unsourced: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_job_id(document_id: int) -> str:
    return f"plan-document-{document_id}"


def enqueue_plan(document: SalesDocument) -> None:
    """Plan the document in a worker once the current transaction commits."""
    enqueue_after_commit(
        "workers.purchasing.plan_document", document.id, job_id=plan_job_id(document.id)
    )


def plan_document_id(document_id: int, actor: User | None = None) -> PlanOutcome | None:
    """Plan whatever of the document is not yet allocated or on order (idempotent)."""
    # The row lock makes a second run for the same document wait, then find nothing to do.
    document = db.session.scalar(
        select(SalesDocument).where(SalesDocument.id == document_id).with_for_update()
    )
    if document is None or document.status is not DocumentStatus.APPROVED:
        return None
    return plan_document(document, actor)


def plan_document(document: SalesDocument, actor: User | None = None) -> PlanOutcome:
    outcome = PlanOutcome(document)
    coverage = [c for c in queries.document_coverage(document) if c.uncovered > 0]
    remaining = _allocate_own_stock(document, coverage, outcome)
    demand_lines = {line_id: qty for line_id, qty in remaining.items() if qty > 0}
    if demand_lines:
        _buy(document, demand_lines, outcome, actor)
    db.session.flush()
    _record_outcome(document, outcome, actor)
    fulfilment.refresh_procurement_status(document)
    fulfilment.refresh_fulfilment(document)
    return outcome


def _allocate_own_stock(
    document: SalesDocument, coverage: list, outcome: PlanOutcome
) -> dict[int, int]:
    remaining: dict[int, int] = {}
    for c in coverage:
        need = c.uncovered
        item = db.session.scalar(
            select(StockItem).where(StockItem.product_id == c.line.product_id).with_for_update()
        )
        take = min(need, item.available) if item is not None else 0
        if take > 0:
            item.quantity_allocated += take
            db.session.add(
                StockAllocation(
                    stock_item=item,
                    sales_document_id=document.id,
                    sales_document_line_id=c.line.id,
                    quantity=take,
                    unit_cost=item.unit_cost,
                )
            )
            outcome.allocated_units += take
            sales_operations.record_event(
                document,
                "procurement.allocated",
                f"{take} × {c.line.description} served from own stock",
                None,
                line_id=c.line.id,
                quantity=take,
            )
        remaining[c.line.id] = need - take
    return remaining


def _buy(
    document: SalesDocument,
    demand_lines: dict[int, int],
    outcome: PlanOutcome,
    actor: User | None,
) -> None:
    sales_lines = {line.id: line for line in document.lines}
    product_ids = sorted({sales_lines[i].product_id for i in demand_lines})
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(product_ids)))
    }
    chosen = _usable_offers(product_ids, products, outcome)
    supplier_ids = sorted({supplier_id for supplier_id, _product in chosen})
    # Lock the suppliers: two plans merging into one supplier's draft must take turns.
    suppliers = {
        s.id: s
        for s in db.session.scalars(
            select(Supplier)
            .where(Supplier.id.in_(supplier_ids))
            .order_by(Supplier.id)
            .with_for_update()
        )
    }
    mode = get_setting("purchasing_issue_mode")
    drafts: dict[int, PurchaseOrder] = {}
    if mode == "suggestions" and get_setting("purchasing_merge_drafts"):
        for supplier in suppliers.values():
            draft = lifecycle.open_draft_for(supplier)
            if draft is not None:
                drafts[supplier.id] = draft

    bids = queries.bids_for(product_ids, document.organization_id, utcnow().date())
    offers = [
        opt.Offer(
            supplier_id=supplier_id,
            product_id=product_id,
            unit_cost=offer.cost,
            stock=max(0, offer.stock or 0),
            eta_days=offer.eta_days,
            bids=(
                {document.organization_id: bids[(supplier_id, product_id)].unit_cost}
                if (supplier_id, product_id) in bids
                else {}
            ),
        )
        for (supplier_id, product_id), offer in chosen.items()
    ]
    opt_suppliers = [
        opt.Supplier(
            id=s.id,
            name=s.name,
            # A draft we merge into already carries this supplier's freight.
            freight=Decimal(0) if s.id in drafts else (s.freight_fee or Decimal(0)),
            free_freight_threshold=None if s.id in drafts else s.free_freight_threshold,
            premium_pct=s.priority_premium_pct or Decimal(0),
            online=s.online,
        )
        for s in suppliers.values()
    ]
    demand = [
        opt.DemandLine(
            id=line_id,
            product_id=sales_lines[line_id].product_id,
            quantity=qty,
            customer_id=document.organization_id,
        )
        for line_id, qty in sorted(demand_lines.items())
    ]
    settings = opt.Settings(
        time_limit=TIME_LIMIT_SECONDS, allow_split=bool(get_setting("purchasing_allow_split"))
    )
    try:
        plan = opt.plan(demand, offers, opt_suppliers, settings)
    except ValueError as error:
        raise PlanningError(f"the optimizer refused the supplier data: {error}") from error
    outcome.method = plan.method
    outcome.notes.extend(plan.notes)

    planned_at = utcnow().isoformat(timespec="seconds")
    for order in plan.orders:
        supplier = suppliers[order.supplier_id]
        po = drafts.get(supplier.id)
        if po is None:
            po = lifecycle.create_purchase_order(supplier, None, method=plan.method)
        else:
            lifecycle.record_event(
                po, "merged", f"Demand from {document.number} merged into this draft", actor
            )
        for plan_line in order.lines:
            sales_line = sales_lines[plan_line.demand_line_id]
            offer = chosen[(supplier.id, plan_line.product_id)]
            decision = plan_line.decision.to_dict()
            decision.update(method=plan.method, notes=list(plan.notes), planned_at=planned_at)
            po.lines.append(
                PurchaseOrderLine(
                    position=max((x.position for x in po.lines), default=0) + 1,
                    product_id=plan_line.product_id,
                    supplier_sku=offer.supplier_sku,
                    description=sales_line.description or products[plan_line.product_id].name,
                    quantity=plan_line.quantity,
                    unit_cost=plan_line.unit_cost,
                    bid_used=plan_line.bid_used,
                    backorder=plan_line.backorder,
                    eta_days=plan_line.eta_days,
                    sales_document_id=document.id,
                    sales_document_line_id=sales_line.id,
                    decision=decision,
                )
            )
        lifecycle.recompute_totals(po)
        if po not in outcome.orders:
            outcome.orders.append(po)
    for part in plan.unsourced:
        line = sales_lines[part.demand_line_id]
        outcome.unsourced.append(
            f"{part.quantity} × {line.description} ({line.sku or 'no SKU'}): no supplier "
            "offers it at a usable cost — add an offer or buy it by hand"
        )
    db.session.flush()

    if mode == "supplier":
        for po in outcome.orders:
            if po.status is not PurchaseOrderStatus.DRAFT:
                continue
            if (po.supplier.email or "").strip():
                ordering.issue_purchase_order(po, None)
                outcome.issued.append(po)
            else:
                po.attention = (
                    f"{po.supplier.name} has no email address: add one on the supplier's page, "
                    "then issue this purchase order."
                )
                lifecycle.record_event(po, "attention", po.attention, None)
    else:
        ordering.notify_purchasing_officer(outcome.orders, document)


def _usable_offers(
    product_ids: list[int], products: dict[int, Product], outcome: PlanOutcome
) -> dict[tuple[int, int], SupplierOffer]:
    """Return each supplier's cheapest live offer per product, leaving out bad costs."""
    chosen: dict[tuple[int, int], SupplierOffer] = {}
    rows = db.session.scalars(
        select(SupplierOffer)
        .where(SupplierOffer.product_id.in_(product_ids), SupplierOffer.available.is_(True))
        .order_by(SupplierOffer.cost, SupplierOffer.stock.desc(), SupplierOffer.id)
    )
    for offer in rows:
        if offer.cost is None or offer.cost <= 0:
            outcome.notes.append(
                f"{offer.supplier.name}'s offer {offer.supplier_sku} for "
                f"{products[offer.product_id].name} ignored: its cost "
                f"{format_money(offer.cost)} is not above zero"
            )
            continue
        chosen.setdefault((offer.supplier_id, offer.product_id), offer)
    return chosen


def _record_outcome(document: SalesDocument, outcome: PlanOutcome, actor: User | None) -> None:
    parts = []
    if outcome.allocated_units:
        parts.append(f"{outcome.allocated_units} from own stock")
    if outcome.orders:
        numbers = ", ".join(
            f"{po.number} ({po.supplier.name}{', issued' if po in outcome.issued else ''})"
            for po in outcome.orders
        )
        parts.append(f"purchase orders {numbers}")
    if not parts and not outcome.unsourced:
        parts.append("nothing to buy")
    method = f" [{outcome.method}]" if outcome.method else ""
    sales_operations.record_event(
        document,
        "procurement.run",
        f"Purchasing optimizer{method}: " + "; ".join(parts or ["nothing could be bought"]),
        actor,
        method=outcome.method,
        purchase_orders=[po.number for po in outcome.orders],
        notes=outcome.notes,
    )
    for text in outcome.unsourced:
        sales_operations.record_event(document, "procurement.unsourced", text.capitalize(), actor)
    for note in outcome.notes:
        if "ignored" in note:
            sales_operations.record_event(document, "procurement.note", note, actor)


def mark_needs_attention(document_id: int, reason: str) -> None:
    """Flag a document whose planning failed (call in a fresh transaction after rollback)."""
    document = db.session.get(SalesDocument, document_id)
    if document is None:
        return
    sales_operations.set_procurement_status(document, ProcurementStatus.NEEDS_ATTENTION)
    sales_operations.record_event(
        document,
        "procurement.failed",
        f"Needs purchasing attention: planning failed — {reason}",
        None,
        reason=reason,
    )
    db.session.flush()


def replan_document(document: SalesDocument, actor: User) -> int:
    """Take this document's unpinned lines off draft POs and plan it again in a worker.

    Lines staff moved by hand, and anything issued or receipted, stay as they are. Returns
    how many draft lines were released.
    """
    if document.status is not DocumentStatus.APPROVED:
        raise errors.PurchasingError(
            f"{document.number} is {document.status.label.lower()}: only an approved document "
            "is planned."
        )
    released = 0
    touched: dict[int, PurchaseOrder] = {}
    for line in queries.document_purchase_lines(document.id):
        po = line.purchase_order
        if po.status is not PurchaseOrderStatus.DRAFT or line.overridden:
            continue
        po.lines.remove(line)
        touched[po.id] = po
        released += 1
    for po in touched.values():
        lifecycle.recompute_totals(po)
        lifecycle.record_event(
            po, "replan", f"Lines for {document.number} released for re-planning", actor
        )
        if not po.lines:
            lifecycle.transition(
                po,
                PurchaseOrderStatus.CANCELLED,
                actor,
                f"emptied by re-planning {document.number}",
            )
            po.cancelled_at = utcnow()
    sales_operations.set_procurement_status(document, ProcurementStatus.PENDING)
    sales_operations.record_event(
        document,
        "procurement.replan",
        f"Re-planning requested ({released} draft line{'s' if released != 1 else ''} released)",
        actor,
    )
    db.session.flush()
    enqueue_plan(document)
    return released
