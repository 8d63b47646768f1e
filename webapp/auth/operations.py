"""Invitations, passwords and sign-in."""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.auth.models import STAFF_ROLES, Role, User
from webapp.extensions import db
from webapp.mail import links
from webapp.mail.links import LinkUnavailable, OneTimeLink
from webapp.mail.operations import public_url, queue_email
from webapp.models_base import utcnow

if TYPE_CHECKING:
    from webapp.organizations.models import Organization

MIN_PASSWORD_LENGTH = 10


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the email is unknown, so a miss costs as long as a hit.
    return generate_password_hash("not-a-real-password")


class InvitationError(Exception):
    """An invitation link that cannot be used; the message says why."""


class AccountError(ValueError):
    """A refused account change; the message is for people."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = find_user(email)
    if user is None or user.password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="invitation")


def _password_state(user: User) -> str:
    # The token embeds this: setting a password changes it, so a link works only once.
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def invitation_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "state": _password_state(user)})


def user_from_invitation(token: str) -> User:
    max_age = current_app.config["INVITE_MAX_AGE_DAYS"] * 24 * 3600
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvitationError(
            "This invitation has expired. Ask your account manager to send a new one."
        ) from None
    except BadSignature:
        raise InvitationError(
            "This invitation link is not valid. Check the link in the email."
        ) from None
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.active:
        raise InvitationError("This invitation has been withdrawn.")
    if payload.get("state") != _password_state(user):
        raise InvitationError("This invitation has already been used. Sign in instead.")
    return user


def validate_password(password: str, confirm: str) -> None:
    if password != confirm:
        raise AccountError("The two passwords do not match.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")


def accept_invitation(user: User, password: str, confirm: str) -> User:
    validate_password(password, confirm)
    user.set_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
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
    user.role = role
    db.session.flush()
    return user


def set_active(user: User, active: bool, actor: User) -> User:
    """Deactivate a user (they can no longer sign in) or reactivate them."""
    if user.active == active:
        return user
    if not active:
        if user.id == actor.id:
            raise AccountError("You cannot deactivate your own account.")
        _keep_an_admin(user)
    user.active = active
    db.session.flush()
    return user
