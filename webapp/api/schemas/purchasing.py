"""Purchase orders, receipts, the costs charged against them and the bills payable."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from webapp.api.schemas.catalog import SupplierSchema
from webapp.api.schemas.field_types import Amount, MoneyIn, Nullable, Status
from webapp.models_base import utcnow
from webapp.money import round_money
from webapp.purchasing.models import PurchaseOrderStatus
from webapp.reports.payable_figures import AGEING_BUCKETS, PayableBill


class PurchaseOrderLineSchema(Schema):
    id = fields.Integer()
    purchase_order_id = fields.Integer()
    position = fields.Integer()
    product_id = fields.Integer()
    supplier_sku = fields.String()
    description = fields.String()
    quantity = fields.Integer()
    unit_cost = Amount()
    quantity_received = fields.Integer()
    sales_document_id = Nullable(fields.Integer)


class PurchaseOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    supplier_id = fields.Integer()
    status = Status(PurchaseOrderStatus)
    currency = fields.String()
    subtotal = Amount()
    freight = Amount()
    total = Amount()
    issued_at = Nullable(fields.AwareDateTime)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    lines = fields.List(
        fields.Nested(PurchaseOrderLineSchema), metadata={"description": "With expand=lines"}
    )


class ReceiptLineSchema(Schema):
    id = fields.Integer()
    purchase_order_line_id = fields.Integer()
    quantity = fields.Integer()
    unit_cost = Amount()
    line_total = Amount()
    serial_numbers = fields.List(fields.String())


class ReceiptSchema(Schema):
    id = fields.Integer()
    purchase_order_id = fields.Integer()
    supplier_id = fields.Integer()
    supplier_invoice_number = fields.String()
    invoice_date = fields.Date()
    due_date = fields.Date()
    currency = fields.String()
    subtotal = Amount()
    freight = Amount()
    total = Amount()
    received_at = fields.AwareDateTime()
    lines = fields.List(
        fields.Nested(ReceiptLineSchema), metadata={"description": "With expand=lines"}
    )


class PurchaseOrderCostSchema(Schema):
    """A cost actually charged against a PO line: one receipted line of a supplier invoice."""

    id = fields.Integer()
    purchase_order_id = fields.Function(
        lambda r: r.purchase_order_line.purchase_order_id, metadata={"type": "integer"}
    )
    purchase_order_line_id = fields.Integer()
    receipt_id = fields.Integer()
    product_id = fields.Function(
        lambda r: r.purchase_order_line.product_id, metadata={"type": "integer"}
    )
    supplier_invoice_number = fields.Function(
        lambda r: r.receipt.supplier_invoice_number, metadata={"type": "string"}
    )
    quantity = fields.Integer()
    expected_unit_cost = Amount(attribute="purchase_order_line.unit_cost")
    unit_cost = Amount()
    line_total = Amount()
    variance = fields.Function(
        lambda r: str(r.line_total - round_money(r.quantity * r.purchase_order_line.unit_cost)),
        metadata={
            "type": "string",
            "format": "decimal",
            "description": "Charged less expected (quantity × the PO line's cost)",
        },
    )
    currency = fields.Function(lambda r: r.receipt.currency, metadata={"type": "string"})
    received_at = fields.Function(
        lambda r: r.receipt.received_at.isoformat(),
        metadata={"type": "string", "format": "date-time"},
    )


def _today():
    return utcnow().date()


def _bill(receipt) -> PayableBill:
    """The AP report's view of a receipt: its overdue and ageing rules are the report's."""
    return PayableBill(
        receipt_id=receipt.id,
        purchase_order_id=receipt.purchase_order_id,
        po_number=receipt.purchase_order.number,
        supplier=receipt.supplier.name,
        supplier_invoice_number=receipt.supplier_invoice_number,
        invoice_date=receipt.invoice_date,
        due_date=receipt.due_date,
        currency=receipt.currency,
        subtotal=receipt.subtotal,
        freight=receipt.freight,
        total=receipt.total,
    )


class PayableSchema(Schema):
    """A supplier bill (a receipted invoice) and when it falls due."""

    id = fields.Integer(metadata={"description": "The receipt's id"})
    purchase_order_id = fields.Integer()
    supplier_id = fields.Integer()
    supplier_invoice_number = fields.String()
    invoice_date = fields.Date()
    due_date = fields.Date()
    currency = fields.String()
    subtotal = Amount()
    freight = Amount()
    total = Amount()
    overdue = fields.Function(
        lambda r: _bill(r).is_overdue(_today()),
        metadata={"type": "boolean", "description": "Due before today"},
    )
    days_overdue = fields.Function(
        lambda r: _bill(r).days_overdue(_today()), metadata={"type": "integer"}
    )
    ageing = fields.Function(
        lambda r: _bill(r).bucket(_today()),
        metadata={"type": "string", "enum": list(AGEING_BUCKETS)},
    )
    received_at = fields.AwareDateTime()
    supplier = fields.Nested(SupplierSchema, metadata={"description": "With expand=supplier"})


class ReceiptLineInSchema(Schema):
    purchase_order_line_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    quantity = fields.Integer(
        required=True,
        validate=validate.Range(0, 999_999_999),
        metadata={"description": "Units received now (partial is fine; 0 skips the line)"},
    )
    unit_cost = MoneyIn("As invoiced; default: the PO line's cost")
    serial_numbers = fields.List(
        fields.String(validate=validate.Length(1, 100)),
        load_default=list,
        validate=validate.Length(max=10_000),
        metadata={"description": "One per unit received, or none"},
    )


class ReceiptCreateSchema(Schema):
    supplier_invoice_number = fields.String(required=True, validate=validate.Length(1, 100))
    invoice_date = fields.Date(required=True)
    due_date = fields.Date(metadata={"description": "Default: invoice date + payment terms"})
    freight = MoneyIn("Freight on this invoice; default 0")
    note = fields.String(validate=validate.Length(max=2000))
    lines = fields.List(
        fields.Nested(ReceiptLineInSchema), required=True, validate=validate.Length(1, 1000)
    )
