from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.extensions import db
from webapp.models_base import Cost, Money, Percent, UTCDateTime, str_enum, utcnow
from webapp.organizations.models import AddressMixin, Organization

# The kind is the value of the settings' "Display document as": defined with that setting.
from webapp.settings.registry import DocumentKind  # noqa: F401 - re-exported for sales


class PaymentMethod(enum.StrEnum):
    """How a customer pays an order (chosen at checkout or on an accepted quote)."""

    ON_ACCOUNT = "on_account"
    CARD = "card"

    @property
    def label(self) -> str:
        # No card is taken online: the option says so (there is no payment provider yet).
        return {"on_account": "On account", "card": "Card, by phone"}[self.value]

    @property
    def explanation(self) -> str:
        """What happens next, in the customer's words (checkout, confirmation, emails)."""
        return {
            "on_account": "Pay by your account terms once we invoice.",
            "card": "Nothing is charged online: we phone you to take the card payment.",
        }[self.value]


class DocumentStatus(enum.StrEnum):
    APPROVED = "approved"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class DocumentSource(enum.StrEnum):
    STORE = "store"
    QUOTE = "quote"
    DESK = "desk"  # keyed by staff for a customer (webapp/desk)
    API = "api"  # keyed in through the REST API (webapp/desk, as a desk order)


class FulfilmentStatus(enum.StrEnum):
    """How much of the document's goods have been receipted from suppliers."""

    NONE = "none"
    PARTIAL = "partial"
    FULFILLED = "fulfilled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ProcurementStatus(enum.StrEnum):
    """Where the purchasing optimizer is with the document."""

    PENDING = "pending"  # waiting for its planning job
    PLANNED = "planned"  # purchase order lines exist for everything that must be bought
    NOT_NEEDED = "not_needed"  # services, labour and own stock only
    NEEDS_ATTENTION = "needs_attention"  # planning failed: staff must look

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class PaymentStatus(enum.StrEnum):
    """What the ledger says has been paid against the document."""

    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Recurrence(enum.StrEnum):
    NONE = "none"
    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def label(self) -> str:
        return {"none": "One-off", "monthly": "Monthly", "annual": "Annual"}[self.value]


class DocumentSequence(db.Model):
    """A gap-free counter per number prefix; rows are locked while a number is taken."""

    __tablename__ = "document_sequences"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    next_value: Mapped[int] = mapped_column(default=1)


class SalesDocument(AddressMixin, db.Model):
    """A sales order or tax invoice issued to a client organization."""

    __tablename__ = "sales_documents"
    __table_args__ = (Index("ix_sales_documents_org_created", "organization_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, "document_kind"))
    status: Mapped[DocumentStatus] = mapped_column(
        str_enum(DocumentStatus, "document_status"), default=DocumentStatus.APPROVED
    )
    source: Mapped[DocumentSource] = mapped_column(str_enum(DocumentSource, "document_source"))
    # One order per checkout: "cart:<id>:<revision>". A double-click finds the first order.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    currency: Mapped[str] = mapped_column(String(3))
    ship_to_name: Mapped[str] = mapped_column(String(200), default="")
    shipping_method_name: Mapped[str] = mapped_column(String(100), default="")
    shipping_charge: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    shipping_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    payment_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "payment_method"))
    surcharge_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    surcharge_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    surcharge_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    customer_po: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    subtotal: Mapped[Decimal] = mapped_column(Money)
    tax_total: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    # Why a document is on hold (e.g. the margin guard); the timeline has the details.
    hold_reason: Mapped[str] = mapped_column(Text, default="")
    procurement_status: Mapped[ProcurementStatus] = mapped_column(
        str_enum(ProcurementStatus, "procurement_status"), default=ProcurementStatus.PENDING
    )
    fulfilment_status: Mapped[FulfilmentStatus] = mapped_column(
        str_enum(FulfilmentStatus, "fulfilment_status"), default=FulfilmentStatus.NONE
    )
    ready_to_invoice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the tax invoice came to exist: a ledger confirmed it (sales.operations.record_invoiced).
    # A document issued as a tax invoice is one from the start.
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Fixed at issue from the customer payment terms (a tax invoice prints it).
    due_date: Mapped[date | None] = mapped_column(Date)
    payment_status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus, "payment_status"), default=PaymentStatus.UNPAID
    )
    amount_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    contact: Mapped[User] = relationship()
    lines: Mapped[list[SalesDocumentLine]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        order_by="SalesDocumentLine.position",
    )
    events: Mapped[list[SalesDocumentEvent]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        order_by="SalesDocumentEvent.id",
    )

    @property
    def title(self) -> str:
        return self.kind.title

    @property
    def overpaid_by(self) -> Decimal:
        """Return what the ledger says was paid above the total (zero when not overpaid)."""
        return max((self.amount_paid or Decimal(0)) - self.total, Decimal(0))


class SalesDocumentLine(db.Model):
    __tablename__ = "sales_document_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("sales_documents.id"), index=True)
    position: Mapped[int] = mapped_column()
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column()
    unit_price: Mapped[Decimal] = mapped_column(Money)
    # Best supplier cost when sold: the estimate that receipting later replaces.
    unit_cost: Mapped[Decimal | None] = mapped_column(Cost)
    tax_code: Mapped[str] = mapped_column(String(20), default="")
    tax_rate: Mapped[Decimal] = mapped_column(Percent)
    line_subtotal: Mapped[Decimal] = mapped_column(Money)
    line_tax: Mapped[Decimal] = mapped_column(Money)
    # Recurring lines come from quotes (monthly or annual services with a term).
    recurrence: Mapped[Recurrence] = mapped_column(
        str_enum(Recurrence, "recurrence"), default=Recurrence.NONE
    )
    term_months: Mapped[int | None] = mapped_column()

    document: Mapped[SalesDocument] = relationship(back_populates="lines")

    @property
    def line_total(self) -> Decimal:
        return self.line_subtotal + self.line_tax


class SalesDocumentEvent(db.Model):
    """One entry of a document's timeline; later integrations read these to push."""

    __tablename__ = "sales_document_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("sales_documents.id"), index=True)
    type: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    document: Mapped[SalesDocument] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
