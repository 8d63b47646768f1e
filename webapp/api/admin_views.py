"""Settings › API: admins make, list and revoke API keys."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.api import operations
from webapp.api.models import ApiKey
from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.parsing import whole_number

bp = Blueprint("api_admin", __name__, url_prefix="/admin/settings/api", template_folder="templates")


def _page(status: int = 200, **context):
    keys = db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id))
    organizations = db.session.scalars(select(Organization).order_by(Organization.name))
    return (
        render_template(
            "api/keys.html",
            keys=list(keys),
            organizations=list(organizations),
            scopes=operations.SCOPES,
            customer_scopes=operations.CUSTOMER_SCOPES,
            now=datetime.now(UTC),
            **context,
        ),
        status,
    )


@bp.get("/")
@staff_required(Role.ADMIN)
def keys():
    return _page()


def _expiry(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()  # noqa: DTZ007 - a date, made UTC below
    except ValueError:
        raise operations.ApiKeyError("Give the expiry as a date (YYYY-MM-DD).") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@bp.post("/")
@staff_required(Role.ADMIN)
def create():
    form = request.form
    organization = None
    try:
        raw_org = form.get("organization_id", "").strip()
        if raw_org:
            org_id = whole_number(raw_org, minimum=1)
            organization = db.session.get(Organization, org_id) if org_id else None
            if organization is None:
                raise operations.ApiKeyError("That organization does not exist.")
        new = operations.create_key(
            name=form.get("name", ""),
            scopes=form.getlist("scopes"),
            actor=current_user._get_current_object(),
            organization=organization,
            expires_at=_expiry(form.get("expires_on", "")),
        )
    except operations.ApiKeyError as error:
        db.session.rollback()
        return _page(422, error=str(error), form=form)
    db.session.commit()
    # Shown once on this response, never again: only the hash is kept.
    return _page(201, created=new)


@bp.post("/<int:key_id>/revoke")
@staff_required(Role.ADMIN)
def revoke(key_id: int):
    key = db.session.get(ApiKey, key_id) or abort(404)
    operations.revoke_key(key, current_user._get_current_object())
    db.session.commit()
    flash(f"The key “{key.name}” is revoked: requests with it now get 401.", "success")
    return redirect(url_for(".keys"), 303)
