"""Sales document reads; customer reads are always scoped to one organization."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.organizations.queries import like_pattern
from webapp.pagination import page_of
from webapp.sales.models import (
    DocumentKind,
    DocumentStatus,
    FulfilmentStatus,
    ProcurementStatus,
    SalesDocument,
)


def organization_documents(organization_id: int, *, page: int = 1, per_page: int = 25):
    query = (
        select(SalesDocument)
        .where(SalesDocument.organization_id == organization_id)
        .order_by(SalesDocument.created_at.desc(), SalesDocument.id.desc())
    )
    return page_of(query, page, per_page)


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
        like = like_pattern(search)
        query = query.where(
            SalesDocument.number.ilike(like, escape="\\")
            | SalesDocument.customer_po.ilike(like, escape="\\")
        )
    return page_of(query, page, per_page)


@dataclass(frozen=True)
class Stage:
    """Open documents waiting at one stage, and the orders-list filters that list them."""

    key: str
    label: str
    count: int
    filters: dict[str, str]


# In the order a document moves through them; `filters` are the orders list's query arguments.
STAGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("on_hold", "On hold for review", {"status": "on_hold"}),
    ("planning", "Waiting to be planned", {"status": "approved", "procurement": "pending"}),
    ("attention", "Planning needs attention", {"procurement": "needs_attention"}),
    (
        "goods",
        "Waiting for goods",
        {"status": "approved", "procurement": "planned", "fulfilment": "none"},
    ),
    ("partial", "Partly received", {"status": "approved", "fulfilment": "partial"}),
    ("received", "Received, to complete", {"status": "approved", "fulfilment": "fulfilled"}),
    ("nothing_to_buy", "Nothing to buy, to complete", {"procurement": "not_needed"}),
)


def _stage_of(
    status: DocumentStatus, procurement: ProcurementStatus, fulfilment: FulfilmentStatus
) -> str:
    if status is DocumentStatus.ON_HOLD:
        return "on_hold"
    if procurement is ProcurementStatus.PENDING:
        return "planning"
    if procurement is ProcurementStatus.NEEDS_ATTENTION:
        return "attention"
    if procurement is ProcurementStatus.NOT_NEEDED:
        return "nothing_to_buy"
    if fulfilment is FulfilmentStatus.PARTIAL:
        return "partial"
    if fulfilment is FulfilmentStatus.FULFILLED:
        return "received"
    return "goods"


def waiting_by_stage() -> list[Stage]:
    """How many open (held or approved) documents wait at each stage, every stage listed."""
    rows = db.session.execute(
        select(
            SalesDocument.status,
            SalesDocument.procurement_status,
            SalesDocument.fulfilment_status,
            func.count(),
        )
        .where(SalesDocument.status.in_([DocumentStatus.ON_HOLD, DocumentStatus.APPROVED]))
        .group_by(
            SalesDocument.status,
            SalesDocument.procurement_status,
            SalesDocument.fulfilment_status,
        )
    ).all()
    counts: dict[str, int] = {}
    for status, procurement, fulfilment, count in rows:
        stage = _stage_of(status, procurement, fulfilment)
        counts[stage] = counts.get(stage, 0) + count
    return [Stage(key, label, counts.get(key, 0), filters) for key, label, filters in STAGES]
