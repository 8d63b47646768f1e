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


class ConnectWiseConnectForm(FlaskForm):
    site = SingleLineField(
        "Site (e.g. na.myconnectwise.net)",
        validators=[DataRequired("Enter the ConnectWise site."), Length(max=200)],
    )
    company_id = SingleLineField(
        "Company id", validators=[DataRequired("Enter the company id."), Length(max=100)]
    )
    public_key = SingleLineField(
        "API member public key",
        validators=[DataRequired("Enter the public key."), Length(max=200)],
    )
    private_key = PasswordField(
        "API member private key",
        validators=[DataRequired("Enter the private key."), Length(max=200)],
    )
    client_id = PasswordField(
        "Client id (developer.connectwise.com)",
        validators=[DataRequired("Enter the client id."), Length(max=100)],
    )
