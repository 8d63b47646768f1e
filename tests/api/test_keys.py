"""API keys: bearer auth, scope on every route, expiry, revocation, rate limit, Settings › API."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest

from tests.api.conftest import bearer, make_key
from tests.factories import login
from webapp.api import operations
from webapp.api.models import ApiKey
from webapp.extensions import db
from webapp.models_base import utcnow


def _api_routes(app):
    """Every API route with its method, a URL for it and the scope its view requires."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(
            ("api-docs", "api_docs")
        ):
            continue
        view = app.view_functions[rule.endpoint]
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url, view._api_scope


def test_every_api_route_requires_a_key_with_its_scope(app, client, scene):
    routes = list(_api_routes(app))
    assert len(routes) >= 20
    for method, url, scope in routes:
        anonymous = client.open(url, method=method, json={}, csrf=False)
        assert anonymous.status_code == 401, (method, url)
        assert anonymous.mimetype == "application/problem+json"
        others = [name for name in operations.SCOPES if name != scope]
        lacking = make_key(scene.store, others, name=f"no {scope}")
        refused = client.open(url, method=method, json={}, headers=bearer(lacking), csrf=False)
        assert refused.status_code == 403, (method, url, refused.get_data(as_text=True))
        assert scope in refused.get_json()["detail"]


def test_a_revoked_an_expired_and_a_wrong_key_get_401(client, scene):
    store = scene.store
    revoked = make_key(store, ["catalog:read"], name="old")
    operations.revoke_key(db.session.query(ApiKey).filter_by(name="old").one(), store.admin)
    expiring = make_key(
        store, ["catalog:read"], name="soon", expires_at=utcnow() + timedelta(days=1)
    )
    key = db.session.query(ApiKey).filter_by(name="soon").one()
    key.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for secret in (revoked, expiring, scene.msp_key[:-2] + "xx", "msp_nothing"):
        response = client.get("/api/v1/products", headers=bearer(secret))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/products", headers=bearer(scene.msp_key)).status_code == 200


def test_only_the_hash_of_a_key_is_stored_and_its_use_is_noted(client, scene):
    key = db.session.query(ApiKey).filter_by(name="Test key").one()
    assert key.key_hash == hashlib.sha256(scene.msp_key.encode()).hexdigest()
    assert scene.msp_key not in (key.prefix, key.key_hash)
    assert key.last_used_at is None
    client.get("/api/v1/brands", headers=bearer(scene.msp_key))
    db.session.refresh(key)
    assert key.last_used_at is not None


def test_a_key_stops_working_when_its_admin_loses_the_role(client, scene):
    from webapp.auth.models import Role

    scene.store.admin.role = Role.SALES
    db.session.commit()
    assert client.get("/api/v1/brands", headers=bearer(scene.msp_key)).status_code == 401


def test_a_customer_key_cannot_hold_write_or_purchasing_scopes(store):
    with pytest.raises(operations.ApiKeyError, match="quotes:write"):
        operations.create_key(
            name="portal", scopes=["quotes:write"], actor=store.admin, organization=store.org
        )
    with pytest.raises(operations.ApiKeyError, match="admin"):
        operations.create_key(name="mine", scopes=["catalog:read"], actor=store.sales)


def test_the_rate_limit_answers_429_with_retry_after_and_ratelimit_headers(app, client, scene):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    first = client.get("/api/v1/brands", headers=bearer(scene.msp_key))
    assert first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    client.get("/api/v1/brands", headers=bearer(scene.msp_key))
    third = client.get("/api/v1/brands", headers=bearer(scene.msp_key))
    assert third.status_code == 429
    assert third.mimetype == "application/problem+json"
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert third.headers["RateLimit-Remaining"] == "0"
    # Per key: another key still has its budget.
    assert client.get("/api/v1/brands", headers=bearer(scene.customer_key)).status_code == 200


def test_an_admin_creates_a_key_on_settings_api_and_sees_it_once(client, store):
    login(client, store.admin)
    response = client.post(
        "/admin/settings/api/",
        data={"name": "ERP", "scopes": ["catalog:read", "quotes:write"], "expires_on": ""},
    )
    assert response.status_code == 201
    secret = re.search(r'id="new-key-secret">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/products", headers=bearer(secret)).status_code == 200
    listing = client.get("/admin/settings/api/").get_data(as_text=True)
    assert "ERP" in listing and secret not in listing
    key = db.session.query(ApiKey).filter_by(name="ERP").one()
    assert key.scopes == ["catalog:read", "quotes:write"]
    revoke = client.post(f"/admin/settings/api/{key.id}/revoke")
    assert revoke.status_code == 303
    assert client.get("/api/v1/products", headers=bearer(secret)).status_code == 401


def test_settings_api_refuses_bad_input_and_non_admins(client, store):
    login(client, store.admin)
    unknown = client.post("/admin/settings/api/", data={"name": "X", "scopes": ["root"]})
    assert unknown.status_code == 422
    assert "Unknown scope: root" in unknown.get_data(as_text=True)
    past = client.post(
        "/admin/settings/api/",
        data={"name": "X", "scopes": ["catalog:read"], "expires_on": "2000-01-01"},
    )
    assert past.status_code == 422
    assert db.session.query(ApiKey).count() == 0
    client.post("/logout")
    login(client, store.sales)
    assert client.get("/admin/settings/api/").status_code == 403
