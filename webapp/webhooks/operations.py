"""Webhook rules: endpoints, their secrets, and the events written to the outbox.

Operations flush, never commit. ``emit`` runs inside the business transaction that caused the
event (from a signal), so an event is sent if and only if that transaction commits.
"""

from __future__ import annotations

import secrets as random_tokens
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.egress import EgressRefused, check_url
from webapp.integrations.models import ConnectionStatus, Delivery, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.integrations.outbox import ensure_delivery, schedule_sync
from webapp.integrations.secrets import decrypt, encrypt
from webapp.models_base import utcnow
from webapp.security import log_event
from webapp.webhooks import signing
from webapp.webhooks.models import EVENT_TYPES, TEST_EVENT, WebhookEndpoint, WebhookEvent

PROVIDER = "webhook"
KIND = "webhook"
SUBJECT = "webhook_event"
URL_MAX = 500
ROTATION_OVERLAP = timedelta(hours=24)


def _check(url: str, event_types: Iterable[str]) -> tuple[str, list[str]]:
    url = url.strip()
    if not url:
        raise IntegrationRuleError("Enter the URL that receives the events.")
    if len(url) > URL_MAX:
        raise IntegrationRuleError(f"The URL is longer than {URL_MAX} characters.")
    config = current_app.config
    try:
        check_url(
            url,
            allow_http=bool(config.get("INTEGRATIONS_ALLOW_HTTP")),
            allow_loopback=bool(config.get("WEBHOOKS_ALLOW_LOOPBACK")),
        )
    except EgressRefused as exc:
        raise IntegrationRuleError(exc.message) from exc
    chosen = sorted(set(event_types))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise IntegrationRuleError(f"Unknown event type: {', '.join(unknown)}.")
    return url, chosen


def create_endpoint(
    url: str, description: str, event_types: Iterable[str], actor
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; return it with its signing secret (shown once, stored encrypted)."""
    url, chosen = _check(url, event_types)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        provider=PROVIDER,
        tenant_id=f"endpoint-{random_tokens.token_hex(8)}",
        tenant_name=(description.strip() or url)[:200],
        url=url,
        event_types=chosen,
        secret_ciphertext=encrypt(secret.encode()),
        status=ConnectionStatus.CONNECTED,
        connected_by_id=getattr(actor, "id", None),
    )
    db.session.add(endpoint)
    db.session.flush()
    core.log_sync(endpoint, SyncDirection.PUSH, "connect", message=f"Endpoint added by {actor}.")
    log_event(
        "webhook.endpoint.created",
        endpoint_id=endpoint.id,
        host=urlsplit(url).hostname,
        actor=str(actor),
    )
    return endpoint, secret


def update_endpoint(
    endpoint: WebhookEndpoint, url: str, description: str, event_types: Iterable[str]
) -> None:
    endpoint.url, endpoint.event_types = _check(url, event_types)
    endpoint.tenant_name = (description.strip() or endpoint.url)[:200]
    db.session.flush()


def rotate_secret(endpoint: WebhookEndpoint, actor) -> str:
    """A new secret signs from now; the old one also signs for 24 hours (both are sent)."""
    secret = signing.new_secret()
    endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    endpoint.secret_ciphertext = encrypt(secret.encode())
    core.log_sync(endpoint, SyncDirection.PUSH, "rotate", message=f"Secret rotated by {actor}.")
    db.session.flush()
    log_event(
        "webhook.secret.rotated",
        endpoint_id=endpoint.id,
        host=urlsplit(endpoint.url).hostname,  # a query string may hold the receiver's token
        actor=str(actor),
    )
    return secret


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign a message now: the current one, and the old one while it overlaps."""
    found = [decrypt(endpoint.secret_ciphertext).decode()]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_ciphertext and expires is not None and expires > utcnow():
        found.append(decrypt(endpoint.previous_secret_ciphertext).decode())
    return found


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop sending to it: new events skip it; what was queued waits until it is enabled."""
    if not core.CONNECTION.can(endpoint, "disconnect"):
        return
    core.CONNECTION.fire(endpoint, "disconnect")
    endpoint.disabled_reason = reason
    core.log_sync(endpoint, SyncDirection.PUSH, "disable", ok=False, message=reason)
    db.session.flush()


def enable(endpoint: WebhookEndpoint, actor) -> None:
    core.CONNECTION.fire(endpoint, "connect")
    endpoint.disabled_reason = ""
    endpoint.last_error = ""
    core.log_sync(endpoint, SyncDirection.PUSH, "enable", message=f"Enabled by {actor}.")
    schedule_sync(endpoint)
    db.session.flush()


def delete_endpoint(endpoint: WebhookEndpoint, actor) -> None:
    """Removing keeps the log: the endpoint is disabled for good and hidden from the list."""
    disable(endpoint, f"Deleted by {actor}.")
    endpoint.deleted_at = utcnow()
    db.session.flush()


def _receivers(event_type: str) -> list[WebhookEndpoint]:
    return [
        endpoint
        for endpoint in core.active_connections_cached(WebhookEndpoint)
        if endpoint.receives(event_type)
    ]


def emit(event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Write the event and one outbox delivery per endpoint that receives it (or nothing)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    receivers = _receivers(event_type)
    if not receivers:
        return None
    event = WebhookEvent(type=event_type, data=data)
    db.session.add(event)
    db.session.flush()
    for endpoint in receivers:
        ensure_delivery(endpoint, KIND, SUBJECT, event.id, new_subject=True)
        schedule_sync(endpoint)
    return event


def send_test(endpoint: WebhookEndpoint, actor) -> WebhookEvent:
    """A ``webhook.test`` event to this endpoint only (a disabled one must be enabled first)."""
    if endpoint.status == ConnectionStatus.DISCONNECTED:
        raise IntegrationRuleError("Enable the endpoint before sending it a test event.")
    event = WebhookEvent(type=TEST_EVENT, data={"endpoint_id": endpoint.id, "sent_by": str(actor)})
    db.session.add(event)
    db.session.flush()
    ensure_delivery(endpoint, KIND, SUBJECT, event.id, new_subject=True)
    schedule_sync(endpoint)
    return event


def resend(delivery: Delivery, actor) -> None:
    """Send a failed message again (same webhook-id: the receiver can tell it is a repeat)."""
    core.retry_delivery(delivery, actor)
