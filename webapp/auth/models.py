from __future__ import annotations

import enum
import functools
import hmac
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models_base import TimestampMixin, UTCDateTime, str_enum

if TYPE_CHECKING:
    from webapp.organizations.models import Organization


class Role(enum.StrEnum):
    ADMIN = "admin"
    SALES = "sales"
    PURCHASING = "purchasing"
    CUSTOMER = "customer"

    @property
    def label(self) -> str:
        return self.value.capitalize()


STAFF_ROLES = frozenset({Role.ADMIN, Role.SALES, Role.PURCHASING})


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def dummy_password_hash() -> str:
    """A hash to verify against when there is no account, so a miss costs as long as a hit."""
    return _dummy_hash(_hash_method())


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-real-password", method=method)


class User(UserMixin, TimestampMixin, db.Model):
    """A person who signs in: MSP staff, or a contact at a client organization."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"), default=Role.CUSTOMER)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    is_approver: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # Null until the invitation is accepted: an invited user cannot sign in before that.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the id in every session and remember-me cookie (Flask-Login's "alternative
    # tokens"): a new one ends every session of the user at once.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: new_session_token())

    organization: Mapped[Organization | None] = relationship(
        back_populates="contacts", foreign_keys=[organization_id]
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def has_accepted_invite(self) -> bool:
        return self.password_hash is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def holds_session_token(self, token: str) -> bool:
        return hmac.compare_digest(self.session_token.encode(), token.encode())

    def end_sessions(self) -> None:
        """Sign the user out everywhere: every cookie issued so far stops working."""
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        """Store a new password; it ends every session, as a password change must."""
        self.password_hash = generate_password_hash(password, method=_hash_method())
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        if self.password_hash is None:
            # Invited and not yet accepted: no password opens the account. Hash anyway, so
            # the answer takes as long as a real check and does not tell who is invited.
            check_password_hash(dummy_password_hash(), password)
            return False
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class RememberedDevice(db.Model):
    """One browser's "Keep me signed in": its cookie is replaced each time it signs the user
    in again, and ends at a bound set at sign-in however often it is used."""

    __tablename__ = "remembered_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The cookie is "<series>.<secret>"; only digests are stored, so a copy of this table
    # signs nobody in. The digest covers the user's session token as well: when the user's
    # sessions end (sign-out, new password, deactivation) every device's digest stops matching.
    series: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    # The cookie it replaced, accepted until `replaced_at` + REMEMBER_COOKIE_GRACE_SECONDS.
    previous_digest: Mapped[str] = mapped_column(String(64), default="")
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
