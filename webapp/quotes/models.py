"""Quotes, their frozen versions, approvers' decisions, templates and approval rules."""

from __future__ import annotations

import base64
import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.catalog.models import Product, ProductType, TaxCode
from webapp.extensions import db
from webapp.models_base import Cost, Money, Percent, TimestampMixin, UTCDateTime, str_enum, utcnow
from webapp.organizations.models import Organization
from webapp.sales.models import PaymentMethod, Recurrence, SalesDocument


class QuoteStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_internal_approval"
    APPROVED = "approved_internally"
    SENT = "sent"
    WON = "won"
    LOST = "lost"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "draft": "Draft",
            "pending_internal_approval": "Awaiting approval",
            "approved_internally": "Approved to send",
            "sent": "Sent",
            "won": "Won",
            "lost": "Lost",
            "expired": "Expired",
            "cancelled": "Cancelled",
        }[self.value]

    @property
    def is_final(self) -> bool:
        return self in {QuoteStatus.WON, QuoteStatus.LOST, QuoteStatus.CANCELLED}


class QuoteSource(enum.StrEnum):
    ADMIN = "admin"
    STORE = "store"  # a customer's cart turned into a quote request


class Quote(TimestampMixin, db.Model):
    """A quote being built by staff; each send freezes a QuoteVersion."""

    __tablename__ = "quotes"
    __table_args__ = (Index("ix_quotes_status_expires", "status", "expires_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[QuoteStatus] = mapped_column(
        str_enum(QuoteStatus, "quote_status"), default=QuoteStatus.DRAFT
    )
    # The version being edited or last sent; links carry it, so an edit voids older links.
    version: Mapped[int] = mapped_column(default=1)
    # Bumped by every edit and status change: each builder form carries the revision it was
    # drawn from, and an edit drawn from an older one is refused (webapp/quotes/revisions.py).
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    source: Mapped[QuoteSource] = mapped_column(
        str_enum(QuoteSource, "quote_source"), default=QuoteSource.ADMIN
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("quote_templates.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    request_note: Mapped[str] = mapped_column(Text, default="")
    expires_on: Mapped[date] = mapped_column(Date)
    intro: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[PaymentMethod] = mapped_column(
        str_enum(PaymentMethod, "payment_method"), default=PaymentMethod.ON_ACCOUNT
    )
    surcharge_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    shipping_label: Mapped[str] = mapped_column(String(100), default="Shipping")
    shipping_charge: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # Internal approval: why it was needed, and the content hash a manager approved.
    approval_reasons: Mapped[list] = mapped_column(JSON, default=list)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_hash: Mapped[str] = mapped_column(String(64), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_reason: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("sales_documents.id"))

    organization: Mapped[Organization] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    document: Mapped[SalesDocument | None] = relationship()
    template: Mapped[QuoteTemplate | None] = relationship()
    recipients: Mapped[list[QuoteRecipient]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteRecipient.id"
    )
    sections: Mapped[list[QuoteSection]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteSection.position"
    )
    versions: Mapped[list[QuoteVersion]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteVersion.number"
    )
    events: Mapped[list[QuoteEvent]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteEvent.id"
    )
    reminders: Mapped[list[QuoteReminder]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteReminder.due_at"
    )

    @property
    def lines(self) -> list[QuoteLine]:
        return [line for section in self.sections for line in section.lines]

    @property
    def current_version(self) -> QuoteVersion | None:
        return next((v for v in self.versions if v.number == self.version), None)


class QuoteRecipient(db.Model):
    """An approver the quote is sent to: a contact of the quote's organization."""

    __tablename__ = "quote_recipients"
    __table_args__ = (UniqueConstraint("quote_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    quote: Mapped[Quote] = relationship(back_populates="recipients")
    user: Mapped[User] = relationship()


class QuoteSection(db.Model):
    __tablename__ = "quote_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    # The approver picks exactly one of the section's lines.
    choose_one: Mapped[bool] = mapped_column(default=False)

    quote: Mapped[Quote] = relationship(back_populates="sections")
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="section", cascade="all, delete-orphan", order_by="QuoteLine.position"
    )


class LineFieldsMixin:
    """What a quote line and a template line have in common."""

    product_type: Mapped[ProductType] = mapped_column(
        str_enum(ProductType, "product_type"), default=ProductType.PHYSICAL
    )
    sku: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(default=1)
    # The approver may tick it in or out.
    optional: Mapped[bool] = mapped_column(default=False)
    # The approver may change the quantity within [min_qty, max_qty].
    qty_editable: Mapped[bool] = mapped_column(default=False)
    min_qty: Mapped[int | None] = mapped_column()
    max_qty: Mapped[int | None] = mapped_column()
    recurrence: Mapped[Recurrence] = mapped_column(
        str_enum(Recurrence, "recurrence"), default=Recurrence.NONE
    )
    term_months: Mapped[int | None] = mapped_column()


class QuoteLine(LineFieldsMixin, db.Model):
    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("quote_sections.id"), index=True)
    position: Mapped[int] = mapped_column()
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    unit_cost: Mapped[Decimal] = mapped_column(Cost, default=Decimal("0"))
    # Staff confirmed this cost of zero or less (free goods, a rebate, our own labour); a
    # catalog line whose best cost is zero or less is added unconfirmed and stops sending.
    cost_confirmed: Mapped[bool] = mapped_column(default=False)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    # The organization's standard price when the line was added: discounts are measured on it.
    list_price: Mapped[Decimal | None] = mapped_column(Money)
    tax_code_id: Mapped[int | None] = mapped_column(ForeignKey("tax_codes.id"))

    section: Mapped[QuoteSection] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()
    tax_code: Mapped[TaxCode | None] = relationship()

    @property
    def cost_unconfirmed(self) -> bool:
        """A cost of zero or less that no one confirmed: the quote cannot be sent."""
        return self.unit_cost <= 0 and not self.cost_confirmed


class QuoteVersion(db.Model):
    """What was sent: a frozen snapshot (lines, totals, terms) and its sha256."""

    __tablename__ = "quote_versions"
    __table_args__ = (UniqueConstraint("quote_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"))
    number: Mapped[int] = mapped_column()
    snapshot: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when an edit made a newer version: links to this one no longer work.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    quote: Mapped[Quote] = relationship(back_populates="versions")
    sent_by: Mapped[User | None] = relationship()


class DecisionOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class QuoteDecision(db.Model):
    """An approver's accept or decline of one version; one per version, ever."""

    __tablename__ = "quote_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    # Unique: of two approvers deciding at once, the second insert fails.
    version_id: Mapped[int] = mapped_column(ForeignKey("quote_versions.id"), unique=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[DecisionOutcome] = mapped_column(str_enum(DecisionOutcome, "decision_outcome"))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    customer_po: Mapped[str] = mapped_column(String(100), default="")
    terms_accepted: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    # {"lines": [{"key": ..., "quantity": ...}, ...]}: what the approver chose.
    selection: Mapped[dict] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # An acceptance's signature: typed (the text, drawn in a script face) or drawn (a PNG).
    signature_text: Mapped[str] = mapped_column(String(200), default="")
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("sales_documents.id"))

    quote: Mapped[Quote] = relationship()
    version: Mapped[QuoteVersion] = relationship()
    recipient: Mapped[User] = relationship()
    document: Mapped[SalesDocument | None] = relationship()

    @property
    def signature_data_url(self) -> str:
        """The drawn signature as an <img> source ("" when it was typed)."""
        if not self.signature_png:
            return ""
        return "data:image/png;base64," + base64.b64encode(self.signature_png).decode()


class QuoteView(db.Model):
    """An approver opened the link: kept at most once per day per approver."""

    __tablename__ = "quote_views"
    __table_args__ = (UniqueConstraint("quote_id", "recipient_id", "viewed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version_number: Mapped[int] = mapped_column()
    viewed_on: Mapped[date] = mapped_column(Date)
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str] = mapped_column(String(45), default="")

    recipient: Mapped[User] = relationship()


class QuoteEvent(db.Model):
    """One entry of a quote's timeline."""

    __tablename__ = "quote_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    type: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    quote: Mapped[Quote] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class QuoteReminder(db.Model):
    """A reminder staff scheduled; the reminders job emails the approvers when it is due."""

    __tablename__ = "quote_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(200), default="")

    quote: Mapped[Quote] = relationship(back_populates="reminders")


class QuoteTemplate(TimestampMixin, db.Model):
    """A starting point for quotes: sections, default lines, intro and terms."""

    __tablename__ = "quote_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    expiry_days: Mapped[int] = mapped_column(default=14)
    active: Mapped[bool] = mapped_column(default=True)

    sections: Mapped[list[QuoteTemplateSection]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="QuoteTemplateSection.position",
    )


class QuoteTemplateSection(db.Model):
    __tablename__ = "quote_template_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("quote_templates.id"), index=True)
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    choose_one: Mapped[bool] = mapped_column(default=False)

    template: Mapped[QuoteTemplate] = relationship(back_populates="sections")
    lines: Mapped[list[QuoteTemplateLine]] = relationship(
        back_populates="section",
        cascade="all, delete-orphan",
        order_by="QuoteTemplateLine.position",
    )


class QuoteTemplateLine(LineFieldsMixin, db.Model):
    __tablename__ = "quote_template_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("quote_template_sections.id"), index=True)
    position: Mapped[int] = mapped_column()
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    # None: priced from the catalog for the quote's organization when the quote is made.
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    unit_cost: Mapped[Decimal | None] = mapped_column(Cost)

    section: Mapped[QuoteTemplateSection] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()


class ApprovalRuleKind(enum.StrEnum):
    TOTAL_ABOVE = "total_above"
    LINE_DISCOUNT_ABOVE = "line_discount_above"
    LINE_MARGIN_BELOW = "line_margin_below"
    TOTAL_MARGIN_BELOW = "total_margin_below"
    USER_ALWAYS = "user_always"

    @property
    def label(self) -> str:
        return {
            "total_above": "Quote total above",
            "line_discount_above": "Any line discount above (%)",
            "line_margin_below": "Any line margin below (%)",
            "total_margin_below": "Total margin below (%)",
            "user_always": "Quotes by this user always",
        }[self.value]


class QuoteApprovalRule(db.Model):
    """A condition that makes a quote need a manager's approval before it can be sent."""

    __tablename__ = "quote_approval_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ApprovalRuleKind] = mapped_column(str_enum(ApprovalRuleKind, "approval_rule"))
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(14, 4, asdecimal=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()
