"""Organization reads for the staff admin."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from webapp.auth.models import User
from webapp.extensions import db
from webapp.organizations.models import Organization, PriceGroup
from webapp.pagination import page_of


def like_pattern(text: str) -> str:
    """Return an ILIKE pattern matching `text` anywhere, with its wildcards taken literally."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def organizations(
    *, search: str = "", approved: bool | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Organization], bool]:
    """Return one page of organizations in name order, and whether there is a next page."""
    query = (
        select(Organization)
        .options(selectinload(Organization.price_group))
        .order_by(Organization.name, Organization.id)
    )
    if approved is not None:
        query = query.where(Organization.approved.is_(approved))
    if search.strip():
        like = like_pattern(search)
        query = query.where(
            or_(
                Organization.name.ilike(like, escape="\\"),
                Organization.account_number.ilike(like, escape="\\"),
                Organization.email.ilike(like, escape="\\"),
            )
        )
    return page_of(query, page, per_page)


def contact_counts(organization_ids: list[int]) -> dict[int, int]:
    if not organization_ids:
        return {}
    return dict(
        db.session.execute(
            select(User.organization_id, func.count())
            .where(User.organization_id.in_(organization_ids))
            .group_by(User.organization_id)
        ).all()
    )


def contacts(organization_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.organization_id == organization_id)
            .order_by(User.active.desc(), User.name, User.id)
        )
    )


def price_groups() -> list[PriceGroup]:
    return list(db.session.scalars(select(PriceGroup).order_by(PriceGroup.name)))


def price_group_sizes() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Organization.price_group_id, func.count())
            .where(Organization.price_group_id.is_not(None))
            .group_by(Organization.price_group_id)
        ).all()
    )
