"""`flask catalog ...`: import supplier feeds and maintain the search index."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from webapp.catalog import feeds, search_sync
from webapp.catalog.models import FeedImport, ImportStatus, Product, Supplier
from webapp.catalog.operations import refresh_product_aggregates
from webapp.extensions import db


@click.group("catalog")
def catalog_cli():
    """Supplier feeds and the search index."""


@catalog_cli.command("import-feed")
@click.argument("supplier_code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--show-problems", default=20, show_default=True, help="Skipped rows to list.")
@with_appcontext
def import_feed(supplier_code: str, file: Path, show_problems: int):
    """Import SUPPLIER_CODE's price-and-stock FILE (CSV) as an upsert."""
    supplier = db.session.scalar(select(Supplier).where(Supplier.code == supplier_code))
    if supplier is None:
        codes = ", ".join(db.session.scalars(select(Supplier.code).order_by(Supplier.code)))
        raise click.BadParameter(f"no supplier {supplier_code!r} (known: {codes or 'none'})")
    # Keep a copy beside the uploads, so the run can be inspected or repeated later.
    upload_dir = Path(current_app.config["IMPORT_UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    run = feeds.create_run(supplier, file.resolve(), file.name, actor_id=None)
    db.session.commit()
    stored = upload_dir / f"{run.id}-{file.name}"
    shutil.copyfile(file, stored)
    run.stored_path = str(stored)
    db.session.commit()

    total = feeds.count_lines(stored)
    with click.progressbar(length=total, label=f"Importing {file.name}", file=sys.stderr) as bar:
        run = feeds.execute(run.id, progress=bar.update)
    _print_summary(run, show_problems)
    if run.status is ImportStatus.FAILED:
        sys.exit(1)
    if run.status is ImportStatus.HELD:
        sys.exit(HELD_EXIT_CODE)


# Exit codes: 0 imported, 1 failed, 2 bad arguments (click), 3 held for confirmation.
HELD_EXIT_CODE = 3


def _print_summary(run: FeedImport, show_problems: int) -> None:
    if run.status is ImportStatus.FAILED:
        click.secho(f"Import failed, nothing was changed: {run.error}", fg="red", err=True)
        return
    if run.status is ImportStatus.HELD:
        # run.error reads "Nothing was changed: <why>. Check the file, or confirm ..."
        why = run.error.removeprefix("Nothing was changed: ")
        click.secho(f"Import held, nothing was changed: {why}", fg="red", err=True)
        click.echo(f"Confirm it on the import's admin page (import #{run.id}) to import it anyway.")
        for problem in run.problems[:show_problems]:
            click.secho(f"  line {problem['line']}: {problem['reason']}", fg="yellow")
        return
    click.echo(
        f"Read {run.rows_read:,} rows: {run.products_created:,} new products, "
        f"{run.offers_created:,} new offers, {run.offers_updated:,} updated, "
        f"{run.offers_withdrawn:,} withdrawn, {run.rows_skipped:,} skipped."
    )
    for problem in run.problems[:show_problems]:
        click.secho(f"  line {problem['line']}: {problem['reason']}", fg="yellow")
    if run.rows_skipped > show_problems:
        click.echo(
            f"  … and {run.rows_skipped - show_problems:,} more (see the import in the admin)."
        )


@catalog_cli.command("reindex")
@with_appcontext
def reindex_command():
    """Rebuild this node's product search index from the database."""
    total = db.session.scalar(select(func.count()).select_from(Product))
    with click.progressbar(length=total, label="Indexing products", file=sys.stderr) as bar:
        written = search_sync.rebuild(progress=bar.update)
    click.echo(f"Indexed {written:,} products.")


@catalog_cli.command("refresh")
@with_appcontext
def refresh_command():
    """Recompute every product's best cost, stock and ETA from its offers."""
    refresh_product_aggregates(None)
    db.session.commit()
    click.echo("Product aggregates refreshed.")
