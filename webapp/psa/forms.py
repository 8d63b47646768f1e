"""The Autotask connect form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from webapp.fields import SingleLineField


class AutotaskConnectForm(FlaskForm):
    username = SingleLineField(
        "API user name", validators=[DataRequired("Enter the API user name."), Length(max=200)]
    )
    secret = PasswordField(
        "Secret", validators=[DataRequired("Enter the API user's secret."), Length(max=200)]
    )
    integration_code = SingleLineField(
        "Integration code (tracking identifier)",
        validators=[DataRequired("Enter the integration code."), Length(max=100)],
    )
