"""Tables of the integrations core: connections, the outbox, links, notices and the sync log.

Every outside system plugs into these: a ledger (accounting), a PSA, outbound webhooks. A
domain subclasses ``Connection`` for its own settings (joined-table inheritance, keyed by
``domain``) and names its delivery kinds with strings it registers (``registry``); the core
never imports a domain.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.integrations.secrets import register_encrypted
from webapp.models_base import TimestampMixin, UTCDateTime, str_enum, utcnow


class ConnectionStatus(enum.StrEnum):
    CONNECTED = "connected"
    # Granted, but the domain's mappings are incomplete: work queues, nothing is pushed.
    NEEDS_MAPPING = "needs_mapping"
    NEEDS_RECONNECT = "needs_reconnect"  # grant revoked/expired: work queues, nothing is lost
    DISCONNECTED = "disconnected"  # an admin disconnected it: tokens forgotten

    @property
    def label(self) -> str:
        return {
            "connected": "Connected",
            "needs_mapping": "Needs mapping",
            "needs_reconnect": "Reconnect needed",
            "disconnected": "Disconnected",
        }[self.value]


def read_pending(requested_at: datetime | None, read_at: datetime | None) -> bool:
    """Return whether a read of a connection's lists was asked for and has not ended since.

    A domain stores what it reads from the vendor (a ledger's accounts, a PSA's picklists)
    with when it was asked for and when the last read ended; the page polls while pending.
    """
    if requested_at is None:
        return False
    return read_at is None or read_at < requested_at


class Connection(TimestampMixin, db.Model):
    """One authorised tenant of one outside system (a QuickBooks company, a Xero organisation,
    an Autotask database, a ConnectWise company, a webhook endpoint)."""

    __tablename__ = "integration_connections"
    __table_args__ = (UniqueConstraint("provider", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which domain's subclass holds the rest of the settings ("ledger", "psa", ...).
    domain: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(40))  # registry name, e.g. "qbo"
    tenant_id: Mapped[str] = mapped_column(String(100))  # realmId / Xero tenant / database id
    tenant_name: Mapped[str] = mapped_column(String(200), default="")
    # The vendor's own id of the grant (Xero: DELETE /connections/{id} on disconnect).
    vendor_connection_id: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[ConnectionStatus] = mapped_column(
        str_enum(ConnectionStatus, "connection_status"), default=ConnectionStatus.CONNECTED
    )
    # Fernet ciphertext of the token set or API secret; only integrations.secrets touches it.
    token_ciphertext: Mapped[str] = mapped_column(Text, default="")
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when an admin removes it for good (a webhook endpoint): hidden, never sent to,
    # its log and deliveries kept.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"polymorphic_on": "domain"}

    @property
    def provider_label(self) -> str:
        """The vendor's name as staff know it ("QuickBooks Online")."""
        from webapp.integrations import registry

        return registry.label(self.provider)

    @property
    def label(self) -> str:
        name = f" — {self.tenant_name}" if self.tenant_name else ""
        return f"{self.provider_label}{name}"

    @property
    def is_connected(self) -> bool:
        """Return whether the grant works (the vendor may be called), mapped or not."""
        return self.status in (ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_MAPPING)

    @property
    def is_active(self) -> bool:
        """Return whether work should be queued for it (even while a reconnect is due)."""
        return self.status != ConnectionStatus.DISCONNECTED and self.deleted_at is None


# `flask integrations rotate-keys` re-encrypts the stored tokens.
register_encrypted(Connection, "token_ciphertext")


