"""Sales orders and their lines; cancelling goes through webapp.sales.operations."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from flask import request, url_for
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from webapp.accounting.models import ImportedPayment
from webapp.api.common import not_found
from webapp.api.idempotency import HEADER as IDEMPOTENCY_HEADER
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
from webapp.api.schemas.common import NoteSchema, ReasonSchema
from webapp.api.schemas.sales import (
    PaymentSchema,
    SalesOrderCreateSchema,
    SalesOrderLineSchema,
    SalesOrderSchema,
)
from webapp.api.security import acting_user, current_key, organization_limit, requires
from webapp.auth.models import User
from webapp.desk import operations as desk
from webapp.extensions import db
from webapp.organizations.models import Organization, address_of
from webapp.parsing import DB_INT_MAX
from webapp.sales import operations
from webapp.sales.models import (
    DocumentSource,
    DocumentStatus,
    PaymentMethod,
    SalesDocument,
    SalesDocumentEvent,
    SalesDocumentLine,
)
from webapp.store.models import ShippingMethod

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


class SalesOrderLineListArgs(ListArgs):
    sales_order_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))


@blp.route("/sales-order-lines")
@requires("orders:read")
@blp.arguments(SalesOrderLineListArgs, location="query")
@blp.response(200, page_schema(SalesOrderLineSchema, "SalesOrderLinePage"))
def list_sales_order_lines(args):
    """List sales order lines (of the orders this key sees); `modified_after` is the order's.
    Scope: `orders:read`."""
    expansions(args.get("expand"), set())
    visible = _visible().with_only_columns(SalesDocument.id)
    query = select(SalesDocumentLine).where(SalesDocumentLine.document_id.in_(visible))
    if "sales_order_id" in args:
        query = query.where(SalesDocumentLine.document_id == args["sales_order_id"])
    return list_page(
        query,
        SalesDocumentLine,
        args,
        modified_column=lambda t: SalesDocumentLine.document_id.in_(
            select(SalesDocument.id).where(_modified_after(t))
        ),
        schema=SalesOrderLineSchema(),
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


def _entry_key(idempotency_key: str) -> str:
    # The order's own once-only key (as a desk page's), from the API key and Idempotency-Key.
    return hashlib.sha256(f"{current_key().id}:{idempotency_key}".encode()).hexdigest()[:32]


@blp.route("/sales-orders", methods=["POST"])
@requires("orders:write")
@blp.arguments(SalesOrderCreateSchema)
@blp.doc(parameters=[HEADER_DOC])
@idempotent
@blp.response(201, SalesOrderSchema)
def create_sales_order(body):
    """Key in an order for a customer: catalog products at its prices, on account; the
    organization must be approved. It flows on to procurement as a store order does.
    Scope: `orders:write`."""
    organization = db.session.get(Organization, body["organization_id"])
    if organization is None:
        raise problem(422, "There is no such organization.", pointer="/organization_id")
    contact = db.session.get(User, body["contact_id"])
    if contact is None:
        raise problem(422, "There is no such contact.", pointer="/contact_id")
    shipping = db.session.get(ShippingMethod, body["shipping_method_id"])
    if shipping is None or not shipping.active:
        raise problem(422, "There is no such shipping method.", pointer="/shipping_method_id")
    header = operations.HeaderInput(
        ship_to_name=body.get("ship_to_name") or organization.name,
        **address_of(organization),
        shipping_method_name=shipping.name,
        shipping_charge=shipping.charge,
        payment_method=PaymentMethod.ON_ACCOUNT,
        surcharge_pct=Decimal(0),
        customer_po=body.get("customer_po", "").strip(),
        note=body.get("note", "").strip(),
    )
    wanted = [(line["product_id"], line["quantity"]) for line in body["lines"]]
    order = desk.KeyedOrder(
        organization=organization,
        contact=contact,
        lines=desk.lines_at_todays_prices(organization, wanted),
        header=header,
        shipping_method_id=shipping.id,
        entry_key=_entry_key(request.headers[IDEMPOTENCY_HEADER]),
        source=DocumentSource.API,
    )
    try:
        document = desk.place_order(order, acting_user())
    except desk.DeskError as error:
        db.session.rollback()
        pointer = f"/{error.field}" if error.field else None
        raise problem(error.status, error.message, pointer=pointer) from None
    db.session.flush()
    response = _answer(document, {"lines"})
    response.status_code = 201
    response.headers["Location"] = url_for("api_sales.get_sales_order", order_id=document.id)
    return response


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


@blp.route("/sales-orders/<int:order_id>/approve", methods=["POST"])
@requires("orders:write")
@blp.arguments(NoteSchema)
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC])
@idempotent
@blp.response(200, SalesOrderSchema)
def approve_sales_order(body, order_id: int):
    """Approve an order the margin guard held (as Release on the staff page): it flows on to
    procurement. 409 if it is not on hold. Scope: `orders:write`."""
    document = _document(order_id)
    check_if_match(etag(document))
    if document.status is not DocumentStatus.ON_HOLD:
        raise problem(409, f"{document.number} is {document.status.label.lower()}, not on hold.")
    try:
        operations.release_document(
            document, acting_user(), body.get("note", "").strip() or "approved through the API"
        )
    except operations.IllegalTransition as error:
        db.session.rollback()
        raise problem(409, f"Not approved: {error}.") from None
    db.session.flush()
    return _answer(document, {"lines"})


class PaymentListArgs(ListArgs):
    sales_order_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))
    paid_from = fields.Date(metadata={"description": "Paid on or after this date"})
    paid_to = fields.Date(metadata={"description": "Paid on or before this date"})


@blp.route("/payments")
@requires("orders:read")
@blp.arguments(PaymentListArgs, location="query")
@blp.response(200, page_schema(PaymentSchema, "PaymentPage"))
def list_payments(args):
    """Payments read from the ledger, each allocated to one order of this key's; the order's
    amount_paid is their sum. Scope: `orders:read`; expand: sales_order."""
    wanted = expansions(args.get("expand"), {"sales_order"})
    visible = _visible().with_only_columns(SalesDocument.id)
    query = select(ImportedPayment).where(ImportedPayment.sales_document_id.in_(visible))
    if "sales_order_id" in args:
        query = query.where(ImportedPayment.sales_document_id == args["sales_order_id"])
    if "paid_from" in args:
        query = query.where(ImportedPayment.paid_on >= args["paid_from"])
    if "paid_to" in args:
        query = query.where(ImportedPayment.paid_on <= args["paid_to"])
    return list_page(
        query,
        ImportedPayment,
        args,
        modified_column=ImportedPayment.created_at,
        schema=schema_for(PaymentSchema, wanted, {"sales_order": "sales_order"}),
        prepare=_with_orders if "sales_order" in wanted else None,
    )


def _with_orders(payments: list[ImportedPayment]) -> None:
    """Put each payment's order on it for expand=sales_order (one query for the page)."""
    ids = {payment.sales_document_id for payment in payments}
    orders = {
        order.id: order
        for order in db.session.scalars(select(SalesDocument).where(SalesDocument.id.in_(ids)))
    }
    for payment in payments:
        payment.sales_document = orders.get(payment.sales_document_id)
