"""The staff admin's home page."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from webapp.auth.access import staff_required
from webapp.auth.models import Role, User
from webapp.extensions import db
from webapp.integrations.queries import connection_health
from webapp.mail.models import EmailStatus, OutboundEmail
from webapp.models_base import utcnow
from webapp.organizations.models import Organization
from webapp.pagination import page_of
from webapp.parsing import page_arg
from webapp.reports import charts, profit
from webapp.reports.exports import SALES_ROLES
from webapp.reports.forms import DateRange, Grain
from webapp.sales import queries as sales
from webapp.sales.models import DocumentStatus, SalesDocument
from webapp.security import SecurityEvent

TREND_MONTHS = 12
EVENTS_PER_PAGE = 50

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
    return render_template(
        "admin/dashboard.html",
        stats=stats,
        recent=recent,
        health=connection_health(),
        connection_page=connection_page,
        **_charts(utcnow().date()),
    )


# Each domain's page for one of its connections (the core knows no domain's screens).
_CONNECTION_PAGES = {
    "ledger": ("accounting_admin.integrations", None),
    "psa": ("psa_admin.index", None),
    "webhook": ("webhooks_admin.endpoint", "endpoint_id"),
    "ticketmail": ("ticketmail_admin.index", None),
}


def connection_page(connection) -> str:
    """The settings page of a connection ("" when its domain has none or it is not installed)."""
    endpoint, id_arg = _CONNECTION_PAGES.get(connection.domain, ("", None))
    if endpoint not in current_app.view_functions:
        return ""
    return url_for(endpoint, **({id_arg: connection.id} if id_arg else {}))


def _last_months(today: date, months: int) -> DateRange:
    """From the first day of the month `months - 1` months back, to today."""
    year, month = divmod(today.year * 12 + today.month - 1 - (months - 1), 12)
    return DateRange(date(year, month + 1, 1), today)


def _charts(today: date) -> dict:
    """The dashboard's charts, from the report queries: sales trend and where orders wait."""
    stages = sales.waiting_by_stage()
    context = {
        "stages": stages,
        "stages_chart": charts.count_chart(
            [s.label for s in stages], [s.count for s in stages], "Orders"
        ),
        "trend": None,
    }
    if current_user.role in SALES_ROLES:  # the gross-profit report's own audience
        currency = current_app.config["CURRENCY"]
        span = _last_months(today, TREND_MONTHS)
        rows = profit.gross_profit_by_period(span, Grain.MONTH, currency)
        context["trend"] = charts.gross_profit_chart(rows, currency)
        context["trend_range"] = span
        context["trend_total"] = profit.total_profit(rows)
    return context


@bp.get("/security-events")
@staff_required(Role.ADMIN)
def security_events():
    """Sign-ins, lockouts, refused access, password and role changes..., newest first."""
    page = page_arg()
    query = select(SecurityEvent).order_by(SecurityEvent.id.desc())
    events, has_next = page_of(query, page, EVENTS_PER_PAGE)
    ids = {event.user_id for event in events if event.user_id is not None}
    users = (
        {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}
        if ids
        else {}
    )
    return render_template(
        "admin/security_events.html",
        events=events,
        users=users,
        page=page,
        has_next=has_next,
    )
