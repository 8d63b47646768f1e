"""Webhook endpoints, registered with the integrations core (their sender and delivery kind)."""

from __future__ import annotations

from webapp.integrations import registry
from webapp.integrations.registry import Registration

registry.register(
    Registration(
        "webhook",
        "webhook",
        "webapp.webhooks.sender:WebhookProvider",
        sender="webapp.webhooks.sender:WebhookSender",
    )
)
registry.register_kinds({"webhook": "Webhook"})
