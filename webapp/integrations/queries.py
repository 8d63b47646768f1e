"""Reads of the integrations core: how each connection is doing (the staff dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.integrations.models import Connection, ConnectionStatus, Delivery, DeliveryStatus

PENDING = (DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.WAITING)


@dataclass(frozen=True)
class ConnectionHealth:
    connection: Connection
    pending: int  # deliveries not yet settled (ready, sent, waiting for a prerequisite)
    failed: int  # deliveries an admin must fix and retry
    last_success: datetime | None  # when its newest confirmed delivery was confirmed

    @property
    def colour(self) -> str:
        """A Bootstrap badge colour: off, broken (reconnect or failures), an error, or fine."""
        if self.connection.status == ConnectionStatus.DISCONNECTED:
            return "secondary"
        if self.connection.status == ConnectionStatus.NEEDS_RECONNECT or self.failed:
            return "danger"
        return "warning" if self.connection.last_error else "success"


def connection_health() -> list[ConnectionHealth]:
    """Every connection (deleted webhook endpoints aside) with its outbox counts: two queries."""
    connections = list(
        db.session.scalars(
            select(Connection)
            .where(Connection.deleted_at.is_(None))  # a deleted endpoint keeps only its log
            .order_by(Connection.domain, Connection.id)
        )
    )
    if not connections:
        return []
    counts: dict[int, dict] = {c.id: {"pending": 0, "failed": 0, "last": None} for c in connections}
    rows = db.session.execute(
        select(
            Delivery.connection_id,
            Delivery.status,
            func.count(Delivery.id),
            func.max(Delivery.confirmed_at),
        )
        .where(Delivery.connection_id.in_(list(counts)))
        .group_by(Delivery.connection_id, Delivery.status)
    ).all()
    for connection_id, status, count, confirmed in rows:
        entry = counts[connection_id]
        if status in PENDING:
            entry["pending"] += count
        elif status == DeliveryStatus.FAILED:
            entry["failed"] += count
        elif status == DeliveryStatus.CONFIRMED:
            entry["last"] = confirmed
    return [
        ConnectionHealth(
            connection=c,
            pending=counts[c.id]["pending"],
            failed=counts[c.id]["failed"],
            last_success=counts[c.id]["last"],
        )
        for c in connections
    ]
