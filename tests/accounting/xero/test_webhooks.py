"""Xero webhooks: x-xero-signature checked, events read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from webapp.accounting.interfaces import WebhookEvent
from webapp.accounting.xero.provider import XeroProvider

KEY = "webhook-signing-key"
BODY = json.dumps(
    {
        "events": [
            {
                "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/3f1c",
                "resourceId": "3f1c0d3e-0000-4000-8000-000000000001",
                "eventDateUtc": "2026-05-04T10:00:00.000",
                "eventType": "UPDATE",
                "eventCategory": "INVOICE",
                "tenantId": "6f2e3d4c-0b1a-4c5d-8e9f-a0b1c2d3e4f5",
                "tenantType": "ORGANISATION",
            }
        ],
        "firstEventSequence": 1,
        "lastEventSequence": 1,
        "entropy": "S0m3r4Nd0mt3xt",
    }
).encode()


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def test_correct_signature_is_accepted_whatever_the_header_case() -> None:
    assert XeroProvider.verify_webhook(BODY, {"X-Xero-Signature": sign(BODY)}, KEY)
    assert XeroProvider.verify_webhook(BODY, {"x-xero-signature": sign(BODY)}, KEY)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-xero-signature": sign(BODY, "another-key")},
        {"x-xero-signature": sign(BODY + b" ")},
        {"x-xero-signature": ""},
        {},
    ],
)
def test_bad_or_missing_signature_is_refused(headers: dict[str, str]) -> None:
    assert not XeroProvider.verify_webhook(BODY, headers, KEY)


def test_no_configured_key_refuses_everything() -> None:
    assert not XeroProvider.verify_webhook(BODY, {"x-xero-signature": sign(BODY, "")}, "")


def test_events_are_read() -> None:
    assert XeroProvider.parse_webhook(BODY) == [
        WebhookEvent(
            tenant_id="6f2e3d4c-0b1a-4c5d-8e9f-a0b1c2d3e4f5",
            entity="Invoice",
            entity_id="3f1c0d3e-0000-4000-8000-000000000001",
            operation="Update",
        )
    ]


def test_intent_to_receive_has_no_events() -> None:
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"x"}'
    assert XeroProvider.parse_webhook(body) == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"nothing": 1}'])
def test_malformed_body_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        XeroProvider.parse_webhook(body)
