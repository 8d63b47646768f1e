"""Accounting jobs: push a connection's outbox in batches, import payments, sweep."""

from __future__ import annotations

import contextlib
import logging

from webapp.extensions import db
from webapp.integrations.locks import sync_lock
from workers.app import job_context

log = logging.getLogger(__name__)


def sync_connection(connection_id: int) -> dict:
    """Push ready deliveries of one connection (a batch per API call); re-enqueue if more.

    Raises on transient faults (after recording them) so RQ's Retry applies.
    """
    from webapp.accounting import outbox
    from webapp.accounting.models import LedgerConnection
    from webapp.integrations.interfaces import NeedsReconnect

    with job_context():
        connection = db.session.get(LedgerConnection, connection_id)
        if connection is None:
            return {}
        try:
            with sync_lock(connection_id):
                report = outbox.run_sync(connection)
        except NeedsReconnect:
            return {"reconnect": True}
        if report.more:
            outbox.schedule_sync(connection)
            db.session.commit()
        return {
            "confirmed": report.confirmed,
            "failed": report.failed,
            "api_calls": report.api_calls,
            "throttled": report.throttled,
        }


def sweep() -> int:
    """Enqueue a sync for every connected ledger with due work (backoff ended, killed jobs)."""
    from webapp.accounting import outbox
    from webapp.accounting.models import ConnectionStatus, Delivery, LedgerConnection
    from webapp.models_base import utcnow

    with job_context():
        now = utcnow()
        ids = db.session.execute(
            db.select(Delivery.connection_id)
            .join(LedgerConnection)
            .where(
                LedgerConnection.status == ConnectionStatus.CONNECTED,
                Delivery.status.in_(outbox.OPEN_STATUSES),
                db.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            )
            .distinct()
        ).scalars()
        count = 0
        for connection_id in ids:
            outbox.schedule_sync(db.session.get(LedgerConnection, connection_id))
            count += 1
        db.session.commit()
        return count


def import_payments(connection_id: int | None = None, since: str | None = None) -> int:
    """Import ledger payments (default window: the last month) for one or every ledger."""
    from datetime import datetime

    from webapp.accounting import operations
    from webapp.accounting.models import ConnectionStatus
    from webapp.integrations.interfaces import NeedsReconnect

    with job_context():
        connections = [
            c for c in _connections(connection_id) if c.status == ConnectionStatus.CONNECTED
        ]
        start = (
            datetime.fromisoformat(since) if since else operations.default_payment_window_start()
        )
        total = 0
        for connection in connections:
            provider, _http = operations.build_provider(connection, save=db.session.commit)
            try:
                total += operations.import_payments(connection, provider, start)
            except NeedsReconnect:
                db.session.commit()
                continue
            db.session.commit()
        return total


def refresh_lists(connection_id: int | None = None) -> int:
    """Read and store the accounts and tax rates of one ledger, or of every connected one.

    Settings > Integrations shows only the stored copy, so it never waits on the vendor.
    """
    from webapp.accounting import operations
    from webapp.accounting.models import ConnectionStatus
    from webapp.integrations.interfaces import NeedsReconnect
    from webapp.models_base import utcnow

    with job_context():
        connections = _connections(connection_id)
        read = 0
        for connection in connections:
            if connection.status != ConnectionStatus.CONNECTED:
                # Reconnect or disconnect came first: end the wait the page shows.
                connection.lists_read_at = utcnow()
                db.session.commit()
                continue
            provider, _http = operations.build_provider(connection, save=db.session.commit)
            # A lost grant: the connection is marked (reconnect notice); nothing more to do.
            with contextlib.suppress(NeedsReconnect):
                read += operations.refresh_lists(connection, provider)
            db.session.commit()
        return read


def _connections(connection_id: int | None) -> list:
    """The one connection asked for, or every connected ledger (the periodic runs)."""
    from webapp.accounting import operations
    from webapp.accounting.models import ConnectionStatus, LedgerConnection

    if connection_id is not None:
        found = db.session.get(LedgerConnection, connection_id)
        return [found] if found is not None else []
    return [c for c in operations.active_connections() if c.status == ConnectionStatus.CONNECTED]
