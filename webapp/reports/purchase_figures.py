"""Purchasing reports: purchases by supplier, lines not yet fulfilled, what suppliers owe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.sql import ColumnElement

from webapp.catalog.models import Product, Supplier
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    StockAllocation,
)
from webapp.reports.forms import DateRange, Grain
from webapp.reports.periods import (
    BOUGHT_TYPES,
    MONEY_TYPE,
    ZERO,
    add_up,
    as_date,
    in_range,
    period_label,
    period_start,
    periods,
    to_decimal,
)
from webapp.sales.models import DocumentStatus, SalesDocument, SalesDocumentLine


class PurchaseDimension(StrEnum):
    SUPPLIER = "supplier"
    DATE = "date"

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass
class PurchaseRow:
    key: str
    label: str
    currency: str
    orders: int = 0
    ordered_value: Decimal = ZERO  # purchase orders issued in the range, freight included
    bills: int = 0
    billed_goods: Decimal = ZERO  # receipted supplier invoices dated in the range
    billed_freight: Decimal = ZERO

    @property
    def billed_total(self) -> Decimal:
        return self.billed_goods + self.billed_freight


def po_day():
    """The day a purchase order counts on: when it was issued, else when it was made."""
    return func.coalesce(PurchaseOrder.issued_at, PurchaseOrder.created_at)


def issued_orders(date_range: DateRange) -> ColumnElement:
    """Purchase orders sent to a supplier (not drafts, not cancelled) on a day of the range."""
    return and_(
        PurchaseOrder.status.not_in([PurchaseOrderStatus.CANCELLED, PurchaseOrderStatus.DRAFT]),
        in_range(po_day(), date_range),
    )


def purchases_summary(
    date_range: DateRange, by: PurchaseDimension, grain: Grain = Grain.MONTH
) -> list[PurchaseRow]:
    """Purchase orders issued and supplier invoices receipted in the range.

    Drafts (suggestions not yet sent) and cancelled orders are not purchases.
    """
    bills_in_range = and_(
        Receipt.invoice_date >= date_range.start, Receipt.invoice_date <= date_range.end
    )
    order_measures = [
        func.count(PurchaseOrder.id).label("orders"),
        type_coerce(func.sum(PurchaseOrder.total), MONEY_TYPE).label("value"),
    ]
    bill_measures = [
        func.count(Receipt.id).label("bills"),
        type_coerce(func.sum(Receipt.subtotal), MONEY_TYPE).label("goods"),
        type_coerce(func.sum(Receipt.freight), MONEY_TYPE).label("freight"),
    ]
    rows: dict[tuple[str, str], PurchaseRow] = {}

    def row_for(key: str, label: str, currency: str) -> PurchaseRow:
        return rows.setdefault((key, currency), PurchaseRow(key, label, currency))

    if by is PurchaseDimension.SUPPLIER:
        for row in db.session.execute(
            select(Supplier.id, Supplier.name, PurchaseOrder.currency, *order_measures)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .where(issued_orders(date_range))
            .group_by(Supplier.id, Supplier.name, PurchaseOrder.currency)
        ):
            target = row_for(str(row.id), row.name, row.currency)
            target.orders, target.ordered_value = row.orders, to_decimal(row.value)
        for row in db.session.execute(
            select(Supplier.id, Supplier.name, Receipt.currency, *bill_measures)
            .join(Supplier, Supplier.id == Receipt.supplier_id)
            .where(bills_in_range)
            .group_by(Supplier.id, Supplier.name, Receipt.currency)
        ):
            target = row_for(str(row.id), row.name, row.currency)
            target.bills, target.billed_goods = row.bills, to_decimal(row.goods)
            target.billed_freight = to_decimal(row.freight)
        return sorted(rows.values(), key=lambda r: (-r.billed_total, -r.ordered_value, r.label))

    po_bucket = period_start(po_day(), grain).label("bucket")
    for row in db.session.execute(
        select(po_bucket, PurchaseOrder.currency, *order_measures)
        .where(issued_orders(date_range))
        .group_by(po_bucket, PurchaseOrder.currency)
    ):
        start = as_date(row.bucket)
        target = row_for(start.isoformat(), period_label(start, grain), row.currency)
        target.orders, target.ordered_value = row.orders, to_decimal(row.value)
    bill_bucket = period_start(Receipt.invoice_date, grain, is_date=True).label("bucket")
    for row in db.session.execute(
        select(bill_bucket, Receipt.currency, *bill_measures)
        .where(bills_in_range)
        .group_by(bill_bucket, Receipt.currency)
    ):
        start = as_date(row.bucket)
        target = row_for(start.isoformat(), period_label(start, grain), row.currency)
        target.bills, target.billed_goods = row.bills, to_decimal(row.goods)
        target.billed_freight = to_decimal(row.freight)
    for start in periods(date_range, grain):
        if not any(key == start.isoformat() for key, _code in rows):
            row_for(start.isoformat(), period_label(start, grain), "")
    return sorted(rows.values(), key=lambda r: (r.key, r.currency))


def total_purchases(rows: Iterable[PurchaseRow]) -> PurchaseRow:
    return add_up(
        PurchaseRow("total", "Total", ""),
        rows,
        ("orders", "ordered_value", "bills", "billed_goods", "billed_freight"),
    )


# --- unfulfilled / back orders -------------------------------------------------------------


@dataclass
class UnfulfilledLine:
    document_id: int
    number: str
    created_at: datetime
    organization: str
    sku: str
    description: str
    quantity: int
    from_stock: int
    received: int
    on_order: int  # on issued purchase orders, not yet receipted
    not_ordered: int  # goods no issued purchase order covers yet (drafts count here)
    expected: date | None  # latest ETA of its open purchase order lines

    @property
    def waiting(self) -> int:
        return self.on_order + self.not_ordered


def _eta(po_date: object, eta_days: object) -> date | None:
    if po_date is None or eta_days is None:
        return None
    return as_date(po_date) + timedelta(days=int(eta_days))


# Purchase orders a supplier has and still owes goods on (drafts were never sent).
ON_ORDER = [PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.PARTIALLY_RECEIVED]


def unfulfilled_lines(date_range: DateRange) -> list[UnfulfilledLine]:
    """Goods lines of open sales documents (created in the range) not yet fully receipted."""
    orders = (
        select(
            PurchaseOrderLine.sales_document_line_id.label("line_id"),
            func.sum(PurchaseOrderLine.quantity_received).label("received"),
            func.sum(
                case(
                    (
                        PurchaseOrder.status.in_(ON_ORDER),
                        PurchaseOrderLine.quantity - PurchaseOrderLine.quantity_received,
                    )
                )
            ).label("on_order"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrderLine.sales_document_line_id.is_not(None))
        .group_by(PurchaseOrderLine.sales_document_line_id)
        .subquery("orders")
    )
    stocked = (
        select(
            StockAllocation.sales_document_line_id.label("line_id"),
            func.sum(StockAllocation.quantity).label("units"),
        )
        .group_by(StockAllocation.sales_document_line_id)
        .subquery("stocked")
    )
    received = func.coalesce(orders.c.received, 0)
    on_order = func.coalesce(orders.c.on_order, 0)
    from_stock = func.coalesce(stocked.c.units, 0)
    # Draft purchase orders are suggestions nobody has sent: their units are not ordered yet.
    not_ordered = SalesDocumentLine.quantity - received - on_order - from_stock
    rows = db.session.execute(
        select(
            SalesDocument.id,
            SalesDocument.number,
            SalesDocument.created_at,
            Organization.name.label("organization"),
            SalesDocumentLine.id.label("line_id"),
            SalesDocumentLine.sku,
            SalesDocumentLine.description,
            SalesDocumentLine.quantity,
            from_stock.label("from_stock"),
            received.label("received"),
            on_order.label("on_order"),
            case((not_ordered > 0, not_ordered), else_=0).label("not_ordered"),
        )
        .join(SalesDocument, SalesDocument.id == SalesDocumentLine.document_id)
        .join(Organization, Organization.id == SalesDocument.organization_id)
        .join(Product, Product.id == SalesDocumentLine.product_id)
        .outerjoin(orders, orders.c.line_id == SalesDocumentLine.id)
        .outerjoin(stocked, stocked.c.line_id == SalesDocumentLine.id)
        .where(
            SalesDocument.status.in_([DocumentStatus.APPROVED, DocumentStatus.ON_HOLD]),
            in_range(SalesDocument.created_at, date_range),
            Product.product_type.in_(BOUGHT_TYPES),
            received + from_stock < SalesDocumentLine.quantity,
        )
        .order_by(SalesDocument.created_at, SalesDocument.id, SalesDocumentLine.position)
    ).all()
    etas = _line_etas([row.line_id for row in rows])
    return [
        UnfulfilledLine(
            document_id=row.id,
            number=row.number,
            created_at=row.created_at,
            organization=row.organization,
            sku=row.sku,
            description=row.description,
            quantity=row.quantity,
            from_stock=int(row.from_stock),
            received=int(row.received),
            on_order=int(row.on_order),
            not_ordered=int(row.not_ordered),
            expected=etas.get(row.line_id),
        )
        for row in rows
    ]


def _line_etas(line_ids: list[int]) -> dict[int, date]:
    """The latest expected arrival among each sales line's open purchase order lines."""
    if not line_ids:
        return {}
    rows = db.session.execute(
        select(
            PurchaseOrderLine.sales_document_line_id,
            po_day().label("po_date"),
            PurchaseOrderLine.eta_days,
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(
            PurchaseOrderLine.sales_document_line_id.in_(line_ids),
            PurchaseOrder.status.in_(ON_ORDER),
            PurchaseOrderLine.quantity_received < PurchaseOrderLine.quantity,
        )
    ).all()
    etas: dict[int, date] = {}
    for line_id, po_date, eta_days in rows:
        eta = _eta(po_date, eta_days)
        if eta is not None and (line_id not in etas or eta > etas[line_id]):
            etas[line_id] = eta
    return etas


@dataclass
class OutstandingPoLine:
    purchase_order_id: int
    po_number: str
    status: PurchaseOrderStatus
    supplier: str
    ordered_on: date
    sku: str
    description: str
    quantity: int
    received: int
    unit_cost: Decimal
    currency: str
    backorder: bool
    expected: date | None
    sales_document_id: int | None
    sales_document_number: str | None

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received

    def days_late(self, today: date) -> int:
        if self.expected is None or self.expected >= today:
            return 0
        return (today - self.expected).days


def outstanding_po_lines(date_range: DateRange) -> list[OutstandingPoLine]:
    """Issued purchase order lines (ordered in the range) with units still to arrive."""
    rows = db.session.execute(
        select(
            PurchaseOrder.id,
            PurchaseOrder.number,
            PurchaseOrder.status,
            PurchaseOrder.currency,
            po_day().label("po_date"),
            Supplier.name.label("supplier"),
            PurchaseOrderLine.supplier_sku,
            PurchaseOrderLine.description,
            PurchaseOrderLine.quantity,
            PurchaseOrderLine.quantity_received,
            PurchaseOrderLine.unit_cost,
            PurchaseOrderLine.backorder,
            PurchaseOrderLine.eta_days,
            PurchaseOrderLine.sales_document_id,
            SalesDocument.number.label("document_number"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .outerjoin(SalesDocument, SalesDocument.id == PurchaseOrderLine.sales_document_id)
        .where(
            PurchaseOrder.status.in_(ON_ORDER),
            PurchaseOrderLine.quantity_received < PurchaseOrderLine.quantity,
            in_range(po_day(), date_range),
        )
        .order_by(po_day(), PurchaseOrder.id, PurchaseOrderLine.position)
    ).all()
    return [
        OutstandingPoLine(
            purchase_order_id=row.id,
            po_number=row.number,
            status=row.status,
            supplier=row.supplier,
            ordered_on=as_date(row.po_date),
            sku=row.supplier_sku,
            description=row.description,
            quantity=row.quantity,
            received=row.quantity_received,
            unit_cost=row.unit_cost,
            currency=row.currency,
            backorder=row.backorder,
            expected=_eta(row.po_date, row.eta_days),
            sales_document_id=row.sales_document_id,
            sales_document_number=row.document_number,
        )
        for row in rows
    ]
