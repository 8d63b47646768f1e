"""A quote's acceptance: who accepted it, when, with which PO, and how they signed."""

from __future__ import annotations

from flask import Response, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from webapp.api.listing import json_response
from webapp.api.problems import problem

# quotes.py owns which quotes a key may see (a customer key: its organization's sent ones).
from webapp.api.quotes import visible_quote
from webapp.api.security import requires
from webapp.quotes.models import QuoteDecision
from webapp.quotes.queries import quote_acceptance

blp = Blueprint(
    "api_quote_acceptance", __name__, url_prefix="/api/v1", description="Quote acceptances"
)

SIGNATURE_TYPES = ("typed", "drawn", "none")  # "none": accepted before signatures existed


class QuoteAcceptanceSchema(Schema):
    quote_id = fields.Integer()
    version = fields.Integer(metadata={"description": "The quote version accepted"})
    contact_id = fields.Integer(metadata={"description": "The approver the link was sent to"})
    contact_email = fields.String()
    full_name = fields.String(metadata={"description": "The name the approver typed"})
    accepted_at = fields.AwareDateTime()
    customer_po = fields.String()
    ip_address = fields.String()
    signature_type = fields.String(validate=validate.OneOf(SIGNATURE_TYPES))
    signature_text = fields.String(metadata={"description": "The typed signature (typed only)"})
    signature_url = fields.String(
        allow_none=True, metadata={"description": "The drawn signature's PNG (drawn only)"}
    )
    sales_order_id = fields.Integer(
        allow_none=True, metadata={"description": "The sales document it became"}
    )


def _acceptance(quote_id: int) -> QuoteDecision:
    quote = visible_quote(quote_id)
    decision = quote_acceptance(quote)
    if decision is None:
        raise problem(404, f"Quote {quote.number} has not been accepted.")
    return decision


def _signature_type(decision: QuoteDecision) -> str:
    if decision.signature_png:
        return "drawn"
    return "typed" if decision.signature_text else "none"


@blp.route("/quotes/<int:quote_id>/acceptance")
@requires("quotes:read")
@blp.response(200, QuoteAcceptanceSchema)
@blp.doc(operationId="getQuoteAcceptance")
def get_acceptance(quote_id: int):
    """Who accepted the quote, when, with which PO and how they signed (404 until it is
    accepted). Scope: `quotes:read`."""
    decision = _acceptance(quote_id)
    kind = _signature_type(decision)
    body = {
        "quote_id": decision.quote_id,
        "version": decision.version.number,
        "contact_id": decision.recipient_id,
        "contact_email": decision.recipient.email,
        "full_name": decision.full_name,
        "accepted_at": decision.decided_at,
        "customer_po": decision.customer_po,
        "ip_address": decision.ip_address,
        "signature_type": kind,
        "signature_text": decision.signature_text,
        "signature_url": url_for(".get_signature", quote_id=decision.quote_id)
        if kind == "drawn"
        else None,
        "sales_order_id": decision.document_id,
    }
    return json_response(QuoteAcceptanceSchema().dump(body))


@blp.route("/quotes/<int:quote_id>/acceptance/signature")
@requires("quotes:read")
@blp.doc(
    operationId="getQuoteAcceptanceSignature",
    responses={
        200: {
            "description": "The drawn signature (PNG)",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def get_signature(quote_id: int):
    """The drawn signature of the quote's acceptance as a PNG (404 when it was typed or the
    quote is not accepted). Scope: `quotes:read`."""
    decision = _acceptance(quote_id)
    if not decision.signature_png:
        raise problem(404, f"Quote {decision.quote.number}'s acceptance has no drawn signature.")
    return Response(decision.signature_png, mimetype="image/png")
