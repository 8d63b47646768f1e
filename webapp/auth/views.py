"""Sign in, sign out, accepting an invitation, and changing or resetting a password."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import TooManyRequests

from webapp import htmx_responses
from webapp.auth import operations, throttle
from webapp.auth.forms import (
    AcceptInviteForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
)
from webapp.auth.models import User
from webapp.auth.throttle import throttled
from webapp.extensions import db, htmx
from webapp.parsing import same_site_path, whole_number

bp = Blueprint("auth", __name__, template_folder="templates")


def load_user(user_id: str) -> User | None:
    """The signed-in user with their organization (both shown on every page)."""
    # The id is "<user id>:<session token>" (User.get_id): a cookie issued before the user's
    # sessions were ended (sign-out, new password, deactivation) carries an old token.
    raw_id, _, token = str(user_id).partition(":")
    user_id = whole_number(raw_id, minimum=1)
    if user_id is None or not token:
        return None
    # Read on every request, never cached: Flask-Login's is_authenticated is User.is_active,
    # so a user deactivated meanwhile is refused on the next page they open.
    user = db.session.get(User, user_id, options=[joinedload(User.organization)])
    if user is None or not user.holds_session_token(token):
        return None
    return user


def unauthorized():
    """Send visitors to sign in; HTMX requests get a full-page redirect, not a fragment."""
    if htmx:
        # Back to the page the browser shows (HX-Current-URL), never to the fragment or
        # the POST it asked for; a missing or foreign URL: the signed-in user's home.
        back = same_site_path(htmx.current_url, request.host)
        flash("Your session ended. Sign in again; your cart is kept.", "warning")
        return htmx_responses.redirect(url_for("auth.login", next=back))
    flash("Please sign in to continue.", "info")
    return redirect(url_for("auth.login", next=_safe_next(request.full_path.rstrip("?"))))


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an open redirect would let a phishing link bounce through us.
    return same_site_path(target)


def _home_for(user: User) -> str:
    return url_for("admin.dashboard") if user.is_staff else url_for("catalog.home")


def _login_budgets(email: str) -> tuple[tuple[str, str], tuple[str, str]]:
    # Failures per account from anywhere (guessing one password), and per address across
    # accounts (one password sprayed over many).
    return (
        ("LOGIN_ACCOUNT_LIMIT", operations.normalise_email(email)),
        ("LOGIN_ADDRESS_LIMIT", request.remote_addr or "unknown"),
    )


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def _remember_cookie_name() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


def _sign_in(user: User, *, remember: bool = False) -> None:
    """Start a fresh session for `user` (no fixation), ending the current visitor's."""
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    # Remember-me is ours (webapp.auth.operations.remember_device), not Flask-Login's: its
    # cookie is a signed user id that works, copied, until the user's sessions end.
    login_user(user)
    if remember:
        g.remember_cookie = operations.remember_device(user)
        db.session.commit()


@bp.before_app_request
def sign_in_from_remember_cookie():
    """A browser without a session but with a remember-me cookie: sign it in, new cookie."""
    cookie = request.cookies.get(_remember_cookie_name())
    if cookie is None or "_user_id" in session:
        return
    # Flask-Login must neither read the cookie (its own format, unbounded) nor keep it.
    session["_remember"] = "clear"
    found = operations.use_remembered_device(cookie)
    db.session.commit()
    if found is None:
        return
    user, replacement = found
    session.pop("_remember")
    login_user(user)
    session["_fresh"] = False  # restored, not typed: password-confirming pages may ask again
    if replacement is not None:
        g.remember_cookie = replacement


