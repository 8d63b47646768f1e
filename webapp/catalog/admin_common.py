"""The staff catalog screens' blueprint and the small request helpers they share.

The screens are in admin_views (products), admin_supplier_views (suppliers, their feeds and
imports) and admin_pricing_views (pricing rules and tax codes).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from webapp.auth.models import Role
from webapp.extensions import db

bp = Blueprint("catalog_admin", __name__, url_prefix="/admin/catalog", template_folder="templates")

PER_PAGE = 50


def flag_arg(name: str) -> bool:
    """Read a 0/1 switch from the form; anything else is a 400."""
    raw = request.form.get(name, "")
    if raw not in ("0", "1"):
        abort(400, description=f"{name} must be 0 or 1")
    return raw == "1"


def get_or_404(model, object_id: int):
    """Load a row by id, or answer 404."""
    return db.session.get(model, object_id) or abort(404)


def role_in(*roles: Role) -> bool:
    """Return whether the signed-in staff member is an admin or holds one of ``roles``."""
    return current_user.role is Role.ADMIN or current_user.role in roles


def toast_refusal(message: str, status: int = 422):
    """Undo the request's writes and answer an HTMX request with a refusal toast."""
    db.session.rollback()
    return render_template("errors/toast.html", message=message), status


def choices_of(rows, empty_label: str) -> list[tuple]:
    """Select choices (id, name) of ``rows`` after an empty first choice."""
    return [("", empty_label)] + [(row.id, row.name) for row in rows]
