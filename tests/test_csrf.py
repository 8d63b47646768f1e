"""CSRF tokens are Flask-WTF's own, with a time limit: an expired one is a clear 400."""

from __future__ import annotations

import time

from itsdangerous import URLSafeTimedSerializer

from tests.factories import login
from webapp.store.models import CartLine


def _token_signed_seconds_ago(app, client, seconds: int) -> str:
    client.get("/__test__/csrf")  # puts the raw token in the session
    with client.session_transaction() as session:
        raw = session["csrf_token"]

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")

    class SignedLongAgo(serializer.signer):
        def get_timestamp(self) -> int:
            return int(time.time() - seconds)

    serializer.signer = SignedLongAgo
    return serializer.dumps(raw)


def test_csrf_tokens_have_a_time_limit(app):
    assert 3600 <= app.config["WTF_CSRF_TIME_LIMIT"] <= 24 * 3600


def test_a_form_posted_with_an_expired_token_says_so_and_changes_nothing(app, client, store):
    login(client, store.customer)
    token = _token_signed_seconds_ago(app, client, app.config["WTF_CSRF_TIME_LIMIT"] + 60)
    response = client.post(
        "/cart/add",
        data={"csrf_token": token, "product_id": str(store.products[0].id), "quantity": "1"},
        csrf=False,
    )
    assert response.status_code == 400
    assert "Your form expired" in response.get_data(as_text=True)
    assert CartLine.query.count() == 0


def test_a_token_within_its_time_limit_is_accepted(app, client, store):
    login(client, store.customer)
    token = _token_signed_seconds_ago(app, client, app.config["WTF_CSRF_TIME_LIMIT"] - 600)
    response = client.post(
        "/cart/add",
        data={"csrf_token": token, "product_id": str(store.products[0].id), "quantity": "1"},
        csrf=False,
    )
    assert response.status_code in (200, 302, 303)
    assert CartLine.query.count() == 1
