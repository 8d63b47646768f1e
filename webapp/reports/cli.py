"""`flask reports export KIND`: write a report's CSV or a MYOB import file for a period."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from webapp.reports import exports
from webapp.reports.forms import ReportInputError, parse_range


@click.group("reports")
def reports_cli():
    """Reports and ERP export files."""


@reports_cli.command("export")
@click.argument("kind", type=click.Choice(sorted(exports.EXPORTS)))
@click.option("--from", "start", metavar="YYYY-MM-DD", help="First day (default: 1st of month).")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Last day, inclusive (default: today).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="File to write (default: the export's own name in this directory; - for stdout).",
)
@click.option(
    "--by",
    help="sales-summary: staff, organization, payment_method or date; purchases: supplier or date.",
)
@click.option("--grain", help="Periods for by-date reports: day, week or month.")
@with_appcontext
def export_command(
    kind: str,
    start: str | None,
    end: str | None,
    output: Path | None,
    by: str | None,
    grain: str | None,
):
    """Export KIND for a period (dates in UTC, both inclusive)."""
    args = {"from": start or "", "to": end or ""}
    options = {key: value for key, value in {"by": by, "grain": grain}.items() if value}
    try:
        date_range = parse_range(args, datetime.now(UTC).date())
        export_file = exports.build(kind, date_range, options)
    except ReportInputError as error:
        raise click.UsageError(str(error)) from None
    target = output or Path(export_file.filename)
    label = f"{kind} {date_range.start.isoformat()}..{date_range.end.isoformat()}"
    stream = sys.stdout if str(target) == "-" else None
    with click.progressbar(length=len(export_file.records), label=label, file=sys.stderr) as bar:
        if stream is not None:
            for chunk in export_file.chunks(progress=bar.update):
                stream.write(chunk)
        else:
            # Written aside and renamed at the end: a failed run leaves no half file behind.
            # newline="": the file's own CRLF line ends must not be translated.
            partial = target.with_name(target.name + ".part")
            try:
                with open(partial, "w", encoding="utf-8", newline="") as handle:
                    for chunk in export_file.chunks(progress=bar.update):
                        handle.write(chunk)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
    if stream is None:
        click.echo(f"Wrote {len(export_file.records):,} records to {target}.", err=True)
