"""Report reads: every figure is aggregated in SQL and comes back as Decimal money.

Conventions shared by the reports:

- Dates are UTC calendar dates; a sales document belongs to the day it was created, a bill
  to its supplier invoice date, a purchase order to the day it was issued (or created).
- Cancelled sales documents and cancelled purchase orders are left out.
- Gross profit is on goods and services lines (ex tax). Its cost is what was *receipted*:
  the actual unit cost on supplier invoices (receipt lines), and the recorded unit cost of
  own stock allocated to the line. Lines that are never bought (services, labour) count at
  the unit cost recorded on the line. Goods units awaiting a supplier invoice, or not yet
  purchased, add no cost, and the document says so. A document's costs
  stay in the document's period whenever they are receipted, so gross profit per period is
  right even when invoice and receipt dates differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    DateTime,
    Numeric,
    and_,
    case,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import ColumnElement

from webapp.auth.models import STAFF_ROLES, User
from webapp.catalog.models import Product, ProductType, Supplier
from webapp.extensions import db
from webapp.money import round_money
from webapp.organizations.models import Organization
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    ReceiptLine,
    StockAllocation,
)
from webapp.quotes.models import Quote
from webapp.reports.forms import DateRange, Grain
from webapp.sales.models import (
    DocumentStatus,
    FulfilmentStatus,
    SalesDocument,
    SalesDocumentEvent,
    SalesDocumentLine,
)

ZERO = Decimal("0.00")
# Wide enough for quantity x 4-decimal cost sums; SQLite hands these back rounded to 4 places.
_COST = Numeric(20, 4, asdecimal=True)
_MONEY = Numeric(20, 2, asdecimal=True)
NO_SALESPERSON = "Online store (no salesperson)"
BOUGHT_TYPES = [t for t in ProductType if t.is_stocked]


def _dec(value: object, places: str = "0.01") -> Decimal:
    """Return a SQL aggregate as Decimal (SUM of nothing is NULL; SQLite SUM of ints is int)."""
    if value is None:
        return Decimal(places) * 0
    return Decimal(str(value)).quantize(Decimal(places))


# --- periods --------------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def period_start(column, grain: Grain, *, is_date: bool = False) -> ColumnElement:
    """SQL for the first day of the day/week (Monday)/month that `column` falls in (UTC)."""
    if _dialect() == "postgresql":
        # Literal SQL, not bound parameters: PostgreSQL must see the SELECT and the GROUP BY
        # expressions as the same expression. `grain` is one of three fixed words.
        utc = literal_column("'UTC'")
        moment = cast(column, DateTime) if is_date else func.timezone(utc, column)
        return func.date(func.date_trunc(literal_column(f"'{grain.value}'"), moment))
    if grain is Grain.DAY:
        return func.date(column)
    if grain is Grain.WEEK:
        # SQLite: forward to the next Sunday (or stay on it), then back six days to Monday.
        return func.date(column, "weekday 0", "-6 days")
    return func.strftime("%Y-%m-01", column)


def as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def floor_to_period(day: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def next_period(start: date, grain: Grain) -> date:
    if grain is Grain.DAY:
        return start + timedelta(days=1)
    if grain is Grain.WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def periods(date_range: DateRange, grain: Grain) -> list[date]:
    """Every period start the range touches, so empty periods show as zero, not a gap."""
    current = floor_to_period(date_range.start, grain)
    starts = []
    while current <= date_range.end:
        starts.append(current)
        current = next_period(current, grain)
    return starts


def period_label(start: date, grain: Grain) -> str:
    if grain is Grain.MONTH:
        return start.strftime("%b %Y")
    if grain is Grain.WEEK:
        return f"Week of {start.isoformat()}"
    return start.isoformat()


def _in_range(column, date_range: DateRange) -> ColumnElement:
    return and_(column >= date_range.start_at, column < date_range.end_before)


def _live_documents(date_range: DateRange) -> ColumnElement:
    return and_(
        SalesDocument.status != DocumentStatus.CANCELLED,
        _in_range(SalesDocument.created_at, date_range),
    )


# --- gross profit ---------------------------------------------------------------------------


def _line_costs(date_range: DateRange):
    """One row per sales line of a live document in the range: revenue, costs and units.

    Sub-aggregates are per sales line so that joining them never multiplies rows, and
    only read the range's documents (purchase lines and allocations carry the document).
    """
    documents = select(SalesDocument.id).where(_live_documents(date_range))
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
                type_coerce(StockAllocation.quantity * StockAllocation.unit_cost, _COST)
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
        unbought_units * func.coalesce(SalesDocumentLine.unit_cost, 0), _COST
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
        .where(_live_documents(date_range))
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
        type_coerce(func.sum(lines.c.revenue), _MONEY).label("revenue"),
        type_coerce(func.sum(cost), _COST).label("cost"),
        func.sum(lines.c.awaiting_units).label("awaiting_units"),
        func.sum(lines.c.unplanned_units).label("unplanned_units"),
    ]


def _figures(row) -> dict:
    return {
        "revenue": _dec(row.revenue),
        # Rounded once per document (or period): receipt lines are already to the cent,
        # stock and recorded costs carry 4 decimals until here.
        "cost": round_money(_dec(row.cost, "0.0001")),
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
    total = ProfitFigures()
    for row in rows:
        total.revenue += row.revenue
        total.cost += row.cost
        total.awaiting_units += row.awaiting_units
        total.unplanned_units += row.unplanned_units
    return total


# --- sales summary --------------------------------------------------------------------------


class SalesDimension(StrEnum):
    STAFF = "staff"
    ORGANIZATION = "organization"
    PAYMENT_METHOD = "payment_method"
    DATE = "date"

    @property
    def label(self) -> str:
        return {
            "staff": "Staff",
            "organization": "Organization",
            "payment_method": "Payment method",
            "date": "Date",
        }[self.value]


@dataclass
class SalesRow:
    key: str
    label: str
    currency: str
    documents: int = 0
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO


def _sales_measures():
    return [
        func.count(SalesDocument.id).label("documents"),
        type_coerce(func.sum(SalesDocument.subtotal), _MONEY).label("subtotal"),
        type_coerce(func.sum(SalesDocument.tax_total), _MONEY).label("tax"),
        type_coerce(func.sum(SalesDocument.total), _MONEY).label("total"),
    ]


def _sales_row(key: str, label: str, row) -> SalesRow:
    return SalesRow(
        key=key,
        label=label,
        currency=row.currency,
        documents=row.documents,
        subtotal=_dec(row.subtotal),
        tax=_dec(row.tax),
        total=_dec(row.total),
    )


def sales_summary(
    date_range: DateRange, by: SalesDimension, grain: Grain = Grain.MONTH
) -> list[SalesRow]:
    """Live sales documents in the range, totalled by staff, organization, payment or date.

    Staff is the owner of the quote the document was won from, else whoever created it when
    that was a staff member (staff keying an order); store checkouts have no salesperson
    and are totalled together.
    """
    where = _live_documents(date_range)
    measures = _sales_measures()
    if by is SalesDimension.ORGANIZATION:
        rows = db.session.execute(
            select(Organization.id, Organization.name, SalesDocument.currency, *measures)
            .join(Organization, Organization.id == SalesDocument.organization_id)
            .where(where)
            .group_by(Organization.id, Organization.name, SalesDocument.currency)
        ).all()
        result = [_sales_row(str(row.id), row.name, row) for row in rows]
        return sorted(result, key=lambda r: (-r.subtotal, r.label.lower()))
    if by is SalesDimension.PAYMENT_METHOD:
        rows = db.session.execute(
            select(SalesDocument.payment_method, SalesDocument.currency, *measures)
            .where(where)
            .group_by(SalesDocument.payment_method, SalesDocument.currency)
        ).all()
        result = [
            _sales_row(row.payment_method.value, row.payment_method.label, row) for row in rows
        ]
        return sorted(result, key=lambda r: (-r.subtotal, r.label))
    if by is SalesDimension.STAFF:
        created = (
            select(
                SalesDocumentEvent.document_id,
                func.min(SalesDocumentEvent.actor_id).label("actor_id"),
            )
            .where(SalesDocumentEvent.type == "created")
            .group_by(SalesDocumentEvent.document_id)
            .subquery("created")
        )
        # An order won from a quote is created by the customer accepting it, but is the
        # quote owner's sale.
        won = (
            select(Quote.document_id, func.min(Quote.owner_id).label("owner_id"))
            .where(Quote.document_id.is_not(None))
            .group_by(Quote.document_id)
            .subquery("won")
        )
        credited = func.coalesce(won.c.owner_id, created.c.actor_id)
        rows = db.session.execute(
            select(User.id, User.name, User.role, SalesDocument.currency, *measures)
            .outerjoin(created, created.c.document_id == SalesDocument.id)
            .outerjoin(won, won.c.document_id == SalesDocument.id)
            .outerjoin(User, User.id == credited)
            .where(where)
            .group_by(User.id, User.name, User.role, SalesDocument.currency)
        ).all()
        merged: dict[tuple[str, str], SalesRow] = {}
        for row in rows:
            staff = row.role in STAFF_ROLES
            found = _sales_row(
                str(row.id) if staff else "", row.name if staff else NO_SALESPERSON, row
            )
            target = merged.setdefault((found.key, found.currency), found)
            if target is not found:  # customers' checkouts fold into one "no salesperson" row
                target.documents += found.documents
                target.subtotal += found.subtotal
                target.tax += found.tax
                target.total += found.total
        result = list(merged.values())
        return sorted(result, key=lambda r: (-r.subtotal, r.label.lower()))
    bucket = period_start(SalesDocument.created_at, grain).label("bucket")
    rows = db.session.execute(
        select(bucket, SalesDocument.currency, *measures)
        .where(where)
        .group_by(bucket, SalesDocument.currency)
    ).all()
    found = {(as_date(row.bucket), row.currency): row for row in rows}
    result = []
    for start in periods(date_range, grain):
        hits = [row for (day, _code), row in found.items() if day == start]
        if not hits:
            result.append(SalesRow(start.isoformat(), period_label(start, grain), ""))
        for row in sorted(hits, key=lambda r: r.currency):
            result.append(_sales_row(start.isoformat(), period_label(start, grain), row))
    return result


def total_sales(rows: Iterable[SalesRow]) -> SalesRow:
    total = SalesRow("total", "Total", "")
    for row in rows:
        total.documents += row.documents
        total.subtotal += row.subtotal
        total.tax += row.tax
        total.total += row.total
    return total


# --- purchases summary ----------------------------------------------------------------------


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


def _po_date():
    return func.coalesce(PurchaseOrder.issued_at, PurchaseOrder.created_at)


def _issued_orders(date_range: DateRange) -> ColumnElement:
    return and_(
        PurchaseOrder.status.not_in([PurchaseOrderStatus.CANCELLED, PurchaseOrderStatus.DRAFT]),
        _in_range(_po_date(), date_range),
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
        type_coerce(func.sum(PurchaseOrder.total), _MONEY).label("value"),
    ]
    bill_measures = [
        func.count(Receipt.id).label("bills"),
        type_coerce(func.sum(Receipt.subtotal), _MONEY).label("goods"),
        type_coerce(func.sum(Receipt.freight), _MONEY).label("freight"),
    ]
    rows: dict[tuple[str, str], PurchaseRow] = {}

    def row_for(key: str, label: str, currency: str) -> PurchaseRow:
        return rows.setdefault((key, currency), PurchaseRow(key, label, currency))

    if by is PurchaseDimension.SUPPLIER:
        for row in db.session.execute(
            select(Supplier.id, Supplier.name, PurchaseOrder.currency, *order_measures)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .where(_issued_orders(date_range))
            .group_by(Supplier.id, Supplier.name, PurchaseOrder.currency)
        ):
            target = row_for(str(row.id), row.name, row.currency)
            target.orders, target.ordered_value = row.orders, _dec(row.value)
        for row in db.session.execute(
            select(Supplier.id, Supplier.name, Receipt.currency, *bill_measures)
            .join(Supplier, Supplier.id == Receipt.supplier_id)
            .where(bills_in_range)
            .group_by(Supplier.id, Supplier.name, Receipt.currency)
        ):
            target = row_for(str(row.id), row.name, row.currency)
            target.bills, target.billed_goods = row.bills, _dec(row.goods)
            target.billed_freight = _dec(row.freight)
        return sorted(rows.values(), key=lambda r: (-r.billed_total, -r.ordered_value, r.label))

    po_bucket = period_start(_po_date(), grain).label("bucket")
    for row in db.session.execute(
        select(po_bucket, PurchaseOrder.currency, *order_measures)
        .where(_issued_orders(date_range))
        .group_by(po_bucket, PurchaseOrder.currency)
    ):
        start = as_date(row.bucket)
        target = row_for(start.isoformat(), period_label(start, grain), row.currency)
        target.orders, target.ordered_value = row.orders, _dec(row.value)
    bill_bucket = period_start(Receipt.invoice_date, grain, is_date=True).label("bucket")
    for row in db.session.execute(
        select(bill_bucket, Receipt.currency, *bill_measures)
        .where(bills_in_range)
        .group_by(bill_bucket, Receipt.currency)
    ):
        start = as_date(row.bucket)
        target = row_for(start.isoformat(), period_label(start, grain), row.currency)
        target.bills, target.billed_goods = row.bills, _dec(row.goods)
        target.billed_freight = _dec(row.freight)
    for start in periods(date_range, grain):
        if not any(key == start.isoformat() for key, _code in rows):
            row_for(start.isoformat(), period_label(start, grain), "")
    return sorted(rows.values(), key=lambda r: (r.key, r.currency))


def total_purchases(rows: Iterable[PurchaseRow]) -> PurchaseRow:
    total = PurchaseRow("total", "Total", "")
    for row in rows:
        total.orders += row.orders
        total.ordered_value += row.ordered_value
        total.bills += row.bills
        total.billed_goods += row.billed_goods
        total.billed_freight += row.billed_freight
    return total


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
            _in_range(SalesDocument.created_at, date_range),
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
            _po_date().label("po_date"),
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
            _po_date().label("po_date"),
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
            _in_range(_po_date(), date_range),
        )
        .order_by(_po_date(), PurchaseOrder.id, PurchaseOrderLine.position)
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


# --- accounts payable ----------------------------------------------------------------------

AGEING_BUCKETS = (
    "Not yet due",
    "1–30 days overdue",
    "31–60 days overdue",
    "61–90 days",
    "90+ days",
)


@dataclass
class PayableBill:
    receipt_id: int
    purchase_order_id: int
    po_number: str
    supplier: str
    supplier_invoice_number: str
    invoice_date: date
    due_date: date
    currency: str
    subtotal: Decimal
    freight: Decimal
    total: Decimal

    def days_overdue(self, today: date) -> int:
        return max((today - self.due_date).days, 0)

    def is_overdue(self, today: date) -> bool:
        return self.due_date < today

    def bucket(self, today: date) -> str:
        days = self.days_overdue(today)
        if days == 0:
            return AGEING_BUCKETS[0]
        if days <= 30:
            return AGEING_BUCKETS[1]
        if days <= 60:
            return AGEING_BUCKETS[2]
        if days <= 90:
            return AGEING_BUCKETS[3]
        return AGEING_BUCKETS[4]


def payable_bills(date_range: DateRange) -> list[PayableBill]:
    """Receipted supplier invoices dated in the range, soonest due first."""
    rows = db.session.execute(
        select(
            Receipt.id,
            Receipt.purchase_order_id,
            PurchaseOrder.number,
            Supplier.name.label("supplier"),
            Receipt.supplier_invoice_number,
            Receipt.invoice_date,
            Receipt.due_date,
            Receipt.currency,
            Receipt.subtotal,
            Receipt.freight,
            Receipt.total,
        )
        .join(PurchaseOrder, PurchaseOrder.id == Receipt.purchase_order_id)
        .join(Supplier, Supplier.id == Receipt.supplier_id)
        .where(Receipt.invoice_date >= date_range.start, Receipt.invoice_date <= date_range.end)
        .order_by(Receipt.due_date, Supplier.name, Receipt.id)
    ).all()
    return [
        PayableBill(
            receipt_id=row.id,
            purchase_order_id=row.purchase_order_id,
            po_number=row.number,
            supplier=row.supplier,
            supplier_invoice_number=row.supplier_invoice_number,
            invoice_date=as_date(row.invoice_date),
            due_date=as_date(row.due_date),
            currency=row.currency,
            subtotal=row.subtotal,
            freight=row.freight,
            total=row.total,
        )
        for row in rows
    ]


@dataclass
class Ageing:
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = ZERO
    overdue: Decimal = ZERO


def payables_ageing(bills: Iterable[PayableBill], today: date) -> list[Ageing]:
    by_currency: dict[str, Ageing] = {}
    for bill in bills:
        ageing = by_currency.setdefault(
            bill.currency, Ageing(bill.currency, {name: ZERO for name in AGEING_BUCKETS})
        )
        ageing.buckets[bill.bucket(today)] += bill.total
        ageing.total += bill.total
        if bill.is_overdue(today):
            ageing.overdue += bill.total
    return [by_currency[code] for code in sorted(by_currency)]


# --- export sources (MYOB / ERP) -----------------------------------------------------------


def documents_for_export(date_range: DateRange) -> list[SalesDocument]:
    """Live sales documents created in the range, with their lines and organization."""
    return list(
        db.session.scalars(
            select(SalesDocument)
            .options(
                selectinload(SalesDocument.lines),
                selectinload(SalesDocument.organization),
            )
            .where(_live_documents(date_range))
            .order_by(SalesDocument.created_at, SalesDocument.id)
        )
    )


def purchase_orders_for_export(date_range: DateRange) -> list[PurchaseOrder]:
    """Purchase orders issued in the range (not drafts, not cancelled), with their lines."""
    return list(
        db.session.scalars(
            select(PurchaseOrder)
            .options(selectinload(PurchaseOrder.lines), selectinload(PurchaseOrder.supplier))
            .where(_issued_orders(date_range))
            .order_by(_po_date(), PurchaseOrder.id)
        )
    )


def receipts_for_export(date_range: DateRange) -> list[Receipt]:
    """Receipts (bills) whose supplier invoice is dated in the range, with their lines."""
    return list(
        db.session.scalars(
            select(Receipt)
            .options(
                selectinload(Receipt.lines).selectinload(ReceiptLine.purchase_order_line),
                selectinload(Receipt.supplier),
                selectinload(Receipt.purchase_order),
            )
            .where(Receipt.invoice_date >= date_range.start, Receipt.invoice_date <= date_range.end)
            .order_by(Receipt.invoice_date, Receipt.id)
        )
    )
