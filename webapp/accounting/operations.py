"""Accounting rules: connections, mappings, notifications, sync log, payments import.

Operations flush, never commit (the outbox job commits at its documented safe points).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app

from webapp import signals
from webapp.accounting.interfaces import (
    AccountingProvider,
    AccountPurpose,
    CancelAction,
    LedgerDocumentStatus,
    LedgerTenant,
    Numbering,
)
from webapp.accounting.models import (
    AccountingNotification,
    AccountMapping,
    ConnectionStatus,
    Delivery,
    ImportedPayment,
    LedgerConnection,
    LedgerLink,
    LedgerProvider,
    NotificationStatus,
    SyncDirection,
    SyncLogEntry,
    TaxMapping,
)
from webapp.accounting.providers import provider_class
from webapp.extensions import db
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import (
    ConnectionContext,
    IntegrationError,
    TokenSet,
)
from webapp.integrations.locks import redis_lock
from webapp.integrations.oauth import ConnectionTokens
from webapp.integrations.ratelimit import ConnectionLimiter
from webapp.integrations.secrets import forget_tokens, write_tokens
from webapp.models_base import utcnow

log = logging.getLogger(__name__)


class AccountingRuleError(Exception):
    """An admin action that is not allowed; ``message`` is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- connections -----------------------------------------------------------------------------

# The cause of the notice a lost grant opens; a reconnect closes it.
RECONNECT = "reconnect"


def provider_for(connection: LedgerConnection) -> type[AccountingProvider]:
    return provider_class(connection.provider.value)


def active_connections() -> list[LedgerConnection]:
    """Return connections that receive work (connected, or waiting for a reconnect)."""
    return list(
        db.session.execute(
            db.select(LedgerConnection)
            .where(LedgerConnection.status != ConnectionStatus.DISCONNECTED)
            .order_by(LedgerConnection.id)
        ).scalars()
    )


def save_connection(
    provider: str, tenant: LedgerTenant, tokens: TokenSet, actor
) -> LedgerConnection:
    """Create or reconnect the connection for ``tenant``; queue the work that waited."""
    kind = LedgerProvider(provider)
    connection = db.session.execute(
        db.select(LedgerConnection).filter_by(provider=kind, tenant_id=tenant.id)
    ).scalar_one_or_none()
    if connection is None:
        connection = LedgerConnection(provider=kind, tenant_id=tenant.id)
        db.session.add(connection)
    connection.tenant_name = tenant.name
    connection.vendor_connection_id = tenant.connection_id
    connection.status = ConnectionStatus.CONNECTED
    connection.connected_by_id = getattr(actor, "id", None)
    connection.last_error = ""
    write_tokens(connection, tokens)
    db.session.flush()
    resolve_cause(connection, RECONNECT)
    log_sync(connection, SyncDirection.PULL, "connect", message=f"Connected {connection.label}.")
    from webapp.accounting import outbox

    outbox.schedule_sync(connection)
    request_lists_refresh(connection)
    return connection


def request_lists_refresh(connection: LedgerConnection) -> None:
    """Queue a read of the ledger's accounts and tax rates (after commit; the page polls)."""
    from webapp.jobs import enqueue_after_commit

    connection.lists_requested_at = utcnow()
    enqueue_after_commit("workers.accounting.refresh_lists", connection.id)


def refresh_lists(connection: LedgerConnection, provider: AccountingProvider) -> bool:
    """Read and store the chart of accounts and tax rates; return whether it worked.

    A vendor fault is kept as ``lists_error`` beside the lists read last time (mappings stay
    choosable); a lost grant raises ``NeedsReconnect`` after marking the connection.
    """
    from webapp.accounting.interfaces import LedgerLists
    from webapp.integrations.interfaces import NeedsReconnect

    label = connection.provider.label
    try:
        lists = LedgerLists(provider.list_accounts(), provider.list_tax_rates())
    except NeedsReconnect:
        connection.lists_error = f"{label} must be reconnected before its lists can be read."
        connection.lists_read_at = utcnow()
        raise
    except IntegrationError as exc:
        connection.lists_error = f"{label} lists unavailable: {exc.message}"
        connection.lists_read_at = utcnow()
        log_sync(connection, SyncDirection.PULL, "lists", ok=False, message=connection.lists_error)
        return False
    connection.ledger_lists = lists.to_payload()
    connection.lists_read_at = utcnow()
    connection.lists_error = ""
    log_sync(
        connection,
        SyncDirection.PULL,
        "lists",
        message=f"Read {len(lists.accounts)} accounts and {len(lists.tax_rates)} tax rates.",
    )
    return True


