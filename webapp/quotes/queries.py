"""Quote reads for the staff admin, the order detail panel and the store."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from webapp.auth.models import STAFF_ROLES, User
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.organizations.queries import like_pattern
from webapp.pagination import page_of
from webapp.quotes.models import (
    DecisionOutcome,
    Quote,
    QuoteApprovalRule,
    QuoteDecision,
    QuoteStatus,
    QuoteTemplate,
    QuoteVersion,
    QuoteView,
)
from webapp.sales.models import SalesDocument


def quotes(
    *,
    status: QuoteStatus | None = None,
    requested: bool = False,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Quote], bool]:
    query = (
        select(Quote)
        .options(selectinload(Quote.organization), selectinload(Quote.owner))
        .order_by(Quote.id.desc())
    )
    if status is not None:
        query = query.where(Quote.status == status)
    if requested:
        query = query.where(Quote.requested_by_id.is_not(None))
    if search.strip():
        like = like_pattern(search)
        query = query.join(Organization, Organization.id == Quote.organization_id).where(
            or_(
                Quote.number.ilike(like, escape="\\"),
                Quote.title.ilike(like, escape="\\"),
                Organization.name.ilike(like, escape="\\"),
            )
        )
    return page_of(query, page, per_page)


def organizations() -> list[Organization]:
    return list(db.session.scalars(select(Organization).order_by(Organization.name)))


def staff() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_(STAFF_ROLES), User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )


def templates(*, active_only: bool = False) -> list[QuoteTemplate]:
    query = select(QuoteTemplate).order_by(QuoteTemplate.name)
    if active_only:
        query = query.where(QuoteTemplate.active.is_(True))
    return list(db.session.scalars(query))


def approval_rules() -> list[QuoteApprovalRule]:
    return list(db.session.scalars(select(QuoteApprovalRule).order_by(QuoteApprovalRule.id)))


def views_of(quote: Quote) -> list[QuoteView]:
    return list(
        db.session.scalars(
            select(QuoteView)
            .where(QuoteView.quote_id == quote.id)
            .order_by(QuoteView.viewed_at.desc())
            .limit(50)
        )
    )


def quote_for_document(document: SalesDocument) -> Quote | None:
    return db.session.scalar(select(Quote).where(Quote.document_id == document.id))


# What a customer sees of their organization's quotes: what was sent to them, never drafts.
CUSTOMER_STATUSES = (QuoteStatus.SENT, QuoteStatus.WON, QuoteStatus.LOST, QuoteStatus.EXPIRED)


def _customer_query(organization_id: int):
    return (
        select(Quote, QuoteVersion)
        .join(
            QuoteVersion,
            (QuoteVersion.quote_id == Quote.id) & (QuoteVersion.number == Quote.version),
        )
        .where(Quote.organization_id == organization_id, Quote.status.in_(CUSTOMER_STATUSES))
    )


def organization_quotes(
    organization_id: int, *, page: int = 1, per_page: int = 25
) -> tuple[list[tuple[Quote, QuoteVersion]], bool]:
    """The organization's sent, won, lost and expired quotes with the version it last got."""
    query = (
        _customer_query(organization_id)
        .options(selectinload(Quote.document), selectinload(Quote.owner))
        .order_by(QuoteVersion.sent_at.desc(), Quote.id.desc())
    )
    return page_of(query, page, per_page, rows=True)


def organization_quote(organization_id: int, number: str) -> tuple[Quote, QuoteVersion] | None:
    """One quote of the organization as last sent (None for a draft or another's number)."""
    row = db.session.execute(_customer_query(organization_id).where(Quote.number == number)).first()
    return None if row is None else tuple(row)


def decision_for(version: QuoteVersion) -> QuoteDecision | None:
    return db.session.scalar(select(QuoteDecision).where(QuoteDecision.version_id == version.id))


def accepted_decision(version: QuoteVersion) -> QuoteDecision | None:
    decision = decision_for(version)
    return decision if decision and decision.outcome is DecisionOutcome.ACCEPTED else None


def accepted_decisions(versions: list[QuoteVersion]) -> dict[int, QuoteDecision]:
    """The acceptances of these versions, by version id (one query for a page of them)."""
    if not versions:
        return {}
    found = db.session.scalars(
        select(QuoteDecision).where(
            QuoteDecision.version_id.in_([version.id for version in versions]),
            QuoteDecision.outcome == DecisionOutcome.ACCEPTED,
        )
    )
    return {decision.version_id: decision for decision in found}


def quote_acceptance(quote: Quote) -> QuoteDecision | None:
    """The acceptance that won the quote (None until it is accepted)."""
    return db.session.scalar(
        select(QuoteDecision)
        .where(
            QuoteDecision.quote_id == quote.id,
            QuoteDecision.outcome == DecisionOutcome.ACCEPTED,
        )
        .order_by(QuoteDecision.decided_at.desc(), QuoteDecision.id.desc())
        .limit(1)
    )