class ExternalLink(db.Model):
    """Our entity (organisation, product, supplier, document, receipt) -> its record there."""

    __tablename__ = "integration_links"
    __table_args__ = (UniqueConstraint("connection_id", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("integration_connections.id"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column()
    remote_id: Mapped[str] = mapped_column(String(100))
    remote_number: Mapped[str] = mapped_column(String(100), default="")
    remote_url: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[str] = mapped_column(String(40), default="")  # QuickBooks SyncToken
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connection: Mapped[Connection] = relationship()


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # ready to send
    WAITING = "waiting"  # waits for a prerequisite (customer, items, supplier)
    SENT = "sent"  # handed to the vendor; outcome not yet known (a retry looks up first)
    CONFIRMED = "confirmed"  # the vendor holds it: remote_id is set
    FAILED = "failed"  # the vendor rejected it: an admin must fix and retry
    CANCELLED = "cancelled"  # its subject was cancelled before it reached the vendor

    @property
    def label(self) -> str:
        return {
            "pending": "Pending",
            "waiting": "Waiting for a prerequisite",
            "sent": "Sent",
            "confirmed": "Confirmed",
            "failed": "Failed",
            "cancelled": "Cancelled (never sent)",
        }[self.value]


delivery_dependencies = Table(
    "integration_delivery_dependencies",
    db.metadata,
    Column("delivery_id", ForeignKey("integration_deliveries.id"), primary_key=True),
    Column("depends_on_id", ForeignKey("integration_deliveries.id"), primary_key=True),
)


class Delivery(TimestampMixin, db.Model):
    """One outbound write to one connection, written in the business transaction (the outbox)."""

    __tablename__ = "integration_deliveries"
    __table_args__ = (
        Index("ix_integration_deliveries_connection_status", "connection_id", "status"),
        Index("ix_integration_deliveries_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("integration_connections.id"))
    # A kind its domain registered ("invoice", "item", "psa_ticket"...): registry.kind_label.
    kind: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column()
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    # "<connection>:<kind>:<subject type>:<subject id>": one delivery per thing per connection.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    # Bumped by a manual Retry so the vendor does not replay the stored rejection.
    generation: Mapped[int] = mapped_column(default=1)
    remote_id: Mapped[str] = mapped_column(String(100), default="")
    remote_number: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    # True once a request carrying it may have reached the vendor: the next try looks up first.
    maybe_sent: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    error_field: Mapped[str] = mapped_column(String(200), default="")
    error_fix: Mapped[str] = mapped_column(Text, default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[Connection] = relationship()
    depends_on: Mapped[list[Delivery]] = relationship(
        secondary=delivery_dependencies,
        primaryjoin=lambda: Delivery.id == delivery_dependencies.c.delivery_id,
        secondaryjoin=lambda: Delivery.id == delivery_dependencies.c.depends_on_id,
    )
    attempt_rows: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="DeliveryAttempt.id"
    )

    @property
    def kind_label(self) -> str:
        from webapp.integrations import registry

        return registry.kind_label(self.kind)

    @property
    def request_key(self) -> str:
        """Return the vendor idempotency key (QuickBooks requestid <= 50 chars)."""
        return f"msp-{self.idempotency_key.replace(':', '-')}-g{self.generation}"


class AttemptOutcome(enum.StrEnum):
    STARTED = "started"  # written before the call; a crash leaves it so
    SUCCEEDED = "succeeded"
    TRANSIENT = "transient"  # will be retried
    REJECTED = "rejected"  # permanent: needs a fix
    RECONNECT = "reconnect"  # the grant is gone

    @property
    def label(self) -> str:
        return self.value.capitalize()


class DeliveryAttempt(db.Model):
    """One try of one delivery: what was sent, what came back, in plain words."""

    __tablename__ = "integration_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("integration_deliveries.id"), index=True)
    outcome: Mapped[AttemptOutcome] = mapped_column(
        str_enum(AttemptOutcome, "attempt_outcome"), default=AttemptOutcome.STARTED
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column()
    http_status: Mapped[int | None] = mapped_column()
    request_excerpt: Mapped[str] = mapped_column(Text, default="")
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_rows")


class SyncDirection(enum.StrEnum):
    PUSH = "push"
    PULL = "pull"


class SyncLogEntry(db.Model):
    """One line of the synchronization log: every push and pull, success or not."""

    __tablename__ = "integration_log"
    __table_args__ = (Index("ix_integration_log_connection_created", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("integration_connections.id"))
    direction: Mapped[SyncDirection] = mapped_column(str_enum(SyncDirection, "sync_direction"))
    kind: Mapped[str] = mapped_column(String(40))  # delivery kind, "payments", "lists"...
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None] = mapped_column()
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("integration_deliveries.id"))
    ok: Mapped[bool] = mapped_column(default=True)
    message: Mapped[str] = mapped_column(Text, default="")
    remote_id: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connection: Mapped[Connection | None] = relationship()


class NotificationStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Notification(db.Model):
    """A failure an admin must look at (View shows the request and error; Retry re-queues)."""

    __tablename__ = "integration_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("integration_connections.id"))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("integration_deliveries.id"), index=True
    )
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, "notification_status"),
        default=NotificationStatus.OPEN,
    )
    title: Mapped[str] = mapped_column(String(300))
    # What closes it by itself when it is gone: "reconnect" (a reconnect), "" (the delivery's
    # success, or an admin's dismissal).
    cause: Mapped[str] = mapped_column(String(50), default="")
    message: Mapped[str] = mapped_column(Text, default="")  # the vendor's error in plain words
    field: Mapped[str] = mapped_column(String(200), default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[Connection | None] = relationship()
    delivery: Mapped[Delivery | None] = relationship()


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