def mark_needs_reconnect(connection: LedgerConnection, message: str) -> None:
    """The grant is gone: show "reconnect", keep every delivery queued, tell the admins."""
    already = connection.status == ConnectionStatus.NEEDS_RECONNECT
    connection.status = ConnectionStatus.NEEDS_RECONNECT
    note_error(connection, message)
    if not already:
        notify(
            connection,
            None,
            f"{connection.label} must be reconnected",
            message,
            field="Connection",
            fix="Open Settings > Integrations and press Reconnect; queued work is sent then.",
            cause=RECONNECT,
        )
    db.session.flush()


def note_error(connection: LedgerConnection, message: str) -> None:
    connection.last_error = message[:2000]
    connection.last_error_at = utcnow()


def disconnect(connection: LedgerConnection, actor) -> None:
    """Revoke the grant at the vendor (best effort) and forget the tokens."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise AccountingRuleError(f"{connection.label} is already disconnected.")
    if connection.token_ciphertext:
        try:
            provider, _http = build_provider(connection, save=db.session.flush, limited=False)
            from webapp.integrations.secrets import read_tokens

            provider.revoke(read_tokens(connection))
        except IntegrationError as exc:
            # The tokens are forgotten either way; a dead grant cannot be revoked twice.
            log.warning("revoking %s failed: %s", connection.label, exc)
    forget_tokens(connection)
    connection.status = ConnectionStatus.DISCONNECTED
    log_sync(connection, SyncDirection.PUSH, "disconnect", message=f"Disconnected by {actor}.")
    db.session.flush()


def update_options(
    connection: LedgerConnection,
    *,
    bill_status: LedgerDocumentStatus,
    invoice_status: LedgerDocumentStatus,
    numbering: Numbering,
    push_bills: bool,
    push_invoices: bool,
    push_purchase_orders: bool,
    cancel_action: CancelAction = CancelAction.VOID,
) -> None:
    from webapp.accounting.interfaces import DeliveryKind

    if (
        push_purchase_orders
        and DeliveryKind.PURCHASE_ORDER not in provider_for(connection).supports
    ):
        raise AccountingRuleError(f"{connection.provider.label} does not take purchase orders.")
    if cancel_action != CancelAction.VOID and connection.provider != LedgerProvider.XERO:
        raise AccountingRuleError(
            f"{connection.provider.label} always voids the invoice of a cancelled document."
        )
    connection.cancel_action = cancel_action
    connection.bill_status = bill_status
    connection.invoice_status = invoice_status
    connection.numbering = numbering
    connection.push_bills = push_bills
    connection.push_invoices = push_invoices
    connection.push_purchase_orders = push_purchase_orders
    db.session.flush()


def set_account_mapping(
    connection: LedgerConnection, purpose: AccountPurpose, account_id: str, account_name: str
) -> None:
    mapping = connection.account_for(purpose)
    if not account_id:
        if mapping is not None:
            connection.account_mappings.remove(mapping)
        return
    if mapping is None:
        mapping = AccountMapping(purpose=purpose, ledger_account_id=account_id)
        connection.account_mappings.append(mapping)
    mapping.ledger_account_id = account_id
    mapping.ledger_account_name = account_name


def set_tax_mapping(
    connection: LedgerConnection, tax_code: str, ledger_tax_id: str, ledger_tax_name: str
) -> None:
    mapping = connection.tax_for(tax_code)
    if not ledger_tax_id:
        if mapping is not None:
            connection.tax_mappings.remove(mapping)
        return
    if mapping is None:
        mapping = TaxMapping(tax_code=tax_code, ledger_tax_id=ledger_tax_id)
        connection.tax_mappings.append(mapping)
    mapping.ledger_tax_id = ledger_tax_id
    mapping.ledger_tax_name = ledger_tax_name


# -- building a provider ---------------------------------------------------------------------


def limiter_for(connection_key: str, provider: type[AccountingProvider]) -> ConnectionLimiter:
    from webapp.jobs import redis_conn

    return ConnectionLimiter(
        redis_conn(),
        connection_key,
        provider.rate_limit,
        max_wait=float(current_app.config.get("ACCOUNTING_LIMITER_MAX_WAIT", 120)),
    )


def build_provider(
    connection: LedgerConnection,
    *,
    save: Callable[[], None],
    limited: bool = True,
    on_call=None,
) -> tuple[AccountingProvider, IntegrationHttp]:
    """Return the provider for a stored connection and the HTTP channel it uses."""
    cls = provider_for(connection)
    config = current_app.config
    tokens = ConnectionTokens(
        connection,
        cls,
        config,
        save=save,
        lock=lambda: redis_lock(f"refresh:{connection.id}"),
        on_needs_reconnect=lambda message: mark_needs_reconnect(connection, message),
        reload=lambda: db.session.refresh(connection),
    )
    http = IntegrationHttp(
        tokens,
        gate=limiter_for(str(connection.id), cls) if limited else None,
        timeout=float(config.get("ACCOUNTING_HTTP_TIMEOUT", 30)),
        on_call=on_call,
        vendor=cls.label,
        allow_http=bool(config.get("INTEGRATIONS_ALLOW_HTTP")),
    )
    ctx = ConnectionContext(
        connection_id=connection.id,
        tenant_id=connection.tenant_id,
        tenant_name=connection.tenant_name,
        api_base=config[cls.oauth.api_base_key],
        http=http,
        config=config,
        options={"vendor_connection_id": connection.vendor_connection_id},
    )
    return cls(ctx), http


# -- notifications and the sync log ----------------------------------------------------------


def notify(
    connection: LedgerConnection | None,
    delivery: Delivery | None,
    title: str,
    message: str,
    *,
    field: str = "",
    fix: str = "",
    cause: str = "",
) -> AccountingNotification:
    """Open (or refresh) the admin notification for a failure.

    One open notice per delivery, and one per (connection, cause) for connection-wide causes;
    ``resolve_cause`` closes the latter when the cause is gone.
    """
    existing = None
    if delivery is not None:
        existing = db.session.execute(
            db.select(AccountingNotification).filter_by(
                delivery_id=delivery.id, status=NotificationStatus.OPEN
            )
        ).scalar_one_or_none()
    elif cause and connection is not None and connection.id is not None:
        existing = db.session.execute(
            db.select(AccountingNotification).filter_by(
                connection_id=connection.id, cause=cause, status=NotificationStatus.OPEN
            )
        ).scalar_one_or_none()
    note = existing or AccountingNotification(connection=connection, delivery=delivery, cause=cause)
    note.title = title[:300]
    note.message = message
    note.field = field[:200]
    note.fix = fix
    db.session.add(note)
    return note


def resolve_notifications(delivery: Delivery) -> None:
    for note in db.session.execute(
        db.select(AccountingNotification).filter_by(
            delivery_id=delivery.id, status=NotificationStatus.OPEN
        )
    ).scalars():
        note.status = NotificationStatus.RESOLVED
        note.resolved_at = utcnow()


def resolve_cause(connection: LedgerConnection, cause: str) -> None:
    """Close the connection's open notices of ``cause``: it is gone (e.g. reconnected)."""
    for note in db.session.execute(
        db.select(AccountingNotification).filter_by(
            connection_id=connection.id, cause=cause, status=NotificationStatus.OPEN
        )
    ).scalars():
        note.status = NotificationStatus.RESOLVED
        note.resolved_at = utcnow()


