"""Tables of the integrations core that no domain owns."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models_base import UTCDateTime, str_enum, utcnow


class InboundStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class InboundEvent(db.Model):
    """A vendor webhook whose signature was verified, stored before it is looked at."""

    __tablename__ = "inbound_events"
    # A vendor's retry of the same body is the same event: stored once, handled once.
    __table_args__ = (UniqueConstraint("provider", "body_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[InboundStatus] = mapped_column(
        str_enum(InboundStatus, "inbound_event_status"), default=InboundStatus.RECEIVED
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(Text, default="")
