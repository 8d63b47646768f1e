"""Purchase orders and receipts; issuing goes through webapp.purchasing.ordering, receipting
through webapp.purchasing.receipting."""

from __future__ import annotations

from decimal import Decimal

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
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
from webapp.api.schemas.purchasing import (
    PayableSchema,
    PurchaseOrderCostSchema,
    PurchaseOrderLineSchema,
    PurchaseOrderSchema,
    ReceiptCreateSchema,
    ReceiptSchema,
)
from webapp.api.security import acting_user, requires
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.parsing import DB_INT_MAX
from webapp.purchasing import errors, ordering, receipting
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    ReceiptLine,
)

blp = Blueprint("api_purchasing", __name__, url_prefix="/api/v1", description="Purchasing")
EXPANSIONS = {"lines": "lines"}
ID = validate.Range(1, DB_INT_MAX)
RECEIVABLE = (PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.PARTIALLY_RECEIVED)


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


def _receipt_input(po: PurchaseOrder, body: dict) -> receipting.ReceiptInput:
    costs = {line.id: line.unit_cost for line in po.lines}
    items = [
        receipting.ReceiptLineInput(
            line_id=item["purchase_order_line_id"],
            quantity=item["quantity"],
            # A line not on the PO keeps a placeholder cost: record_receipt names it as such.
            unit_cost=item.get("unit_cost", costs.get(item["purchase_order_line_id"], Decimal(1))),
            serial_numbers=tuple(s.strip() for s in item["serial_numbers"]),
        )
        for item in body["lines"]
    ]
    return receipting.ReceiptInput(
        supplier_invoice_number=body["supplier_invoice_number"],
        invoice_date=body["invoice_date"],
        due_date=body.get("due_date"),
        freight=body.get("freight", Decimal(0)),
        lines=items,
        note=body.get("note", ""),
    )


def _line_pointers(body: dict, error: receipting.ReceiptProblems) -> list[dict]:
    """Point each of the operation's problems at the line of the body it is about."""
    pointers = []
    for i, item in enumerate(body["lines"]):
        line_id = item["purchase_order_line_id"]
        text = error.by_line.get(line_id) or next(
            (p for p in error.problems if p.startswith(f"Line #{line_id} ")), None
        )
        if text:
            pointers.append({"pointer": f"/lines/{i}", "detail": text})
    return pointers


@blp.route("/purchase-orders/<int:po_id>/receipts", methods=["POST"])
@requires("purchasing:write")
@blp.arguments(ReceiptCreateSchema)
@blp.doc(parameters=[HEADER_DOC], operationId="receiptPurchaseOrder")
@idempotent
@blp.response(201, ReceiptSchema)
def receipt_purchase_order(body, po_id: int):
    """Receipt a supplier invoice against an issued PO: some or all units, serial numbers
    (one per unit), the cost actually charged. Receipted lines are locked.
    Scope: `purchasing:write`."""
    msp_only("purchase orders")
    po = get_or_404(PurchaseOrder, po_id, "purchase order")
    try:
        receipt = receipting.record_receipt(po, _receipt_input(po, body), acting_user())
        db.session.flush()
    except receipting.ReceiptProblems as error:
        db.session.rollback()
        raise problem(422, f"Not receipted: {error}", errors=_line_pointers(body, error)) from None
    except errors.DuplicateInvoice as error:
        db.session.rollback()
        raise problem(409, str(error), pointer="/supplier_invoice_number") from None
    except errors.ReceiptRefused as error:
        db.session.rollback()
        status = 409 if po.status not in RECEIVABLE else 422
        raise problem(status, f"Not receipted: {error}") from None
    except IntegrityError:
        # The same invoice receipted by someone else at this moment: the unique key caught it.
        db.session.rollback()
        raise problem(
            409,
            "That supplier invoice was receipted at the same moment by someone else.",
            pointer="/supplier_invoice_number",
        ) from None
    response = json_response(ReceiptSchema().dump(receipt), 201)
    response.headers["Location"] = url_for("api_purchasing.get_receipt", receipt_id=receipt.id)
    return response


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


class CostListArgs(ListArgs):
    purchase_order_id = fields.Integer(validate=ID)
    product_id = fields.Integer(validate=ID)


@blp.route("/purchase-order-costs")
@requires("purchasing:read")
@blp.arguments(CostListArgs, location="query")
@blp.response(200, page_schema(PurchaseOrderCostSchema, "PurchaseOrderCostPage"))
def list_purchase_order_costs(args):
    """Costs actually charged against purchase orders: each receipted invoice line with the
    PO line's expected cost and the variance; `modified_after` is the receipt's time.
    Scope: `purchasing:read`."""
    msp_only("purchase order costs")
    expansions(args.get("expand"), set())
    query = (
        select(ReceiptLine)
        .join(PurchaseOrderLine, PurchaseOrderLine.id == ReceiptLine.purchase_order_line_id)
        .options(selectinload(ReceiptLine.purchase_order_line), selectinload(ReceiptLine.receipt))
    )
    if "purchase_order_id" in args:
        query = query.where(PurchaseOrderLine.purchase_order_id == args["purchase_order_id"])
    if "product_id" in args:
        query = query.where(PurchaseOrderLine.product_id == args["product_id"])
    return list_page(
        query,
        ReceiptLine,
        args,
        modified_column=lambda t: ReceiptLine.receipt_id.in_(
            select(Receipt.id).where(Receipt.received_at > t)
        ),
        schema=PurchaseOrderCostSchema(),
    )


class PayableListArgs(ListArgs):
    supplier_id = fields.Integer(validate=ID)
    due_before = fields.Date(metadata={"description": "Only bills due before this date"})
    overdue = fields.Boolean(metadata={"description": "Only bills due before today (or not)"})


@blp.route("/accounts-payable")
@requires("purchasing:read")
@blp.arguments(PayableListArgs, location="query")
@blp.response(200, page_schema(PayableSchema, "PayablePage"))
def list_accounts_payable(args):
    """Supplier bills (receipted invoices) with their due date and ageing, as the accounts
    payable report shows them. Scope: `purchasing:read`; expand: supplier."""
    msp_only("accounts payable")
    wanted = expansions(args.get("expand"), {"supplier"})
    query = select(Receipt).options(
        selectinload(Receipt.purchase_order), selectinload(Receipt.supplier)
    )
    if "supplier_id" in args:
        query = query.where(Receipt.supplier_id == args["supplier_id"])
    if "due_before" in args:
        query = query.where(Receipt.due_date < args["due_before"])
    if "overdue" in args:
        today = utcnow().date()
        query = query.where(
            Receipt.due_date < today if args["overdue"] else Receipt.due_date >= today
        )
    return list_page(
        query,
        Receipt,
        args,
        modified_column=Receipt.received_at,
        schema=schema_for(PayableSchema, wanted, {"supplier": "supplier"}),
    )
