"""Issue sales documents, number them, move them through their states, and record events."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp import signals
from webapp.auth.models import User
from webapp.catalog.models import TaxCode
from webapp.extensions import db
from webapp.mail.operations import public_url, queue_email
from webapp.models_base import utcnow
from webapp.organizations.models import Organization, address_of
from webapp.sales.models import (
    DocumentKind,
    DocumentSequence,
    DocumentSource,
    DocumentStatus,
    FulfilmentStatus,
    PaymentMethod,
    PaymentStatus,
    ProcurementStatus,
    Recurrence,
    SalesDocument,
    SalesDocumentEvent,
    SalesDocumentLine,
)
from webapp.sales.progress import shipments_of
from webapp.sales.totals import Totals, document_totals
from webapp.settings.operations import get_setting
from webapp.statemachine import StateMachine, status_note


class IllegalTransition(Exception):
    """A status change the document's state machine does not allow."""

    def __init__(self, current: DocumentStatus, wanted: DocumentStatus):
        super().__init__(f"a {current.label.lower()} document cannot become {wanted.label.lower()}")
        self.current = current
        self.wanted = wanted


TRANSITIONS: dict[DocumentStatus, frozenset[DocumentStatus]] = {
    DocumentStatus.ON_HOLD: frozenset({DocumentStatus.APPROVED, DocumentStatus.CANCELLED}),
    DocumentStatus.APPROVED: frozenset({DocumentStatus.COMPLETED, DocumentStatus.CANCELLED}),
    DocumentStatus.COMPLETED: frozenset(),
    DocumentStatus.CANCELLED: frozenset(),
}
MACHINE = StateMachine.from_targets(
    "sales document",
    DocumentStatus,
    TRANSITIONS,
    error=lambda document, wanted: IllegalTransition(document.status, wanted),
)


def transition(
    document: SalesDocument, status: DocumentStatus, actor: User | None, reason: str = ""
) -> None:
    """Move a document to `status`, or raise IllegalTransition.

    A held document that becomes approved flows on: `sales_document_approved` is sent.
    """
    previous = MACHINE.move(document, status)
    type_, message, data = status_note(previous, status, reason)
    record_event(document, type_, message, actor, **data)
    if status is DocumentStatus.APPROVED:
        document.hold_reason = ""
        db.session.flush()
        signals.sales_document_approved.send(document)
    elif status is DocumentStatus.CANCELLED:
        db.session.flush()
        _email_cancellation(document, actor, reason)
        signals.sales_document_cancelled.send(document)


# --- the statuses other domains report ------------------------------------------------------
# Procurement, fulfilment and payment are worked out by purchasing and the ledgers from their own
# records and can move either way (a PO cancelled, stock released, a payment voided), so each
# machine allows every move between two different statuses. Sales owns the fields: other
# domains report what they found through the operations below and never write them.


def _derived(what: str, states: type[enum.Enum]) -> StateMachine:
    return StateMachine.from_targets(
        what, states, {state: [other for other in states if other is not state] for state in states}
    )


PROCUREMENT = _derived("document's procurement", ProcurementStatus)
FULFILMENT = _derived("document's fulfilment", FulfilmentStatus)
PAYMENT = _derived("document's payment", PaymentStatus)


def set_procurement_status(document: SalesDocument, status: ProcurementStatus) -> bool:
    """Record purchasing's finding of the document's procurement; return whether it changed."""
    if status is document.procurement_status:
        return False
    PROCUREMENT.move(document, status, "procurement_status")
    return True


def record_fulfilment(document: SalesDocument, status: FulfilmentStatus) -> None:
    """Record how much of the document is in; tell the customer, and once all is, the ledger.

    A change is noted on the timeline and emailed as a shipment; a fulfilled document becomes
    ready to invoice once (``sales_document_ready_to_invoice``).
    """
    if status is not document.fulfilment_status:
        FULFILMENT.move(document, status, "fulfilment_status")
        record_event(
            document, f"fulfilment.{status.value}", f"Fulfilment: {status.label.lower()}", None
        )
        if status is not FulfilmentStatus.NONE:
            email_shipment(document, partial=status is FulfilmentStatus.PARTIAL)
    if status is FulfilmentStatus.FULFILLED and document.ready_to_invoice_at is None:
        document.ready_to_invoice_at = utcnow()
        record_event(
            document,
            "ready_to_invoice",
            "Every line is receipted or served from stock: ready to invoice",
            None,
        )
        db.session.flush()
        signals.sales_document_ready_to_invoice.send(document)


