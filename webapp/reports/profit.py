"""Gross profit, per sales document and per period, at receipted cost."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, case, func, select, type_coerce

from webapp.catalog.models import Product
from webapp.extensions import db
from webapp.money import round_money
from webapp.organizations.models import Organization
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReceiptLine,
    StockAllocation,
)
from webapp.reports.forms import DateRange, Grain
from webapp.reports.periods import (
    BOUGHT_TYPES,
    COST_TYPE,
    MONEY_TYPE,
    ZERO,
    add_up,
    as_date,
    live_documents,
    period_label,
    period_start,
    periods,
    to_decimal,
)
from webapp.sales.models import FulfilmentStatus, SalesDocument, SalesDocumentLine


def _line_costs(date_range: DateRange):
    """One row per sales line of a live document in the range: revenue, costs and units.

    Sub-aggregates are per sales line so that joining them never multiplies rows, and
    only read the range's documents (purchase lines and allocations carry the document).
    """
    documents = select(SalesDocument.id).where(live_documents(date_range))
    received = (
        select(
            PurchaseOrderLine.sales_document_line_id.label("line_id"),
            func.sum(ReceiptLine.line_total).label("cost"),
            func.sum(ReceiptLine.quantity).label("units"),
        )
        .join(ReceiptLine, ReceiptLine.purchase_order_line_id == PurchaseOrderLine.id)
        .where(PurchaseOrderLine.sales_document_id.in_(documents))
        .group_by(PurchaseOrderLine.sales_document_line_id)
        .subquery("received")
    )
    ordered = (
        select(
            PurchaseOrderLine.sales_document_line_id.label("line_id"),
            func.sum(PurchaseOrderLine.quantity).label("units"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(
            PurchaseOrderLine.sales_document_id.in_(documents),
            PurchaseOrder.status != PurchaseOrderStatus.CANCELLED,
        )
        .group_by(PurchaseOrderLine.sales_document_line_id)
        .subquery("ordered")
    )
    stocked = (
        select(
            StockAllocation.sales_document_line_id.label("line_id"),
            func.sum(
                type_coerce(StockAllocation.quantity * StockAllocation.unit_cost, COST_TYPE)
            ).label("cost"),
            func.sum(StockAllocation.quantity).label("units"),
        )
        .where(StockAllocation.sales_document_id.in_(documents))
        .group_by(StockAllocation.sales_document_line_id)
        .subquery("stocked")
    )
    units_ordered = func.coalesce(ordered.c.units, 0)
    units_received = func.coalesce(received.c.units, 0)
    units_stock = func.coalesce(stocked.c.units, 0)
    # Units neither bought nor served from stock. Services and labour are never bought:
    # they cost what the line recorded. Goods are simply not purchased yet.
    uncovered = SalesDocumentLine.quantity - units_ordered - units_stock
    is_goods = func.coalesce(Product.product_type.in_(BOUGHT_TYPES), False)
    unbought_units = case((and_(~is_goods, uncovered > 0), uncovered), else_=0)
    unplanned_units = case((and_(is_goods, uncovered > 0), uncovered), else_=0)
    unbought_cost = type_coerce(
        unbought_units * func.coalesce(SalesDocumentLine.unit_cost, 0), COST_TYPE
    )
    return (
        select(
            SalesDocumentLine.id.label("line_id"),
            SalesDocumentLine.document_id.label("document_id"),
            SalesDocumentLine.line_subtotal.label("revenue"),
            func.coalesce(received.c.cost, 0).label("receipted_cost"),
            func.coalesce(stocked.c.cost, 0).label("stock_cost"),
            unbought_cost.label("unbought_cost"),
            (units_ordered - units_received).label("awaiting_units"),
            unplanned_units.label("unplanned_units"),
        )
        .join(SalesDocument, SalesDocument.id == SalesDocumentLine.document_id)
        .outerjoin(Product, Product.id == SalesDocumentLine.product_id)
        .outerjoin(received, received.c.line_id == SalesDocumentLine.id)
        .outerjoin(ordered, ordered.c.line_id == SalesDocumentLine.id)
        .outerjoin(stocked, stocked.c.line_id == SalesDocumentLine.id)
        .where(live_documents(date_range))
    )


@dataclass
class ProfitFigures:
    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    awaiting_units: int = 0  # on purchase orders, no supplier invoice yet
    unplanned_units: int = 0  # goods procurement has not planned yet

    @property
    def gross_profit(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_pct(self) -> Decimal | None:
        if not self.revenue:
            return None
        return (self.gross_profit * 100 / self.revenue).quantize(Decimal("0.1"))

    @property
    def complete(self) -> bool:
        return not self.awaiting_units and not self.unplanned_units

    @property
    def completeness(self) -> str:
        if self.complete:
            return "Fully receipted"
        parts = []
        if self.awaiting_units:
            parts.append(f"{self.awaiting_units} awaiting supplier invoice")
        if self.unplanned_units:
            parts.append(f"{self.unplanned_units} not yet purchased")
        return "Partly receipted: " + ", ".join(parts) + " (their cost is not included)"


@dataclass
class DocumentProfit(ProfitFigures):
    document_id: int = 0
    number: str = ""
    created_at: datetime | None = None
    organization: str = ""
    currency: str = ""
    fulfilment: FulfilmentStatus = FulfilmentStatus.NONE
    period: date | None = None


def _profit_columns(lines):
    cost = lines.c.receipted_cost + lines.c.stock_cost + lines.c.unbought_cost
    return [
        type_coerce(func.sum(lines.c.revenue), MONEY_TYPE).label("revenue"),
        type_coerce(func.sum(cost), COST_TYPE).label("cost"),
        func.sum(lines.c.awaiting_units).label("awaiting_units"),
        func.sum(lines.c.unplanned_units).label("unplanned_units"),
    ]


def _figures(row) -> dict:
    return {
        "revenue": to_decimal(row.revenue),
        # Rounded once per document (or period): receipt lines are already to the cent,
        # stock and recorded costs carry 4 decimals until here.
        "cost": round_money(to_decimal(row.cost, "0.0001")),
        "awaiting_units": int(row.awaiting_units or 0),
        "unplanned_units": int(row.unplanned_units or 0),
    }


def gross_profit_by_document(
    date_range: DateRange, grain: Grain = Grain.DAY
) -> list[DocumentProfit]:
    """Gross profit of each live sales document created in the range, oldest first.

    Each carries the start of its day/week/month (`period`), computed in SQL.
    """
    lines = _line_costs(date_range).subquery("lines")
    bucket = period_start(SalesDocument.created_at, grain).label("bucket")
    rows = db.session.execute(
        select(
            SalesDocument.id,
            SalesDocument.number,
            SalesDocument.created_at,
            SalesDocument.currency,
            SalesDocument.fulfilment_status,
            Organization.name.label("organization"),
            bucket,
            *_profit_columns(lines),
        )
        .join(lines, lines.c.document_id == SalesDocument.id)
        .join(Organization, Organization.id == SalesDocument.organization_id)
        .group_by(
            SalesDocument.id,
            SalesDocument.number,
            SalesDocument.created_at,
            SalesDocument.currency,
            SalesDocument.fulfilment_status,
            Organization.name,
            bucket,
        )
        .order_by(SalesDocument.created_at, SalesDocument.id)
    ).all()
    return [
        DocumentProfit(
            document_id=row.id,
            number=row.number,
            created_at=row.created_at,
            organization=row.organization,
            currency=row.currency,
            fulfilment=row.fulfilment_status,
            period=as_date(row.bucket),
            **_figures(row),
        )
        for row in rows
    ]


@dataclass
class PeriodProfit(ProfitFigures):
    start: date | None = None
    label: str = ""
    currency: str = ""
    documents: int = 0


def gross_profit_by_period(
    date_range: DateRange, grain: Grain, currency: str
) -> list[PeriodProfit]:
    """Gross profit per day/week/month of document date, every period of the range listed.

    A period is the sum of its documents' figures (each rounded once), so the periods and
    the per-document list always add up to the same total.
    """
    found: dict[tuple[date, str], PeriodProfit] = {}
    for document in gross_profit_by_document(date_range, grain):
        key = (document.period, document.currency)
        row = found.setdefault(
            key,
            PeriodProfit(
                start=document.period,
                label=period_label(document.period, grain),
                currency=document.currency,
            ),
        )
        row.documents += 1
        row.revenue += document.revenue
        row.cost += document.cost
        row.awaiting_units += document.awaiting_units
        row.unplanned_units += document.unplanned_units
    result = []
    for code in sorted({code for _start, code in found} | {currency}):
        for start in periods(date_range, grain):
            row = found.get((start, code))
            if row is None and code == currency:
                row = PeriodProfit(start=start, label=period_label(start, grain), currency=code)
            if row is not None:
                result.append(row)
    return result


def total_profit(rows: Iterable[ProfitFigures]) -> ProfitFigures:
    return add_up(ProfitFigures(), rows, ("revenue", "cost", "awaiting_units", "unplanned_units"))
