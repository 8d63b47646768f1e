"""The records each MYOB / ERP export reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.purchasing.models import PurchaseOrder, Receipt, ReceiptLine
from webapp.reports.forms import DateRange
from webapp.reports.periods import live_documents
from webapp.reports.purchase_figures import issued_orders, po_day
from webapp.sales.models import SalesDocument


def documents_for_export(date_range: DateRange) -> list[SalesDocument]:
    """Live sales documents created in the range, with their lines and organization."""
    return list(
        db.session.scalars(
            select(SalesDocument)
            .options(
                selectinload(SalesDocument.lines),
                selectinload(SalesDocument.organization),
            )
            .where(live_documents(date_range))
            .order_by(SalesDocument.created_at, SalesDocument.id)
        )
    )


def purchase_orders_for_export(date_range: DateRange) -> list[PurchaseOrder]:
    """Purchase orders issued in the range (not drafts, not cancelled), with their lines."""
    return list(
        db.session.scalars(
            select(PurchaseOrder)
            .options(selectinload(PurchaseOrder.lines), selectinload(PurchaseOrder.supplier))
            .where(issued_orders(date_range))
            .order_by(po_day(), PurchaseOrder.id)
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
