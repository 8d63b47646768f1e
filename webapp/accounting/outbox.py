"""The accounting outbox: delivery rows written in the business transaction, pushed in batches.

Writing (called by subscribers, inside the sender's unit of work): ``queue_invoice``,
``queue_bill``, ``queue_purchase_order`` add one delivery per active ledger, plus deliveries
for the customer / items / supplier the ledger does not hold yet; the document's delivery
depends on them and waits instead of failing. One job per connection is enqueued after commit.

Sending (``run_sync``, from workers.accounting): picks ready deliveries of one connection in
dependency order, hands the provider batches of up to ``max_batch``, and records one attempt
per delivery. Exactly-once rests on three things: the vendor idempotency key derived from the
delivery (``Delivery.request_key``), ``maybe_sent`` committed *before* each call (so a retry
after a lost response, a timeout or a killed worker looks the record up before creating it),
and one sync job per connection at a time (a Redis lock).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.accounting import operations, payloads
from webapp.accounting.interfaces import (
    AccountingProvider,
    DeliveryKind,
    PushResult,
)
from webapp.accounting.models import (
    AttemptOutcome,
    ConnectionStatus,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    LedgerConnection,
    LedgerLink,
    SyncDirection,
    delivery_dependencies,
)
from webapp.extensions import db
from webapp.integrations.interfaces import (
    NeedsReconnect,
    PermanentError,
    TransientError,
)
from webapp.jobs import enqueue_after_commit, schedule_after_commit
from webapp.models_base import utcnow
from webapp.statemachine import StateMachine, Transition

log = logging.getLogger(__name__)

# Prerequisites first: a document is only picked once what it references is confirmed.
KIND_ORDER = [
    DeliveryKind.SUPPLIER,
    DeliveryKind.CUSTOMER,
    DeliveryKind.ITEM,
    DeliveryKind.PURCHASE_ORDER,
    DeliveryKind.BILL,
    DeliveryKind.INVOICE,
    DeliveryKind.INVOICE_VOID,  # last: a void waits for the invoice it undoes
]
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.WAITING)
BACKOFF = [5, 30, 120, 600, 1800, 3600]

_P, _W, _S = DeliveryStatus.PENDING, DeliveryStatus.WAITING, DeliveryStatus.SENT
# Every status change of a delivery is one of these named steps (``DELIVERY.fire``).
DELIVERY = StateMachine(
    "delivery",
    DeliveryStatus,
    [
        # A prerequisite is not confirmed yet / now it is.
        Transition("wait", frozenset({_P, _S}), DeliveryStatus.WAITING),
        Transition("ready", frozenset({_W}), DeliveryStatus.PENDING),
        # Handed to the vendor; a send after a lost answer (still "sent") looks up first.
        Transition("send", frozenset({_P, _S}), DeliveryStatus.SENT),
        Transition("requeue", frozenset({_S}), DeliveryStatus.PENDING),  # transient, or reconnect
        Transition("confirm", frozenset({_S}), DeliveryStatus.CONFIRMED),
        Transition("fail", frozenset({_P, _S}), DeliveryStatus.FAILED),  # the vendor refused it
        Transition("retry", frozenset({DeliveryStatus.FAILED}), DeliveryStatus.PENDING),
        Transition(
            "cancel", frozenset({_P, _W, _S, DeliveryStatus.FAILED}), DeliveryStatus.CANCELLED
        ),
    ],
)


# ============================================================================================
# Writing deliveries (inside the business transaction)
# ============================================================================================


def schedule_sync(connection: LedgerConnection) -> None:
    """Enqueue one sync job for the connection after commit (once per transaction)."""
    scheduled = db.session.info.setdefault("accounting_sync_scheduled", set())
    if connection.id in scheduled:
        return
    scheduled.add(connection.id)
    enqueue_after_commit("workers.accounting.sync_connection", connection.id)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_schedule(session: Session) -> None:
    session.info.pop("accounting_sync_scheduled", None)


def ensure_delivery(
    connection: LedgerConnection,
    kind: DeliveryKind,
    subject_type: str,
    subject_id: int,
    depends_on: Iterable[Delivery] = (),
) -> Delivery:
    """Return the delivery for (connection, kind, subject), creating it once."""
    key = f"{connection.id}:{kind.value}:{subject_type}:{subject_id}"
    delivery = db.session.execute(
        db.select(Delivery).filter_by(idempotency_key=key)
    ).scalar_one_or_none()
    if delivery is None:
        delivery = Delivery(
            connection=connection,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            idempotency_key=key,
            status=DeliveryStatus.PENDING,
        )
        db.session.add(delivery)
    for dependency in depends_on:
        if dependency not in delivery.depends_on:
            delivery.depends_on.append(dependency)
    if any(d.status != DeliveryStatus.CONFIRMED for d in delivery.depends_on) and (
        delivery.status == DeliveryStatus.PENDING
    ):
        DELIVERY.fire(delivery, "wait")
    return delivery


def _prerequisite(
    connection: LedgerConnection, kind: DeliveryKind, subject_type: str, subject_id: int
) -> Delivery | None:
    """Return the delivery that must confirm first, or None when the ledger holds it."""
    if payloads.link_for(connection.id, subject_type, subject_id) is not None:
        return None
    return ensure_delivery(connection, kind, subject_type, subject_id)


def _connections(flag: str, kind: DeliveryKind) -> list[LedgerConnection]:
    found = []
    for connection in operations.active_connections():
        if not getattr(connection, flag):
            continue
        try:
            supported = kind in operations.provider_for(connection).supports
        except LookupError:
            continue
        if supported:
            found.append(connection)
    return found


def queue_invoice(document) -> list[Delivery]:
    """Queue the customer invoice for every ledger that takes invoices."""
    from webapp.sales.models import DocumentStatus

    out: list[Delivery] = []
    if document.status is DocumentStatus.CANCELLED:
        return out  # a cancelled document is never invoiced
    for connection in _connections("push_invoices", DeliveryKind.INVOICE):
        needs = [
            _prerequisite(
                connection, DeliveryKind.CUSTOMER, payloads.ORGANIZATION, document.organization_id
            )
        ]
        for product_id in sorted({ln.product_id for ln in document.lines if ln.product_id}):
            needs.append(_prerequisite(connection, DeliveryKind.ITEM, payloads.PRODUCT, product_id))
        if any(ln.product_id is None for ln in document.lines):
            needs.append(_charge(connection, payloads.SUNDRY_ITEM))
        if document.shipping_charge:
            needs.append(_charge(connection, payloads.FREIGHT_ITEM))
        if document.surcharge_amount:
            needs.append(_charge(connection, payloads.SURCHARGE_ITEM))
        out.append(
            ensure_delivery(
                connection,
                DeliveryKind.INVOICE,
                payloads.SALES_DOCUMENT,
                document.id,
                [n for n in needs if n is not None],
            )
        )
        schedule_sync(connection)
    return out


def cancel_invoice(document) -> list[Delivery]:
    """The document was cancelled: stop its unsent invoice, or queue the void of a sent one.

    An invoice that cannot have reached the ledger (refused, or pending / waiting and never
    handed over) is cancelled: nothing is pushed, its notification is resolved. One that may
    have (sent, or retried after a lost answer) or did (confirmed) gets an ``INVOICE_VOID``
    delivery in this same transaction; it depends on the invoice delivery, so a void of an
    invoice still in flight waits for it.
    """
    voids = []
    for invoice in db.session.execute(
        db.select(Delivery)
        .filter_by(
            kind=DeliveryKind.INVOICE, subject_type=payloads.SALES_DOCUMENT, subject_id=document.id
        )
        .order_by(Delivery.id)
        # The sync job re-reads the row under the same lock before sending (deliver_batch).
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars():
        connection = invoice.connection
        if invoice.status == DeliveryStatus.CANCELLED:
            continue
        # Failed = the ledger refused it (a retry after a lost answer looks up first), so it
        # holds nothing; pending or waiting ones are in the ledger only if maybe_sent.
        unsent = invoice.status in (DeliveryStatus.PENDING, DeliveryStatus.WAITING)
        if invoice.status == DeliveryStatus.FAILED or (unsent and not invoice.maybe_sent):
            DELIVERY.fire(invoice, "cancel")
            invoice.next_attempt_at = None
            operations.resolve_notifications(invoice)
            operations.log_sync(
                connection,
                SyncDirection.PUSH,
                invoice.kind.value,
                delivery=invoice,
                message=f"{document.number} was cancelled before it was sent: nothing pushed.",
            )
            continue
        voids.append(
            ensure_delivery(
                connection,
                DeliveryKind.INVOICE_VOID,
                payloads.SALES_DOCUMENT,
                document.id,
                [invoice],
            )
        )
        schedule_sync(connection)
    return voids


def _charge(connection: LedgerConnection, which: int) -> Delivery | None:
    return _prerequisite(connection, DeliveryKind.ITEM, payloads.CHARGE_ITEM, which)


def _purchase_needs(connection: LedgerConnection, supplier_id: int, product_ids) -> list:
    needs = [_prerequisite(connection, DeliveryKind.SUPPLIER, payloads.SUPPLIER, supplier_id)]
    for product_id in sorted(set(product_ids)):
        needs.append(_prerequisite(connection, DeliveryKind.ITEM, payloads.PRODUCT, product_id))
    return [n for n in needs if n is not None]


def queue_bill(receipt) -> list[Delivery]:
    """Queue the supplier bill for a receipt on every ledger that takes bills."""
    out = []
    for connection in _connections("push_bills", DeliveryKind.BILL):
        needs = _purchase_needs(
            connection,
            receipt.supplier_id,
            [line.purchase_order_line.product_id for line in receipt.lines],
        )
        po_delivery = db.session.execute(
            db.select(Delivery).filter_by(
                connection_id=connection.id,
                kind=DeliveryKind.PURCHASE_ORDER,
                subject_type=payloads.PURCHASE_ORDER,
                subject_id=receipt.purchase_order_id,
            )
        ).scalar_one_or_none()
        if po_delivery is not None and po_delivery.status != DeliveryStatus.FAILED:
            needs.append(po_delivery)  # the bill links to the pushed purchase order
        out.append(
            ensure_delivery(connection, DeliveryKind.BILL, payloads.RECEIPT, receipt.id, needs)
        )
        schedule_sync(connection)
    return out


def queue_purchase_order(order) -> list[Delivery]:
    """Queue the purchase order where the admin chose to push them (QuickBooks)."""
    out = []
    for connection in _connections("push_purchase_orders", DeliveryKind.PURCHASE_ORDER):
        needs = _purchase_needs(
            connection, order.supplier_id, [line.product_id for line in order.lines]
        )
        out.append(
            ensure_delivery(
                connection, DeliveryKind.PURCHASE_ORDER, payloads.PURCHASE_ORDER, order.id, needs
            )
        )
        schedule_sync(connection)
    return out


# ============================================================================================
# Sending (inside a job)
# ============================================================================================


@dataclass
class SyncReport:
    """What one run did (tests, the bench and the sync log read it)."""

    confirmed: int = 0
    failed: int = 0
    api_calls: int = 0
    throttled: int = 0
    more: bool = False  # ready work remains (the job re-enqueues itself)
    transient: str = ""
    # Not empty: the connection "needs mapping" and nothing was pushed (queries.missing_mappings).
    needs_mapping: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)


def _ready(connection: LedgerConnection, limit: int) -> list[Delivery]:
    """Return open deliveries whose prerequisites are confirmed, in dependency order."""
    now = utcnow()
    rows = list(
        db.session.execute(
            db.select(Delivery)
            .where(
                Delivery.connection_id == connection.id,
                Delivery.status.in_(OPEN_STATUSES),
                db.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            )
            .order_by(Delivery.id)
        ).scalars()
    )
    if not rows:
        return []
    ids = [d.id for d in rows]
    unconfirmed: set[int] = set()
    for delivery_id, status in db.session.execute(
        db.select(delivery_dependencies.c.delivery_id, Delivery.status)
        .join(Delivery, Delivery.id == delivery_dependencies.c.depends_on_id)
        .where(delivery_dependencies.c.delivery_id.in_(ids))
    ):
        if status != DeliveryStatus.CONFIRMED:
            unconfirmed.add(delivery_id)
    ready = []
    for delivery in rows:
        if delivery.id in unconfirmed:
            if delivery.status != DeliveryStatus.WAITING:
                DELIVERY.fire(delivery, "wait")
            continue
        if delivery.status == DeliveryStatus.WAITING:
            DELIVERY.fire(delivery, "ready")
        ready.append(delivery)
    ready.sort(key=lambda d: (KIND_ORDER.index(d.kind), d.id))
    # Take whole kinds in order: documents only once the prerequisites of this run are done.
    first = ready[0].kind if ready else None
    return [d for d in ready if d.kind == first][:limit]


def _subject(delivery: Delivery):
    from webapp.catalog.models import Product, Supplier
    from webapp.organizations.models import Organization
    from webapp.sales.models import SalesDocument

    models = {
        payloads.ORGANIZATION: Organization,
        payloads.PRODUCT: Product,
        payloads.SUPPLIER: Supplier,
        payloads.SALES_DOCUMENT: SalesDocument,
    }
    if delivery.subject_type in (payloads.RECEIPT, payloads.PURCHASE_ORDER):
        from webapp.purchasing.models import PurchaseOrder, Receipt

        models[payloads.RECEIPT] = Receipt
        models[payloads.PURCHASE_ORDER] = PurchaseOrder
    if delivery.subject_type == payloads.CHARGE_ITEM:
        return None
    subject = db.session.get(models[delivery.subject_type], delivery.subject_id)
    if subject is None:
        raise PermanentError(
            f"The {delivery.subject_type.replace('_', ' ')} #{delivery.subject_id} was deleted.",
            field=delivery.subject_type,
            fix="Nothing to send; dismiss this notification.",
        )
    return subject


def _payload(delivery: Delivery, connection: LedgerConnection):
    subject = _subject(delivery)
    kind = delivery.kind
    if kind == DeliveryKind.CUSTOMER:
        return payloads.customer_data(delivery, subject)
    if kind == DeliveryKind.SUPPLIER:
        return payloads.supplier_data(delivery, subject)
    if kind == DeliveryKind.ITEM:
        if delivery.subject_type == payloads.CHARGE_ITEM:
            return payloads.charge_item_data(delivery, connection)
        return payloads.item_data(delivery, connection, subject)
    if kind == DeliveryKind.INVOICE:
        return payloads.invoice_data(delivery, connection, subject)
    if kind == DeliveryKind.BILL:
        return payloads.bill_data(delivery, connection, subject)
    if kind == DeliveryKind.INVOICE_VOID:
        return payloads.void_data(delivery, connection, subject)
    return payloads.purchase_order_data(delivery, connection, subject)


def _push(provider: AccountingProvider, kind: DeliveryKind, items: list) -> list[PushResult]:
    method = {
        DeliveryKind.CUSTOMER: provider.find_or_create_customers,
        DeliveryKind.SUPPLIER: provider.find_or_create_suppliers,
        DeliveryKind.ITEM: provider.find_or_create_items,
        DeliveryKind.INVOICE: provider.push_invoices,
        DeliveryKind.BILL: provider.push_bills,
        DeliveryKind.PURCHASE_ORDER: provider.push_purchase_orders,
        DeliveryKind.INVOICE_VOID: provider.void_invoices,
    }[kind]
    return method(items)


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    raw = str(current_app.config.get("ACCOUNTING_RETRY_BACKOFF") or "")
    steps = [float(s) for s in raw.split(",") if s.strip()] or BACKOFF
    # Jitter (up to a fifth earlier) keeps connections that failed together from retrying in step.
    seconds = steps[min(max(attempts, 1), len(steps)) - 1] * random.uniform(0.8, 1.0)  # noqa: S311
    if retry_after:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def _fail(connection, delivery: Delivery, attempt: DeliveryAttempt | None, error: PermanentError):
    if delivery.kind == DeliveryKind.INVOICE and _drop_waiting_void(connection, delivery, attempt):
        return
    DELIVERY.fire(delivery, "fail")
    delivery.last_error = error.message
    delivery.error_field = error.field[:200]
    delivery.error_fix = error.fix
    if attempt is not None:
        attempt.outcome = AttemptOutcome.REJECTED
        attempt.error = _plain(error)
    operations.notify(
        connection,
        delivery,
        f"{delivery.kind.label} {describe(delivery)} was rejected by {connection.provider.label}",
        error.message,
        field=error.field,
        fix=error.fix,
    )
    operations.log_sync(
        connection,
        SyncDirection.PUSH,
        delivery.kind.value,
        delivery=delivery,
        ok=False,
        message=_plain(error),
    )


def _drop_waiting_void(connection, invoice: Delivery, attempt: DeliveryAttempt | None) -> bool:
    """A rejected invoice of a cancelled document: nothing reached the ledger, so no void."""
    void = db.session.execute(
        db.select(Delivery).filter_by(
            connection_id=connection.id,
            kind=DeliveryKind.INVOICE_VOID,
            subject_type=invoice.subject_type,
            subject_id=invoice.subject_id,
        )
    ).scalar_one_or_none()
    if void is None or void.status not in OPEN_STATUSES:
        return False
    for delivery in (invoice, void):
        DELIVERY.fire(delivery, "cancel")
        delivery.maybe_sent = False
        operations.resolve_notifications(delivery)
    if attempt is not None:
        attempt.outcome = AttemptOutcome.REJECTED
    operations.log_sync(
        connection,
        SyncDirection.PUSH,
        invoice.kind.value,
        delivery=invoice,
        message=f"{describe(invoice)} was cancelled and its invoice was refused: nothing to void.",
    )
    return True


def _still_open(deliveries: list[Delivery]) -> list[Delivery]:
    """Re-read the statuses under a row lock: a cancel may have stopped one meanwhile."""
    if not deliveries:
        return deliveries
    with db.session.no_autoflush:
        current = dict(
            db.session.execute(
                db.select(Delivery.id, Delivery.status)
                .where(Delivery.id.in_([d.id for d in deliveries]))
                .with_for_update()
            ).all()
        )
    kept = []
    for delivery in deliveries:
        if current.get(delivery.id) == DeliveryStatus.CANCELLED:
            # Cancelled by another transaction: take its word over this stale copy.
            delivery.status = current[delivery.id]
        else:
            kept.append(delivery)
    return kept


def _plain(error: PermanentError) -> str:
    parts = [error.message]
    if error.field:
        parts.append(f"Field: {error.field}.")
    if error.fix:
        parts.append(f"Fix: {error.fix}")
    return " ".join(parts)


def describe(delivery: Delivery) -> str:
    """Name the delivery's subject in plain words (document number, charge item, #id)."""
    if delivery.subject_type == payloads.SALES_DOCUMENT:
        from webapp.sales.models import SalesDocument

        doc = db.session.get(SalesDocument, delivery.subject_id)
        return doc.number if doc else f"#{delivery.subject_id}"
    if delivery.subject_type == payloads.CHARGE_ITEM:
        return payloads.CHARGE_ITEMS[delivery.subject_id][1]
    if delivery.subject_type == payloads.PURCHASE_ORDER:
        from webapp.purchasing.models import PurchaseOrder

        po = db.session.get(PurchaseOrder, delivery.subject_id)
        if po is not None:
            return po.number
    if delivery.subject_type == payloads.RECEIPT:
        from webapp.purchasing.models import Receipt

        receipt = db.session.get(Receipt, delivery.subject_id)
        if receipt is not None:
            return f"supplier invoice {receipt.supplier_invoice_number} ({receipt.supplier.name})"
    return f"{delivery.subject_type.replace('_', ' ')} #{delivery.subject_id}"


