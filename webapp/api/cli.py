"""`flask api create-key`: make an API key from the shell (the quick start uses it)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from webapp.api import operations
from webapp.auth.models import User
from webapp.extensions import db


@click.group("api")
def api_cli():
    """REST API keys."""


@api_cli.command("create-key")
@click.option("--name", required=True, help="What the key is for, e.g. the ERP.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(sorted(operations.SCOPES)),
    help="Repeat for each scope.",
)
@click.option("--admin", "admin_email", required=True, help="Email of the admin it acts as.")
@with_appcontext
def create_key_command(name: str, scopes: tuple[str, ...], admin_email: str) -> None:
    """Print a new MSP-wide key (shown once; only its hash is stored)."""
    admin = db.session.scalar(
        select(User).where(func.lower(User.email) == admin_email.strip().lower())
    )
    if admin is None:
        raise click.ClickException(f"There is no user {admin_email}.")
    try:
        new = operations.create_key(name=name, scopes=list(scopes), actor=admin)
    except operations.ApiKeyError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(new.secret)
