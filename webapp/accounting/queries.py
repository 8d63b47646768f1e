"""Reads for the accounting screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from flask import current_app, url_for
from redis.exceptions import RedisError

from webapp.accounting import payloads
from webapp.accounting.interfaces import AccountPurpose, LedgerLists
from webapp.accounting.models import LedgerConnection
from webapp.extensions import db
from webapp.integrations.models import (
    ConnectionStatus,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationStatus,
    SyncLogEntry,
)
from webapp.models_base import utcnow
from webapp.pagination import page_of

PAGE_SIZE = 100


def connections() -> list[LedgerConnection]:
    return list(
        db.session.execute(db.select(LedgerConnection).order_by(LedgerConnection.id)).scalars()
    )


def ledger_lists(connection: LedgerConnection) -> LedgerLists:
    """Return the stored chart of accounts and tax rates (no vendor call: a job reads them)."""
    return LedgerLists.from_payload(
        connection.ledger_lists,
        error=connection.lists_error,
        read_at=connection.lists_read_at,
        pending=connection.lists_pending,
    )


def rate_budget(connection: LedgerConnection) -> dict[str, int]:
    """Return the calls left in each rate window (read from Redis, shared by web and workers)."""
    from webapp.accounting import operations
    from webapp.integrations import operations as core

    try:
        provider = operations.provider_for(connection)
        return core.limiter_for(str(connection.id), provider).budget()
    except RedisError:
        return {}


# Every document needs these; payables is optional (QuickBooks uses its default A/P account).
REQUIRED_PURPOSES = (
    AccountPurpose.INCOME,
    AccountPurpose.EXPENSE,
    AccountPurpose.SHIPPING,
    AccountPurpose.SURCHARGE,
    AccountPurpose.FREIGHT,
)


def missing_mappings(connection: LedgerConnection) -> list[str]:
    """Return what must be mapped before anything is pushed ("needs mapping" when not empty).

    The accounts every document may need and our default tax code (shipping, surcharge and
    most lines use it). Another unmapped tax code blocks only the documents that use it.
    """
    from webapp.sales.operations import default_tax_code

    missing = [
        f"{purpose.label} account"
        for purpose in REQUIRED_PURPOSES
        if connection.account_for(purpose) is None
    ]
    default = default_tax_code()
    mapping = connection.tax_for(default.code) if default is not None else None
    if default is not None and not (mapping and mapping.ledger_tax_id):
        missing.append(f"Tax rate for our default tax code {default.code}")
    purchases = connection.push_bills or connection.push_purchase_orders
    if default is not None and purchases and not (mapping and mapping.purchase_tax_id):
        # Bills and POs carry a purchase tax type on every line (freight at the default code).
        missing.append(f"Tax rate on purchases for our default tax code {default.code}")
    return missing


def our_tax_codes():
    from webapp.catalog.models import TaxCode

    return list(db.session.execute(db.select(TaxCode).order_by(TaxCode.code)).scalars())


def attention(limit: int = 5) -> tuple[int, list[Notification]]:
    """Return how many integration notices are open and the newest few (the dashboard)."""
    count = db.session.scalar(
        db.select(db.func.count())
        .select_from(Notification)
        .where(Notification.status == NotificationStatus.OPEN)
    )
    return count or 0, open_notifications(limit)


def open_notifications(limit: int = 200) -> list[Notification]:
    return list(
        db.session.execute(
            db.select(Notification)
            .filter_by(status=NotificationStatus.OPEN)
            .order_by(Notification.id.desc())
            .limit(limit)
        ).scalars()
    )


def myob_export_endpoint() -> str | None:
    """Return the MYOB/ERP export endpoint when the reports package provides one."""
    for endpoint in ("reports_admin.erp_exports", "reports_admin.index"):
        if endpoint in current_app.view_functions:
            return endpoint
    return None


def sync_log(
    connection_id: int | None,
    only_errors: bool,
    page: int,
    subject: tuple[str, int] | None = None,
):
    """The log, newest first; filtered by connection, by document (type and id), by outcome."""
    query = db.select(SyncLogEntry).order_by(SyncLogEntry.id.desc())
    if connection_id:
        query = query.where(SyncLogEntry.connection_id == connection_id)
    if subject is not None:
        query = query.where(
            SyncLogEntry.subject_type == subject[0], SyncLogEntry.subject_id == subject[1]
        )
    if only_errors:
        query = query.where(SyncLogEntry.ok.is_(False))
    return page_of(query, page, PAGE_SIZE)


# Our admin page for each kind of subject (the endpoint and its id argument).
_SUBJECT_PAGES = {
    payloads.SALES_DOCUMENT: ("sales_admin.order_detail", "document_id"),
    payloads.PURCHASE_ORDER: ("purchasing_admin.purchase_order", "po_id"),
    payloads.RECEIPT: ("purchasing_admin.receipt", "receipt_id"),
}
SUBJECT_TYPES = frozenset(_SUBJECT_PAGES)  # what the sync log can be filtered to
# The PSA's subjects too (webapp.psa.sync): a quote, with one subject per re-sync of it
# ("quote_sent_v2", "quote_won"), an order sent as a won opportunity, an organisation.
_PAGES = {
    **_SUBJECT_PAGES,
    "quote": ("quotes_admin.detail", "quote_id"),
    "won_sale": ("sales_admin.order_detail", "document_id"),
    payloads.ORGANIZATION: ("organizations_admin.detail", "organization_id"),
}


def subject_url(delivery: Delivery) -> str | None:
    """Return our admin page for the delivery's subject, when there is one."""
    kind = "quote" if delivery.subject_type.startswith("quote_") else delivery.subject_type
    endpoint, arg = _PAGES.get(kind, (None, None))
    if endpoint is None or endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **{arg: delivery.subject_id})


