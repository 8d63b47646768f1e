"""Forms for the catalog admin: product pricing, supplier feeds, pricing rules, tax codes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from webapp.catalog.feeds import OPTIONAL, REQUIRED, FeedFormat
from webapp.fields import MoneyField, PercentField, QuantityField


def optional_id(value: object) -> int | None:
    """Coerce a select's value to an id; the empty choice means "any" or "none"."""
    if value in (None, "", "None"):
        return None
    return int(value)


def _or_default(value: int | None, name: str) -> int:
    return getattr(FeedFormat, name) if value is None else value


class FixedPriceForm(FlaskForm):
    fixed_price = MoneyField("Fixed sell price", validators=[Optional()])


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
    # A full feed past either limit is held for confirmation (webapp.catalog.feeds); left
    # blank, a limit is the default.
    max_withdrawn_percent = QuantityField(
        "Hold a full feed withdrawing more than (% of live offers)",
        validators=[Optional()],
        minimum=0,
        maximum=100,
    )
    max_bad_rows_percent = QuantityField(
        "Hold a full feed with more bad rows than (% of its rows)",
        validators=[Optional()],
        minimum=0,
        maximum=100,
    )

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
            "max_withdrawn_percent": _or_default(
                self.max_withdrawn_percent.data, "max_withdrawn_percent"
            ),
            "max_bad_rows_percent": _or_default(
                self.max_bad_rows_percent.data, "max_bad_rows_percent"
            ),
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
    # Size, emptiness and CSV-ness are checked by catalog.feed_setup.upload_feed.
    file = FileField("Feed file (CSV)")


class PricingRuleForm(FlaskForm):
    price_group_id = SelectField("Price group", coerce=optional_id)
    category_id = SelectField("Category", coerce=optional_id)
    brand_id = SelectField("Brand", coerce=optional_id)
    markup_pct = PercentField(
        "Markup on best cost (%)",
        validators=[InputRequired("Enter the markup.")],
        minimum=-50,
        maximum=1000,
    )


class TaxCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=20)])
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    rate = PercentField("Rate (%)", validators=[InputRequired("Enter the rate.")], maximum=100)
    is_default = BooleanField("Default tax code for new lines")
