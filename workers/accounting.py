"""Accounting jobs: import payments, refresh the stored lists (the outbox is the core's)."""

from __future__ import annotations

import contextlib
import logging

from webapp.extensions import db
from workers.app import job_context

log = logging.getLogger(__name__)


def import_payments(connection_id: int | None = None, since: str | None = None) -> int:
    """Import ledger payments (default window: the last month) for one or every ledger."""
    from datetime import datetime

    from webapp.accounting import operations
    from webapp.integrations import operations as core
    from webapp.integrations.interfaces import NeedsReconnect

    with job_context():
        connections = [c for c in _connections(connection_id) if c.is_connected]
        start = (
            datetime.fromisoformat(since) if since else operations.default_payment_window_start()
        )
        total = 0
        for connection in connections:
            provider, _http = core.build_provider(connection)
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
    from webapp.integrations import operations as core
    from webapp.integrations.interfaces import NeedsReconnect
    from webapp.models_base import utcnow

    with job_context():
        connections = _connections(connection_id)
        read = 0
        for connection in connections:
            if not connection.is_connected:
                # Reconnect or disconnect came first: end the wait the page shows.
                connection.lists_read_at = utcnow()
                db.session.commit()
                continue
            provider, _http = core.build_provider(connection)
            # A lost grant: the connection is marked (reconnect notice); nothing more to do.
            with contextlib.suppress(NeedsReconnect):
                read += operations.refresh_lists(connection, provider)
            db.session.commit()
        return read


def _connections(connection_id: int | None) -> list:
    """The one connection asked for, or every connected ledger (the periodic runs)."""
    from webapp.accounting import operations
    from webapp.accounting.models import LedgerConnection

    if connection_id is not None:
        found = db.session.get(LedgerConnection, connection_id)
        return [found] if found is not None else []
    return [c for c in operations.active_connections() if c.is_connected]
