"""Xero webhooks: check the signature over the raw body, then read the events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from webapp.accounting.interfaces import WebhookEvent

_ENTITIES = {
    "INVOICE": "Invoice",
    "CONTACT": "Contact",
    "CREDITNOTE": "CreditNote",
    "SUBSCRIPTION": "Subscription",
}


def verify(raw_body: bytes, headers: Mapping[str, str], key: str) -> bool:
    """Check ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw body)).

    xero-webhooks.yaml #/components/headers/x-xero-signature; API-NOTES 2.7.
    """
    if not key:
        return False
    signature = next((v for k, v in headers.items() if k.lower() == "x-xero-signature"), None)
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), raw_body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def parse(raw_body: bytes) -> list[WebhookEvent]:
    """Return the events of a verified webhook body (empty for "intent to receive")."""
    try:
        body = json.loads(raw_body or b"{}")
    except ValueError as exc:
        raise ValueError("The webhook body is not JSON.") from exc
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise ValueError("The webhook body has no events list.")
    out = []
    for event in events:
        if not isinstance(event, dict) or not event.get("resourceId"):
            continue
        category = str(event.get("eventCategory", ""))
        out.append(
            WebhookEvent(
                tenant_id=str(event.get("tenantId", "")),
                entity=_ENTITIES.get(category, category.title()),
                entity_id=str(event["resourceId"]),
                operation=str(event.get("eventType", "")).title(),
            )
        )
    return out
