"""What the API shows of each record (marshmallow; the OpenAPI document is built from these).

Longer than our usual 600 lines on purpose: one short declarative schema per resource, with no
logic between them; they are read side by side with the OpenAPI document they produce.
"""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from webapp.auth.models import Role
from webapp.catalog.models import ProductType
from webapp.integrations.models import AttemptOutcome, ConnectionStatus, DeliveryStatus
from webapp.models_base import utcnow
from webapp.money import round_money
from webapp.purchasing.models import PurchaseOrderStatus
from webapp.quotes.models import QuoteStatus
from webapp.reports.payable_figures import AGEING_BUCKETS, PayableBill
from webapp.sales.models import (
    DocumentStatus,
    FulfilmentStatus,
    PaymentMethod,
    PaymentStatus,
    ProcurementStatus,
    Recurrence,
)
from webapp.webhooks.models import EVENT_TYPES


def Amount(**kwargs) -> fields.Decimal:  # noqa: N802 - reads as a field type
    """A Decimal amount as a JSON string ("1234.50"), never a float."""
    return fields.Decimal(
        as_string=True,
        metadata={"type": "string", "format": "decimal", "example": "1234.50"},
        **kwargs,
    )


def Nullable(field_cls, **kwargs):  # noqa: N802
    return field_cls(allow_none=True, **kwargs)


def Status(enum_cls):  # noqa: N802
    return fields.Enum(enum_cls, by_value=True)


# --- catalog -----------------------------------------------------------------------------


class CategorySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    parent_id = Nullable(fields.Integer)
    position = fields.Integer()


class BrandSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()


class SupplierSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    email = fields.String()
    online = fields.Boolean()
    currency = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class OfferSchema(Schema):
    id = fields.Integer()
    supplier_id = fields.Integer()
    supplier_sku = fields.String()
    cost = Amount()
    stock = fields.Integer()
    eta_days = Nullable(fields.Integer)
    available = fields.Boolean()
    updated_at = fields.AwareDateTime()


class ProductSchema(Schema):
    id = fields.Integer()
    mpn = fields.String(metadata={"description": "Manufacturer part number"})
    name = fields.String()
    description = fields.String()
    product_type = Status(ProductType)
    brand_id = fields.Integer()
    category_id = fields.Integer()
    obsolete = fields.Boolean()
    fixed_price = Nullable(Amount)  # set: the sell price is fixed, not from the rules
    in_stock = fields.Boolean()
    total_stock = fields.Integer()
    min_eta_days = Nullable(fields.Integer)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    brand = fields.Nested(BrandSchema, metadata={"description": "With expand=brand"})
    category = fields.Nested(CategorySchema, metadata={"description": "With expand=category"})
    offers = fields.List(
        fields.Nested(OfferSchema),
        metadata={"description": "With expand=offers (MSP-wide keys only)"},
    )


# --- organizations -----------------------------------------------------------------------