def record_invoiced(document: SalesDocument, reference: str) -> bool:
    """Record that the document's tax invoice exists (a ledger took it, as `reference`);
    return whether this is news. The first ledger's word counts: a second changes nothing."""
    if document.invoiced_at is not None:
        return False
    document.invoiced_at = utcnow()
    record_event(document, "invoiced", f"Tax invoice {reference} is in the ledger", None)
    return True


def record_amount_paid(document: SalesDocument, paid: Decimal) -> None:
    """Record what the ledger says was paid against the document, and so its payment status."""
    status = (
        PaymentStatus.PAID
        if paid >= document.total
        else PaymentStatus.PARTIALLY_PAID
        if paid > 0
        else PaymentStatus.UNPAID
    )
    if paid == document.amount_paid and status is document.payment_status:
        return
    was_overpaid = document.overpaid_by > 0
    if status is not document.payment_status:
        PAYMENT.move(document, status, "payment_status")
    document.amount_paid = paid
    if document.overpaid_by > 0 and not was_overpaid:
        # Never silently above the total: the timeline says so, beside the "Overpaid by".
        record_event(
            document,
            "overpaid",
            f"The ledger shows {paid} {document.currency} paid against a total of "
            f"{document.total}: overpaid by {document.overpaid_by}, a credit to refund or apply",
            None,
        )
    signals.sales_document_payment_changed.send(document)


def _email_cancellation(document: SalesDocument, actor: User | None, reason: str) -> None:
    """Tell the customer their order was cancelled (the order page shows it too)."""
    site = current_app.config["SITE_NAME"]
    _email_contact(
        document,
        actor,
        subject=f"{document.title} {document.number} cancelled — {site}",
        template="sales_document_cancelled",
        what="Cancellation",
        reason=reason,
    )


def _email_contact(
    document: SalesDocument,
    actor: User | None,
    *,
    subject: str,
    template: str,
    what: str,
    **context,
) -> None:
    """Queue an email about the document to its contact, noted on its timeline as `what`."""
    queue_email(
        to=document.contact.email,
        subject=subject,
        template=template,
        topic=f"sales_document:{document.id}",
        document=document,
        document_url=public_url("sales.order_detail", number=document.number),
        **context,
    )
    record_event(document, "emailed", f"{what} emailed to {document.contact.email}", actor)


def email_shipment(document: SalesDocument, *, partial: bool) -> None:
    """Tell the customer goods of their order are on the way (all of them, or some)."""
    if document.status is DocumentStatus.CANCELLED:
        return
    what = "Part of your order has shipped" if partial else "Your order has shipped"
    queue_email(
        to=document.contact.email,
        subject=f"{what}: {document.title} {document.number} — {current_app.config['SITE_NAME']}",
        template="sales_document_shipped",
        topic=f"sales_document:{document.id}",
        document=document,
        partial=partial,
        shipments=shipments_of([document.id])[document.id],
        document_url=public_url("sales.order_detail", number=document.number),
    )
    record_event(document, "emailed", f"Shipment emailed to {document.contact.email}", None)


def record_event(
    document: SalesDocument, type_: str, message: str, actor: User | None = None, **data
) -> SalesDocumentEvent:
    event = SalesDocumentEvent(type=type_, message=message, actor=actor, data=data)
    document.events.append(event)
    return event


def take_number(prefix: str) -> str:
    """Take the next gap-free number of ``prefix`` (SO-000123, INV-…, Q-…, PO-…).

    The one numbering of every document kind: sales documents, quotes and purchase orders.
    """
    if db.session.get(DocumentSequence, prefix) is None:
        try:
            with db.session.begin_nested():
                db.session.add(DocumentSequence(prefix=prefix, next_value=1))
        except IntegrityError:
            pass  # created by a concurrent transaction: use theirs
    # UPDATE ... RETURNING takes the row lock first, so concurrent takers never share a number.
    value = db.session.execute(
        update(DocumentSequence)
        .where(DocumentSequence.prefix == prefix)
        .values(next_value=DocumentSequence.next_value + 1)
        .returning(DocumentSequence.next_value)
    ).scalar_one()
    return f"{prefix}-{value - 1:06d}"


def next_number(kind: DocumentKind) -> str:
    """Take the next number of the kind's sequence (SO-000123, INV-000123)."""
    return take_number(kind.prefix)


@dataclass(frozen=True)
class LineInput:
    product_id: int | None
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    unit_cost: Decimal | None
    tax_code: TaxCode | None
    recurrence: Recurrence = Recurrence.NONE
    term_months: int | None = None


