"""Staff screens for staff users and their roles."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from webapp.auth.access import staff_required
from webapp.auth.models import STAFF_ROLES, User
from webapp.extensions import db

bp = Blueprint("auth_admin", __name__, url_prefix="/admin/users", template_folder="templates")


@bp.get("/")
@staff_required()
def users():
    rows = db.session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.name)
    ).all()
    return render_template("auth_admin/users.html", users=rows)
