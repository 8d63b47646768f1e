"""RQ jobs of the integrations core."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def handle_inbound(event_id: int) -> None:
    """Handle one stored, verified webhook with its provider's handler."""
    from webapp.integrations.inbound import handle

    with job_context():
        handle(event_id)
        db.session.commit()


def sync_connection(connection_id: int) -> dict:
    """Push ready deliveries of one connection (a batch per API call); re-enqueue if more.

    Raises on transient faults (after recording them) so RQ's Retry applies.
    """
    from webapp.integrations import outbox
    from webapp.integrations.interfaces import NeedsReconnect
    from webapp.integrations.locks import sync_lock
    from webapp.integrations.models import Connection

    with job_context():
        connection = db.session.get(Connection, connection_id)
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
    """Enqueue a sync for every connection with due work (backoff ended, lost or killed jobs)."""
    from webapp.integrations import outbox
    from webapp.integrations.models import Connection

    with job_context():
        count = 0
        for connection_id in outbox.due_connection_ids():
            outbox.schedule_sync(db.session.get(Connection, connection_id))
            count += 1
        db.session.commit()
        return count
