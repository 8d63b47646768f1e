"""The form fields every form uses for money, costs, quantities, percentages and dates.

Each parses with webapp.parsing, so a form, an HTMX endpoint and the approval page refuse the
same values ("1e30", "NaN", 29 digits, "١٢", 9999-12-31) with the same message, naming the field.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from wtforms import DateField, DecimalField, IntegerField, StringField
from wtforms.validators import ValidationError

from webapp.parsing import (
    COST_MAX,
    DATE_MAX,
    DATE_MIN,
    MONEY_MAX,
    PERCENT_MAX,
    QUANTITY_MAX,
    InputRefused,
    bounded_date,
    bounded_decimal,
    whole_number,
)


class _BoundedDecimalField(DecimalField):
    places_default = 2
    minimum_default = Decimal(0)
    maximum_default = MONEY_MAX
    what = "an amount"
    unit = ""

    def __init__(
        self, label=None, validators=None, *, places=None, minimum=None, maximum=None, **kwargs
    ):
        places = self.places_default if places is None else places
        super().__init__(label, validators, places=places, **kwargs)
        self.max_places = places
        self.minimum = self.minimum_default if minimum is None else Decimal(minimum)
        self.maximum = self.maximum_default if maximum is None else Decimal(maximum)

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            self.raw_data = []  # blank or only spaces is no input: InputRequired refuses it
            return
        self.data = None
        try:
            self.data = bounded_decimal(
                valuelist[0],
                places=self.max_places,
                minimum=self.minimum,
                maximum=self.maximum,
                what=self.what,
                unit=self.unit,
            )
        except InputRefused as refused:
            raise ValueError(str(refused)) from None


class MoneyField(_BoundedDecimalField):
    """A price, charge or threshold: cents, from 0 to MONEY_MAX unless told otherwise."""

    what = "an amount"


class CostField(_BoundedDecimalField):
    """A supplier cost: up to 4 decimals (what suppliers quote), from 0 to COST_MAX."""

    places_default = 4
    maximum_default = COST_MAX
    what = "a cost"


class PercentField(_BoundedDecimalField):
    """A percentage such as a markup or a tax rate: up to 3 decimals, from 0 to PERCENT_MAX."""

    places_default = 3
    maximum_default = PERCENT_MAX
    what = "a percentage"
    unit = "%"


class QuantityField(IntegerField):
    """A whole number of units (or days, months): ASCII digits, from `minimum` to `maximum`."""

    def __init__(self, label=None, validators=None, *, minimum=1, maximum=QUANTITY_MAX, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            self.raw_data = []  # blank or only spaces is no input: InputRequired refuses it
            return
        value = whole_number(valuelist[0], minimum=self.minimum, maximum=self.maximum)
        if value is None:
            raise ValueError(f"Enter a whole number from {self.minimum:,} to {self.maximum:,}.")
        self.data = value


class BoundedDateField(DateField):
    """A calendar date as YYYY-MM-DD within DATE_MIN..DATE_MAX (9999-12-31 is a typo)."""

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        minimum: date = DATE_MIN,
        maximum: date = DATE_MAX,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            self.raw_data = []  # blank or only spaces is no input: InputRequired refuses it
            return
        try:
            self.data = bounded_date(valuelist[0], minimum=self.minimum, maximum=self.maximum)
        except InputRefused as refused:
            raise ValueError(str(refused)) from None


class SingleLineField(StringField):
    """One line of text (a title, a name): a line break or control character is refused.

    The browser's text input cannot send one, so it came from a script or a paste that would
    otherwise end up in an email subject (where a line break stops the email) or a PDF.
    """

    def pre_validate(self, form):
        text = self.data or ""
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise ValidationError(
                "Use one line: line breaks and control characters are not allowed."
            )
