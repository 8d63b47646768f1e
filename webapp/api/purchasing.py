"""Purchase orders and receipts; issuing goes through webapp.purchasing.ordering."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.api.common import get_or_404, msp_only
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
from webapp.api.schemas import PurchaseOrderLineSchema, PurchaseOrderSchema, ReceiptSchema
from webapp.api.security import acting_user, requires
from webapp.extensions import db
from webapp.parsing import DB_INT_MAX
from webapp.purchasing import errors, ordering
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
)

blp = Blueprint("api_purchasing", __name__, url_prefix="/api/v1", description="Purchasing")
EXPANSIONS = {"lines": "lines"}
ID = validate.Range(1, DB_INT_MAX)


class PurchaseOrderListArgs(ListArgs):
    number = fields.String(validate=validate.Length(max=20))
    supplier_id = fields.Integer(validate=ID)
    status = fields.Enum(PurchaseOrderStatus, by_value=True)


def etag(po: PurchaseOrder) -> str:
    return etag_of(PurchaseOrderSchema(exclude=["lines"]).dump(po))


def _answer(po: PurchaseOrder, wanted: set[str]):
    return json_response(
        schema_for(PurchaseOrderSchema, wanted, EXPANSIONS).dump(po), headers={"ETag": etag(po)}
    )


@blp.route("/purchase-orders")
@requires("purchasing:read")
@blp.arguments(PurchaseOrderListArgs, location="query")
@blp.response(200, page_schema(PurchaseOrderSchema, "PurchaseOrderPage"))
def list_purchase_orders(args):
    """List purchase orders. Scope: `purchasing:read`; expand: lines."""
    msp_only("purchase orders")
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    query = select(PurchaseOrder)
    if "lines" in wanted:
        query = query.options(selectinload(PurchaseOrder.lines))
    for name in ("number", "supplier_id", "status"):
        if name in args:
            query = query.where(getattr(PurchaseOrder, name) == args[name])
    return list_page(
        query,
        PurchaseOrder,
        args,
        modified_column=PurchaseOrder.updated_at,
        schema=schema_for(PurchaseOrderSchema, wanted, EXPANSIONS),
    )


@blp.route("/purchase-orders/<int:po_id>")
@requires("purchasing:read")
@blp.arguments(GetArgs, location="query")
@blp.response(200, PurchaseOrderSchema, headers={"ETag": {"schema": {"type": "string"}}})
def get_purchase_order(args, po_id: int):
    """One purchase order. Scope: `purchasing:read`."""
    msp_only("purchase orders")
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    return _answer(get_or_404(PurchaseOrder, po_id, "purchase order"), wanted)


class PurchaseOrderLineListArgs(ListArgs):
    purchase_order_id = fields.Integer(validate=ID)
    product_id = fields.Integer(validate=ID)
    sales_document_id = fields.Integer(validate=ID, metadata={"description": "Bought for it"})


@blp.route("/purchase-order-lines")
@requires("purchasing:read")
@blp.arguments(PurchaseOrderLineListArgs, location="query")
@blp.response(200, page_schema(PurchaseOrderLineSchema, "PurchaseOrderLinePage"))
def list_purchase_order_lines(args):
    """List purchase order lines; `modified_after` is the purchase order's.
    Scope: `purchasing:read`."""
    msp_only("purchase orders")
    expansions(args.get("expand"), set())
    query = select(PurchaseOrderLine)
    for name in ("purchase_order_id", "product_id", "sales_document_id"):
        if name in args:
            query = query.where(getattr(PurchaseOrderLine, name) == args[name])
    return list_page(
        query,
        PurchaseOrderLine,
        args,
        modified_column=lambda t: PurchaseOrderLine.purchase_order_id.in_(
            select(PurchaseOrder.id).where(PurchaseOrder.updated_at > t)
        ),
        schema=PurchaseOrderLineSchema(),
    )


@blp.route("/purchase-orders/<int:po_id>/issue", methods=["POST"])
@requires("purchasing:write")
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC])
@idempotent
@blp.response(200, PurchaseOrderSchema)
def issue_purchase_order(po_id: int):
    """Issue a draft purchase order: it is emailed to the supplier. Scope: `purchasing:write`."""
    msp_only("purchase orders")
    po = get_or_404(PurchaseOrder, po_id, "purchase order")
    check_if_match(etag(po))
    try:
        ordering.issue_purchase_order(po, acting_user())
    except errors.PurchasingError as error:
        db.session.rollback()
        status = 409 if isinstance(error, errors.IllegalTransition) else 422
        raise problem(status, f"Not issued: {error}") from None
    db.session.flush()
    return _answer(po, {"lines"})


class ReceiptListArgs(ListArgs):
    purchase_order_id = fields.Integer(validate=ID)
    supplier_id = fields.Integer(validate=ID)
    supplier_invoice_number = fields.String(validate=validate.Length(max=100))


@blp.route("/receipts")
@requires("purchasing:read")
@blp.arguments(ReceiptListArgs, location="query")
@blp.response(200, page_schema(ReceiptSchema, "ReceiptPage"))
def list_receipts(args):
    """List receipts (goods in, with the supplier's invoice). Scope: `purchasing:read`;
    expand: lines."""
    msp_only("receipts")
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    query = select(Receipt)
    if "lines" in wanted:
        query = query.options(selectinload(Receipt.lines))
    for name in ("purchase_order_id", "supplier_id", "supplier_invoice_number"):
        if name in args:
            query = query.where(getattr(Receipt, name) == args[name])
    return list_page(
        query,
        Receipt,
        args,
        modified_column=Receipt.received_at,
        schema=schema_for(ReceiptSchema, wanted, EXPANSIONS),
    )


@blp.route("/receipts/<int:receipt_id>")
@requires("purchasing:read")
@blp.arguments(GetArgs, location="query")
@blp.response(200, ReceiptSchema)
def get_receipt(args, receipt_id: int):
    """One receipt. Scope: `purchasing:read`."""
    msp_only("receipts")
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    receipt = get_or_404(Receipt, receipt_id, "receipt")
    return json_response(schema_for(ReceiptSchema, wanted, EXPANSIONS).dump(receipt))