@bp.after_app_request
def write_remember_cookie(response):
    replacement = g.pop("remember_cookie", None)
    config = current_app.config
    if g.pop("forget_remember_cookie", False):
        response.delete_cookie(
            _remember_cookie_name(),
            path=config.get("REMEMBER_COOKIE_PATH", "/"),
            domain=config.get("REMEMBER_COOKIE_DOMAIN"),
        )
    if replacement is not None:
        response.set_cookie(
            _remember_cookie_name(),
            replacement.value,
            expires=replacement.expires_at,
            path=config.get("REMEMBER_COOKIE_PATH", "/"),
            domain=config.get("REMEMBER_COOKIE_DOMAIN"),
            secure=config["REMEMBER_COOKIE_SECURE"],
            httponly=config["REMEMBER_COOKIE_HTTPONLY"],
            samesite=config["REMEMBER_COOKIE_SAMESITE"],
        )
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        budgets = _login_budgets(form.email.data)
        try:
            # Before the password is checked: a throttled guess must learn nothing.
            throttle.refuse_if_exhausted(*budgets)
        except TooManyRequests as refused:
            wait = refused.retry_after
            operations.log_lockout(form.email.data, wait)
            form.password.errors.append(
                f"Too many attempts to sign in. Wait {_minutes(wait)} and try again, "
                "or reset your password."
            )
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = operations.authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.count_failure(*budgets)
            form.password.errors.append("That email and password do not match an account.")
            return render_template("auth/login.html", form=form), 401
        # The account's own failures are forgiven; the address's are not, or an attacker
        # could wipe them by signing in to an account of their own between guesses.
        throttle.forget_failures(*budgets[0])
        db.session.commit()
        _sign_in(user, remember=form.remember.data)
        return redirect(_safe_next(request.args.get("next")) or _home_for(user))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Every session of the user ends, not only this one: a copied cookie dies too.
        operations.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    g.forget_remember_cookie = True
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in user's account, where they change their password."""
    user: User = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # The current password is guessed against the same budget as at sign-in: a borrowed
        # session must not become an unthrottled way to find it.
        budget = ("LOGIN_ACCOUNT_LIMIT", operations.normalise_email(user.email))
        try:
            throttle.refuse_if_exhausted(budget)
        except TooManyRequests as refused:
            wait = refused.retry_after
            operations.log_lockout(user.email, wait)
            form.current.errors.append(f"Too many attempts. Wait {_minutes(wait)} and try again.")
            page = render_template("auth/account.html", form=form, user=user)
            return page, 429, {"Retry-After": str(wait)}
        try:
            operations.change_password(
                user, form.current.data, form.password.data, form.confirm.data
            )
        except operations.CurrentPasswordError as error:
            db.session.rollback()
            throttle.count_failure(budget)
            form.current.errors.append(str(error))
        except operations.AccountError as error:
            db.session.rollback()
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            # Every other session has ended with the new password; this one goes on, and
            # keeps "Keep me signed in" if it had it (with a new cookie: the old one is dead).
            _sign_in(user, remember=_remember_cookie_name() in request.cookies)
            flash("Your password is changed. You are signed out everywhere else.", "success")
            return redirect(url_for("auth.account"), 303)
    status = 400 if form.errors else 200
    return render_template("auth/account.html", form=form, user=user), status


def _reset_request_key() -> str:
    return request.remote_addr or "unknown"


@bp.route("/password/forgot", methods=["GET", "POST"])
@throttled("PASSWORD_RESET_RATE_LIMIT", key=_reset_request_key)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        operations.request_password_reset(form.email.data)
        db.session.commit()
        # The same answer whether or not the address has an account: no enumeration.
        return render_template("auth/forgot_password.html", form=form, sent=True)
    status = 400 if form.errors else 200
    return render_template("auth/forgot_password.html", form=form, sent=False), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = operations.user_from_password_reset(token)
    except operations.LinkError as error:
        return render_template("auth/invite_invalid.html", reason=str(error)), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            operations.reset_password(user, form.password.data, form.confirm.data)
        except operations.AccountError as error:
            db.session.rollback()
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            # Whoever was locked out by someone else's guesses gets in at once.
            throttle.forget_failures("LOGIN_ACCOUNT_LIMIT", operations.normalise_email(user.email))
            _sign_in(user)
            flash("Your new password is set. You are signed out everywhere else.", "success")
            return redirect(_home_for(user))
    status = 400 if form.errors else 200
    return render_template("auth/reset_password.html", form=form, user=user), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    try:
        user = operations.user_from_invitation(token)
    except operations.LinkError as error:
        return render_template("auth/invite_invalid.html", reason=str(error)), 400
    form = AcceptInviteForm()
    if form.validate_on_submit():
        try:
            operations.accept_invitation(user, form.password.data, form.confirm.data)
        except operations.AccountError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            _sign_in(user)
            flash(f"Welcome, {user.name}. Your account is ready.", "success")
            return redirect(_home_for(user))
    status = 400 if form.errors else 200
    return render_template("auth/accept_invite.html", form=form, user=user), status
