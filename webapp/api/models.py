"""API keys and the stored responses of idempotent requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.extensions import db
from webapp.integrations.secrets import register_encrypted
from webapp.models_base import UTCDateTime, utcnow
from webapp.organizations.models import Organization


class ApiKey(db.Model):
    """A key an admin made in Settings › API; only its SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, shown in lists and used to find the row.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    # A customer-scoped key sees only this organization's records.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    # The admin who made it: the API's writes act as this person (timelines name them).
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization | None] = relationship()
    created_by: Mapped[User] = relationship()


class IdempotencyRecord(db.Model):
    """The first response to a request with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "api_idempotency_records"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key"),
        Index("ix_api_idempotency_records_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of method, path and the canonical JSON body: a reuse with another body is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # None while the first request runs.
    response_status: Mapped[int | None] = mapped_column()
    response_body: Mapped[str] = mapped_column(Text, default="")
    response_headers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A kept answer that holds a secret shown once is encrypted and marked so (see idempotency.py);
# `flask integrations rotate-keys` re-encrypts those, keeping the mark.
ENCRYPTED_BODY = "fernet:"
register_encrypted(IdempotencyRecord, "response_body", prefix=ENCRYPTED_BODY)
