from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models_base import UTCDateTime, str_enum, utcnow


class EmailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboundEmail(db.Model):
    """An email written in the business transaction and delivered by a worker after commit."""

    __tablename__ = "outbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[EmailStatus] = mapped_column(
        str_enum(EmailStatus, "email_status"), default=EmailStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # What the email is about, for the admin's "sent mail" page and timelines.
    topic: Mapped[str] = mapped_column(String(50), default="")
    # A single-use link is never stored: the bodies hold links.REDACTED, and these say what
    # to issue a fresh link for at each delivery (webapp/mail/links.py).
    link_kind: Mapped[str] = mapped_column(String(50), default="", server_default="")
    link_ref: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Threading headers a sender sets itself (Message-ID, In-Reply-To, References): a ticket
    # email's follow-ups land on the PSA's one ticket. None: the worker makes a Message-ID.
    headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attachments: Mapped[list[OutboundEmailAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="OutboundEmailAttachment.id"
    )


class OutboundEmailAttachment(db.Model):
    """A file sent with an email (a quote or purchase order PDF, a CSV), kept for retries."""

    __tablename__ = "outbound_email_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[int] = mapped_column(ForeignKey("outbound_emails.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
