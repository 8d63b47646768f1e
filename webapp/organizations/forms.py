from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional


def optional_id(value: object) -> int | None:
    """Coerce a select's value to an id; the empty choice means none."""
    if value in (None, "", "None"):
        return None
    return int(value)


class OrganizationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    account_number = StringField("Account number", validators=[Optional(), Length(max=50)])
    phone = StringField("Phone", validators=[Optional(), Length(max=50)])
    email = EmailField("Email", validators=[Optional(), Email(), Length(max=254)])
    website = StringField("Website", validators=[Optional(), Length(max=200)])
    address_line1 = StringField("Address", validators=[Optional(), Length(max=200)])
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[Optional(), Length(max=100)])
    region = StringField("State / region", validators=[Optional(), Length(max=100)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=20)])
    country = StringField("Country", validators=[Optional(), Length(max=100)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    # Choices are the current price groups, filled in by the view.
    price_group_id = SelectField("Price group", coerce=optional_id, validate_choice=True)
    payment_terms_days = IntegerField(
        "Payment terms (days)",
        validators=[
            Optional(),
            NumberRange(min=0, max=365, message="Payment terms are 0 to 365 days."),
        ],
    )

    TEXT_FIELDS = (
        "name",
        "account_number",
        "phone",
        "email",
        "website",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postcode",
        "country",
        "notes",
    )

    def values(self) -> dict:
        """Return the submitted values, text stripped, keyed by model attribute."""
        data = {name: (getattr(self, name).data or "").strip() for name in self.TEXT_FIELDS}
        data["price_group_id"] = self.price_group_id.data
        data["payment_terms_days"] = self.payment_terms_days.data  # None: the default terms
        return data


class InviteContactForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    is_approver = BooleanField("Approver (may accept quotes for the organization)")


class PriceGroupForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    description = StringField("Description", validators=[Optional(), Length(max=500)])
