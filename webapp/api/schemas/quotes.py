"""Quotes, their sections and lines, and the bodies that create and change them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from webapp.api.schemas.field_types import TEXT, Amount, MoneyIn, Nullable, Status
from webapp.catalog.models import ProductType
from webapp.quotes.models import QuoteStatus
from webapp.sales.models import PaymentMethod, Recurrence


class QuoteLineSchema(Schema):
    id = fields.Integer()
    quote_id = fields.Integer()
    section_id = fields.Integer()
    position = fields.Integer()
    product_id = Nullable(fields.Integer)
    product_type = Status(ProductType)
    sku = fields.String()
    description = fields.String()
    quantity = fields.Integer()
    unit_price = Amount()
    unit_cost = Amount()  # left out for customer-scoped keys
    cost_confirmed = fields.Boolean(
        metadata={
            "description": "A unit_cost of zero or less was confirmed (confirm_cost); "
            "an unconfirmed one stops the quote from being sent"
        }
    )  # left out for customer-scoped keys
    list_price = Nullable(Amount)
    optional = fields.Boolean()
    qty_editable = fields.Boolean()
    min_qty = Nullable(fields.Integer)
    max_qty = Nullable(fields.Integer)
    recurrence = Status(Recurrence)
    term_months = Nullable(fields.Integer)


class QuoteSectionSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    title = fields.String()
    choose_one = fields.Boolean()
    lines = fields.List(
        fields.Nested(QuoteLineSchema), metadata={"description": "With expand=sections.lines"}
    )


class QuoteSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    status = Status(QuoteStatus)
    version = fields.Integer()
    organization_id = fields.Integer()
    owner_id = fields.Integer()
    template_id = Nullable(fields.Integer)
    expires_on = fields.Date()
    currency = fields.String()
    payment_method = Status(PaymentMethod)
    shipping_label = fields.String()
    shipping_charge = Amount()
    intro = fields.String()
    terms = fields.String()
    sent_at = Nullable(fields.AwareDateTime)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    sections = fields.List(
        fields.Nested(QuoteSectionSchema), metadata={"description": "With expand=sections"}
    )


class QuoteSectionRowSchema(QuoteSectionSchema):
    quote_id = fields.Integer()


class QuoteCreateSchema(Schema):
    organization_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    template_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    title = fields.String(validate=validate.Length(max=200))
    owner_id = fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "Staff member who owns it; default: the key's admin"},
    )


class QuoteUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(max=200))
    owner_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    expires_on = fields.Date()
    payment_method = Status(PaymentMethod)
    shipping_label = fields.String(validate=validate.Length(max=100))
    shipping_charge = MoneyIn()
    intro = fields.String(validate=validate.Length(max=10_000))
    terms = fields.String(validate=validate.Length(max=10_000))


class QuoteLineCreateSchema(Schema):
    section_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    quantity = fields.Integer(required=True, validate=validate.Range(1, 100_000))
    product_id = fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "A catalog product (priced for the organization)"},
    )
    description = fields.String(validate=TEXT, metadata={"description": "Free-text line"})
    product_type = Status(ProductType)
    unit_price = MoneyIn()
    unit_cost = MoneyIn()
    confirm_cost = fields.Boolean(
        metadata={
            "description": "Keep a unit_cost of zero or less: needed to set one, and to "
            "send a quote whose catalog line came with one"
        }
    )
    sku = fields.String(validate=validate.Length(max=100))


class QuoteLineUpdateSchema(Schema):
    description = fields.String(validate=TEXT)
    quantity = fields.Integer(validate=validate.Range(1, 100_000))
    unit_price = MoneyIn()
    unit_cost = MoneyIn()
    confirm_cost = fields.Boolean(
        metadata={
            "description": "Keep a unit_cost of zero or less: needed to set one, and to "
            "send a quote whose catalog line came with one"
        }
    )
    optional = fields.Boolean()
    qty_editable = fields.Boolean()
    min_qty = fields.Integer(allow_none=True, validate=validate.Range(1, 100_000))
    max_qty = fields.Integer(allow_none=True, validate=validate.Range(1, 100_000))
    recurrence = Status(Recurrence)
    term_months = fields.Integer(allow_none=True, validate=validate.Range(1, 600))


class QuoteSectionCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    choose_one = fields.Boolean(load_default=False)


class QuoteSectionUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(1, 200))
    choose_one = fields.Boolean()
