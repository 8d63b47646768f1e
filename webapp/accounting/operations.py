"""Accounting rules: connections, mappings, notifications, sync log, payments import.

Operations flush, never commit (the outbox job commits at its documented safe points).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from webapp.accounting.interfaces import (
    AccountingProvider,
    AccountPurpose,
    CancelAction,
    LedgerDocumentStatus,
    LedgerTenant,
    Numbering,
)
from webapp.accounting.models import (
    AccountMapping,
    ImportedPayment,
    LedgerConnection,
    LedgerProvider,
    TaxMapping,
)
from webapp.accounting.providers import provider_class
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import IntegrationError, TokenSet
from webapp.integrations.models import ExternalLink, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.integrations.outbox import schedule_sync
from webapp.integrations.secrets import write_tokens
from webapp.models_base import utcnow

log = logging.getLogger(__name__)
# A payments read starts this long before the previous one ended (clock skew, overlap).
READ_OVERLAP = timedelta(hours=1)


# -- connections -----------------------------------------------------------------------------


def provider_for(connection: LedgerConnection) -> type[AccountingProvider]:
    return provider_class(connection.provider)


def active_connections() -> list[LedgerConnection]:
    """Return ledgers that receive work (connected, or waiting for a reconnect)."""
    return core.active_connections(LedgerConnection)


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
    write_tokens(connection, tokens)
    core.mark_connected(connection, actor)
    note_mappings(connection, quiet=True)  # the page the admin lands on lists what is missing
    schedule_sync(connection)
    request_lists_refresh(connection)
    return connection


def note_mappings(connection: LedgerConnection, *, quiet: bool = False) -> None:
    """Store "needs mapping" (or clear it) from what is missing now; nothing pushes until clear."""
    from webapp.accounting.queries import missing_mappings

    db.session.flush()  # mappings just added or removed are part of the check
    core.note_mappings(connection, missing_mappings(connection), quiet=quiet)


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

    label = connection.provider_label
    try:
        lists = LedgerLists(provider.list_accounts(), provider.list_tax_rates())
    except NeedsReconnect:
        connection.lists_error = f"{label} must be reconnected before its lists can be read."
        connection.lists_read_at = utcnow()
        raise
    except IntegrationError as exc:
        connection.lists_error = f"{label} lists unavailable: {exc.message}"
        connection.lists_read_at = utcnow()
        core.log_sync(
            connection, SyncDirection.PULL, "lists", ok=False, message=connection.lists_error
        )
        return False
    connection.ledger_lists = lists.to_payload()
    connection.lists_read_at = utcnow()
    connection.lists_error = ""
    core.log_sync(
        connection,
        SyncDirection.PULL,
        "lists",
        message=f"Read {len(lists.accounts)} accounts and {len(lists.tax_rates)} tax rates.",
    )
    return True


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
        raise IntegrationRuleError(f"{connection.provider_label} does not take purchase orders.")
    if cancel_action != CancelAction.VOID and connection.provider != LedgerProvider.XERO:
        raise IntegrationRuleError(
            f"{connection.provider_label} always voids the invoice of a cancelled document."
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
    connection: LedgerConnection,
    tax_code: str,
    ledger_tax_id: str,
    ledger_tax_name: str,
    *,
    purchases: bool = False,
) -> None:
    """Map our tax code to a ledger tax rate on sales (or, ``purchases``, on bills); "" unmaps."""
    mapping = connection.tax_for(tax_code)
    if mapping is None:
        if not ledger_tax_id:
            return
        mapping = TaxMapping(tax_code=tax_code, ledger_tax_id="")
        connection.tax_mappings.append(mapping)
    if purchases:
        mapping.purchase_tax_id, mapping.purchase_tax_name = ledger_tax_id, ledger_tax_name
    else:
        mapping.ledger_tax_id, mapping.ledger_tax_name = ledger_tax_id, ledger_tax_name
    if not mapping.ledger_tax_id and not mapping.purchase_tax_id:
        connection.tax_mappings.remove(mapping)


# -- payments --------------------------------------------------------------------------------


def import_payments(
    connection: LedgerConnection, provider: AccountingProvider, since: datetime
) -> int:
    """Record new payments from the ledger; update amount_paid / payment_status; return count."""
    from webapp.accounting.payloads import SALES_DOCUMENT
    from webapp.sales import operations as sales_operations
    from webapp.sales.models import SalesDocument

    since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    last_read = connection.payments_synced_until
    if last_read is not None and last_read - READ_OVERLAP < since:
        # The previous read ended before this window starts (the worker stood still): read
        # from there, so that nothing changed or deleted meanwhile is missed.
        since = last_read - READ_OVERLAP
    payments = provider.fetch_payments(
        since, last_read=last_read, counted=_counted_payments(connection)
    )
    invoice_ids = {p.invoice_ledger_id for p in payments}
    links = {}
    if invoice_ids:
        links = {
            link.remote_id: link.subject_id
            for link in db.session.execute(
                db.select(ExternalLink).where(
                    ExternalLink.connection_id == connection.id,
                    ExternalLink.subject_type == SALES_DOCUMENT,
                    ExternalLink.remote_id.in_(invoice_ids),
                )
            ).scalars()
        }
    known = {
        row.ledger_payment_id: row
        for row in db.session.execute(
            db.select(ImportedPayment).where(
                ImportedPayment.connection_id == connection.id,
                ImportedPayment.ledger_payment_id.in_([p.ledger_payment_id for p in payments]),
            )
        ).scalars()
    }
    touched: set[int] = set()
    added = overpaid = 0
    deleted = [p.ledger_payment_id for p in payments if p.deleted]
    unallocated = [p.ledger_payment_id for p in payments if p.unallocated]
    payments = [p for p in payments if not (p.deleted or p.unallocated)]
    read = {p.ledger_payment_id for p in payments}
    # A payment read lists every part of it ("<payment>:<invoice>", ...): a part imported
    # before and no longer listed (the payment moved to another invoice, an allocation
    # removed) stops counting, as does every part of a deleted payment or of one applied to
    # no invoice now. Kept at zero, so a re-read of the deletion changes nothing.
    parted = {i.split(":", 1)[0] for i in read if ":" in i}
    for row in _allocations_of(connection, deleted + unallocated + sorted(parted)):
        if row.ledger_payment_id not in read and row.amount != 0:
            row.amount = Decimal("0.00")
            touched.add(row.sales_document_id)
    for payment in payments:
        document_id = links.get(payment.invoice_ledger_id)
        if document_id is None:
            continue
        if payment.overpayment and payment.amount > 0:
            overpaid += 1
        row = known.get(payment.ledger_payment_id)
        if row is not None:
            # Read again because it changed in the ledger (an overpayment's credit applied
            # elsewhere, a payment edited): the amount is the ledger's, never added twice.
            if row.amount != payment.amount:
                row.amount = payment.amount
                touched.add(row.sales_document_id)
            continue
        if payment.amount <= 0:
            continue
        known[payment.ledger_payment_id] = row = ImportedPayment(
            connection_id=connection.id,
            ledger_payment_id=payment.ledger_payment_id,
            invoice_ledger_id=payment.invoice_ledger_id,
            sales_document_id=document_id,
            amount=payment.amount,
            paid_on=payment.paid_on,
        )
        db.session.add(row)
        touched.add(document_id)
        added += 1
    db.session.flush()
    for document_id in sorted(touched):
        # A document's payments come from the ledger it was first invoiced in; with two
        # ledgers connected their payments are never summed together.
        of_record = db.session.execute(
            db.select(ExternalLink.connection_id)
            .where(
                ExternalLink.subject_type == SALES_DOCUMENT, ExternalLink.subject_id == document_id
            )
            .order_by(ExternalLink.created_at, ExternalLink.id)
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
        sales_operations.record_amount_paid(document, Decimal(paid).quantize(Decimal("0.01")))
    core.log_sync(
        connection,
        SyncDirection.PULL,
        "payments",
        message=f"{len(payments)} payment(s) read since {since:%Y-%m-%d}, {added} new, "
        f"{overpaid} overpayment(s), {len(deleted)} deleted, {len(unallocated)} applied to no "
        f"invoice, {len(touched)} document(s) updated.",
    )
    connection.payments_synced_until = utcnow()
    return added


def _counted_payments(connection: LedgerConnection) -> list[str]:
    """Return the ids of the ledger payments with a part counted on our documents now."""
    parts = db.session.execute(
        db.select(ImportedPayment.ledger_payment_id).where(
            ImportedPayment.connection_id == connection.id, ImportedPayment.amount != 0
        )
    ).scalars()
    return sorted({part.split(":", 1)[0] for part in parts})


def _allocations_of(connection: LedgerConnection, payment_ids: list[str]) -> list[ImportedPayment]:
    """Return the imported rows of these ledger payments (the id itself, or "<id>:..." rows)."""
    rows: list[ImportedPayment] = []
    for start in range(0, len(payment_ids), 200):  # SQLite: an OR tree at most 1000 deep
        ids = payment_ids[start : start + 200]
        rows += db.session.execute(
            db.select(ImportedPayment)
            .where(
                ImportedPayment.connection_id == connection.id,
                db.or_(
                    ImportedPayment.ledger_payment_id.in_(ids),
                    *(
                        ImportedPayment.ledger_payment_id.startswith(f"{i}:", autoescape=True)
                        for i in ids
                    ),
                ),
            )
            .order_by(ImportedPayment.id)
        ).scalars()
    return rows


def default_payment_window_start(now: datetime | None = None) -> datetime:
    """Return the start of the default import window: the last month (BMS seed)."""
    return (now or utcnow()) - timedelta(days=31)
