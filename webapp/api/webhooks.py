"""Webhook endpoints through the API: the same operations as Settings › Webhooks."""

from __future__ import annotations

from flask import Response, url_for
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.api.common import msp_only, not_found
from webapp.api.idempotency import HEADER_DOC, idempotent
from webapp.api.listing import (
    ListArgs,
    expansions,
    json_response,
    list_page,
    page_schema,
    schema_for,
)
from webapp.api.problems import problem
from webapp.api.schemas.webhooks import (
    WebhookDeliverySchema,
    WebhookEndpointCreateSchema,
    WebhookEndpointSchema,
    WebhookEndpointUpdateSchema,
    WebhookEventSchema,
    WebhookSecretSchema,
)
from webapp.api.security import acting_user, requires
from webapp.extensions import db
from webapp.integrations.models import ConnectionStatus, Delivery, DeliveryStatus
from webapp.integrations.operations import IntegrationRuleError
from webapp.webhooks import operations, queries
from webapp.webhooks.models import WebhookEndpoint, WebhookEvent

blp = Blueprint("api_webhooks", __name__, url_prefix="/api/v1", description="Webhook endpoints")
SCOPE = "webhooks:manage"
DELIVERY_EXPANSIONS = {"attempts": "attempts"}
_ENDPOINT_ID = {"endpoint_id": "$response.body#/id"}
ENDPOINT_LINKS = {
    "GetWebhookEndpoint": {"operationId": "getWebhookEndpoint", "parameters": _ENDPOINT_ID},
    "UpdateWebhookEndpoint": {
        "operationId": "updateWebhookEndpoint",
        "parameters": _ENDPOINT_ID,
    },
    "TestWebhookEndpoint": {"operationId": "testWebhookEndpoint", "parameters": _ENDPOINT_ID},
    "ListWebhookDeliveries": {
        "operationId": "listWebhookDeliveries",
        "parameters": _ENDPOINT_ID,
    },
}


def _actor() -> str:
    return f"{acting_user().name} (API)"


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    msp_only("webhook endpoints")
    endpoint = queries.endpoint_or_none(endpoint_id)
    if endpoint is None:
        raise not_found("webhook endpoint", endpoint_id)
    return endpoint


def _refused(error: IntegrationRuleError, pointer: str | None = "/url", status: int = 422):
    db.session.rollback()
    return problem(status, error.message, pointer=pointer)


def _answer(endpoint: WebhookEndpoint, status: int = 200, secret: str | None = None):
    body = WebhookEndpointSchema().dump(endpoint)
    if secret is not None:
        body["secret"] = secret
    return json_response(body, status)


class EndpointListArgs(ListArgs):
    enabled = fields.Boolean(metadata={"description": "Only enabled (true) or disabled (false)"})


@blp.route("/webhook-endpoints")
@requires(SCOPE)
@blp.arguments(EndpointListArgs, location="query")
@blp.response(200, page_schema(WebhookEndpointSchema, "WebhookEndpointPage"))
def list_endpoints(args):
    """List webhook endpoints (deleted ones are gone). Scope: `webhooks:manage`."""
    msp_only("webhook endpoints")
    expansions(args.get("expand"), set())
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    if "enabled" in args:
        connected = WebhookEndpoint.status != ConnectionStatus.DISCONNECTED
        query = query.where(connected if args["enabled"] else ~connected)
    return list_page(
        query,
        WebhookEndpoint,
        args,
        modified_column=WebhookEndpoint.updated_at,
        schema=WebhookEndpointSchema(),
    )


@blp.route("/webhook-endpoints", methods=["POST"])
@requires(SCOPE)
@blp.arguments(WebhookEndpointCreateSchema)
@blp.doc(
    parameters=[HEADER_DOC],
    operationId="createWebhookEndpoint",
    responses={201: {"links": ENDPOINT_LINKS}},
)
@idempotent(sensitive=True)
@blp.response(201, WebhookSecretSchema, description="Created; `secret` is shown here only")
def create_endpoint(body):
    """Add an endpoint (HTTPS, public address); its `whsec_` secret is in this answer only.
    An empty `event_types` receives every event. Scope: `webhooks:manage`."""
    msp_only("webhook endpoints")
    try:
        endpoint, secret = operations.create_endpoint(
            body["url"], body.get("description", ""), body.get("event_types", []), _actor()
        )
    except IntegrationRuleError as error:
        raise _refused(error) from None
    response = _answer(endpoint, 201, secret)
    response.headers["Location"] = url_for("api_webhooks.get_endpoint", endpoint_id=endpoint.id)
    return response


@blp.route("/webhook-endpoints/<int:endpoint_id>")
@requires(SCOPE)
@blp.doc(operationId="getWebhookEndpoint")
@blp.response(200, WebhookEndpointSchema)
def get_endpoint(endpoint_id: int):
    """One webhook endpoint (never its secret). Scope: `webhooks:manage`."""
    return _answer(_endpoint(endpoint_id))


