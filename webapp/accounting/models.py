"""Ledger connections, mappings, record links and the outbox (deliveries and attempts)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounting.interfaces import (
    AccountPurpose,
    CancelAction,
    DeliveryKind,
    LedgerDocumentStatus,
    Numbering,
)
from webapp.extensions import db
from webapp.integrations.secrets import register_encrypted
from webapp.models_base import Money, TimestampMixin, UTCDateTime, str_enum, utcnow


class LedgerProvider(enum.StrEnum):
    QBO = "qbo"
    XERO = "xero"

    @property
    def label(self) -> str:
        return {"qbo": "QuickBooks Online", "xero": "Xero"}[self.value]


class ConnectionStatus(enum.StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"  # grant revoked/expired: work queues, nothing is lost
    DISCONNECTED = "disconnected"  # an admin disconnected it: tokens forgotten

    @property
    def label(self) -> str:
        return {
            "connected": "Connected",
            "needs_reconnect": "Reconnect needed",
            "disconnected": "Disconnected",
        }[self.value]


class LedgerConnection(TimestampMixin, db.Model):
    """One authorised QuickBooks company or Xero organisation, with the admin's choices."""

    __tablename__ = "ledger_connections"
    __table_args__ = (UniqueConstraint("provider", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[LedgerProvider] = mapped_column(str_enum(LedgerProvider, "ledger_provider"))
    tenant_id: Mapped[str] = mapped_column(String(100))  # QuickBooks realmId / Xero tenant id
    tenant_name: Mapped[str] = mapped_column(String(200), default="")
    # Xero's connection id (DELETE /connections/{id} on disconnect); empty for QuickBooks.
    vendor_connection_id: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[ConnectionStatus] = mapped_column(
        str_enum(ConnectionStatus, "ledger_connection_status"), default=ConnectionStatus.CONNECTED
    )
    # Fernet ciphertext of the token set; only webapp.integrations.secrets reads or writes it.
    token_ciphertext: Mapped[str] = mapped_column(Text, default="")
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payments_synced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ledger's chart of accounts and tax rates, read by a job (operations.refresh_lists)
    # so that Settings > Integrations never calls the vendor while it renders.
    ledger_lists: Mapped[dict] = mapped_column(JSON, default=dict)
    lists_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lists_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lists_error: Mapped[str] = mapped_column(Text, default="")
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # The admin's choices for this ledger.
    bill_status: Mapped[LedgerDocumentStatus] = mapped_column(
        str_enum(LedgerDocumentStatus, "ledger_bill_status"), default=LedgerDocumentStatus.DRAFT
    )
    invoice_status: Mapped[LedgerDocumentStatus] = mapped_column(
        str_enum(LedgerDocumentStatus, "ledger_invoice_status"),
        default=LedgerDocumentStatus.AUTHORIZED,
    )
    numbering: Mapped[Numbering] = mapped_column(
        str_enum(Numbering, "ledger_numbering"), default=Numbering.OURS
    )
    push_bills: Mapped[bool] = mapped_column(default=True)
    push_invoices: Mapped[bool] = mapped_column(default=True)
    push_purchase_orders: Mapped[bool] = mapped_column(default=False)  # QuickBooks only
    # Xero only: what cancelling a document whose invoice Xero holds does (QuickBooks voids).
    cancel_action: Mapped[CancelAction] = mapped_column(
        str_enum(CancelAction, "ledger_cancel_action"), default=CancelAction.VOID
    )

    account_mappings: Mapped[list[AccountMapping]] = relationship(
        back_populates="connection", cascade="all, delete-orphan"
    )
    tax_mappings: Mapped[list[TaxMapping]] = relationship(
        back_populates="connection", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        name = f" — {self.tenant_name}" if self.tenant_name else ""
        return f"{self.provider.label}{name}"

    @property
    def is_active(self) -> bool:
        """Return whether work should be queued for this ledger (even while reconnect is due)."""
        return self.status != ConnectionStatus.DISCONNECTED

    @property
    def lists_pending(self) -> bool:
        """Return whether a refresh of the stored lists was asked for and has not ended."""
        if self.lists_requested_at is None:
            return False
        return self.lists_read_at is None or self.lists_read_at < self.lists_requested_at

    def account_for(self, purpose: AccountPurpose) -> AccountMapping | None:
        return next((m for m in self.account_mappings if m.purpose == purpose), None)

    def tax_for(self, tax_code: str) -> TaxMapping | None:
        return next((m for m in self.tax_mappings if m.tax_code == tax_code), None)


# `flask integrations rotate-keys` re-encrypts the stored tokens.
register_encrypted(LedgerConnection, "token_ciphertext")


class AccountMapping(db.Model):
    """Which ledger account receives sales, purchases, freight or surcharges."""

    __tablename__ = "ledger_account_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id"))
    purpose: Mapped[AccountPurpose] = mapped_column(str_enum(AccountPurpose, "account_purpose"))
    ledger_account_id: Mapped[str] = mapped_column(String(100))
    ledger_account_name: Mapped[str] = mapped_column(String(200), default="")

    connection: Mapped[LedgerConnection] = relationship(back_populates="account_mappings")


class TaxMapping(db.Model):
    """Our tax code (on document lines) to the ledger's tax rate / code."""

    __tablename__ = "ledger_tax_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "tax_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id"))
    tax_code: Mapped[str] = mapped_column(String(20))  # "" = lines without a code
    ledger_tax_id: Mapped[str] = mapped_column(String(100))
    ledger_tax_name: Mapped[str] = mapped_column(String(200), default="")

    connection: Mapped[LedgerConnection] = relationship(back_populates="tax_mappings")


class LedgerLink(db.Model):
    """Our entity (organization, product, supplier, document, receipt) -> its ledger record."""

    __tablename__ = "ledger_links"
    __table_args__ = (UniqueConstraint("connection_id", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column()
    ledger_id: Mapped[str] = mapped_column(String(100))
    ledger_number: Mapped[str] = mapped_column(String(100), default="")
    ledger_url: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[str] = mapped_column(String(40), default="")  # QuickBooks SyncToken
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connection: Mapped[LedgerConnection] = relationship()


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # ready to send
    WAITING = "waiting"  # waits for a prerequisite (customer, items, supplier)
    SENT = "sent"  # handed to the ledger; outcome not yet known (a retry looks up first)
    CONFIRMED = "confirmed"  # the ledger holds it: ledger_id is set
    FAILED = "failed"  # the ledger rejected it: an admin must fix and retry
    CANCELLED = "cancelled"  # its document was cancelled before it reached the ledger

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
    "ledger_delivery_dependencies",
    db.metadata,
    Column("delivery_id", ForeignKey("ledger_deliveries.id"), primary_key=True),
    Column("depends_on_id", ForeignKey("ledger_deliveries.id"), primary_key=True),
)


class Delivery(TimestampMixin, db.Model):
    """One outbound push to one ledger, written in the business transaction (the outbox)."""

    __tablename__ = "ledger_deliveries"
    __table_args__ = (
        Index("ix_ledger_deliveries_connection_status", "connection_id", "status"),
        Index("ix_ledger_deliveries_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id"))
    kind: Mapped[DeliveryKind] = mapped_column(str_enum(DeliveryKind, "delivery_kind"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column()
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    # "<connection>:<kind>:<subject id>": one delivery per thing per ledger, ever.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    # Bumped by a manual Retry so the vendor does not replay the stored rejection.
    generation: Mapped[int] = mapped_column(default=1)
    ledger_id: Mapped[str] = mapped_column(String(100), default="")
    ledger_number: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    # True once a request carrying it may have reached the ledger: the next try looks up first.
    maybe_sent: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    error_field: Mapped[str] = mapped_column(String(200), default="")
    error_fix: Mapped[str] = mapped_column(Text, default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[LedgerConnection] = relationship()
    depends_on: Mapped[list[Delivery]] = relationship(
        secondary=delivery_dependencies,
        primaryjoin=lambda: Delivery.id == delivery_dependencies.c.delivery_id,
        secondaryjoin=lambda: Delivery.id == delivery_dependencies.c.depends_on_id,
    )
    attempt_rows: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="DeliveryAttempt.id"
    )

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

    __tablename__ = "ledger_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("ledger_deliveries.id"), index=True)
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

    __tablename__ = "ledger_sync_log"
    __table_args__ = (Index("ix_ledger_sync_log_connection_created", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_connections.id"))
    direction: Mapped[SyncDirection] = mapped_column(str_enum(SyncDirection, "sync_direction"))
    kind: Mapped[str] = mapped_column(String(40))  # delivery kind, "payments", "accounts"...
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None] = mapped_column()
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_deliveries.id"))
    ok: Mapped[bool] = mapped_column(default=True)
    message: Mapped[str] = mapped_column(Text, default="")
    ledger_id: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connection: Mapped[LedgerConnection | None] = relationship()


class NotificationStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class AccountingNotification(db.Model):
    """A failure an admin must look at (View shows the request and error; Retry re-queues)."""

    __tablename__ = "accounting_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_connections.id"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_deliveries.id"), index=True)
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, "accounting_notification_status"),
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

    connection: Mapped[LedgerConnection | None] = relationship()
    delivery: Mapped[Delivery | None] = relationship()


class ImportedPayment(db.Model):
    """A payment allocation read from the ledger; summed into the document's amount_paid."""

    __tablename__ = "ledger_imported_payments"
    __table_args__ = (UniqueConstraint("connection_id", "ledger_payment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id"))
    ledger_payment_id: Mapped[str] = mapped_column(String(200))
    invoice_ledger_id: Mapped[str] = mapped_column(String(100))
    sales_document_id: Mapped[int] = mapped_column(ForeignKey("sales_documents.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
