"""Ledger connections (a kind of integrations-core connection), mappings and payments."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounting.interfaces import (
    AccountPurpose,
    CancelAction,
    LedgerDocumentStatus,
    Numbering,
)
from webapp.extensions import db
from webapp.integrations.models import Connection, read_pending
from webapp.models_base import Money, UTCDateTime, str_enum, utcnow


class LedgerProvider(enum.StrEnum):
    """The ledgers we connect to (their names and labels live on the provider classes)."""

    QBO = "qbo"
    XERO = "xero"


class LedgerConnection(Connection):
    """One authorised QuickBooks company or Xero organisation, with the admin's choices."""

    __tablename__ = "ledger_connections"
    __mapper_args__ = {"polymorphic_identity": "ledger"}

    id: Mapped[int] = mapped_column(ForeignKey("integration_connections.id"), primary_key=True)
    payments_synced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ledger's chart of accounts and tax rates, read by a job (operations.refresh_lists)
    # so that Settings > Integrations never calls the vendor while it renders.
    ledger_lists: Mapped[dict] = mapped_column(JSON, default=dict)
    lists_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lists_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lists_error: Mapped[str] = mapped_column(Text, default="")

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
    def lists_pending(self) -> bool:
        """Return whether a refresh of the stored lists was asked for and has not ended."""
        return read_pending(self.lists_requested_at, self.lists_read_at)

    def account_for(self, purpose: AccountPurpose) -> AccountMapping | None:
        return next((m for m in self.account_mappings if m.purpose == purpose), None)

    def tax_for(self, tax_code: str) -> TaxMapping | None:
        return next((m for m in self.tax_mappings if m.tax_code == tax_code), None)


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
    """Our tax code (on document lines) to the ledger's tax rate / code, on sales (invoices)
    and on purchases (bills): a ledger names them apart (Xero OUTPUT and INPUT)."""

    __tablename__ = "ledger_tax_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "tax_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id"))
    tax_code: Mapped[str] = mapped_column(String(20))  # "" = lines without a code
    ledger_tax_id: Mapped[str] = mapped_column(String(100))
    ledger_tax_name: Mapped[str] = mapped_column(String(200), default="")
    purchase_tax_id: Mapped[str] = mapped_column(String(100), default="")
    purchase_tax_name: Mapped[str] = mapped_column(String(200), default="")

    connection: Mapped[LedgerConnection] = relationship(back_populates="tax_mappings")


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
