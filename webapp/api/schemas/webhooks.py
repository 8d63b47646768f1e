"""Webhook endpoints, their events, deliveries and attempts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from webapp.api.schemas.field_types import Nullable, Status
from webapp.integrations.models import AttemptOutcome, ConnectionStatus, DeliveryStatus
from webapp.webhooks.models import EVENT_TYPES


def _event_types_field(**kwargs) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(sorted(EVENT_TYPES))),
        validate=validate.Length(max=len(EVENT_TYPES)),
        metadata={"description": "Event types it receives; empty = every type"},
        **kwargs,
    )


class WebhookEndpointSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String(attribute="tenant_name")
    event_types = fields.List(fields.String())
    enabled = fields.Function(
        lambda e: e.status != ConnectionStatus.DISCONNECTED, metadata={"type": "boolean"}
    )
    disabled_reason = fields.String()
    last_error = fields.String()
    previous_secret_expires_at = Nullable(
        fields.AwareDateTime,
        metadata={"description": "While set and in the future, the old secret signs too"},
    )
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class WebhookSecretSchema(WebhookEndpointSchema):
    secret = fields.String(metadata={"description": "whsec_…: shown once, in this answer only"})


class WebhookEndpointCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(1, 500))
    description = fields.String(validate=validate.Length(max=200))
    event_types = _event_types_field(load_default=list)


class WebhookEndpointUpdateSchema(Schema):
    url = fields.String(validate=validate.Length(1, 500))
    description = fields.String(validate=validate.Length(max=200))
    event_types = _event_types_field()
    enabled = fields.Boolean()


class WebhookEventSchema(Schema):
    id = fields.Integer()
    message_id = fields.String(metadata={"description": "The webhook-id header"})
    type = fields.String()
    data = fields.Dict()
    created_at = fields.AwareDateTime()


class WebhookAttemptSchema(Schema):
    id = fields.Integer()
    outcome = Status(AttemptOutcome)
    started_at = fields.AwareDateTime()
    duration_ms = Nullable(fields.Integer)
    http_status = Nullable(fields.Integer)
    response_excerpt = fields.String()
    error = fields.String()


class WebhookDeliverySchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer(attribute="subject_id")
    # Set on each row by the view (one query per page): the delivery's event.
    event_type = fields.Function(
        lambda d: d.webhook_event.type if d.webhook_event else "", metadata={"type": "string"}
    )
    message_id = fields.Function(
        lambda d: d.webhook_event.message_id if d.webhook_event else "",
        metadata={"type": "string", "description": "The webhook-id header"},
    )
    status = Status(DeliveryStatus)
    attempt_count = fields.Integer(attribute="attempts")
    next_attempt_at = Nullable(fields.AwareDateTime)
    last_error = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    attempts = fields.List(
        fields.Nested(WebhookAttemptSchema),
        attribute="attempt_rows",
        metadata={"description": "With expand=attempts"},
    )
