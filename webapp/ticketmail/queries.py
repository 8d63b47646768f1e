"""Reads for Settings › Ticket by email: what was sent to the PSA mailbox, newest first."""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations.models import Delivery
from webapp.pagination import page_of
from webapp.sales.models import SalesDocument
from webapp.ticketmail.models import TicketMailConnection, TicketMailMessage
from webapp.ticketmail.operations import KIND

PAGE_SIZE = 50


def latest_document():
    """The newest sales document (the preview renders it when one exists)."""
    return db.session.scalars(
        db.select(SalesDocument).order_by(SalesDocument.id.desc()).limit(1)
    ).first()


def deliveries(found: TicketMailConnection, page: int) -> tuple[list, bool]:
    """(delivery, message) rows of the mailbox, newest first, one page."""
    query = (
        db.select(Delivery, TicketMailMessage)
        .join(TicketMailMessage, TicketMailMessage.id == Delivery.subject_id)
        .where(Delivery.connection_id == found.id, Delivery.kind == KIND)
        .order_by(Delivery.id.desc())
    )
    return page_of(query, page, PAGE_SIZE, rows=True)
