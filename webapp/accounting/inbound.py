"""What a verified ledger webhook means to accounting: payments may have changed, re-fetch them."""

from __future__ import annotations

from webapp.accounting.models import LedgerConnection, LedgerProvider
from webapp.extensions import db
from webapp.integrations.models import ConnectionStatus
from webapp.jobs import enqueue_after_commit


def handle_webhook(provider_cls, raw_body: bytes) -> None:
    """Queue a payments import for each connected tenant the notice names (ValueError: bad body)."""
    events = provider_cls.parse_webhook(raw_body)
    tenants = {e.tenant_id for e in events if e.entity.lower() in ("payment", "invoice")}
    if not tenants:
        return
    connections = db.session.execute(
        db.select(LedgerConnection).where(
            LedgerConnection.provider == LedgerProvider(provider_cls.name),
            LedgerConnection.tenant_id.in_(tenants),
            # Payments are read whether or not the mappings are complete.
            LedgerConnection.status.in_(
                [ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_MAPPING]
            ),
        )
    ).scalars()
    for connection in connections:
        enqueue_after_commit("workers.accounting.import_payments", connection.id)
