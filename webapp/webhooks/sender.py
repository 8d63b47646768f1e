"""The outbox's Sender for webhook endpoints: one signed POST per delivery.

Retries follow Standard Webhooks: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
20 h and 24 h (with the core's jitter; a receiver's Retry-After is honoured). Only a 2xx is
success; a redirect is a failure (never followed); 410 Gone disables the endpoint at once; an
endpoint still failing after the last retry is disabled and the admins are emailed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import requests
from flask import current_app

from webapp.extensions import db
from webapp.integrations.egress import EgressRefused, PublicAddressAdapter
from webapp.integrations.http import IntegrationHttp, retry_after_seconds
from webapp.integrations.interfaces import PermanentError, PushResult, TransientError
from webapp.integrations.models import Delivery
from webapp.integrations.outbox import Sender
from webapp.webhooks import operations, signing
from webapp.webhooks.models import WebhookEndpoint, WebhookEvent

SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
TIMEOUT = 15  # seconds; Standard Webhooks suggests 15-30


class WebhookProvider:
    """The registry's view of webhooks (a name and a label, no vendor API)."""

    name = "webhook"
    label = "Webhook endpoint"


@dataclass(frozen=True)
class Message:
    key: str
    message_id: str
    body: str


def _schedule() -> tuple[float, ...]:
    raw = str(current_app.config.get("WEBHOOK_RETRY_BACKOFF") or "")
    steps = tuple(float(s) for s in raw.split(",") if s.strip())
    return steps or SCHEDULE


class WebhookSender(Sender):
    kind_order = (operations.KIND,)
    max_batch = 1

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        config = current_app.config
        self.endpoint = endpoint
        self.backoff_steps = _schedule()
        self.max_attempts = len(self.backoff_steps) + 1
        session = requests.Session()
        adapter = PublicAddressAdapter(allow_loopback=bool(config.get("WEBHOOKS_ALLOW_LOOPBACK")))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.http = IntegrationHttp(
            None,
            timeout=float(config.get("WEBHOOK_TIMEOUT", TIMEOUT)),
            session=session,
            vendor=endpoint.label,
            allow_http=bool(config.get("INTEGRATIONS_ALLOW_HTTP")),
            follow_redirects=False,
            max_inline_wait=0,
            max_throttle_retries=0,
        )

    def payload(self, delivery: Delivery) -> Message:
        event = db.session.get(WebhookEvent, delivery.subject_id)
        if event is None:
            raise PermanentError("The event was deleted.", field="Event")
        body = json.dumps(
            {
                "type": event.type,
                "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
                "data": event.data,
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        return Message(key=delivery.request_key, message_id=event.message_id, body=body)

    def push(self, kind: str, items: list) -> list[PushResult]:
        return [self._post(message) for message in items]

    def _post(self, message: Message) -> PushResult:
        headers = signing.headers(
            operations.signing_secrets(self.endpoint),
            message.message_id,
            int(time.time()),
            message.body,
        )
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "MSP-Webhooks/1.0"
        try:
            response = self.http.request(
                "POST", self.endpoint.url, data=message.body.encode(), headers=headers, auth=False
            )
        except EgressRefused as exc:
            return PushResult(
                message.key,
                error=PermanentError(
                    f"Not sent: {exc.message}", field="URL", fix="Change the endpoint's URL."
                ),
            )
        status = response.status_code
        if 200 <= status < 300:
            return PushResult(message.key, remote_id=f"HTTP {status}")
        if status == 410:
            operations.disable(self.endpoint, "The receiver answered 410 Gone.")
            return PushResult(
                message.key,
                error=PermanentError(
                    "The receiver answered 410 Gone: the endpoint was disabled.",
                    field="URL",
                    fix="Enable the endpoint again once the receiver is back.",
                ),
            )
        what = "redirected (we never follow redirects)" if 300 <= status < 400 else "answered"
        raise TransientError(
            f"The receiver {what} HTTP {status}.",
            retry_after_seconds(response),
            status=status,
        )

    def describe(self, delivery: Delivery) -> str:
        event = db.session.get(WebhookEvent, delivery.subject_id)
        return f"{event.type} {event.message_id}" if event else f"event #{delivery.subject_id}"

    def confirmed(self, delivery: Delivery, result: PushResult) -> str:
        return f"delivered ({result.remote_id})"

    def gave_up(self, delivery: Delivery) -> None:
        reason = (
            f"Still failing after {delivery.attempts} attempts over about three days: "
            f"{delivery.last_error or 'no answer'}"
        )
        operations.disable(self.endpoint, reason)
        _email_admins(self.endpoint, reason)


def _email_admins(endpoint: WebhookEndpoint, reason: str) -> None:
    from webapp.auth.models import Role, User
    from webapp.mail.operations import queue_email

    admins = db.session.scalars(
        db.select(User).where(User.role == Role.ADMIN, User.active.is_(True))
    )
    for admin in admins:
        queue_email(
            to=admin.email,
            subject=f"Webhook endpoint disabled: {endpoint.tenant_name}",
            template="webhook_disabled",
            topic=f"webhook:{endpoint.id}",
            endpoint=endpoint,
            reason=reason,
        )
