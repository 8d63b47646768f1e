"""Vendor webhooks: a signed notice that something changed in a ledger (payments)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, request

from webapp.accounting.models import ConnectionStatus, LedgerConnection, LedgerProvider
from webapp.accounting.providers import UnknownProvider, provider_class
from webapp.extensions import csrf, db
from webapp.jobs import enqueue_after_commit

bp = Blueprint("accounting", __name__, url_prefix="/webhooks/accounting")


@bp.post("/<provider>")
@csrf.exempt  # vendors sign the body instead (checked below)
def webhook(provider: str):
    try:
        cls = provider_class(provider)
    except UnknownProvider:
        abort(404)
    key = current_app.config.get(cls.oauth.webhook_key_config) or ""
    raw = request.get_data(cache=False)
    if not key or not cls.verify_webhook(raw, request.headers, key):
        # Xero expects 401 for a bad signature (its "intent to receive" check relies on it).
        return "signature does not match", 401
    try:
        events = cls.parse_webhook(raw)
    except (ValueError, json.JSONDecodeError):
        return "body is not JSON", 400
    tenants = {e.tenant_id for e in events if e.entity.lower() in ("payment", "invoice")}
    if tenants:
        connections = db.session.execute(
            db.select(LedgerConnection).where(
                LedgerConnection.provider == LedgerProvider(cls.name),
                LedgerConnection.tenant_id.in_(tenants),
                LedgerConnection.status == ConnectionStatus.CONNECTED,
            )
        ).scalars()
        for connection in connections:
            enqueue_after_commit("workers.accounting.import_payments", connection.id)
        db.session.commit()
    return "", 200
