"""Staff screens for client organizations and their contacts."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from webapp.auth.access import staff_required
from webapp.extensions import db
from webapp.organizations.models import Organization

bp = Blueprint(
    "organizations_admin", __name__, url_prefix="/admin/organizations", template_folder="templates"
)


@bp.get("/")
@staff_required()
def index():
    rows = db.session.scalars(select(Organization).order_by(Organization.name)).all()
    return render_template("organizations/index.html", organizations=rows)
