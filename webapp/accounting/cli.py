"""`flask accounting ...`: drain the outbox in-process with a progress bar, show its state."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from webapp.accounting import deliveries, queries
from webapp.accounting.models import LedgerConnection
from webapp.extensions import db
from webapp.integrations import outbox
from webapp.integrations.interfaces import (
    NeedsReconnect,
    TransientError,
)
from webapp.integrations.models import ConnectionStatus, Delivery
from webapp.models_base import utcnow


@click.group("accounting")
def accounting_cli():
    """Accounting ledgers: sync the outbox, show its state."""


@accounting_cli.command("sync")
@click.option("--connection", "connection_id", type=int, help="Only this connection (its id).")
@with_appcontext
def sync_command(connection_id: int | None):
    """Push every ready delivery now, in this process, and say what happened."""
    from webapp.integrations.locks import SyncBusy, sync_lock

    connections = _chosen(connection_id)
    trouble = False
    for connection in connections:
        if not connection.is_connected:
            click.secho(
                f"{connection.label}: {connection.status.label.lower()}, nothing sent; "
                "reconnect it in Settings › Integrations.",
                fg="red",
            )
            trouble = True
            continue
        started = utcnow()
        failed_before = queries.failed_ids(connection.id)
        total = queries.due_count(connection.id)
        problem = ""
        try:
            with (
                sync_lock(connection.id),
                click.progressbar(
                    length=total, label=f"Syncing {connection.label}", file=sys.stderr
                ) as bar,
            ):
                problem = _drain(connection, bar.update)
        except SyncBusy:
            problem = "another worker is syncing it right now; try again in a moment."
        except TransientError as exc:
            problem = f"stopped, the rest will be retried by the worker: {exc.message}"
        except NeedsReconnect as exc:
            problem = f"needs a reconnect in Settings › Integrations: {exc.message}"
        trouble |= _summary(connection, started, failed_before, problem)
    if trouble:
        sys.exit(1)


def _chosen(connection_id: int | None) -> list[LedgerConnection]:
    if connection_id is None:
        return [c for c in queries.connections() if c.status != ConnectionStatus.DISCONNECTED]
    connection = db.session.get(LedgerConnection, connection_id)
    if connection is None:
        known = ", ".join(f"{c.id} ({c.label})" for c in queries.connections())
        raise click.BadParameter(
            f"no connection {connection_id} (known: {known or 'none'})",
            param_hint="--connection",
        )
    return [connection]


def _drain(connection: LedgerConnection, progress) -> str:
    """Run the outbox until no ready work is left; return a problem to report, if any."""
    # run_sync takes a bounded run; repeat while ready work remains and the runs settle some.
    while True:
        report = outbox.run_sync(connection, progress=progress)
        if report.needs_mapping:
            return (
                "needs mapping, nothing sent; choose in Settings › Integrations: "
                + ", ".join(report.needs_mapping)
                + "."
            )
        if not report.more or report.confirmed + report.failed == 0:
            return ""


def _summary(connection: LedgerConnection, started, failed_before: set[int], problem: str) -> bool:
    """Print what the run did for one connection; return True when something went wrong."""
    db.session.expire_all()
    status = queries.sync_status(connection.id)[0]
    new_failures = [
        db.session.get(Delivery, delivery_id)
        for delivery_id in sorted(queries.failed_ids(connection.id) - failed_before)
    ]
    still_open = status.pending + status.waiting + status.sending
    click.echo(
        f"{connection.label}: {queries.confirmed_since(connection.id, started)} confirmed, "
        f"{len(new_failures)} failed, {still_open} still waiting."
    )
    for delivery in new_failures:
        click.secho(f"  {delivery.kind_label} {deliveries.describe(delivery)}: "
                    f"{_plain(delivery)}", fg="red")  # fmt: skip
    if problem:
        click.secho(f"  {problem}", fg="red")
    return bool(new_failures or problem)


def _plain(delivery: Delivery) -> str:
    parts = [delivery.last_error]
    if delivery.error_field:
        parts.append(f"Field: {delivery.error_field}.")
    if delivery.error_fix:
        parts.append(f"Fix: {delivery.error_fix}")
    return " ".join(p for p in parts if p)


@accounting_cli.command("status")
@with_appcontext
def status_command():
    """Print each connection's deliveries by state and its last sync."""
    statuses = queries.sync_status()
    if not statuses:
        click.echo("No ledger connected yet.")
        return
    for s in statuses:
        last = s.connection.last_sync_at
        click.echo(
            f"{s.connection.id}  {s.connection.label} ({s.connection.status.label.lower()}): "
            f"{s.pending} pending · {s.waiting} waiting for a prerequisite · "
            f"{s.sending} sending · {s.failed} failed · {s.confirmed_today} confirmed today · "
            f"last sync {last.strftime('%Y-%m-%d %H:%M UTC') if last else 'never'}"
        )
