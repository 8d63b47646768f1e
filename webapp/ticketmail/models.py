"""The PSA mailbox (a kind of integrations-core connection) and the ticket emails sent to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.integrations.models import Connection
from webapp.models_base import UTCDateTime, utcnow

# Sales order events that may send a ticket email, with what they mean (the settings page).
EVENTS: dict[str, str] = {
    "issued": "A sales order (or tax invoice) was issued",
    "changed": "A sales order changed: released from hold, fully received, or paid",
    "cancelled": "A sales order was cancelled",
}


class TicketMailConnection(Connection):
    """The PSA's ticket mailbox and how its emails are written (one per product)."""

    __tablename__ = "ticket_mail_connections"
    __mapper_args__ = {"polymorphic_identity": "ticketmail"}

    id: Mapped[int] = mapped_column(ForeignKey("integration_connections.id"), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(254))
    # Jinja, rendered in a sandbox (ticketmail.render) from plain values, never from our rows.
    subject_template: Mapped[str] = mapped_column(Text)
    body_template: Mapped[str] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSON, default=list)
    attach_pdf: Mapped[bool] = mapped_column(default=True)

    def sends(self, event: str) -> bool:
        return event in (self.events or [])


class TicketMailMessage(db.Model):
    """One ticket email about one event of one sales order: the outbox delivery's subject.

    Its Message-ID is fixed when the event happens, so every retry is the same message and the
    order's later emails can name it in In-Reply-To / References.
    """

    __tablename__ = "ticket_mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ticket_mail_connections.id"))
    sales_document_id: Mapped[int] = mapped_column(ForeignKey("sales_documents.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    # What happened, in plain words ("Released from hold", the cancel reason).
    detail: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    email_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_emails.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connection: Mapped[TicketMailConnection] = relationship()
