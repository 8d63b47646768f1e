"""Sales document reads; customer reads are always scoped to one organization."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.sales.models import (
    DocumentKind,
    DocumentStatus,
    FulfilmentStatus,
    ProcurementStatus,
    SalesDocument,
)


def organization_documents(organization_id: int, *, page: int = 1, per_page: int = 25):
    rows = db.session.scalars(
        select(SalesDocument)
        .where(SalesDocument.organization_id == organization_id)
        .order_by(SalesDocument.created_at.desc(), SalesDocument.id.desc())
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    ).all()
    return rows[:per_page], len(rows) > per_page


def organization_document(organization_id: int, number: str) -> SalesDocument | None:
    """Return the document only if it belongs to the organization (else None, like a miss)."""
    return db.session.scalar(
        select(SalesDocument)
        .options(selectinload(SalesDocument.lines))
        .where(SalesDocument.number == number, SalesDocument.organization_id == organization_id)
    )


def documents(
    *,
    status: DocumentStatus | None = None,
    kind: DocumentKind | None = None,
    organization_id: int | None = None,
    procurement: ProcurementStatus | None = None,
    fulfilment: FulfilmentStatus | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
):
    query = select(SalesDocument).order_by(SalesDocument.id.desc())
    if procurement is not None:
        query = query.where(SalesDocument.procurement_status == procurement)
    if fulfilment is not None:
        query = query.where(SalesDocument.fulfilment_status == fulfilment)
    if status is not None:
        query = query.where(SalesDocument.status == status)
    if kind is not None:
        query = query.where(SalesDocument.kind == kind)
    if organization_id is not None:
        query = query.where(SalesDocument.organization_id == organization_id)
    if search:
        like = f"%{search.strip()}%"
        query = query.where(
            SalesDocument.number.ilike(like) | SalesDocument.customer_po.ilike(like)
        )
    rows = db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    return rows[:per_page], len(rows) > per_page
