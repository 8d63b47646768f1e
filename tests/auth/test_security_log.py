"""Security events go to the `webapp.security` logger as one JSON line each, never a secret."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.factories import PASSWORD, login
from webapp.api import operations as api_operations
from webapp.auth import operations
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.security import log_event

NEW_PASSWORD = "tangerine vortex piano"


@pytest.fixture
def security_log(caplog):
    caplog.set_level(logging.INFO, logger="webapp.security")

    class Log:
        @property
        def records(self):
            return [r for r in caplog.records if r.name == "webapp.security"]

        def events(self, name: str | None = None) -> list[dict]:
            found = [r.security for r in self.records]
            return [e for e in found if name is None or e["event"] == name]

        def text(self) -> str:
            return "\n".join(r.getMessage() for r in self.records)

    return Log()


def _post_login(client, email, password, address="127.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_sign_in_is_logged_with_who_and_from_where_and_never_the_password(
    client, store, security_log
):
    _post_login(client, store.customer.email, PASSWORD, "10.4.4.4")
    [event] = security_log.events("auth.login.succeeded")
    assert event["user_id"] == store.customer.id
    assert event["email"] == store.customer.email
    assert event["ip"] == "10.4.4.4"
    assert event["role"] == "customer"
    assert PASSWORD not in security_log.text()


def test_each_record_is_one_line_of_json_with_the_same_fields(client, store, security_log):
    _post_login(client, store.customer.email, PASSWORD)
    [record] = [r for r in security_log.records if r.security["event"] == "auth.login.succeeded"]
    assert json.loads(record.getMessage()) == record.security


def test_a_wrong_password_is_logged_as_a_failure_with_its_reason(client, store, security_log):
    _post_login(client, store.customer.email, "a wrong guess")
    [event] = security_log.events("auth.login.failed")
    assert (event["reason"], event["user_id"]) == ("wrong_password", store.customer.id)
    assert "a wrong guess" not in security_log.text()
    assert security_log.events("auth.login.succeeded") == []


def test_an_unknown_name_is_logged_as_a_digest_not_as_typed(client, store, security_log):
    # People type their password into the email box: what matches no account is not kept.
    _post_login(client, "Secret-Passw0rd@example.com", PASSWORD)
    [event] = security_log.events("auth.login.failed")
    assert event["reason"] == "unknown_account"
    assert re.fullmatch(r"[0-9a-f]{12}", event["typed"])
    assert "secret-passw0rd" not in security_log.text().lower()


def test_deactivated_and_invited_users_failing_to_sign_in_say_why(client, store, security_log):
    store.customer.active = False
    db.session.commit()
    _post_login(client, store.customer.email, PASSWORD)
    assert [e["reason"] for e in security_log.events("auth.login.failed")] == ["deactivated"]


def test_a_lockout_is_logged_as_a_warning_with_the_wait(client, store, security_log):
    for _ in range(5):
        _post_login(client, store.customer.email, "wrong-guess")
    response = _post_login(client, store.customer.email, PASSWORD)
    assert response.status_code == 429
    [event] = security_log.events("auth.login.locked_out")
    assert event["user_id"] == store.customer.id
    assert event["retry_after"] == int(response.headers["Retry-After"])
    [record] = [r for r in security_log.records if r.security is event]
    assert record.levelno == logging.WARNING


def test_signing_out_logs_that_every_session_ended(client, store, security_log):
    login(client, store.customer)
    client.post("/logout")
    [event] = security_log.events("auth.sessions.ended")
    assert (event["user_id"], event["reason"]) == (store.customer.id, "sign_out")


def test_a_password_change_and_a_wrong_current_password_are_logged(client, store, security_log):
    login(client, store.customer)
    data = {"current": "not mine", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/account", data=data).status_code == 400
    data["current"] = PASSWORD
    assert client.post("/account", data=data).status_code == 303
    [refused] = security_log.events("auth.password.change_refused")
    assert refused["reason"] == "wrong_current_password"
    [changed] = security_log.events("auth.password.changed")
    assert changed["user_id"] == store.customer.id
    text = security_log.text()
    assert NEW_PASSWORD not in text and PASSWORD not in text and "not mine" not in text


def test_a_reset_request_and_the_reset_are_logged_without_the_link(
    client, store, run_jobs, mailbox, security_log
):
    client.post("/password/forgot", data={"email": store.customer.email})
    client.post("/password/forgot", data={"email": "nobody@example.com"})
    run_jobs()
    [message] = mailbox.to(store.customer.email)
    path = re.search(r"http://localhost(/password/reset/\S+)", mailbox.text(message)).group(1)
    client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    requested = security_log.events("auth.password.reset_requested")
    assert [(e["sent"], e.get("user_id")) for e in requested] == [
        (True, store.customer.id),
        (False, None),
    ]
    [reset] = security_log.events("auth.password.reset")
    assert reset["user_id"] == store.customer.id
    token = path.rsplit("/", 1)[1]
    assert token not in security_log.text()
    assert reset["route"] == "/password/reset/<token>"


def test_a_role_change_and_a_deactivation_name_the_admin_who_did_it(client, store, security_log):
    login(client, store.admin)
    client.post(f"/admin/users/{store.purchasing.id}/role", data={"role": "admin"})
    client.post(f"/admin/users/{store.sales.id}/active", data={"active": "0"})
    [role] = security_log.events("auth.role.changed")
    assert role["user_id"] == store.purchasing.id
    assert (role["old_role"], role["new_role"], role["actor_id"]) == (
        "purchasing",
        "admin",
        store.admin.id,
    )
    [record] = [r for r in security_log.records if r.security is role]
    assert record.levelno == logging.WARNING  # becoming an admin stands out
    [gone] = security_log.events("auth.user.deactivated")
    assert (gone["user_id"], gone["actor_id"]) == (store.sales.id, store.admin.id)


def test_a_refused_admin_page_is_logged(client, store, security_log):
    login(client, store.sales)
    assert client.get("/admin/users/").status_code == 403
    [event] = security_log.events("access.denied")
    assert (event["user_id"], event["reason"], event["route"]) == (
        store.sales.id,
        "role",
        "/admin/users/",
    )


def test_a_request_without_its_csrf_token_is_logged(client, store, security_log):
    client.post("/login", data={"email": store.customer.email, "password": PASSWORD}, csrf=False)
    [event] = security_log.events("csrf.refused")
    assert event["route"] == "/login"


def test_api_keys_created_revoked_and_refused_are_logged_by_prefix_only(
    client, store, security_log
):
    login(client, store.admin)
    response = client.post("/admin/settings/api/", data={"name": "ERP", "scopes": ["catalog:read"]})
    assert response.status_code == 201
    key = db.session.scalars(db.select(api_operations.ApiKey)).one()
    client.post(f"/admin/settings/api/{key.id}/revoke")
    client.get("/api/v1/products", headers={"Authorization": f"Bearer {key.prefix}_forged"})
    [created] = security_log.events("api.key.created")
    assert (created["key_id"], created["key_prefix"], created["actor_id"]) == (
        key.id,
        key.prefix,
        store.admin.id,
    )
    [revoked] = security_log.events("api.key.revoked")
    assert revoked["key_id"] == key.id
    [refused] = security_log.events("api.key.refused")
    assert "forged" not in refused["key_prefix"]
    secret = re.search(rf"{key.prefix}_[A-Za-z0-9_-]+", response.get_data(as_text=True)).group(0)
    assert secret not in security_log.text()


def test_a_rotated_webhook_secret_is_logged_without_either_secret(app, store, security_log):
    from webapp.webhooks import operations as webhooks

    endpoint, first = webhooks.create_endpoint("https://8.8.8.8/hooks?token=abc", "ERP", [], "Al")
    second = webhooks.rotate_secret(endpoint, "Al")
    db.session.commit()
    [event] = security_log.events("webhook.secret.rotated")
    assert (event["endpoint_id"], event["host"], event["actor"]) == (endpoint.id, "8.8.8.8", "Al")
    text = security_log.text()
    assert first not in text and second not in text and "token=abc" not in text


def test_a_field_named_like_a_secret_is_refused_before_anything_is_logged(app, security_log):
    for name in ("password", "api_key", "reset_token", "secret", "session_cookie", "link"):
        with pytest.raises(ValueError, match="may hold a secret"):
            log_event("test.event", **{name: "x"})
    assert security_log.records == []


def test_typed_text_cannot_forge_a_second_log_line(client, store, security_log):
    operations.log_lockout('x\n{"event": "auth.login.succeeded"}', 60)
    [record] = security_log.records
    assert "\n" not in record.getMessage()
    assert security_log.events("auth.login.succeeded") == []


def test_the_role_of_an_invited_user_is_logged(app, store, security_log):
    operations.invite_user(
        email="new@msp.example", name="New", role=Role.SALES, organization=None, actor=store.admin
    )
    [event] = security_log.events("auth.user.invited")
    assert (event["email"], event["role"], event["actor_id"]) == (
        "new@msp.example",
        "sales",
        store.admin.id,
    )


def test_a_foreign_bearer_token_is_not_logged_even_in_part(client, store, security_log):
    client.get("/api/v1/products", headers={"Authorization": "Bearer ghp_RealGitHubTokenXYZ"})
    [refused] = security_log.events("api.key.refused")
    assert refused["key_prefix"] == "(not one of ours)"
    assert "ghp_" not in security_log.text()
