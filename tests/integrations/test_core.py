"""The integrations core on its own: secrets and key rotation, the HTTP channel, the limiter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from cryptography.fernet import Fernet
from werkzeug.wrappers import Request, Response

from tests.accounting.builders import connect_qbo
from tests.sandboxes.server import LiveServer
from webapp.accounting.models import LedgerConnection
from webapp.extensions import db
from webapp.integrations import secrets
from webapp.integrations.http import IntegrationHttp, retry_after_seconds
from webapp.integrations.interfaces import (
    NeedsReconnect,
    PermanentError,
    RateLimit,
    RateLimited,
    TokenSet,
)
from webapp.integrations.ratelimit import ConnectionLimiter

# -- secrets ----------------------------------------------------------------------------------


def _tokens(refresh: str = "r-1") -> TokenSet:
    return TokenSet(access_token="a-1", refresh_token=refresh)


def test_a_new_first_key_encrypts_and_the_old_one_still_decrypts(app, qbo, store):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEYS"] = old
    connection = connect_qbo(qbo)
    secrets.write_tokens(connection, _tokens())
    db.session.commit()
    sealed_with_old = connection.token_ciphertext

    app.config["ENCRYPTION_KEYS"] = f"{new},{old}"
    assert secrets.read_tokens(connection).refresh_token == "r-1"
    secrets.write_tokens(connection, _tokens("r-2"))
    Fernet(new.encode()).decrypt(connection.token_ciphertext.encode())  # the new key made it
    with pytest.raises(Exception):  # noqa: B017 - any Fernet refusal
        Fernet(old.encode()).decrypt(connection.token_ciphertext.encode())
    assert sealed_with_old != connection.token_ciphertext


def test_rotate_keys_reencrypts_every_stored_token(app, qbo, store):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEYS"] = old
    first = connect_qbo(qbo)
    second = connect_qbo(qbo, realm="9341453050298399")
    db.session.commit()

    app.config["ENCRYPTION_KEYS"] = f"{new},{old}"
    result = app.test_cli_runner().invoke(args=["integrations", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 secret(s)" in result.output

    app.config["ENCRYPTION_KEYS"] = new  # the old key can go now
    db.session.expire_all()
    for connection in (first, second):
        assert secrets.read_tokens(connection).access_token


def test_rotate_keys_changes_nothing_when_a_secret_is_unreadable(app, qbo, store):
    old, new, lost = (Fernet.generate_key().decode() for _ in range(3))
    app.config["ENCRYPTION_KEYS"] = old
    readable = connect_qbo(qbo)
    app.config["ENCRYPTION_KEYS"] = lost
    unreadable = connect_qbo(qbo, realm="9341453050298399")
    db.session.commit()
    before = {c.id: c.token_ciphertext for c in (readable, unreadable)}

    app.config["ENCRYPTION_KEYS"] = f"{new},{old}"
    result = app.test_cli_runner().invoke(args=["integrations", "rotate-keys"])
    assert result.exit_code == 1
    assert f"LedgerConnection {unreadable.id}" in result.output
    db.session.expire_all()
    after = {c.id: c.token_ciphertext for c in db.session.scalars(db.select(LedgerConnection))}
    assert after == before


def test_a_token_no_key_decrypts_asks_for_a_reconnect(app, qbo, store):
    app.config["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    connection = connect_qbo(qbo)
    app.config["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    with pytest.raises(NeedsReconnect, match="cannot be decrypted"):
        secrets.read_tokens(connection)


def test_a_malformed_key_is_named(app):
    app.config["ENCRYPTION_KEYS"] = f"{Fernet.generate_key().decode()},not-a-key"
    with pytest.raises(ValueError, match="key 2 is not a Fernet key"):
        secrets.encrypt(b"x")


def test_sealed_session_data_expires(app):
    sealed = secrets.seal({"tenant": "t-1"})
    assert secrets.unseal(sealed) == {"tenant": "t-1"}
    assert secrets.unseal(sealed, max_age=-1) is None
    assert secrets.unseal(sealed[:-4] + "AAAA") is None


# -- the HTTP channel -------------------------------------------------------------------------


@pytest.fixture
def vendor():
    """A tiny vendor: /ok answers 200, /denied 500 with a permission error body, /busy 429."""
    seen: list[str] = []

    @Request.application
    def wsgi(request: Request) -> Response:
        seen.append(request.path)
        if request.path == "/denied":
            body = {"errors": ["User does not have permission to access this entity."]}
            return Response(json.dumps(body), 500, content_type="application/json")
        if request.path == "/busy":
            return Response("slow down", 429, headers={"Retry-After": "120"})
        return Response('{"ok": true}', 200, content_type="application/json")

    server = LiveServer(wsgi).start()
    server.seen = seen
    yield server
    server.stop()


def test_plain_http_is_refused_before_anything_is_sent(vendor):
    http = IntegrationHttp(tokens=None, vendor="Autotask")
    with pytest.raises(PermanentError, match="Autotask's address .* is not HTTPS") as refused:
        http.request("GET", f"{vendor.url}/ok", auth=False)
    assert refused.value.fix
    assert vendor.seen == []
    allowed = IntegrationHttp(tokens=None, vendor="Autotask", allow_http=True)
    assert allowed.request("GET", f"{vendor.url}/ok", auth=False).json() == {"ok": True}


def test_a_provider_classifies_a_500_by_its_content(vendor):
    def classify(response: requests.Response):
        if b"does not have permission" in response.content:
            return PermanentError("The API user lacks a permission.", field="Security level")
        return None

    http = IntegrationHttp(tokens=None, allow_http=True, vendor="Autotask", classify=classify)
    with pytest.raises(PermanentError, match="lacks a permission"):
        http.request("GET", f"{vendor.url}/denied", auth=False)
    assert vendor.seen == ["/denied"]  # not retried as a temporary fault


def test_a_long_retry_after_is_not_waited_inline(vendor):
    http = IntegrationHttp(tokens=None, allow_http=True, vendor="Xero")
    with pytest.raises(RateLimited, match="Xero's rate limit") as limited:
        http.request("GET", f"{vendor.url}/busy", auth=False)
    assert limited.value.retry_after == 120


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    def answer(value: str) -> requests.Response:
        response = requests.Response()
        response.headers["Retry-After"] = value
        return response

    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    assert retry_after_seconds(answer("30"), now) == 30
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(answer(later), now) == 90
    assert (
        retry_after_seconds(answer(format_datetime(now - timedelta(hours=1), usegmt=True)), now)
        == 0
    )
    assert retry_after_seconds(answer("soon"), now) is None


# -- the limiter ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_hourly_budget_holds_and_is_reported(app):
    from webapp.jobs import redis_conn

    clock = Clock()
    limiter = ConnectionLimiter(
        redis_conn(),
        "hourly",
        RateLimit(per_minute=100, concurrent=5, per_hour=3),
        clock=clock,
        max_wait=0,
    )
    for _ in range(3):
        with limiter.slot():
            clock.now += 62  # a new minute each time: only the hour is binding
    assert limiter.budget() == {"minute": 100, "hour": 0}
    with pytest.raises(RateLimited), limiter.slot():
        pass
    clock.now += 3600
    with limiter.slot():
        pass
    assert limiter.budget()["hour"] == 2


def test_a_late_reconnect_request_leaves_a_disconnected_connection_disconnected(app, qbo, store):
    from webapp.integrations import operations as core
    from webapp.integrations.models import ConnectionStatus, Notification

    connection = connect_qbo(qbo)
    core.disconnect(connection, "admin")
    core.mark_needs_reconnect(connection, "invalid_grant")
    assert connection.status is ConnectionStatus.DISCONNECTED
    assert connection.last_error == "invalid_grant"
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 0


def _stored_encrypt_attributes() -> set[str]:
    """The attribute each stored ``encrypt(...)`` result is written to, across webapp/."""
    import ast
    from pathlib import Path

    def calls_encrypt(node) -> bool:
        return any(
            isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", "")) == "encrypt"
            for n in ast.walk(node)
        )

    found: set[str] = set()
    root = Path(secrets.__file__).resolve().parent.parent
    for path in root.rglob("*.py"):
        if path.name == "secrets.py" and path.parent.name == "integrations":
            continue  # the helpers themselves (write_tokens stores into token_ciphertext)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and calls_encrypt(node.value):
                found.update(t.attr for t in node.targets if isinstance(t, ast.Attribute))
            elif isinstance(node, ast.keyword) and node.arg and calls_encrypt(node.value):
                found.add(node.arg)
    return found


def test_every_column_that_stores_a_secret_is_rotated():
    from webapp import create_app  # noqa: F401 - every model (and its registration) loaded

    registered = {column.attribute for column in secrets.encrypted_columns()}
    stored = _stored_encrypt_attributes()
    assert {"token_ciphertext", "secret_ciphertext", "response_body"} <= stored
    assert stored <= registered, f"not re-encrypted by rotate-keys: {stored - registered}"
