"""PSA jobs: read an Autotask database's picklists for the settings page."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def refresh_picklists(connection_id: int) -> bool:
    from webapp.integrations.models import ConnectionStatus
    from webapp.psa import operations
    from webapp.psa.models import PsaConnection

    with job_context():
        connection = db.session.get(PsaConnection, connection_id)
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            return False
        done = operations.refresh_picklists(connection)
        db.session.commit()
        return done


def refresh_connectwise_lookups(connection_id: int) -> bool:
    """Read a ConnectWise company's lookups (boards, statuses, members...) for the settings."""
    from webapp.integrations.models import ConnectionStatus
    from webapp.psa.connectwise import operations
    from webapp.psa.models import PsaConnection

    with job_context():
        connection = db.session.get(PsaConnection, connection_id)
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            return False
        done = operations.refresh_lookups(connection)
        db.session.commit()
        return done


def connectwise_callbacks_health(connection_id: int) -> dict:
    """Register ConnectWise callbacks (idempotent; re-enables disabled ones) and reconcile."""
    from webapp.integrations.models import ConnectionStatus
    from webapp.psa.connectwise import callbacks
    from webapp.psa.models import PsaConnection

    with job_context():
        connection = db.session.get(PsaConnection, connection_id)
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            return {}
        counts = callbacks.ensure_callbacks(connection)
        counts["reconciled"] = callbacks.reconcile(connection)
        db.session.commit()
        return counts
