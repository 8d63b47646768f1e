"""`flask demo seed`: load the demo catalog, organizations and staff."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from webapp.catalog.models import Product
from webapp.catalog.operations import reindex
from webapp.demo import seed as demo
from webapp.extensions import db


@click.group("demo")
def demo_cli():
    """Demo data."""


@demo_cli.command("seed")
@click.option("--products", default=20_000, show_default=True, help="Catalog size.")
@with_appcontext
def seed_command(products: int):
    """Load the demo data into an empty database (does nothing if it has suppliers)."""
    if demo.already_seeded():
        click.echo("Demo data already loaded.")
        return
    load_demo(products)


def load_demo(products: int) -> None:
    from webapp.purchasing.demo import seed_purchasing
    from webapp.quotes.demo import seed_quotes

    click.echo(f"Loading the demo: {products:,} products from 5 supplier feeds…")
    demo.seed(products, Path(current_app.instance_path) / "demo-feeds", echo=click.echo)
    seed_purchasing(echo=click.echo)
    seed_quotes(echo=click.echo)
    db.session.commit()
    total = db.session.scalar(select(func.count()).select_from(Product))
    with click.progressbar(length=total, label="Indexing products", file=sys.stderr) as bar:
        reindex(None, progress=bar.update)
    click.echo("Demo data loaded.")


def print_logins(url: str) -> None:
    click.secho(f"\n  {current_app.config['SITE_NAME']} is running at {url}\n", bold=True)
    click.echo(f"  Every demo account's password is: {demo.DEMO_PASSWORD}")
    for email, name, role in demo.STAFF:
        click.echo(f"    staff     {email:<28} {name} ({role.value})")
    for email, name, org, approver in demo.CONTACTS:
        extra = ", approver" if approver else ""
        click.echo(f"    customer  {email:<28} {name} ({org}{extra})")
    click.echo("  Sent mail: Admin → Sent mail (admins); the local SMTP sink prints each link\n")
