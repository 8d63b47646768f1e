from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from webapp.organizations.models import ADDRESS_FIELDS
from webapp.sales.models import PaymentMethod


class CheckoutFormFields(FlaskForm):
    ship_to_name = StringField("Ship to (name)", validators=[Length(max=200)])
    address_line1 = StringField("Address", validators=[Length(max=200)])
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[Length(max=100)])
    region = StringField("State / region", validators=[Optional(), Length(max=100)])
    postcode = StringField("Postcode", validators=[Length(max=20)])
    country = StringField("Country", validators=[Length(max=100)])
    shipping_method_id = SelectField("Shipping method", coerce=int, validate_choice=True)
    payment_method = RadioField(
        "Payment",
        choices=[(method.value, method.label) for method in PaymentMethod],
        validators=[InputRequired()],
    )
    customer_po = StringField("Your PO number", validators=[Optional(), Length(max=100)])
    note = TextAreaField("Note for us", validators=[Optional(), Length(max=2000)])

    def posted_address(self) -> dict[str, str]:
        """The ship-to name and address as posted, by field name (an empty field is "")."""
        return {name: getattr(self, name).data or "" for name in ("ship_to_name", *ADDRESS_FIELDS)}
