"""Sales orders and their lines; cancelling goes through webapp.sales.operations."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from webapp.api.common import not_found
from webapp.api.idempotency import HEADER_DOC, idempotent
from webapp.api.listing import (
    GetArgs,
    ListArgs,
    check_if_match,
    etag_of,
    expansions,
    json_response,
    list_page,
    page_schema,
    schema_for,
)
from webapp.api.problems import problem
from webapp.api.quotes import IF_MATCH_DOC
from webapp.api.schemas import ReasonSchema, SalesOrderSchema
from webapp.api.security import acting_user, organization_limit, requires
from webapp.extensions import db
from webapp.parsing import DB_INT_MAX
from webapp.sales import operations
from webapp.sales.models import DocumentStatus, SalesDocument, SalesDocumentEvent

blp = Blueprint("api_sales", __name__, url_prefix="/api/v1", description="Sales orders")
EXPANSIONS = {"lines": "lines"}


class SalesOrderListArgs(ListArgs):
    number = fields.String(validate=validate.Length(max=20))
    organization_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))
    status = fields.Enum(DocumentStatus, by_value=True)


def _visible():
    query = select(SalesDocument)
    if organization_limit() is not None:
        query = query.where(SalesDocument.organization_id == organization_limit())
    return query


def _modified_after(instant):
    # A document has no updated_at: every change writes a timeline event instead.
    changed = exists().where(
        SalesDocumentEvent.document_id == SalesDocument.id,
        SalesDocumentEvent.created_at > instant,
    )
    return or_(SalesDocument.created_at > instant, changed)


def etag(document: SalesDocument) -> str:
    last_event = max((event.id for event in document.events), default=0)
    body = SalesOrderSchema(exclude=["lines"]).dump(document)
    return etag_of({**body, "_event": last_event})


def _answer(document: SalesDocument, wanted: set[str]):
    return json_response(
        schema_for(SalesOrderSchema, wanted, EXPANSIONS).dump(document),
        headers={"ETag": etag(document)},
    )


@blp.route("/sales-orders")
@requires("orders:read")
@blp.arguments(SalesOrderListArgs, location="query")
@blp.response(200, page_schema(SalesOrderSchema, "SalesOrderPage"))
def list_sales_orders(args):
    """List sales orders (and tax invoices). Scope: `orders:read`; expand: lines."""
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    query = _visible()
    if "lines" in wanted:
        query = query.options(selectinload(SalesDocument.lines))
    for name in ("number", "organization_id", "status"):
        if name in args:
            query = query.where(getattr(SalesDocument, name) == args[name])
    return list_page(
        query,
        SalesDocument,
        args,
        modified_column=_modified_after,
        schema=schema_for(SalesOrderSchema, wanted, EXPANSIONS),
    )


def _document(document_id: int) -> SalesDocument:
    document = db.session.scalar(_visible().where(SalesDocument.id == document_id))
    if document is None:
        raise not_found("sales order", document_id)
    return document


@blp.route("/sales-orders/<int:order_id>")
@requires("orders:read")
@blp.arguments(GetArgs, location="query")
@blp.response(200, SalesOrderSchema, headers={"ETag": {"schema": {"type": "string"}}})
def get_sales_order(args, order_id: int):
    """One sales order with an ETag for If-Match. Scope: `orders:read`."""
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    return _answer(_document(order_id), wanted)


@blp.route("/sales-orders/<int:order_id>/cancel", methods=["POST"])
@requires("orders:write")
@blp.arguments(ReasonSchema)
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC])
@idempotent
@blp.response(200, SalesOrderSchema)
def cancel_sales_order(body, order_id: int):
    """Cancel a sales order (its purchasing is released as on the staff page).
    Scope: `orders:write`."""
    document = _document(order_id)
    check_if_match(etag(document))
    try:
        operations.transition(
            document, DocumentStatus.CANCELLED, acting_user(), body["reason"].strip()
        )
    except operations.IllegalTransition as error:
        db.session.rollback()
        raise problem(409, f"Not cancelled: {error}.") from None
    db.session.flush()
    return _answer(document, {"lines"})
