from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.catalog.models import ProductType
from webapp.fields import (
    BoundedDateField,
    CostField,
    MoneyField,
    QuantityField,
    SingleLineField,
)
from webapp.parsing import COST_MAX, DB_INT_MAX, MONEY_MAX
from webapp.quotes.building import CONFIRM_COST
from webapp.quotes.models import ApprovalRuleKind
from webapp.sales.models import PaymentMethod, Recurrence

# Ids must fit the database's integer columns (PostgreSQL refuses larger numbers outright).
MAX_ID = DB_INT_MAX  # ids a form posts are bounded like ids in URLs
ID_RANGE = NumberRange(min=1, max=MAX_ID, message="Not a valid id.")


def optional_id(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


class NewQuoteForm(FlaskForm):
    organization_id = SelectField("Organization", coerce=int, validate_choice=True)
    template_id = SelectField("Template", coerce=optional_id, validate_choice=True)
    title = SingleLineField("Title", validators=[Optional(), Length(max=200)])


class HeaderForm(FlaskForm):
    title = SingleLineField("Title", validators=[DataRequired(), Length(max=200)])
    owner_id = SelectField("Owner", coerce=int, validate_choice=True)
    expires_on = BoundedDateField("Expires on", validators=[InputRequired()])
    payment_method = SelectField(
        "Payment", choices=[(m.value, m.label) for m in PaymentMethod], validate_choice=True
    )
    shipping_label = StringField("Shipping", validators=[Optional(), Length(max=100)])
    shipping_charge = MoneyField("Shipping charge", validators=[InputRequired()])
    intro = TextAreaField("Introduction", validators=[Optional(), Length(max=10000)])
    terms = TextAreaField("Terms", validators=[Optional(), Length(max=20000)])


class LineForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired(), Length(max=500)])
    quantity = QuantityField("Quantity", validators=[InputRequired()], maximum=9999)
    # A negative price is a discount line; its cost may be negative too (a rebate).
    unit_price = MoneyField("Unit price", validators=[InputRequired()], minimum=-MONEY_MAX)
    unit_cost = CostField("Unit cost", validators=[InputRequired()], minimum=-COST_MAX)
    confirm_cost = BooleanField(CONFIRM_COST)  # a new cost of zero or less (a rebate)
    optional = BooleanField("Optional")
    qty_editable = BooleanField("Customer sets quantity")
    min_qty = QuantityField("Min", validators=[Optional()], maximum=9999)
    max_qty = QuantityField("Max", validators=[Optional()], maximum=9999)
    recurrence = SelectField(
        "Billing", choices=[(r.value, r.label) for r in Recurrence], validate_choice=True
    )
    term_months = QuantityField("Term (months)", validators=[Optional()], maximum=600)


CUSTOM_TYPES = [
    ProductType.SERVICE,
    ProductType.RECURRING_SERVICE,
    ProductType.LABOUR,
    ProductType.BUNDLE,
    ProductType.NON_PHYSICAL,
    ProductType.PHYSICAL,
]


class CustomLineForm(FlaskForm):
    section_id = IntegerField("Section", validators=[InputRequired(), ID_RANGE])
    product_type = SelectField(
        "Kind", choices=[(t.value, t.label) for t in CUSTOM_TYPES], validate_choice=True
    )
    description = StringField("Description", validators=[DataRequired(), Length(max=500)])
    sku = StringField("Code", validators=[Optional(), Length(max=100)])
    quantity = QuantityField("Quantity", validators=[InputRequired()], maximum=9999)
    unit_price = MoneyField("Unit price", validators=[InputRequired()])
    # Blank: the line costs us nothing (our labour); a typed zero or less must be confirmed.
    unit_cost = CostField("Unit cost", validators=[Optional()])
    confirm_cost = BooleanField(CONFIRM_COST)


class ProductLineForm(FlaskForm):
    section_id = IntegerField("Section", validators=[InputRequired(), ID_RANGE])
    product_id = IntegerField("Product", validators=[InputRequired(), ID_RANGE])
    quantity = QuantityField("Quantity", default=1, validators=[InputRequired()], maximum=9999)


class SectionForm(FlaskForm):
    title = SingleLineField("Title", validators=[DataRequired(), Length(max=200)])
    choose_one = BooleanField("Choose one")


class ReminderForm(FlaskForm):
    due_at = DateTimeLocalField(
        "Remind on (UTC)", format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=2000)])


class TemplateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = StringField("Description", validators=[Optional(), Length(max=500)])
    intro = TextAreaField("Introduction", validators=[Optional(), Length(max=10000)])
    terms = TextAreaField("Terms", validators=[Optional(), Length(max=20000)])
    expiry_days = QuantityField(
        "Quotes expire after (days)", validators=[InputRequired()], maximum=365
    )
    active = BooleanField("In use")


class TemplateLineForm(FlaskForm):
    """A template line: a blank price or cost means the catalog's when a quote is made."""

    description = StringField("Description", validators=[DataRequired(), Length(max=500)])
    quantity = QuantityField("Quantity", validators=[InputRequired()], maximum=9999)
    unit_price = MoneyField("Unit price", validators=[Optional()])
    unit_cost = CostField("Unit cost", validators=[Optional()])
    optional = BooleanField("Optional")
    qty_editable = BooleanField("Customer sets quantity")
    min_qty = QuantityField("Min", validators=[Optional()], maximum=9999)
    max_qty = QuantityField("Max", validators=[Optional()], maximum=9999)
    recurrence = SelectField(
        "Billing", choices=[(r.value, r.label) for r in Recurrence], validate_choice=True
    )
    term_months = QuantityField("Term (months)", validators=[Optional()], maximum=600)


class SaveTemplateForm(FlaskForm):
    name = StringField("Template name", validators=[DataRequired(), Length(max=200)])


class RuleForm(FlaskForm):
    kind = SelectField(
        "Rule", choices=[(k.value, k.label) for k in ApprovalRuleKind], validate_choice=True
    )
    threshold = MoneyField("Threshold", validators=[Optional()])
    user_id = SelectField("User", coerce=optional_id, validate_choice=True)