@blp.route("/webhook-endpoints/<int:endpoint_id>", methods=["PATCH"])
@requires(SCOPE)
@blp.arguments(WebhookEndpointUpdateSchema)
@blp.doc(parameters=[HEADER_DOC], operationId="updateWebhookEndpoint")
@idempotent
@blp.response(200, WebhookEndpointSchema)
def update_endpoint(body, endpoint_id: int):
    """Change the fields sent; `enabled` disables or re-enables it (queued events then go).
    Scope: `webhooks:manage`."""
    endpoint = _endpoint(endpoint_id)
    if {"url", "description", "event_types"} & set(body):
        try:
            operations.update_endpoint(
                endpoint,
                body.get("url", endpoint.url),
                body.get("description", endpoint.tenant_name),
                body.get("event_types", endpoint.event_types),
            )
        except IntegrationRuleError as error:
            raise _refused(error) from None
    if body.get("enabled") is True and endpoint.status == ConnectionStatus.DISCONNECTED:
        operations.enable(endpoint, _actor())
    elif body.get("enabled") is False:
        operations.disable(endpoint, f"Disabled by {_actor()}.")
    db.session.flush()
    return _answer(endpoint)


@blp.route("/webhook-endpoints/<int:endpoint_id>", methods=["DELETE"])
@requires(SCOPE)
@blp.response(204)
def delete_endpoint(endpoint_id: int):
    """Delete an endpoint: nothing more is sent; its log is kept for Settings › Webhooks.
    Scope: `webhooks:manage`."""
    operations.delete_endpoint(_endpoint(endpoint_id), _actor())
    db.session.commit()
    return Response(status=204)


@blp.route("/webhook-endpoints/<int:endpoint_id>/rotate-secret", methods=["POST"])
@requires(SCOPE)
@blp.doc(parameters=[HEADER_DOC], operationId="rotateWebhookSecret")
@idempotent(sensitive=True)
@blp.response(200, WebhookSecretSchema, description="The new `secret`, shown here only")
def rotate_secret(endpoint_id: int):
    """A new signing secret; the old one also signs for 24 hours (both signatures are sent).
    Scope: `webhooks:manage`."""
    endpoint = _endpoint(endpoint_id)
    secret = operations.rotate_secret(endpoint, _actor())
    return _answer(endpoint, secret=secret)


@blp.route("/webhook-endpoints/<int:endpoint_id>/test", methods=["POST"])
@requires(SCOPE)
@blp.doc(parameters=[HEADER_DOC], operationId="testWebhookEndpoint")
@idempotent
@blp.response(202, WebhookEventSchema, description="Queued; it appears in the deliveries")
def send_test(endpoint_id: int):
    """Queue a `webhook.test` event to this endpoint only. Scope: `webhooks:manage`."""
    endpoint = _endpoint(endpoint_id)
    try:
        event = operations.send_test(endpoint, _actor())
    except IntegrationRuleError as error:
        raise _refused(error, pointer=None, status=409) from None
    return json_response(WebhookEventSchema().dump(event), 202)


class DeliveryListArgs(ListArgs):
    status = fields.Enum(DeliveryStatus, by_value=True)
    event_type = fields.String(validate=validate.Length(max=60))


def _deliveries(endpoint: WebhookEndpoint, wanted: set[str]):
    query = select(Delivery).where(
        Delivery.connection_id == endpoint.id, Delivery.subject_type == operations.SUBJECT
    )
    if "attempts" in wanted:
        query = query.options(selectinload(Delivery.attempt_rows))
    return query


def _with_events(deliveries: list[Delivery]) -> None:
    """Put each delivery's event on it (one query for the page) for the schema to dump."""
    ids = {delivery.subject_id for delivery in deliveries}
    events = {
        event.id: event
        for event in db.session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(ids)))
    }
    for delivery in deliveries:
        delivery.webhook_event = events.get(delivery.subject_id)


@blp.route("/webhook-endpoints/<int:endpoint_id>/deliveries")
@requires(SCOPE)
@blp.arguments(DeliveryListArgs, location="query")
@blp.doc(operationId="listWebhookDeliveries")
@blp.response(200, page_schema(WebhookDeliverySchema, "WebhookDeliveryPage"))
def list_deliveries(args, endpoint_id: int):
    """The endpoint's delivery log, oldest first. Scope: `webhooks:manage`; expand: attempts
    (each try's HTTP status, duration and response excerpt)."""
    endpoint = _endpoint(endpoint_id)
    wanted = expansions(args.get("expand"), set(DELIVERY_EXPANSIONS))
    query = _deliveries(endpoint, wanted)
    if "status" in args:
        query = query.where(Delivery.status == args["status"])
    if "event_type" in args:
        query = query.where(
            Delivery.subject_id.in_(
                select(WebhookEvent.id).where(WebhookEvent.type == args["event_type"])
            )
        )
    return list_page(
        query,
        Delivery,
        args,
        modified_column=Delivery.updated_at,
        schema=schema_for(WebhookDeliverySchema, wanted, DELIVERY_EXPANSIONS),
        prepare=_with_events,
    )


@blp.route(
    "/webhook-endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/resend", methods=["POST"]
)
@requires(SCOPE)
@blp.doc(parameters=[HEADER_DOC], operationId="resendWebhookDelivery")
@idempotent
@blp.response(202, WebhookDeliverySchema, description="Queued to be sent again")
def resend_delivery(endpoint_id: int, delivery_id: int):
    """Send a failed delivery again (same `webhook-id`). Scope: `webhooks:manage`."""
    endpoint = _endpoint(endpoint_id)
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.connection_id != endpoint.id:
        raise not_found("delivery", delivery_id)
    try:
        operations.resend(delivery, _actor())
    except IntegrationRuleError as error:
        raise _refused(error, pointer=None, status=409) from None
    _with_events([delivery])
    return json_response(WebhookDeliverySchema(exclude=["attempts"]).dump(delivery), 202)