@dataclass(frozen=True)
class HeaderInput:
    ship_to_name: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postcode: str
    country: str
    shipping_method_name: str
    shipping_charge: Decimal
    payment_method: PaymentMethod
    surcharge_pct: Decimal
    customer_po: str
    note: str


def default_tax_code() -> TaxCode | None:
    return db.session.scalar(select(TaxCode).where(TaxCode.is_default.is_(True)))


def price_lines(
    items: Sequence[tuple[int, Decimal, TaxCode | None]],
    *,
    shipping: Decimal = Decimal(0),
    surcharge_pct: Decimal = Decimal(0),
) -> tuple[Totals, list[TaxCode | None]]:
    """Total (quantity, unit price, tax code) items; a line without a code takes the default."""
    default = default_tax_code()
    codes = [code or default for _qty, _price, code in items]
    totals = document_totals(
        [
            (qty, price, code.rate if code else Decimal(0))
            for (qty, price, _), code in zip(items, codes, strict=True)
        ],
        shipping=shipping,
        surcharge_pct=surcharge_pct,
        default_tax_rate=default.rate if default else Decimal(0),
    )
    return totals, codes


def _payment_terms_days(organization: Organization) -> int:
    """Days after the invoice date the organisation's tax invoices are due: its own terms,
    else the default terms in Settings."""
    if organization.payment_terms_days is not None:
        return organization.payment_terms_days
    return get_setting("customer_payment_terms_days")


def issue_document(
    *,
    organization: Organization,
    contact: User,
    lines: Sequence[LineInput],
    header: HeaderInput,
    source: DocumentSource,
    idempotency_key: str,
    actor: User | None,
    currency: str,
    hold_reason: str = "",
) -> SalesDocument:
    """Create, number and email a sales document of the kind the settings currently say.

    With a `hold_reason` the document starts on hold for staff review; otherwise it is
    approved at once and `sales_document_approved` is sent (procurement plans it).
    """
    kind: DocumentKind = get_setting("display_document_as")
    totals, tax_codes = price_lines(
        [(line.quantity, line.unit_price, line.tax_code) for line in lines],
        shipping=header.shipping_charge,
        surcharge_pct=header.surcharge_pct,
    )
    document = SalesDocument(
        number=next_number(kind),
        kind=kind,
        due_date=utcnow().date() + timedelta(days=_payment_terms_days(organization)),
        status=DocumentStatus.ON_HOLD if hold_reason else DocumentStatus.APPROVED,
        hold_reason=hold_reason,
        source=source,
        idempotency_key=idempotency_key,
        organization=organization,
        contact=contact,
        currency=currency,
        ship_to_name=header.ship_to_name,
        **address_of(header),
        shipping_method_name=header.shipping_method_name,
        shipping_charge=totals.shipping,
        shipping_tax=totals.shipping_tax,
        payment_method=header.payment_method,
        surcharge_pct=header.surcharge_pct,
        surcharge_amount=totals.surcharge,
        surcharge_tax=totals.surcharge_tax,
        customer_po=header.customer_po,
        note=header.note,
        subtotal=totals.subtotal,
        tax_total=totals.tax_total,
        total=totals.total,
    )
    for position, (line, tax_code, amounts) in enumerate(
        zip(lines, tax_codes, totals.lines, strict=True), start=1
    ):
        document.lines.append(
            SalesDocumentLine(
                position=position,
                product_id=line.product_id,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                unit_cost=line.unit_cost,
                tax_code=tax_code.code if tax_code else "",
                tax_rate=tax_code.rate if tax_code else Decimal(0),
                line_subtotal=amounts.subtotal,
                line_tax=amounts.tax,
                recurrence=line.recurrence,
                term_months=line.term_months,
            )
        )
    db.session.add(document)
    record_event(
        document,
        "created",
        f"{kind.title} {document.number} created from the {source.value}",
        actor,
        total=str(document.total),
    )
    if hold_reason:
        record_event(document, "held", f"On hold for review: {hold_reason}", actor)
    db.session.flush()
    email_document(document, actor)
    signals.sales_document_created.send(document)
    if document.status is DocumentStatus.APPROVED:
        signals.sales_document_approved.send(document)
    return document


def release_document(document: SalesDocument, actor: User, note: str = "") -> None:
    """Release a held document: it becomes approved and flows on to procurement."""
    transition(document, DocumentStatus.APPROVED, actor, note or "released by staff")


def email_document(document: SalesDocument, actor: User | None) -> None:
    """Queue the document's email to its contact and note it on the timeline."""
    _email_contact(
        document,
        actor,
        subject=f"{document.title} {document.number} from {current_app.config['SITE_NAME']}",
        template="sales_document",
        what=document.title,
    )
