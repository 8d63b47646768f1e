"""Reads for the accounting screens."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, url_for

from webapp.accounting import payloads
from webapp.accounting.interfaces import AccountingError, LedgerAccount, LedgerTaxRate
from webapp.accounting.models import (
    AccountingNotification,
    Delivery,
    DeliveryStatus,
    LedgerConnection,
    NotificationStatus,
    SyncLogEntry,
)
from webapp.extensions import db

PAGE_SIZE = 100


def connections() -> list[LedgerConnection]:
    return list(
        db.session.execute(db.select(LedgerConnection).order_by(LedgerConnection.id)).scalars()
    )


@dataclass
class LedgerLists:
    """Chart of accounts and tax rates, pulled live from the ledger."""

    accounts: list[LedgerAccount] = field(default_factory=list)
    tax_rates: list[LedgerTaxRate] = field(default_factory=list)
    error: str = ""

    def accounts_for(self, purpose) -> list[LedgerAccount]:
        fitting = [a for a in self.accounts if purpose in a.purposes]
        return fitting or self.accounts


def ledger_lists(connection: LedgerConnection) -> LedgerLists:
    """Read the lists live; a vendor fault becomes a message, not a 500."""
    from webapp.accounting import operations

    provider, _http = operations.build_provider(connection, save=db.session.flush)
    try:
        return LedgerLists(provider.list_accounts(), provider.list_tax_rates())
    except AccountingError as exc:
        return LedgerLists(error=f"{connection.provider.label} lists unavailable: {exc.message}")


def our_tax_codes():
    from webapp.catalog.models import TaxCode

    return list(db.session.execute(db.select(TaxCode).order_by(TaxCode.code)).scalars())


def open_notifications() -> list[AccountingNotification]:
    return list(
        db.session.execute(
            db.select(AccountingNotification)
            .filter_by(status=NotificationStatus.OPEN)
            .order_by(AccountingNotification.id.desc())
            .limit(200)
        ).scalars()
    )


def health(rows: list[LedgerConnection]) -> dict[int, dict[str, int]]:
    """Count deliveries per status for each connection."""
    out: dict[int, dict[str, int]] = {c.id: {} for c in rows}
    for connection_id, status, count in db.session.execute(
        db.select(Delivery.connection_id, Delivery.status, db.func.count()).group_by(
            Delivery.connection_id, Delivery.status
        )
    ):
        out.setdefault(connection_id, {})[DeliveryStatus(status).value] = count
    return out


def myob_export_endpoint() -> str | None:
    """Return the MYOB/ERP export endpoint when the reports package provides one."""
    for endpoint in ("reports_admin.erp_exports", "reports_admin.index"):
        if endpoint in current_app.view_functions:
            return endpoint
    return None


def sync_log(connection_id: int | None, only_errors: bool, page: int):
    query = db.select(SyncLogEntry).order_by(SyncLogEntry.id.desc())
    if connection_id:
        query = query.where(SyncLogEntry.connection_id == connection_id)
    if only_errors:
        query = query.where(SyncLogEntry.ok.is_(False))
    rows = list(
        db.session.execute(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).scalars()
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def subject_url(delivery: Delivery) -> str | None:
    """Return our admin page for the delivery's subject, when there is one."""
    if (
        delivery.subject_type == payloads.SALES_DOCUMENT
        and "sales_admin.order_detail" in current_app.view_functions
    ):
        return url_for("sales_admin.order_detail", document_id=delivery.subject_id)
    return None


@dataclass
class LedgerState:
    delivery: Delivery
    link: object | None
    notification: AccountingNotification | None


def document_states(document) -> list[LedgerState]:
    """Return the sync state of a sales document per ledger (admin order panel)."""
    rows = []
    for delivery in db.session.execute(
        db.select(Delivery)
        .filter_by(subject_type=payloads.SALES_DOCUMENT, subject_id=document.id)
        .order_by(Delivery.connection_id)
    ).scalars():
        note = db.session.execute(
            db.select(AccountingNotification)
            .filter_by(delivery_id=delivery.id, status=NotificationStatus.OPEN)
            .limit(1)
        ).scalar_one_or_none()
        rows.append(
            LedgerState(
                delivery,
                payloads.link_for(delivery.connection_id, payloads.SALES_DOCUMENT, document.id),
                note,
            )
        )
    return rows
