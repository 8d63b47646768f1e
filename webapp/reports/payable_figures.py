"""Accounts payable: supplier bills not yet paid, and their ageing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from webapp.catalog.models import Supplier
from webapp.extensions import db
from webapp.purchasing.models import PurchaseOrder, Receipt
from webapp.reports.forms import DateRange
from webapp.reports.periods import ZERO, as_date

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
