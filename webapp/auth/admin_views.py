"""Staff screens for staff users and their roles (admins only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from webapp import htmx_responses
from webapp.auth import operations
from webapp.auth.access import current_actor, staff_required
from webapp.auth.forms import ChangeRoleForm, InviteStaffForm
from webapp.auth.models import STAFF_ROLES, Role, User
from webapp.extensions import db, htmx

bp = Blueprint("auth_admin", __name__, url_prefix="/admin/users", template_folder="templates")

STAFF_ROLE_CHOICES = [role for role in Role if role in STAFF_ROLES]


def _staff_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_staff:
        abort(404)
    return user


def _users_page(invite_form: InviteStaffForm | None = None, status: int = 200):
    rows = db.session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.active.desc(), User.name)
    ).all()
    return (
        render_template(
            "auth_admin/users.html",
            users=rows,
            roles=STAFF_ROLE_CHOICES,
            # Not Admin by default: a slip of the mouse must not hand out full access.
            invite_form=invite_form or InviteStaffForm(formdata=None, role=Role.SALES.value),
        ),
        status,
    )


@bp.get("/")
@staff_required(Role.ADMIN)
def users():
    return _users_page()


@bp.post("/")
@staff_required(Role.ADMIN)
def invite():
    form = InviteStaffForm()
    if form.validate_on_submit():
        try:
            user = operations.invite_user(
                email=form.email.data,
                name=form.name.data,
                role=Role(form.role.data),
                organization=None,
                actor=current_actor(),
            )
        except operations.AccountError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Invitation emailed to {user.email} ({user.role.label}).", "success")
            return redirect(url_for(".users"), 303)
    return _users_page(form, 422)


def _refused(message: str, status: int = 422):
    """Answer a refused change: a toast for HTMX, the page with the message otherwise."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=message), status
    flash(message, "danger")
    return _users_page(status=status)


def _changed(user: User, message: str):
    if htmx:
        return htmx_responses.trigger(
            htmx_responses.render(
                "auth_admin/users.html", "user_row", user=user, roles=STAFF_ROLE_CHOICES
            ),
            toast=message,
        )
    flash(message, "success")
    return redirect(url_for(".users"), 303)


@bp.post("/<int:user_id>/role")
@staff_required(Role.ADMIN)
def change_role(user_id: int):
    user = _staff_user(user_id)
    form = ChangeRoleForm()
    if not form.validate_on_submit():
        return _refused(f"Choose one of: {', '.join(r.label for r in STAFF_ROLE_CHOICES)}.")
    try:
        operations.change_role(user, Role(form.role.data), current_actor())
    except operations.AccountError as error:
        return _refused(str(error))
    db.session.commit()
    return _changed(user, f"{user.name} is now {user.role.label}.")


@bp.post("/<int:user_id>/active")
@staff_required(Role.ADMIN)
def set_active(user_id: int):
    user = _staff_user(user_id)
    raw = request.form.get("active", "")
    if raw not in ("0", "1"):
        abort(400, description="active must be 0 or 1")
    try:
        operations.set_active(user, raw == "1", current_actor())
    except operations.AccountError as error:
        return _refused(str(error))
    db.session.commit()
    message = (
        f"{user.name} is active again."
        if user.active
        else f"{user.name} is deactivated and can no longer sign in."
    )
    return _changed(user, message)


@bp.post("/<int:user_id>/resend")
@staff_required(Role.ADMIN)
def resend(user_id: int):
    user = _staff_user(user_id)
    if not user.active:
        return _refused(f"{user.name} is deactivated: reactivate them first.")
    try:
        operations.send_invitation(user, current_actor())
    except operations.AccountError as error:
        return _refused(str(error))
    db.session.commit()
    return _changed(user, f"Invitation emailed again to {user.email}.")
