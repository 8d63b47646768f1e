"""`flask integrations ...`: commands of the integrations core."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from webapp.extensions import db
from webapp.integrations import secrets


@click.group("integrations")
def integrations_cli():
    """The integrations core: secrets at rest."""


@integrations_cli.command("rotate-keys")
@with_appcontext
def rotate_keys_command():
    """Re-encrypt every stored secret with the first key of ENCRYPTION_KEYS.

    Put the new key first in ENCRYPTION_KEYS (keep the old ones after it), run this, then
    drop the old keys. Nothing is written unless every secret was readable or empty.
    """
    rows = []
    for column in secrets.encrypted_columns():
        for row in db.session.execute(column.rows_query()).scalars():
            rows.append((row, column.attribute, column.prefix))
    with click.progressbar(length=len(rows), label="Re-encrypting secrets") as bar:
        report = secrets.rotate(rows, progress=lambda: bar.update(1))
    if report.undecryptable:
        db.session.rollback()
        click.secho(
            f"{len(report.undecryptable)} secret(s) cannot be decrypted with any key in "
            f"ENCRYPTION_KEYS ({', '.join(report.undecryptable)}); nothing was changed. Put "
            "back the key that encrypted them, or reconnect those connections first.",
            fg="red",
            err=True,
        )
        sys.exit(1)
    db.session.commit()
    click.echo(f"Re-encrypted {report.rotated} secret(s); {report.empty} empty.")
