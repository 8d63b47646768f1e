"""Invitations, passwords and sign-in."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from webapp.auth.models import STAFF_ROLES, RememberedDevice, Role, User, dummy_password_hash
from webapp.extensions import db
from webapp.mail import links
from webapp.mail.links import LinkUnavailable, OneTimeLink
from webapp.mail.operations import public_url, queue_email
from webapp.models_base import utcnow
from webapp.parsing import whole_number
from webapp.security import log_event, typed_identity

if TYPE_CHECKING:
    from webapp.organizations.models import Organization

# zxcvbn's scale is 0-4; 3 is "safely unguessable: moderate protection from offline attacks".
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its time grows with the length); what follows 72 characters
# cannot make a password weaker.
_STRENGTH_CHECKED_CHARS = 72


class LinkError(Exception):
    """An emailed link (invitation, password reset) that cannot be used; the message says why."""


class AccountError(ValueError):
    """A refused account change; the message is for people."""


class CurrentPasswordError(AccountError):
    """The password typed to confirm a change is not the user's password."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None; log the sign-in either way."""
    user = find_user(email)
    if user is None:
        check_password_hash(dummy_password_hash(), password)
        log_event(
            "auth.login.failed",
            level=logging.WARNING,
            reason="unknown_account",
            typed=typed_identity(email),
        )
        return None
    # check_password is False for an invited user who has not chosen a password yet.
    if not user.check_password(password) or not user.active:
        if not user.active:
            reason = "deactivated"
        elif not user.has_accepted_invite:
            reason = "invitation_not_accepted"
        else:
            reason = "wrong_password"
        log_event(
            "auth.login.failed",
            level=logging.WARNING,
            reason=reason,
            user_id=user.id,
            email=user.email,
        )
        return None
    user.last_login_at = utcnow()
    log_event("auth.login.succeeded", user_id=user.id, email=user.email, role=user.role.value)
    return user


def log_lockout(email: str, retry_after: int) -> None:
    """Log a sign-in refused by the throttle (before its password was looked at)."""
    user = find_user(email)
    who = {"user_id": user.id, "email": user.email} if user else {"typed": typed_identity(email)}
    log_event("auth.login.locked_out", level=logging.WARNING, retry_after=retry_after, **who)


def end_sessions(user: User, reason: str = "sign_out") -> None:
    """Sign the user out on every device (their sign-out, or staff's decision)."""
    user.end_sessions()
    db.session.execute(delete(RememberedDevice).where(RememberedDevice.user_id == user.id))
    db.session.flush()
    log_event("auth.sessions.ended", user_id=user.id, email=user.email, reason=reason)


# --- "keep me signed in": one row per browser, a new cookie at each use ---------------------


@dataclass(frozen=True)
class RememberCookie:
    value: str
    expires_at: datetime


# "<series>.<secret>", both secrets.token_urlsafe() text.
_REMEMBER_COOKIE = re.compile(r"[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{16,64}")


def _device_digest(secret: str, user: User) -> str:
    return hashlib.sha256(f"{secret}:{user.session_token}".encode()).hexdigest()


def remember_device(user: User) -> RememberCookie:
    """Start a remember-me series for one browser; it ends REMEMBER_COOKIE_DURATION from now."""
    now = utcnow()
    db.session.execute(
        delete(RememberedDevice).where(
            RememberedDevice.user_id == user.id, RememberedDevice.expires_at <= now
        )
    )
    series, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    device = RememberedDevice(
        user=user,
        series=series,
        digest=_device_digest(secret, user),
        created_at=now,
        expires_at=now + current_app.config["REMEMBER_COOKIE_DURATION"],
    )
    db.session.add(device)
    db.session.flush()
    return RememberCookie(f"{series}.{secret}", device.expires_at)


