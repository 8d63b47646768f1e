"""Inbound webhooks: verify the signature over the raw body first, store, answer, handle later.

``POST /webhooks/<provider>``: nothing in the payload is read before the provider's
``verify_webhook(raw_body, headers, key)`` accepts it. A verified body is stored as an
``InboundEvent`` (a vendor's retry of the same body is recognised and not stored twice) and
handled in a job by the function the provider registered; events are hints, so handlers
re-fetch what changed rather than trusting the payload.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, abort, current_app, request
from sqlalchemy.exc import IntegrityError

from webapp.extensions import csrf, db
from webapp.integrations import registry
from webapp.integrations.models import InboundEvent, InboundStatus
from webapp.jobs import enqueue_after_commit
from webapp.models_base import utcnow
from webapp.statemachine import StateMachine, Transition

log = logging.getLogger(__name__)

# Every status change of a stored vendor event (``INBOUND.fire``): handled once, or refused
# for good when its body is not what the vendor documents.
INBOUND = StateMachine(
    "inbound event",
    InboundStatus,
    [
        Transition("process", frozenset({InboundStatus.RECEIVED}), InboundStatus.PROCESSED),
        Transition("refuse", frozenset({InboundStatus.RECEIVED}), InboundStatus.FAILED),
    ],
)

bp = Blueprint("integrations_inbound", __name__, url_prefix="/webhooks")

# Vendors' notices are small; a larger body is refused before it is hashed or stored.
MAX_WEBHOOK_BYTES = 1024 * 1024


@bp.post("/<provider>")
@csrf.exempt  # vendors sign the body instead (checked first)
def webhook(provider: str):
    try:
        entry = registry.registration(provider)
        cls = registry.resolve(entry.path)
    except registry.UnknownProvider:
        abort(404)
    if not entry.webhook_handler:
        abort(404)
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        return "body too large", 413
    raw = request.get_data(cache=False)
    if len(raw) > MAX_WEBHOOK_BYTES:
        return "body too large", 413
    key = current_app.config.get(entry.webhook_key_config) or ""
    if not key or not cls.verify_webhook(raw, request.headers, key):
        # Xero expects 401 for a bad signature (its "intent to receive" check relies on it).
        return "signature does not match", 401
    digest = hashlib.sha256(raw).hexdigest()
    event = InboundEvent(
        provider=entry.name,
        body=raw.decode("utf-8", "replace"),
        body_sha256=digest,
    )
    db.session.add(event)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # the vendor sent this body before: it is stored and handled
        return "", 200
    enqueue_after_commit("workers.integrations.handle_inbound", event.id)
    db.session.commit()
    return "", 200


def handle(event_id: int) -> None:
    """Run the provider's handler on a stored event (in a job); record the outcome."""
    event = db.session.get(InboundEvent, event_id)
    if event is None or event.status is not InboundStatus.RECEIVED:
        return
    entry = registry.registration(event.provider)
    handler = registry.resolve(entry.webhook_handler)
    try:
        handler(registry.resolve(entry.path), event.body.encode())
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # The body is malformed (signed, but not what the vendor documents): retrying cannot
        # help. Kept for staff to read.
        db.session.rollback()
        event = db.session.get(InboundEvent, event_id)
        INBOUND.fire(event, "refuse")
        event.error = str(exc)[:2000]
        event.processed_at = utcnow()
        log.warning("inbound %s event %s refused: %s", event.provider, event.id, exc)
        return
    INBOUND.fire(event, "process")
    event.processed_at = utcnow()
