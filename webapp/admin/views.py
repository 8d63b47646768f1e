"""The staff admin's home page."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from sqlalchemy import func, select

from webapp.auth.access import staff_required
from webapp.extensions import db
from webapp.mail.models import EmailStatus, OutboundEmail
from webapp.models_base import utcnow
from webapp.organizations.models import Organization
from webapp.sales.models import DocumentStatus, SalesDocument

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.get("/")
@staff_required()
def dashboard():
    since = utcnow() - timedelta(days=30)
    cancelled = DocumentStatus.CANCELLED  # a cancelled order is not a sale
    stats = {
        "orders_30d": db.session.scalar(
            select(func.count())
            .select_from(SalesDocument)
            .where(SalesDocument.created_at >= since, SalesDocument.status != cancelled)
        ),
        "revenue_30d": db.session.scalar(
            select(func.coalesce(func.sum(SalesDocument.total), 0)).where(
                SalesDocument.created_at >= since, SalesDocument.status != cancelled
            )
        ),
        "unapproved_orgs": db.session.scalar(
            select(func.count()).select_from(Organization).where(Organization.approved.is_(False))
        ),
        "failed_emails": db.session.scalar(
            select(func.count())
            .select_from(OutboundEmail)
            .where(OutboundEmail.status == EmailStatus.FAILED)
        ),
    }
    recent = db.session.scalars(
        select(SalesDocument).order_by(SalesDocument.id.desc()).limit(10)
    ).all()
    return render_template("admin/dashboard.html", stats=stats, recent=recent)
