"""PSA jobs: picklists and lookups, webhooks and callbacks kept registered, reconciliation."""

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


def _autotask(connection_id: int):
    from webapp.integrations.models import ConnectionStatus
    from webapp.psa.models import PsaConnection

    connection = db.session.get(PsaConnection, connection_id)
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return None
    return connection


def handle_ticket_event(connection_id: int, event_id: int) -> str:
    """Act on one verified Autotask ticket event (re-reads the ticket)."""
    from webapp.integrations.models import InboundEvent, InboundStatus
    from webapp.psa import inbound

    with job_context():
        connection = _autotask(connection_id)
        event = db.session.get(InboundEvent, event_id)
        if connection is None or event is None or event.status != InboundStatus.RECEIVED:
            return "nothing to do"
        done = inbound.handle_ticket_event(connection, event)
        db.session.commit()
        return done


def keep_webhook(connection_id: int | None = None) -> int:
    """Register the ticket webhook again where Autotask dropped or deactivated it."""
    from webapp.integrations import operations as core
    from webapp.psa import inbound
    from webapp.psa.models import PsaConnection

    with job_context():
        ids = (
            [connection_id]
            if connection_id
            else [c.id for c in core.active_connections(PsaConnection) if c.provider == "autotask"]
        )
        count = 0
        for found in ids:
            connection = _autotask(found)
            if connection is not None and inbound.keep_webhook(connection):
                count += 1
            db.session.commit()
        return count


def reconcile() -> dict:
    """The reconciliation poll of every Autotask connection (what webhooks do not cover)."""
    from webapp.integrations import operations as core
    from webapp.psa import inbound
    from webapp.psa.models import PsaConnection

    with job_context():
        out = {}
        for connection in core.active_connections(PsaConnection):
            if connection.provider != "autotask" or _autotask(connection.id) is None:
                continue
            out[connection.id] = inbound.reconcile(connection)
            db.session.commit()
        return out


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


def connectwise_callbacks_health(connection_id: int | None = None) -> dict:
    """Register ConnectWise callbacks (idempotent; re-enables disabled ones) and reconcile:
    one connection, or (from the clock) every connected ConnectWise company."""
    from webapp.integrations import operations as core
    from webapp.integrations.models import ConnectionStatus
    from webapp.psa.connectwise import callbacks
    from webapp.psa.models import PsaConnection

    with job_context():
        ids = (
            [connection_id]
            if connection_id
            else [
                c.id for c in core.active_connections(PsaConnection) if c.provider == "connectwise"
            ]
        )
        out: dict = {}
        for found in ids:
            connection = db.session.get(PsaConnection, found)
            if connection is None or connection.status != ConnectionStatus.CONNECTED:
                continue
            counts = callbacks.ensure_callbacks(connection)
            counts["reconciled"] = callbacks.reconcile(connection)
            db.session.commit()
            out[found] = counts
        return out if connection_id is None else out.get(connection_id, {})