def dismiss_notification(note: AccountingNotification) -> None:
    note.status = NotificationStatus.RESOLVED
    note.resolved_at = utcnow()


def log_sync(
    connection: LedgerConnection | None,
    direction: SyncDirection,
    kind: str,
    *,
    delivery: Delivery | None = None,
    ok: bool = True,
    message: str = "",
    ledger_id: str = "",
) -> None:
    db.session.add(
        SyncLogEntry(
            connection=connection,
            direction=direction,
            kind=kind,
            subject_type=delivery.subject_type if delivery else "",
            subject_id=delivery.subject_id if delivery else None,
            delivery_id=delivery.id if delivery else None,
            ok=ok,
            message=message[:2000],
            ledger_id=ledger_id,
        )
    )


def retry_delivery(delivery: Delivery, actor) -> None:
    """Re-queue a failed delivery after the admin fixed the cause (new idempotency key)."""
    from webapp.accounting.outbox import DELIVERY

    if not DELIVERY.can(delivery, "retry"):
        raise AccountingRuleError("Only failed deliveries can be retried.")
    DELIVERY.fire(delivery, "retry")
    # A new key: the vendor replays a stored rejection for a key it has seen.
    delivery.generation += 1
    delivery.next_attempt_at = None
    delivery.last_error = ""
    delivery.error_field = ""
    delivery.error_fix = ""
    resolve_notifications(delivery)
    log_sync(
        delivery.connection,
        SyncDirection.PUSH,
        delivery.kind.value,
        delivery=delivery,
        message=f"Retry requested by {actor}.",
    )
    from webapp.accounting import outbox

    outbox.schedule_sync(delivery.connection)
    db.session.flush()


