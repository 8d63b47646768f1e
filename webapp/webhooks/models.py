"""Webhook endpoints (a kind of integrations-core connection) and the events sent to them."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.integrations.models import Connection
from webapp.integrations.secrets import register_encrypted
from webapp.models_base import UTCDateTime, utcnow

# Every event type we send, with what it means (Settings › Webhooks shows this list).
EVENT_TYPES: dict[str, str] = {
    "quote.sent": "A quote was sent to the customer",
    "quote.viewed": "The customer opened a quote's link",
    "quote.accepted": "The customer accepted a quote",
    "quote.declined": "The customer declined a quote",
    "order.created": "A sales order (or tax invoice) was created",
    "order.cancelled": "A sales order was cancelled",
    "order.fulfilled": "Every line of an order was received (ready to invoice)",
    "po.issued": "A purchase order was issued to its supplier",
    "po.receipted": "Goods were receipted against a purchase order",
    "invoice.posted": "An invoice reached a ledger (QuickBooks, Xero)",
    "payment.received": "Payments recorded in a ledger changed what an order has paid",
    "product.price_changed": "Products' prices changed (batched: up to 500 ids an event)",
    "sync.failed": "An integration failed and needs an admin",
}
TEST_EVENT = "webhook.test"


class WebhookEndpoint(Connection):
    """A URL of the MSP's that receives the events it subscribed to."""

    __tablename__ = "webhook_endpoints"
    __mapper_args__ = {"polymorphic_identity": "webhook"}

    id: Mapped[int] = mapped_column(ForeignKey("integration_connections.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    # Event types it receives; empty = every type.
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    # Fernet ciphertext of the signing secret (whsec_...); the previous one signs too until
    # previous_secret_expires_at, so the receiver can switch without dropping a message.
    secret_ciphertext: Mapped[str] = mapped_column(Text, default="")
    previous_secret_ciphertext: Mapped[str] = mapped_column(Text, default="")
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")

    def receives(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


register_encrypted(WebhookEndpoint, "secret_ciphertext")
register_encrypted(WebhookEndpoint, "previous_secret_ciphertext")


def new_message_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


class WebhookEvent(db.Model):
    """One event, sent to every endpoint that receives its type (one delivery each)."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The webhook-id header: the same on every retry, so receivers can drop duplicates.
    message_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_message_id)
    type: Mapped[str] = mapped_column(String(60), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
