"""Forms for the catalog admin: product pricing, supplier feeds, pricing rules, tax codes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from webapp.catalog.feeds import OPTIONAL, REQUIRED


def optional_id(value: object) -> int | None:
    """Coerce a select's value to an id; the empty choice means "any" or "none"."""
    if value in (None, "", "None"):
        return None
    return int(value)


class PlainDecimalField(DecimalField):
    """A decimal typed by a person: finite, at most `places` decimals, no locale guessing."""

    def __init__(self, label=None, validators=None, places: int = 2, **kwargs):
        super().__init__(label, validators, places=places, **kwargs)
        self.max_places = places

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.data = None
            raise ValueError(f"{text!r} is not a number.") from None
        if not value.is_finite():
            self.data = None
            raise ValueError(f"{text!r} is not a number.")
        if value.as_tuple().exponent < -self.max_places:
            self.data = None
            raise ValueError(f"Use at most {self.max_places} decimal places.")
        self.data = value


class Between:
    """Check a Decimal lies within [low, high], saying so in the field's own terms."""

    def __init__(self, low: Decimal, high: Decimal, unit: str = ""):
        self.low, self.high, self.unit = low, high, unit

    def __call__(self, form, field):
        if field.data is None:
            return
        if not self.low <= field.data <= self.high:
            raise ValidationError(
                f"Enter a value from {self.low}{self.unit} to {self.high:,}{self.unit}."
            )


class FixedPriceForm(FlaskForm):
    fixed_price = PlainDecimalField(
        "Fixed sell price",
        places=2,
        validators=[Optional(), Between(Decimal("0"), Decimal("999999999999.99"))],
    )


class FeedFormatForm(FlaskForm):
    delimiter = SelectField(
        "Delimiter",
        choices=[(",", "Comma ,"), (";", "Semicolon ;"), ("\t", "Tab"), ("|", "Pipe |")],
    )
    decimal_separator = SelectField(
        "Decimal separator", choices=[(".", "Point: 1234.56"), (",", "Comma: 1234,56")]
    )
    thousands_separator = SelectField(
        "Thousands separator",
        choices=[
            ("", "None"),
            (",", "Comma: 1,234"),
            (".", "Point: 1.234"),
            (" ", "Space: 1 234"),
            ("'", "Apostrophe: 1'234"),
        ],
    )
    encoding = SelectField(
        "Encoding",
        choices=[
            ("utf-8-sig", "UTF-8"),
            ("cp1252", "Windows-1252 (Western European)"),
            ("latin-1", "ISO-8859-1 (Latin-1)"),
        ],
    )
    full_feed = BooleanField("Full feed: offers missing from the file are withdrawn")

    # One text field per column of ours: the supplier's header for it.
    COLUMN_FIELDS = REQUIRED + OPTIONAL

    def settings(self) -> dict:
        """Return the submitted format as FeedFormat JSON."""
        return {
            "columns": {
                name: (self[f"col_{name}"].data or "").strip() for name in REQUIRED + OPTIONAL
            },
            "delimiter": self.delimiter.data,
            "decimal_separator": self.decimal_separator.data,
            "thousands_separator": self.thousands_separator.data,
            "encoding": self.encoding.data,
            "full_feed": self.full_feed.data,
        }


for _name in REQUIRED:
    setattr(
        FeedFormatForm,
        f"col_{_name}",
        StringField(f"Column for {_name}", validators=[DataRequired(), Length(max=100)]),
    )
for _name in OPTIONAL:
    setattr(
        FeedFormatForm,
        f"col_{_name}",
        StringField(f"Column for {_name}", validators=[Optional(), Length(max=100)]),
    )


class CategoryMapForm(FlaskForm):
    supplier_category = StringField("Their category", validators=[DataRequired(), Length(max=200)])
    category_id = SelectField("Our category", coerce=optional_id, validators=[InputRequired()])


class FeedUploadForm(FlaskForm):
    # Size, emptiness and CSV-ness are checked by catalog.operations.upload_feed.
    file = FileField("Feed file (CSV)")


class PricingRuleForm(FlaskForm):
    price_group_id = SelectField("Price group", coerce=optional_id)
    category_id = SelectField("Category", coerce=optional_id)
    brand_id = SelectField("Brand", coerce=optional_id)
    markup_pct = PlainDecimalField(
        "Markup on best cost (%)",
        places=3,
        validators=[
            InputRequired("Enter the markup."),
            Between(Decimal("-50"), Decimal("1000"), "%"),
        ],
    )


class TaxCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=20)])
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    rate = PlainDecimalField(
        "Rate (%)",
        places=3,
        validators=[InputRequired("Enter the rate."), Between(Decimal("0"), Decimal("100"), "%")],
    )
    is_default = BooleanField("Default tax code for new lines")