def use_remembered_device(cookie: str) -> tuple[User, RememberCookie | None] | None:
    """Sign in from a remember-me cookie: the user and the cookie replacing it, or None.

    The replaced cookie is still let in for REMEMBER_COOKIE_GRACE_SECONDS (tabs restored at
    once all send it) without a new one; later, it means two browsers hold this device's
    cookie, one of them a thief, so the device is forgotten for both.
    """
    if not _REMEMBER_COOKIE.fullmatch(cookie):
        return None  # not one of ours (a NUL would even be refused by PostgreSQL)
    series, _, secret = cookie.partition(".")
    # FOR UPDATE (PostgreSQL): two requests using one cookie must not both replace it.
    device = db.session.scalar(
        select(RememberedDevice).where(RememberedDevice.series == series).with_for_update()
    )
    if device is None:
        return None
    user = device.user
    now = utcnow()
    digest = _device_digest(secret, user)
    if device.expires_at <= now or not user.active:
        db.session.delete(device)
        return None
    if hmac.compare_digest(digest, device.digest):
        new_secret = secrets.token_urlsafe(32)
        device.previous_digest, device.digest = device.digest, _device_digest(new_secret, user)
        device.replaced_at = now
        db.session.flush()
        log_event("auth.login.remembered", user_id=user.id, email=user.email)
        return user, RememberCookie(f"{series}.{new_secret}", device.expires_at)
    grace = timedelta(seconds=current_app.config["REMEMBER_COOKIE_GRACE_SECONDS"])
    if (
        device.previous_digest
        and hmac.compare_digest(digest, device.previous_digest)
        and device.replaced_at is not None
        and now - device.replaced_at <= grace
    ):
        return user, None
    db.session.delete(device)  # an old or forged secret: end this device's series
    log_event(
        "auth.remember.reused",
        level=logging.WARNING,
        user_id=user.id,
        email=user.email,
        detail="an old or forged remember-me cookie: the browser's series is ended",
    )
    return None


# --- emailed links: one signed-token scheme, one salt per purpose -------------------------


@dataclass(frozen=True)
class _LinkKind:
    salt: str
    max_age: Callable[[], int]  # seconds, read from the configuration when used
    expired: str
    invalid: str
    used: str
    withdrawn: str


_INVITATION = _LinkKind(
    salt="invitation",
    max_age=lambda: current_app.config["INVITE_MAX_AGE_DAYS"] * 24 * 3600,
    expired="This invitation has expired. Ask your account manager to send a new one.",
    invalid="This invitation link is not valid. Check the link in the email.",
    used="This invitation has already been used. Sign in instead.",
    withdrawn="This invitation has been withdrawn.",
)
_PASSWORD_RESET = _LinkKind(
    salt="password-reset",
    max_age=lambda: current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"] * 60,
    expired="This password reset link has expired. Ask for a new one.",
    invalid="This password reset link is not valid. Check the link in the email.",
    used="This password reset link has already been used. Ask for a new one if you need it.",
    withdrawn="This account can no longer sign in. Ask your account manager.",
)


def _serializer(kind: _LinkKind) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=kind.salt)


def _password_state(user: User) -> str:
    # The token embeds this: setting a password changes it, so a link works only once.
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def _link_token(kind: _LinkKind, user: User) -> str:
    return _serializer(kind).dumps({"uid": user.id, "state": _password_state(user)})


def _user_from_link(kind: _LinkKind, token: str) -> User:
    try:
        payload = _serializer(kind).loads(token, max_age=kind.max_age())
    except SignatureExpired:
        raise LinkError(kind.expired) from None
    except BadSignature:
        raise LinkError(kind.invalid) from None
    if not isinstance(payload, dict):
        raise LinkError(kind.invalid)
    # Bounded like any id: a huge number must not reach the database (an overflow, a 500).
    user_id = payload.get("uid")
    user_id = whole_number(user_id, minimum=1) if type(user_id) is int else None
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise LinkError(kind.withdrawn)
    if payload.get("state") != _password_state(user):
        raise LinkError(kind.used)
    return user


def invitation_token(user: User) -> str:
    return _link_token(_INVITATION, user)