def _confirm(connection, delivery: Delivery, attempt: DeliveryAttempt, result: PushResult):
    DELIVERY.fire(delivery, "confirm")
    delivery.ledger_id = result.ledger_id
    delivery.ledger_number = result.ledger_number[:100]
    delivery.maybe_sent = False
    delivery.confirmed_at = utcnow()
    delivery.last_error = ""
    attempt.outcome = AttemptOutcome.SUCCEEDED
    operations.resolve_notifications(delivery)
    if delivery.kind == DeliveryKind.INVOICE_VOID:
        # The invoice's link stays: payments imported later still find their document.
        operations.log_sync(
            connection,
            SyncDirection.PUSH,
            delivery.kind.value,
            delivery=delivery,
            message=f"{describe(delivery)} was cancelled: "
            f"{result.ledger_number or result.ledger_id}"
            + (" (already done in the ledger)" if result.found_existing else ""),
            ledger_id=result.ledger_id,
        )
        return
    link = payloads.link_for(connection.id, delivery.subject_type, delivery.subject_id)
    if link is None:
        link = LedgerLink(
            connection_id=connection.id,
            subject_type=delivery.subject_type,
            subject_id=delivery.subject_id,
        )
        db.session.add(link)
    link.ledger_id = result.ledger_id
    link.ledger_number = result.ledger_number
    link.ledger_url = result.ledger_url
    link.version = result.version
    operations.resolve_notifications(delivery)
    what = "matched existing" if result.found_existing else "created"
    operations.log_sync(
        connection,
        SyncDirection.PUSH,
        delivery.kind.value,
        delivery=delivery,
        message=f"{what} {result.ledger_number or result.ledger_id}",
        ledger_id=result.ledger_id,
    )


