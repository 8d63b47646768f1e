"""Sign in, sign out, and accepting an invitation."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import joinedload

from webapp import htmx_responses
from webapp.auth import operations
from webapp.auth.forms import AcceptInviteForm, LoginForm
from webapp.auth.models import User
from webapp.auth.throttle import throttled
from webapp.extensions import db, htmx
from webapp.parsing import same_site_path, whole_number

bp = Blueprint("auth", __name__, template_folder="templates")


def load_user(user_id: str) -> User | None:
    """The signed-in user with their organization (both shown on every page)."""
    user_id = whole_number(user_id, minimum=1)
    if user_id is None:
        return None
    # Read on every request, never cached: Flask-Login's is_authenticated is User.is_active,
    # so a user deactivated meanwhile is refused on the next page they open.
    return db.session.get(User, user_id, options=[joinedload(User.organization)])


def unauthorized():
    """Send visitors to sign in; HTMX requests get a full-page redirect, not a fragment."""
    target = url_for("auth.login", next=_safe_next(request.full_path.rstrip("?")))
    if htmx:
        flash("Your session ended. Sign in again; your cart is kept.", "warning")
        return htmx_responses.redirect(target)
    flash("Please sign in to continue.", "info")
    return redirect(target)


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an open redirect would let a phishing link bounce through us.
    return same_site_path(target)


def _home_for(user: User) -> str:
    return url_for("admin.dashboard") if user.is_staff else url_for("catalog.home")


def _login_limit_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return f"{request.remote_addr}:{email}"


@bp.route("/login", methods=["GET", "POST"])
@throttled("LOGIN_RATE_LIMIT", key=_login_limit_key)
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("That email and password do not match an account.")
            return render_template("auth/login.html", form=form), 401
        db.session.commit()
        session.clear()  # a fresh session on sign-in: no fixation
        login_user(user, remember=form.remember.data)
        return redirect(_safe_next(request.args.get("next")) or _home_for(user))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    try:
        user = operations.user_from_invitation(token)
    except operations.InvitationError as error:
        return render_template("auth/invite_invalid.html", reason=str(error)), 400
    form = AcceptInviteForm()
    if form.validate_on_submit():
        try:
            operations.accept_invitation(user, form.password.data, form.confirm.data)
        except operations.AccountError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            login_user(user)
            flash(f"Welcome, {user.name}. Your account is ready.", "success")
            return redirect(_home_for(user))
    status = 400 if form.errors else 200
    return render_template("auth/accept_invite.html", form=form, user=user), status