def user_from_invitation(token: str) -> User:
    return _user_from_link(_INVITATION, token)


def password_reset_token(user: User) -> str:
    return _link_token(_PASSWORD_RESET, user)


def user_from_password_reset(token: str) -> User:
    user = _user_from_link(_PASSWORD_RESET, token)
    if not user.has_accepted_invite:  # reset links are only sent to users with a password
        raise LinkError(_PASSWORD_RESET.invalid)
    return user


# --- passwords ------------------------------------------------------------------------------


def validate_password(password: str, confirm: str, *, user: User | None = None) -> None:
    """Refuse a new password that does not match its repetition, is short, or is guessable
    (zxcvbn, which also knows the user's own name and email)."""
    if password != confirm:
        raise AccountError("The two passwords do not match.")
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise AccountError(f"Use at least {minimum} characters.")
    # The user's own email and name, whole and in words: "contosobuyer" is a guessable one.
    hints = []
    if user is not None:
        words = re.split(r"[\W_]+", f"{user.email} {user.name}")
        hints = [user.email, user.name, *(word for word in words if word)]
    result = zxcvbn(password[:_STRENGTH_CHECKED_CHARS], user_inputs=hints)
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        advice = feedback.get("warning") or "This password is easy to guess."
        suggestions = " ".join(feedback.get("suggestions") or ["Add another word or two."])
        raise AccountError(f"{advice.rstrip('.')}. {suggestions}")


def accept_invitation(user: User, password: str, confirm: str) -> User:
    validate_password(password, confirm, user=user)
    user.set_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
    log_event("auth.invitation.accepted", user_id=user.id, email=user.email)
    return user


def change_password(user: User, current: str, password: str, confirm: str) -> User:
    """Change a signed-in user's password; every other session of theirs ends."""
    if not user.check_password(current):
        log_event(
            "auth.password.change_refused",
            level=logging.WARNING,
            user_id=user.id,
            email=user.email,
            reason="wrong_current_password",
        )
        raise CurrentPasswordError("That is not your current password.")
    validate_password(password, confirm, user=user)
    user.set_password(password)
    db.session.flush()
    log_event("auth.password.changed", user_id=user.id, email=user.email)
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if `email` has an account that can sign in; say nothing either way."""
    user = find_user(email)
    if user is None or not user.active or not user.has_accepted_invite:
        # An invited user who has not set a password yet gets a new invitation from staff.
        who = {"user_id": user.id, "email": user.email} if user else {}
        log_event(
            "auth.password.reset_requested",
            sent=False,
            typed=None if user else typed_identity(email),
            **who,
        )
        return
    log_event("auth.password.reset_requested", sent=True, user_id=user.id, email=user.email)
    queue_email(
        to=user.email,
        subject=f"Reset your {current_app.config['SITE_NAME']} password",
        template="password_reset",
        topic=f"password-reset:{user.id}",
        user=user,
        # The password state in the reference lets a resend tell a used link from an unused
        # one; it is a digest of the hash, and no link can be made from it without the key.
        one_time_link=OneTimeLink("password-reset", f"{user.id}:{_password_state(user)}"),
        minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
    )


def reset_password(user: User, password: str, confirm: str) -> User:
    """Set the password from a reset link; the link and every session end with it."""
    validate_password(password, confirm, user=user)
    user.set_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
    log_event("auth.password.reset", user_id=user.id, email=user.email)
    return user


def invite_user(
    *,
    email: str,
    name: str,
    role: Role,
    organization: Organization | None,
    actor: User,
    is_approver: bool = False,
) -> User:
    """Create a user who can sign in once they follow the emailed invitation."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError(f"{email} already has an account.")
    if role is Role.CUSTOMER and organization is None:
        raise AccountError("A customer contact must belong to an organization.")
    if role is not Role.CUSTOMER and organization is not None:
        raise AccountError("Staff users do not belong to a client organization.")
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        organization=organization,
        is_approver=is_approver,
        invited_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    log_event(
        "auth.user.invited",
        user_id=user.id,
        email=user.email,
        role=role.value,
        actor_id=actor.id,
    )
    send_invitation(user, actor)
    return user


