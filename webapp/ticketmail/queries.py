"""Reads for Settings › Ticket by email: what was sent to the PSA mailbox, newest first."""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations.models import Delivery
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
    rows = db.session.execute(
        db.select(Delivery, TicketMailMessage)
        .join(TicketMailMessage, TicketMailMessage.id == Delivery.subject_id)
        .where(Delivery.connection_id == found.id, Delivery.kind == KIND)
        .order_by(Delivery.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
