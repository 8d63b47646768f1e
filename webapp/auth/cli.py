"""`flask users ...`: create the first admin on a new deployment."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from webapp.auth import operations
from webapp.auth.models import Role, User
from webapp.extensions import db


@click.group("users")
def users_cli():
    """Staff accounts."""


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", prompt=True)
@click.password_option()
@with_appcontext
def create_admin(email: str, name: str, password: str):
    """Create an admin who can sign in straight away."""
    if operations.find_user(email):
        raise click.BadParameter(f"{email} already has an account")
    try:
        operations.validate_password(password, password)
    except operations.AccountError as error:
        raise click.BadParameter(str(error)) from None
    user = User(email=operations.normalise_email(email), name=name, role=Role.ADMIN)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Admin {user.email} created.")