def deliver_batch(
    connection: LedgerConnection,
    provider: AccountingProvider,
    http,
    deliveries: list[Delivery],
    report: SyncReport,
) -> None:
    """Push one API batch of same-kind deliveries; commit before and after the call."""
    kind = deliveries[0].kind
    items, sending = [], []
    for delivery in _still_open(deliveries):
        try:
            items.append(_payload(delivery, connection))
        except PermanentError as error:
            delivery.attempts += 1
            _fail(connection, delivery, None, error)
            report.failed += 1
            continue
        sending.append(delivery)
    attempts = {}
    for delivery in sending:
        delivery.attempts += 1
        DELIVERY.fire(delivery, "send")
        delivery.maybe_sent = True  # from here on a retry must look the record up first
        attempts[delivery.id] = DeliveryAttempt(delivery=delivery)
        db.session.add(attempts[delivery.id])
    # Commit point 1: what is about to be sent is durable before the vendor sees it.
    db.session.commit()
    if not sending:
        return
    calls_before = http.call_count
    started = time.monotonic()
    try:
        results = _push(provider, kind, items)
    except NeedsReconnect as exc:
        for delivery in sending:
            DELIVERY.fire(delivery, "requeue")
            attempts[delivery.id].outcome = AttemptOutcome.RECONNECT
            attempts[delivery.id].error = exc.message
        operations.mark_needs_reconnect(connection, exc.message)
        _finish_attempts(attempts, http, calls_before, started)
        db.session.commit()
        raise
    except TransientError as exc:
        for delivery in sending:
            DELIVERY.fire(delivery, "requeue")
            delivery.next_attempt_at = utcnow() + _backoff(delivery.attempts, exc.retry_after)
            delivery.last_error = exc.message
            attempts[delivery.id].outcome = AttemptOutcome.TRANSIENT
            attempts[delivery.id].error = exc.message
            attempts[delivery.id].http_status = exc.status
        operations.note_error(connection, exc.message)
        operations.log_sync(
            connection,
            SyncDirection.PUSH,
            kind.value,
            ok=False,
            message=f"{len(sending)} {kind.label.lower()} deliveries will be retried: "
            f"{exc.message}",
        )
        # Run again when the backoff ends, not at the next five-minute sweep (RQ's own retry
        # of this job may come before a long Retry-After and find nothing due).
        schedule_after_commit(
            min(d.next_attempt_at for d in sending),
            "workers.accounting.sync_connection",
            connection.id,
            job_id=f"accounting-retry-{connection.id}",
        )
        _finish_attempts(attempts, http, calls_before, started)
        db.session.commit()
        raise
    by_key = {r.key: r for r in results}
    for delivery, item in zip(sending, items, strict=True):
        attempt = attempts[delivery.id]
        result = by_key.get(item.key)
        attempt.request_excerpt = result.request_excerpt if result else ""
        attempt.response_excerpt = result.response_excerpt if result else ""
        if result is not None and result.ok:
            _confirm(connection, delivery, attempt, result)
            report.confirmed += 1
            report.by_kind[kind.value] = report.by_kind.get(kind.value, 0) + 1
        else:
            error = (result.error if result else None) or PermanentError(
                f"{connection.provider.label} returned no result for this {kind.label.lower()}.",
                field=kind.label,
                fix="Press Retry; if it fails again, check the record in the ledger.",
            )
            _fail(connection, delivery, attempt, error)
            report.failed += 1
    _finish_attempts(attempts, http, calls_before, started)
    # Commit point 2: the outcome (ledger ids, links, failures) is durable.
    db.session.commit()


