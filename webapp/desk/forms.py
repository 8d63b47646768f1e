from wtforms import StringField
from wtforms.validators import Length, Optional

from webapp.store.forms import CheckoutFormFields


class KeyedOrderForm(CheckoutFormFields):
    """The store's checkout fields, as staff fill them in for the customer."""

    customer_po = StringField("Customer's PO number", validators=[Optional(), Length(max=100)])
