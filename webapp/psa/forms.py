"""The Autotask connect form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from webapp.fields import SingleLineField

# Credentials travel in HTTP headers, which carry printable ASCII only: anything else is a
# typing slip (the vendors issue none) and would fail in the HTTP library, not in the form.
_HEADER_SAFE = Regexp(
    r"^[!-~]+\Z",
    message="Use only the letters, digits and symbols it was issued with "
    "(no spaces or accented characters).",
)


class AutotaskConnectForm(FlaskForm):
    username = SingleLineField(
        "API user name",
        validators=[DataRequired("Enter the API user name."), Length(max=200), _HEADER_SAFE],
    )
    secret = PasswordField(
        "Secret",
        validators=[DataRequired("Enter the API user's secret."), Length(max=200), _HEADER_SAFE],
    )
    integration_code = SingleLineField(
        "Integration code (tracking identifier)",
        validators=[DataRequired("Enter the integration code."), Length(max=100), _HEADER_SAFE],
    )


class ConnectWiseConnectForm(FlaskForm):
    site = SingleLineField(
        "Site (e.g. na.myconnectwise.net)",
        validators=[DataRequired("Enter the ConnectWise site."), Length(max=200), _HEADER_SAFE],
    )
    company_id = SingleLineField(
        "Company id",
        validators=[DataRequired("Enter the company id."), Length(max=100), _HEADER_SAFE],
    )
    public_key = SingleLineField(
        "API member public key",
        validators=[DataRequired("Enter the public key."), Length(max=200), _HEADER_SAFE],
    )
    private_key = PasswordField(
        "API member private key",
        validators=[DataRequired("Enter the private key."), Length(max=200), _HEADER_SAFE],
    )
    client_id = PasswordField(
        "Client id (developer.connectwise.com)",
        validators=[DataRequired("Enter the client id."), Length(max=100), _HEADER_SAFE],
    )