def send_invitation(user: User, actor: User) -> None:
    if user.has_accepted_invite:
        raise AccountError(f"{user.email} has already accepted the invitation.")
    user.invited_at = utcnow()
    queue_email(
        to=user.email,
        subject=f"You're invited to {current_app.config['SITE_NAME']}",
        template="invitation",
        topic=f"invitation:{user.id}",
        user=user,
        inviter=actor,
        one_time_link=OneTimeLink("invitation", str(user.id)),
        days=current_app.config["INVITE_MAX_AGE_DAYS"],
    )


def _issue_invitation_link(ref: str, to_address: str) -> str:
    """Issue a fresh invitation link for an emailed user id (a one-time link: mail.links)."""
    user = db.session.get(User, int(ref))
    if (
        user is None
        or not user.active
        or normalise_email(user.email) != normalise_email(to_address)
    ):
        raise LinkUnavailable("This invitation has been withdrawn.")
    if user.has_accepted_invite:
        raise LinkUnavailable(f"{user.email} has already accepted the invitation.")
    return public_url("auth.accept_invite", token=invitation_token(user))


links.register("invitation", _issue_invitation_link)


def _issue_password_reset_link(ref: str, to_address: str) -> str:
    """Issue a fresh reset link for an emailed request, unless it was used meanwhile."""
    user_id, _, state = ref.partition(":")
    user = db.session.get(User, int(user_id))
    if (
        user is None
        or not user.active
        or not user.has_accepted_invite
        or normalise_email(user.email) != normalise_email(to_address)
    ):
        raise LinkUnavailable(_PASSWORD_RESET.withdrawn)
    if state != _password_state(user):
        raise LinkUnavailable(_PASSWORD_RESET.used)
    return public_url("auth.reset_password", token=password_reset_token(user))


links.register("password-reset", _issue_password_reset_link)


def _active_admin_ids() -> list[int]:
    # FOR UPDATE (PostgreSQL): two admins demoting each other at the same moment must not
    # both see the other still in place and leave nobody able to administer the system.
    return list(
        db.session.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN, User.active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
    )


def _keep_an_admin(user: User) -> None:
    if user.role is Role.ADMIN and user.active and _active_admin_ids() == [user.id]:
        raise AccountError(
            f"{user.name} is the last active admin: make someone else an admin first."
        )


def change_role(user: User, role: Role, actor: User) -> User:
    """Give a staff user another staff role; nobody demotes themselves or the last admin."""
    if not user.is_staff or role not in STAFF_ROLES:
        raise AccountError("Only staff users have a staff role.")
    if user.role is role:
        return user
    if user.id == actor.id:
        raise AccountError("You cannot change your own role: ask another admin.")
    if role is not Role.ADMIN:
        _keep_an_admin(user)
    previous, user.role = user.role, role
    db.session.flush()
    log_event(
        "auth.role.changed",
        level=logging.WARNING if Role.ADMIN in (previous, role) else logging.INFO,
        user_id=user.id,
        email=user.email,
        old_role=previous.value,
        new_role=role.value,
        actor_id=actor.id,
    )
    return user


def set_active(user: User, active: bool, actor: User) -> User:
    """Deactivate a user (they can no longer sign in) or reactivate them."""
    if user.active == active:
        return user
    if not active:
        if user.id == actor.id:
            raise AccountError("You cannot deactivate your own account.")
        _keep_an_admin(user)
        user.end_sessions()  # signed-in pages refuse them now, and still after a reactivation
    user.active = active
    db.session.flush()
    log_event(
        "auth.user.activated" if active else "auth.user.deactivated",
        user_id=user.id,
        email=user.email,
        actor_id=actor.id,
    )
    return user