# -- payments --------------------------------------------------------------------------------


def import_payments(
    connection: LedgerConnection, provider: AccountingProvider, since: datetime
) -> int:
    """Record new payments from the ledger; update amount_paid / payment_status; return count."""
    from webapp.accounting.payloads import SALES_DOCUMENT
    from webapp.sales.models import PaymentStatus, SalesDocument

    payments = provider.fetch_payments(since)
    invoice_ids = {p.invoice_ledger_id for p in payments}
    links = {}
    if invoice_ids:
        links = {
            link.ledger_id: link.subject_id
            for link in db.session.execute(
                db.select(LedgerLink).where(
                    LedgerLink.connection_id == connection.id,
                    LedgerLink.subject_type == SALES_DOCUMENT,
                    LedgerLink.ledger_id.in_(invoice_ids),
                )
            ).scalars()
        }
    known = set(
        db.session.execute(
            db.select(ImportedPayment.ledger_payment_id).where(
                ImportedPayment.connection_id == connection.id,
                ImportedPayment.ledger_payment_id.in_([p.ledger_payment_id for p in payments]),
            )
        ).scalars()
    )
    touched: set[int] = set()
    added = 0
    for payment in payments:
        document_id = links.get(payment.invoice_ledger_id)
        if document_id is None or payment.ledger_payment_id in known:
            continue
        known.add(payment.ledger_payment_id)
        db.session.add(
            ImportedPayment(
                connection_id=connection.id,
                ledger_payment_id=payment.ledger_payment_id,
                invoice_ledger_id=payment.invoice_ledger_id,
                sales_document_id=document_id,
                amount=payment.amount,
                paid_on=payment.paid_on,
            )
        )
        touched.add(document_id)
        added += 1
    db.session.flush()
    for document_id in sorted(touched):
        # A document's payments come from the ledger it was first invoiced in; with two
        # ledgers connected their payments are never summed together.
        of_record = db.session.execute(
            db.select(LedgerLink.connection_id)
            .where(LedgerLink.subject_type == SALES_DOCUMENT, LedgerLink.subject_id == document_id)
            .order_by(LedgerLink.created_at, LedgerLink.id)
            .limit(1)
        ).scalar_one()
        if of_record != connection.id:
            continue
        document = db.session.get(SalesDocument, document_id)
        paid = db.session.execute(
            db.select(db.func.coalesce(db.func.sum(ImportedPayment.amount), 0)).where(
                ImportedPayment.sales_document_id == document_id,
                ImportedPayment.connection_id == connection.id,
            )
        ).scalar_one()
        paid = Decimal(paid).quantize(Decimal("0.01"))
        status = (
            PaymentStatus.PAID
            if paid >= document.total
            else PaymentStatus.PARTIALLY_PAID
            if paid > 0
            else PaymentStatus.UNPAID
        )
        if paid != document.amount_paid or status != document.payment_status:
            document.amount_paid = paid
            document.payment_status = status
            signals.sales_document_payment_changed.send(document)
    log_sync(
        connection,
        SyncDirection.PULL,
        "payments",
        message=f"{len(payments)} payment(s) read since {since:%Y-%m-%d}, {added} new, "
        f"{len(touched)} document(s) updated.",
    )
    connection.payments_synced_until = utcnow()
    return added


def default_payment_window_start(now: datetime | None = None) -> datetime:
    """Return the start of the default import window: the last month (BMS seed)."""
    return (now or utcnow()) - timedelta(days=31)
