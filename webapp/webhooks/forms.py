"""The endpoint form of Settings › Webhooks."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from webapp.fields import SingleLineField
from webapp.webhooks.models import EVENT_TYPES


class EndpointForm(FlaskForm):
    url = StringField("URL", validators=[DataRequired("Enter the URL."), Length(max=500)])
    description = SingleLineField("Name", validators=[Length(max=200)])
    events = SelectMultipleField(
        "Events (none ticked: every event)",
        choices=list(EVENT_TYPES.items()),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=True,
    )
