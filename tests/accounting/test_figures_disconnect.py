"""Disconnecting one Xero organisation leaves the grant's other organisations connected."""

from __future__ import annotations

from tests.accounting.builders import point_app_at_xero
from webapp.accounting import operations
from webapp.accounting.interfaces import LedgerTenant
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import ConnectionStatus
from webapp.integrations.oauth import token_set

TENANTS = [
    {"tenantId": "11111111-1111-4111-8111-111111111111", "tenantName": "Org A"},
    {"tenantId": "22222222-2222-4222-8222-222222222222", "tenantName": "Org B"},
]


def test_disconnecting_one_organisation_keeps_the_other_and_its_token(
    app, xero_sandbox_factory, store
):
    sandbox = xero_sandbox_factory(tenants=TENANTS)
    point_app_at_xero(app, sandbox)
    raw = sandbox.issue_tokens()
    a, b = (
        operations.save_connection(
            "xero", LedgerTenant(t["tenantId"], t["tenantName"]), token_set(raw), None
        )
        for t in TENANTS
    )
    db.session.commit()
    grant = sandbox.oauth.check_bearer(f"Bearer {raw['access_token']}")[0].grant

    core.disconnect(a, "Admin")
    db.session.commit()

    assert a.status == ConnectionStatus.DISCONNECTED
    assert b.status == ConnectionStatus.NEEDS_MAPPING  # still connected (never mapped here)
    assert not sandbox.connected(grant.grant_id, TENANTS[0]["tenantId"])
    assert sandbox.connected(grant.grant_id, TENANTS[1]["tenantId"])
    live, why = sandbox.oauth.check_bearer(f"Bearer {raw['access_token']}")
    assert live is not None, why

    core.disconnect(b, "Admin")  # the last organisation: now the token is revoked
    db.session.commit()

    assert sandbox.oauth.check_bearer(f"Bearer {raw['access_token']}")[0] is None
