"""The form of Settings › Ticket by email."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length

from webapp.ticketmail.models import EVENTS
from webapp.ticketmail.render import MAX_TEMPLATE


class TicketMailForm(FlaskForm):
    mailbox = StringField(
        "PSA ticket mailbox",
        validators=[DataRequired("Enter the PSA's ticket mailbox address."), Length(max=254)],
    )
    subject_template = StringField(
        "Subject template",
        validators=[DataRequired("Enter the subject template."), Length(max=2000)],
    )
    body_template = TextAreaField(
        "Body template",
        validators=[DataRequired("Enter the body template."), Length(max=MAX_TEMPLATE)],
    )
    events = SelectMultipleField(
        "Send an email when",
        choices=list(EVENTS.items()),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=True,
    )
    attach_pdf = BooleanField("Attach the order's PDF")
