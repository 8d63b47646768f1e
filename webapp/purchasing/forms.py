"""Forms for purchasing: PO line edits, overrides, cancelling, receipting, settings, stock, bids."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.catalog.admin_forms import optional_id
from webapp.fields import BoundedDateField, CostField, MoneyField, QuantityField
from webapp.parsing import DB_INT_MAX
from webapp.purchasing import tracking

# Row ids are 32-bit: a larger one would make PostgreSQL raise instead of finding nothing.
MAX_ID = DB_INT_MAX  # ids a form posts are bounded like ids in URLs


class LineForm(FlaskForm):
    quantity = QuantityField("Quantity", [InputRequired()])
    unit_cost = CostField("Unit cost", [InputRequired()])
    confirm_zero_cost = BooleanField("Confirm a zero cost")


class ManualLineForm(LineForm):
    product_id = IntegerField("Product id", [InputRequired(), NumberRange(min=1, max=MAX_ID)])


class OverrideForm(FlaskForm):
    supplier_id = SelectField("Buy from", coerce=optional_id, validators=[InputRequired()])
    reason = StringField("Why", [Optional(), Length(max=300)])


class CancelForm(FlaskForm):
    reason = StringField("Reason", [DataRequired("Say why it is cancelled."), Length(max=500)])


class ReceiptForm(FlaskForm):
    """The receipt's header; the lines are read from qty-<id>, cost-<id>, serials-<id>."""

    supplier_invoice_number = StringField(
        "Supplier invoice number",
        [DataRequired("Enter the supplier's invoice number."), Length(max=100)],
    )
    invoice_date = BoundedDateField("Invoice date", [InputRequired("Enter the invoice date.")])
    due_date = BoundedDateField("Due date", [Optional()])
    freight = MoneyField("Freight", [Optional()])
    note = TextAreaField("Note", [Optional(), Length(max=2000)])
    confirm_zero_costs = BooleanField("Confirm zero costs (the supplier charged nothing)")
    tracking_number = StringField("Tracking number", [Optional(), Length(max=tracking.MAX_LENGTH)])
    carrier = SelectField("Carrier", choices=tracking.CARRIER_CHOICES, default="")


class SettingsForm(FlaskForm):
    purchasing_issue_mode = SelectField(
        "When the optimizer has planned an order",
        choices=[
            ("suggestions", "Purchasing suggestions: drafts for the purchasing officer to review"),
            ("supplier", "Issue to supplier: email each PO (PDF + CSV) and mark it issued"),
        ],
    )
    purchasing_merge_drafts = BooleanField("Merge demand into one draft PO per supplier")
    purchasing_allow_split = BooleanField(
        "Split a line across suppliers when no single one has enough stock"
    )
    purchasing_officer_email = StringField(
        "Purchasing officer email", [Optional(), Length(max=254)]
    )
    supplier_payment_terms_days = QuantityField(
        "Supplier payment terms (days)", [InputRequired()], minimum=0, maximum=365
    )


class StockForm(FlaskForm):
    product_id = IntegerField("Product id", [InputRequired(), NumberRange(min=1, max=MAX_ID)])
    quantity_on_hand = QuantityField("On hand", [InputRequired()], minimum=0)
    unit_cost = CostField("Unit cost", [InputRequired()])
    location = StringField("Location", [Optional(), Length(max=100)])


class BidForm(FlaskForm):
    supplier_id = SelectField("Supplier", coerce=optional_id, validators=[InputRequired()])
    organization_id = SelectField("Organization", coerce=optional_id, validators=[InputRequired()])
    product_id = IntegerField("Product id", [InputRequired(), NumberRange(min=1, max=MAX_ID)])
    unit_cost = CostField("Bid unit cost", [InputRequired()])
    valid_from = BoundedDateField("Valid from", [InputRequired()])
    valid_until = BoundedDateField("Valid until", [Optional()])
    reference = StringField("Bid reference", [Optional(), Length(max=100)])
