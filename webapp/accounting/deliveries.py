"""What accounting puts in the integrations outbox, and how it is sent to a ledger.

Writing (called by subscribers, inside the sender's unit of work): ``queue_invoice``,
``queue_bill``, ``queue_purchase_order`` add one delivery per active ledger, plus deliveries
for the customer / items / supplier the ledger does not hold yet; the document's delivery
depends on them and waits instead of failing. ``cancel_invoice`` stops or voids it.

Sending: ``LedgerSender`` is accounting's ``Sender`` for the core outbox
(``webapp.integrations.outbox``), registered in ``webapp.accounting.providers``. It builds each
payload from our records and calls the ledger provider's batch methods.
"""

from __future__ import annotations

from webapp.accounting import payloads
from webapp.accounting.interfaces import AccountingProvider, DeliveryKind
from webapp.accounting.models import LedgerConnection
from webapp.accounting.providers import provider_class
from webapp.extensions import db
from webapp.integrations.interfaces import PermanentError, PushResult
from webapp.integrations.models import Delivery, DeliveryStatus, SyncDirection
from webapp.integrations.operations import (
    active_connections_cached,
    build_provider,
    link_for,
    log_sync,
    resolve_notifications,
    save_link,
)
from webapp.integrations.outbox import (
    DELIVERY,
    OPEN_STATUSES,
    Sender,
    cancel_unsent,
    ensure_delivery,
    find_delivery,
    schedule_sync,
)

# Prerequisites first: a document is only picked once what it references is confirmed.
KIND_ORDER = [
    DeliveryKind.SUPPLIER,
    DeliveryKind.CUSTOMER,
    DeliveryKind.ITEM,
    DeliveryKind.PURCHASE_ORDER,
    DeliveryKind.BILL,
    DeliveryKind.INVOICE,
    DeliveryKind.INVOICE_VOID,  # last: a void waits for the invoice it undoes
    DeliveryKind.PURCHASE_ORDER_CLOSE,  # likewise, waits for the PO it closes
]

# What undoes each kind of document in the ledger when ours is cancelled.
UNDO = {
    DeliveryKind.INVOICE: DeliveryKind.INVOICE_VOID,
    DeliveryKind.PURCHASE_ORDER: DeliveryKind.PURCHASE_ORDER_CLOSE,
}


# ============================================================================================
# Writing deliveries (inside the business transaction)
# ============================================================================================


def _prerequisite(
    connection: LedgerConnection, kind: DeliveryKind, subject_type: str, subject_id: int
) -> Delivery | None:
    """Return the delivery that must confirm first, or None when the ledger holds it."""
    if link_for(connection.id, subject_type, subject_id) is not None:
        return None
    return ensure_delivery(connection, kind, subject_type, subject_id)


def _connections(flag: str, kind: DeliveryKind) -> list[LedgerConnection]:
    found = []
    for connection in active_connections_cached(LedgerConnection):
        if not getattr(connection, flag):
            continue
        try:
            supported = kind in provider_class(connection.provider).supports
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
    return _undo(DeliveryKind.INVOICE, payloads.SALES_DOCUMENT, document.id, document.number)


def cancel_purchase_order(order) -> list[Delivery]:
    """The PO was cancelled: stop its unsent push, or queue the close of a sent one (as above)."""
    return _undo(DeliveryKind.PURCHASE_ORDER, payloads.PURCHASE_ORDER, order.id, order.number)