def _finish_attempts(attempts, http, calls_before, started) -> None:
    duration = int((time.monotonic() - started) * 1000)
    calls = http.calls[calls_before:]
    last = calls[-1] if calls else None
    for attempt in attempts.values():
        attempt.duration_ms = duration
        if last is not None:
            attempt.http_status = attempt.http_status or last.status
            if not attempt.request_excerpt:
                attempt.request_excerpt = last.request_excerpt
            if not attempt.response_excerpt:
                attempt.response_excerpt = last.response_excerpt


def run_sync(
    connection: LedgerConnection,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncReport:
    """Push ready deliveries of one connection (at most ``limit`` this run).

    ``progress(n)`` is told after each API batch how many deliveries it settled (the CLI's
    progress bar). Raises TransientError (after recording it) so the job's RQ retry applies, and
    NeedsReconnect when the grant is gone (the work stays queued).
    """
    report = SyncReport()
    if connection.status != ConnectionStatus.CONNECTED:
        return report  # needs_reconnect: work waits; disconnected: nothing is sent
    from webapp.accounting.queries import missing_mappings

    report.needs_mapping = missing_mappings(connection)
    if report.needs_mapping:
        return report  # needs mapping: work waits until every mapping is chosen
    limit = limit or int(current_app.config.get("ACCOUNTING_JOB_BATCH", 300))
    provider, http = operations.build_provider(connection, save=db.session.commit)
    done = 0
    try:
        size = max(1, int(provider.max_batch))
        while done < limit:
            # Whole API batches only: a run that stops mid-batch would send a half-full one.
            ready = _ready(connection, -(-(limit - done) // size) * size)
            if not ready:
                break
            for start in range(0, len(ready), size):
                deliver_batch(connection, provider, http, ready[start : start + size], report)
                if progress is not None:
                    progress(len(ready[start : start + size]))
            done += len(ready)
        report.more = bool(_ready(connection, 1))
        connection.last_sync_at = utcnow()
        if report.failed == 0 and connection.status == ConnectionStatus.CONNECTED:
            connection.last_error = ""
    except TransientError as exc:
        report.transient = exc.message
        raise
    finally:
        report.api_calls = http.call_count
        report.throttled = http.throttled
        db.session.commit()
    return report
