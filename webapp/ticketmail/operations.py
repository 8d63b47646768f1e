"""Ticket-by-email rules: the PSA mailbox's settings, and one outbox delivery per order event.

Operations flush, never commit. ``queue`` runs inside the business transaction that caused the
event (from a signal), so a ticket email is sent if and only if that transaction commits.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import ConnectionStatus, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.integrations.outbox import ensure_delivery, schedule_sync
from webapp.ticketmail import render
from webapp.ticketmail.models import EVENTS, TicketMailConnection, TicketMailMessage

PROVIDER = "ticketmail"
KIND = "ticket_email"
SUBJECT = "ticket_mail_message"
TENANT = "psa-mailbox"  # one ticket mailbox per product
# One address, no display name or list: what a PSA's mail connector reads tickets from.
_ADDRESS = re.compile(
    r"^[^@\s<>,;\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
EVENT_LABELS = {"issued": "New order", "changed": "Order updated", "cancelled": "Order cancelled"}


def connection() -> TicketMailConnection | None:
    return db.session.scalars(db.select(TicketMailConnection).limit(1)).first()


def active_connection() -> TicketMailConnection | None:
    """The mailbox that takes ticket emails, if switched on: read once per transaction (every
    order event asks, and a checkout or an import emits them by the dozen)."""
    return next(
        (
            found
            for found in core.active_connections_cached(TicketMailConnection)
            if found.status == ConnectionStatus.CONNECTED
        ),
        None,
    )


def sample_context() -> dict:
    """What the preview shows when no order exists yet (and what saving is checked against)."""
    line = {
        "position": 1,
        "sku": "LEN-T14-G4",
        "description": "Lenovo ThinkPad T14 Gen 4, i7, 16 GB, 512 GB SSD",
        "quantity": 2,
        "unit_price": "$1,499.00",
        "amount": "$2,998.00",
    }
    return {
        "event": "issued",
        "event_label": EVENT_LABELS["issued"],
        "detail": "",
        "reference": render.reference("SO-000042"),
        "organization": {"name": "Northwind Dental"},
        "contact": {"name": "Ana Trujillo", "email": "ana@northwind.example", "phone": ""},
        "order": {
            "number": "SO-000042",
            "title": "Sales order",
            "status": "Approved",
            "created": "07 Dec 2026",
            "customer_po": "PO-7781",
            "payment_method": "On account",
            "ship_to": "Ana Trujillo\n12 Harbour St\nSpringfield IL 62701\nUS",
            "shipping_method": "Courier",
            "shipping_charge": "$15.00",
            "subtotal": "$3,013.00",
            "tax": "$301.30",
            "total": "$3,314.30",
            "currency": "USD",
            "note": "",
            "url": "https://msp.example/admin/orders/42",
            "lines": [line],
        },
    }


def check_mailbox(mailbox: str) -> str:
    mailbox = (mailbox or "").strip()
    if not mailbox:
        raise IntegrationRuleError("Enter the PSA's ticket mailbox address.")
    if len(mailbox) > 254 or not _ADDRESS.match(mailbox):
        raise IntegrationRuleError(
            f"{mailbox[:80]} is not one email address (like support@yourpsa.example)."
        )
    return mailbox


def save_settings(
    *,
    mailbox: str,
    subject_template: str,
    body_template: str,
    events: Iterable[str],
    attach_pdf: bool,
    actor,
) -> TicketMailConnection:
    """Create or change the ticket mailbox; refuse (nothing written) a bad address or template."""
    mailbox = check_mailbox(mailbox)
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise IntegrationRuleError(f"Unknown event: {', '.join(unknown)}.")
    try:
        render.render(subject_template, body_template, sample_context())
    except render.TemplateRefused as exc:
        raise IntegrationRuleError(f"{exc.field}: {exc.message}") from None
    found = connection()
    if found is None:
        found = TicketMailConnection(
            provider=PROVIDER,
            tenant_id=TENANT,
            status=ConnectionStatus.CONNECTED,
            connected_by_id=getattr(actor, "id", None),
        )
        db.session.add(found)
        what = "set up"
    else:
        what = "changed"
    found.tenant_name = mailbox
    found.mailbox = mailbox
    found.subject_template = subject_template
    found.body_template = body_template
    found.events = chosen
    found.attach_pdf = bool(attach_pdf)
    db.session.flush()
    core.log_sync(
        found, SyncDirection.PUSH, "connect", message=f"Ticket by email {what} by {actor}."
    )
    return found


def set_enabled(found: TicketMailConnection, enabled: bool, actor) -> None:
    """Switch sending on or off; emails already queued wait while it is off."""
    if enabled:
        core.CONNECTION.fire(found, "connect")
    elif core.CONNECTION.can(found, "disconnect"):
        core.CONNECTION.fire(found, "disconnect")
    db.session.flush()
    core.log_sync(
        found,
        SyncDirection.PUSH,
        "connect",
        message=f"Ticket by email {'switched on' if enabled else 'switched off'} by {actor}.",
    )


def _domain() -> str:
    _name, address = parseaddr(str(current_app.config.get("MAIL_DEFAULT_SENDER") or ""))
    if "@" in address:
        return address.rsplit("@", 1)[1]
    return urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "").hostname or "localhost"


def new_message_id(number: str) -> str:
    """An RFC 5322 Message-ID naming the order, unique per email."""
    return f"<ticket.{number}.{secrets.token_hex(8)}@{_domain()}>"


def queue(document, event: str, detail: str = "") -> TicketMailMessage | None:
    """Write the ticket email for this order event to the outbox, if the mailbox wants it."""
    found = active_connection()
    if found is None or not found.sends(event):
        return None
    message = TicketMailMessage(
        connection_id=found.id,
        sales_document_id=document.id,
        event=event,
        detail=detail[:2000],
        message_id=new_message_id(document.number),
    )
    db.session.add(message)
    db.session.flush()
    ensure_delivery(found, KIND, SUBJECT, message.id)
    schedule_sync(found)
    return message


def thread_headers(message: TicketMailMessage) -> dict[str, str]:
    """Message-ID, and for a follow-up In-Reply-To (the previous email) and References (the
    whole thread, first email first): the PSA files them on the order's one ticket."""
    earlier = list(
        db.session.scalars(
            db.select(TicketMailMessage.message_id)
            .where(
                TicketMailMessage.connection_id == message.connection_id,
                TicketMailMessage.sales_document_id == message.sales_document_id,
                TicketMailMessage.id < message.id,
            )
            .order_by(TicketMailMessage.id)
        )
    )
    headers = {"Message-ID": message.message_id}
    if earlier:
        headers["In-Reply-To"] = earlier[-1]
        # RFC 5322 3.6.4: References lists the thread; a long one keeps the first and the
        # latest so the header stays short and the root is never lost.
        chain = earlier if len(earlier) <= 10 else [earlier[0], *earlier[-9:]]
        headers["References"] = " ".join(chain)
    return headers