@dataclass
class LedgerState:
    delivery: Delivery
    link: object | None
    notification: Notification | None


def document_states(document) -> list[LedgerState]:
    """Return the sync state of a sales document per ledger (admin order panel)."""
    return record_states(payloads.SALES_DOCUMENT, [document.id])


def record_states(subject_type: str, subject_ids: list[int]) -> list[LedgerState]:
    """Return the sync state per ledger of our records (a PO, its receipts' bills…)."""
    if not subject_ids:
        return []
    rows = []
    for delivery in db.session.execute(
        db.select(Delivery)
        .where(Delivery.subject_type == subject_type, Delivery.subject_id.in_(subject_ids))
        .order_by(Delivery.subject_id, Delivery.connection_id, Delivery.id)
    ).scalars():
        note = db.session.execute(
            db.select(Notification)
            .filter_by(delivery_id=delivery.id, status=NotificationStatus.OPEN)
            .limit(1)
        ).scalar_one_or_none()
        rows.append(
            LedgerState(
                delivery,
                payloads.link_for(delivery.connection_id, subject_type, delivery.subject_id),
                note,
            )
        )
    return rows


# -- live status (the polling fragments and `flask accounting status`) --------------------------


@dataclass
class SyncStatus:
    """Deliveries of one connection by state, for the live status."""

    connection: LedgerConnection
    pending: int = 0
    waiting: int = 0
    sending: int = 0
    failed: int = 0
    confirmed_today: int = 0

    @property
    def busy(self) -> bool:
        """True while the connection has work moving (pending or being sent)."""
        # A connection that needs a reconnect sends nothing: watching it would poll forever.
        connected = self.connection.status == ConnectionStatus.CONNECTED
        return connected and bool(self.pending or self.sending)


def sync_status(connection_id: int | None = None) -> list[SyncStatus]:
    """Count each connection's deliveries by state (confirmed: since midnight UTC)."""
    rows = [c for c in connections() if connection_id is None or c.id == connection_id]
    out = {c.id: SyncStatus(c) for c in rows}
    attribute = {
        DeliveryStatus.PENDING: "pending",
        DeliveryStatus.WAITING: "waiting",
        DeliveryStatus.SENT: "sending",
        DeliveryStatus.FAILED: "failed",
    }
    query = (
        db.select(Delivery.connection_id, Delivery.status, db.func.count())
        .where(Delivery.status.in_(attribute), Delivery.connection_id.in_(out))
        .group_by(Delivery.connection_id, Delivery.status)
    )
    for row_connection, status, count in db.session.execute(query):
        setattr(out[row_connection], attribute[DeliveryStatus(status)], count)
    midnight = datetime.combine(utcnow().date(), time.min, tzinfo=UTC)
    confirmed = (
        db.select(Delivery.connection_id, db.func.count())
        .where(
            Delivery.status == DeliveryStatus.CONFIRMED,
            Delivery.confirmed_at >= midnight,
            Delivery.connection_id.in_(out),
        )
        .group_by(Delivery.connection_id)
    )
    for row_connection, count in db.session.execute(confirmed):
        out[row_connection].confirmed_today = count
    return list(out.values())


def document_busy(states: list[LedgerState]) -> bool:
    """True while one of the document's deliveries may still move without an admin."""
    for state in states:
        delivery = state.delivery
        if delivery.connection.status != ConnectionStatus.CONNECTED:
            continue
        if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENT):
            return True
        # Waiting on a failed prerequisite stays put until someone presses Retry.
        if delivery.status == DeliveryStatus.WAITING and not any(
            d.status == DeliveryStatus.FAILED for d in delivery.depends_on
        ):
            return True
    return False


def failed_ids(connection_id: int) -> set[int]:
    """Return the ids of the connection's failed deliveries."""
    return set(
        db.session.execute(
            db.select(Delivery.id).filter_by(
                connection_id=connection_id, status=DeliveryStatus.FAILED
            )
        ).scalars()
    )


def due_count(connection_id: int) -> int:
    """Count open deliveries a sync could settle now (not backing off after a fault)."""
    now = utcnow()
    return db.session.execute(
        db.select(db.func.count())
        .select_from(Delivery)
        .where(
            Delivery.connection_id == connection_id,
            Delivery.status.in_(
                (DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.WAITING)
            ),
            db.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
    ).scalar_one()


def confirmed_since(connection_id: int, since: datetime) -> int:
    """Count the connection's deliveries confirmed at or after ``since``."""
    return db.session.execute(
        db.select(db.func.count())
        .select_from(Delivery)
        .where(
            Delivery.connection_id == connection_id,
            Delivery.status == DeliveryStatus.CONFIRMED,
            Delivery.confirmed_at >= since,
        )
    ).scalar_one()
