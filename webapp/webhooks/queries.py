"""What Settings › Webhooks shows (reads only)."""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations.models import Delivery
from webapp.pagination import page_of
from webapp.webhooks.models import WebhookEndpoint, WebhookEvent

PAGE_SIZE = 50


def endpoints() -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            db.select(WebhookEndpoint)
            .where(WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
    )


def endpoint_or_none(endpoint_id: int) -> WebhookEndpoint | None:
    found = db.session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.deleted_at is not None:
        return None
    return found


def delivery_log(endpoint: WebhookEndpoint, page: int):
    """The endpoint's deliveries, newest first, each with its event: (rows, has_next)."""
    query = (
        db.select(Delivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == Delivery.subject_id)
        .where(Delivery.connection_id == endpoint.id, Delivery.subject_type == "webhook_event")
        .order_by(Delivery.id.desc())
    )
    return page_of(query, page, PAGE_SIZE, rows=True)
