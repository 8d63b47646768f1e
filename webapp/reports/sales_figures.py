"""The sales summary: revenue, cost and profit by salesperson, organisation, product or period."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, select, type_coerce

from webapp.auth.models import STAFF_ROLES, User
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.quotes.models import Quote
from webapp.reports.forms import DateRange, Grain
from webapp.reports.periods import (
    MONEY_TYPE,
    NO_SALESPERSON,
    ZERO,
    add_up,
    as_date,
    live_documents,
    period_label,
    period_start,
    periods,
    to_decimal,
)
from webapp.sales.models import SalesDocument, SalesDocumentEvent


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
        type_coerce(func.sum(SalesDocument.subtotal), MONEY_TYPE).label("subtotal"),
        type_coerce(func.sum(SalesDocument.tax_total), MONEY_TYPE).label("tax"),
        type_coerce(func.sum(SalesDocument.total), MONEY_TYPE).label("total"),
    ]


def _sales_row(key: str, label: str, row) -> SalesRow:
    return SalesRow(
        key=key,
        label=label,
        currency=row.currency,
        documents=row.documents,
        subtotal=to_decimal(row.subtotal),
        tax=to_decimal(row.tax),
        total=to_decimal(row.total),
    )


def sales_summary(
    date_range: DateRange, by: SalesDimension, grain: Grain = Grain.MONTH
) -> list[SalesRow]:
    """Live sales documents in the range, totalled by staff, organization, payment or date.

    Staff is the owner of the quote the document was won from, else whoever created it when
    that was a staff member (staff keying an order); store checkouts have no salesperson
    and are totalled together.
    """
    where = live_documents(date_range)
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
    return add_up(SalesRow("total", "Total", ""), rows, ("documents", "subtotal", "tax", "total"))
