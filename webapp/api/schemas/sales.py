"""Sales orders, their lines and payments, and the body that keys an order in."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from webapp.api.schemas.field_types import Amount, Nullable, Status
from webapp.sales.models import (
    DocumentStatus,
    FulfilmentStatus,
    PaymentStatus,
    ProcurementStatus,
    Recurrence,
)


class SalesOrderLineSchema(Schema):
    id = fields.Integer()
    sales_order_id = fields.Integer(attribute="document_id")
    position = fields.Integer()
    product_id = Nullable(fields.Integer)
    sku = fields.String()
    description = fields.String()
    quantity = fields.Integer()
    unit_price = Amount()
    tax_code = fields.String()
    tax_rate = Amount()
    line_subtotal = Amount()
    line_tax = Amount()
    recurrence = Status(Recurrence)
    term_months = Nullable(fields.Integer)


class SalesOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    status = Status(DocumentStatus)
    source = fields.String()
    organization_id = fields.Integer()
    contact_id = fields.Integer()
    currency = fields.String()
    customer_po = fields.String()
    subtotal = Amount()
    tax_total = Amount()
    total = Amount()
    amount_paid = Amount()
    hold_reason = fields.String()
    procurement_status = Status(ProcurementStatus)
    fulfilment_status = Status(FulfilmentStatus)
    payment_status = Status(PaymentStatus)
    created_at = fields.AwareDateTime()
    lines = fields.List(
        fields.Nested(SalesOrderLineSchema), metadata={"description": "With expand=lines"}
    )


class SalesOrderSummarySchema(SalesOrderSchema):
    class Meta:
        exclude = ("lines",)


class PaymentSchema(Schema):
    """A payment read from the ledger and allocated to one sales order (or tax invoice)."""

    id = fields.Integer()
    sales_order_id = fields.Integer(attribute="sales_document_id")
    amount = Amount()
    paid_on = fields.Date()
    ledger_payment_id = fields.String()
    ledger_invoice_id = fields.String(attribute="invoice_ledger_id")
    created_at = fields.AwareDateTime()
    sales_order = fields.Nested(
        SalesOrderSummarySchema,
        attribute="sales_document",
        metadata={"description": "With expand=sales_order"},
    )


class OrderLineInSchema(Schema):
    product_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    quantity = fields.Integer(required=True, validate=validate.Range(1, 10_000))


class SalesOrderCreateSchema(Schema):
    organization_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    contact_id = fields.Integer(
        required=True,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "The organization's contact the order is for"},
    )
    lines = fields.List(
        fields.Nested(OrderLineInSchema), required=True, validate=validate.Length(1, 200)
    )
    shipping_method_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    customer_po = fields.String(validate=validate.Length(max=100))
    note = fields.String(validate=validate.Length(max=2000))
    ship_to_name = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Default: the organization's name; its address is used"},
    )