def _undo(kind: DeliveryKind, subject_type: str, subject_id: int, number: str) -> list[Delivery]:
    undos = []
    for sent in db.session.execute(
        db.select(Delivery)
        .filter_by(kind=kind, subject_type=subject_type, subject_id=subject_id)
        .order_by(Delivery.id)
        # The sync job re-reads the row under the same lock before sending (deliver_batch).
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars():
        connection = sent.connection
        if sent.status == DeliveryStatus.CANCELLED:
            continue
        # Failed = the ledger refused it (a retry after a lost answer looks up first), so it
        # holds nothing; pending or waiting ones are in the ledger only if maybe_sent.
        unsent = sent.status in (DeliveryStatus.PENDING, DeliveryStatus.WAITING)
        if sent.status == DeliveryStatus.FAILED or (unsent and not sent.maybe_sent):
            cancel_unsent(sent, f"{number} was cancelled before it was sent: nothing pushed.")
            continue
        undos.append(ensure_delivery(connection, UNDO[kind], subject_type, subject_id, [sent]))
        schedule_sync(connection)
    return undos


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
        po_delivery = find_delivery(
            connection.id,
            DeliveryKind.PURCHASE_ORDER,
            payloads.PURCHASE_ORDER,
            receipt.purchase_order_id,
        )
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


# ============================================================================================
# Sending (the core outbox calls these inside a job)
# ============================================================================================


class LedgerSender(Sender):
    """The outbox's Sender for one ledger connection."""

    kind_order = [kind.value for kind in KIND_ORDER]

    def __init__(self, connection: LedgerConnection) -> None:
        self.connection = connection
        self.provider, self.http = build_provider(connection)
        self.max_batch = self.provider.max_batch

    def blocked(self) -> list[str]:
        from webapp.accounting.queries import missing_mappings

        return missing_mappings(self.connection)

    def payload(self, delivery: Delivery):
        return _payload(delivery, self.connection)

    def push(self, kind: str, items: list) -> list[PushResult]:
        return _push(self.provider, DeliveryKind(kind), items)

    def describe(self, delivery: Delivery) -> str:
        return describe(delivery)

    def confirmed(self, delivery: Delivery, result: PushResult) -> str:
        shown = result.remote_number or result.remote_id
        if delivery.kind in UNDO.values():
            # The document's link stays: payments imported later still find their document.
            again = " (already done in the ledger)" if result.found_existing else ""
            return f"{describe(delivery)} was cancelled: {shown}{again}"
        save_link(
            self.connection,
            delivery.subject_type,
            delivery.subject_id,
            remote_id=result.remote_id,
            remote_number=result.remote_number,
            remote_url=result.remote_url,
            version=result.version,
        )
        if delivery.kind == DeliveryKind.INVOICE:
            _invoiced(delivery, shown)
        return f"{'matched existing' if result.found_existing else 'created'} {shown}"

    def rejected(self, delivery: Delivery) -> bool:
        return delivery.kind in UNDO and _drop_waiting_void(self.connection, delivery)


def _invoiced(delivery: Delivery, shown: str) -> None:
    """The ledger holds the customer's tax invoice now: sales records it (My orders says
    Invoiced from here, not when the last line came in)."""
    from webapp.sales import operations as sales_operations
    from webapp.sales.models import SalesDocument

    document = db.session.get(SalesDocument, delivery.subject_id)
    if document is not None:
        sales_operations.record_invoiced(document, shown)


def _drop_waiting_void(connection: LedgerConnection, invoice: Delivery) -> bool:
    """A rejected invoice (or PO) of a cancelled document: nothing reached the ledger, so
    nothing to void (or close)."""
    void = find_delivery(
        connection.id, UNDO[DeliveryKind(invoice.kind)], invoice.subject_type, invoice.subject_id
    )
    if void is None or void.status not in OPEN_STATUSES:
        return False
    what = DeliveryKind(invoice.kind).label.lower()
    for delivery in (invoice, void):
        DELIVERY.fire(delivery, "cancel")
        delivery.maybe_sent = False
        resolve_notifications(delivery)
    log_sync(
        connection,
        SyncDirection.PUSH,
        invoice.kind,
        delivery=invoice,
        message=f"{describe(invoice)} was cancelled and its {what} was refused: nothing to "
        f"{'void' if invoice.kind == DeliveryKind.INVOICE else 'close'}.",
    )
    return True


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
    if kind == DeliveryKind.PURCHASE_ORDER_CLOSE:
        return payloads.close_data(delivery, connection, subject)
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
        DeliveryKind.PURCHASE_ORDER_CLOSE: provider.close_purchase_orders,
    }[kind]
    return method(items)