class ContactSchema(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    name = fields.String()
    email = fields.String()
    phone = fields.String()
    is_approver = fields.Boolean()
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class OrganizationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    account_number = fields.String()
    phone = fields.String()
    email = fields.String()
    website = fields.String()
    address_line1 = fields.String()
    address_line2 = fields.String()
    city = fields.String()
    region = fields.String()
    postcode = fields.String()
    country = fields.String()
    approved = fields.Boolean()
    payment_terms_days = Nullable(
        fields.Integer,
        metadata={"description": "Its own payment terms in days; null: the MSP's default"},
    )
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    contacts = fields.List(
        fields.Nested(ContactSchema), metadata={"description": "With expand=contacts"}
    )


# --- quotes ------------------------------------------------------------------------------


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


# --- sales orders ------------------------------------------------------------------------


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


# --- purchasing --------------------------------------------------------------------------


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


class StaffSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    role = Status(Role)
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AddressSchema(Schema):
    """An organization's postal address (orders copy it as their ship-to)."""

    id = fields.Integer(metadata={"description": "The organization's id"})
    organization_id = fields.Function(lambda o: o.id, metadata={"type": "integer"})
    organization_name = fields.String(attribute="name")
    address_line1 = fields.String()
    address_line2 = fields.String()
    city = fields.String()
    region = fields.String()
    postcode = fields.String()
    country = fields.String()
    updated_at = fields.AwareDateTime()


class QuoteSectionRowSchema(QuoteSectionSchema):
    quote_id = fields.Integer()


class ProductSupplierSchema(OfferSchema):
    """A supplier's offer of a product (the product's suppliers, with cost and stock)."""

    product_id = fields.Integer()


# --- write bodies ------------------------------------------------------------------------

TEXT = validate.Length(max=500)
MAX_AMOUNT = 10**9


def _amount_in_range(value) -> None:
    # A plain function, not validate.Range: apispec would print the bounds as strings.
    if not 0 <= value <= MAX_AMOUNT:
        raise ValidationError(f"Must be from 0 to {MAX_AMOUNT:,}.")
    if value.as_tuple().exponent < -4:
        raise ValidationError("At most 4 decimal places.")


_PLAIN_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")


class _AmountIn(fields.Decimal):
    """A Decimal field that takes text only as ASCII digits and a point: Decimal() itself
    reads "١٢٣" and "９９" as 123 and 99, and "1e3" as 1000 (issue 13)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _PLAIN_AMOUNT.fullmatch(value.strip()):
            raise ValidationError('Write the amount with the digits 0-9 and a ".", e.g. "99.50".')
        return super()._deserialize(value, attr, data, **kwargs)


def MoneyIn(description: str = "", **kwargs) -> fields.Decimal:  # noqa: N802
    """An amount in a request: a string or number of at most 4 decimals, 0 to 1e9."""
    metadata = {
        "type": "string",
        "format": "decimal",
        "pattern": r"^[0-9]{1,10}(\.[0-9]{1,4})?$",
        "example": "99.50",
    }
    if description:
        metadata["description"] = description
    return _AmountIn(
        places=None, allow_nan=False, validate=_amount_in_range, metadata=metadata, **kwargs
    )


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


class FeedText(fields.String):
    """A feed field: text, or a number sent as JSON (written as the feed would write it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


def _feed_field(description: str = "", **kwargs) -> FeedText:
    metadata = {"description": description} if description else {}
    return FeedText(validate=validate.Length(max=5000), metadata=metadata, **kwargs)


class OfferRecordSchema(Schema):
    """One supplier offer, as one line of a feed: the feed import's checks apply."""

    sku = _feed_field("The supplier's SKU (unique in the request)", required=True)
    mpn = _feed_field("Manufacturer part number", required=True)
    brand = _feed_field("Brand name (made when new)", required=True)
    name = _feed_field(required=True)
    cost = _feed_field('Unit cost, more than zero, e.g. "1234.50"', required=True)
    category = _feed_field("Ours or the supplier's mapped name; needed for a new product")
    stock = _feed_field("Whole number, default 0")
    eta_days = _feed_field("Whole number of days")
    description = _feed_field()
    image_url = _feed_field("https:// only (another address is dropped)")


class OfferBulkSchema(Schema):
    records = fields.List(
        fields.Nested(OfferRecordSchema), required=True, validate=validate.Length(1, 5000)
    )


class ProductRecordSchema(Schema):
    """One product's changes, found by `id` or by `brand_id` + `mpn`; fields left out are
    left as they are. A `brand_id` + `mpn` not in the catalog makes the product: it then
    needs `name` and `category_id`."""

    id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    brand_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    mpn = fields.String(validate=validate.Length(1, 100))
    name = _feed_field("Checked as a feed line's name: not empty, at most 300 characters")
    description = _feed_field("Cut at 5,000 characters, as a feed's")
    image_url = _feed_field("https:// only (another address is dropped, as a feed's)")
    fixed_price = MoneyIn(
        "The sell price, fixed; null returns it to the pricing rules", allow_none=True
    )
    obsolete = fields.Boolean(metadata={"description": "Withdrawn from the store (kept)"})
    category_id = fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "A new product's category (ignored for one that exists)"},
    )


class ProductBulkSchema(Schema):
    records = fields.List(
        fields.Nested(ProductRecordSchema), required=True, validate=validate.Length(1, 1000)
    )


class ProductBulkResultSchema(Schema):
    rows = fields.Integer()
    product_ids = fields.List(fields.Integer(), metadata={"description": "In the records' order"})
    created_ids = fields.List(
        fields.Integer(), metadata={"description": "The products this request made"}
    )


class OfferBulkResultSchema(Schema):
    feed_import_id = fields.Integer(metadata={"description": "The run in the feed history"})
    rows = fields.Integer()
    products_created = fields.Integer()
    offers_created = fields.Integer()
    offers_updated = fields.Integer()


class NoteSchema(Schema):
    note = fields.String(validate=validate.Length(max=500), metadata={"description": "Why"})


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


# --- webhooks ----------------------------------------------------------------------------


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


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Dict())
