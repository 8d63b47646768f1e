"""Exactly once under faults: lost responses, 429, 500, timeouts, expired and revoked tokens,
rejections, waiting prerequisites and a worker killed mid-delivery (QuickBooks sandbox)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
import requests
from sqlalchemy import text

from tests.accounting.builders import QBO_ACCOUNTS, connect_qbo, make_document, worker_env
from tests.conftest import wait_for
from webapp import signals
from webapp.accounting import operations
from webapp.accounting.interfaces import AccountPurpose
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import TransientError
from webapp.integrations.models import (
    ConnectionStatus,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationStatus,
    SyncLogEntry,
)
from webapp.integrations.secrets import read_tokens
from workers.integrations import sync_connection


@pytest.fixture(autouse=True)
def _retry_at_once(app):
    # Backoff is about wall time; these tests retry explicitly instead of waiting.
    app.config["ACCOUNTING_RETRY_BACKOFF"] = "0"


def _docs(store, n):
    docs = [make_document(store.org, store.customer, store.products[:2]) for _ in range(n)]
    for doc in docs:
        signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    return docs


@pytest.fixture
def primed(qbo, qbo_connection, store):
    """One document pushed, so the customer and items exist and only invoices follow."""
    _docs(store, 1)
    sync_connection(qbo_connection.id)
    return qbo_connection


def _invoice_counts(qbo) -> Counter:
    return Counter(i.get("DocNumber") for i in qbo.entities(qbo.realms[0], "Invoice"))


def _assert_each_once(qbo, docs):
    counts = _invoice_counts(qbo)
    assert [counts[d.number] for d in docs] == [1] * len(docs)


def _deliveries(docs):
    db.session.expire_all()
    return [
        db.session.execute(
            db.select(Delivery).filter_by(kind="invoice", subject_id=d.id)
        ).scalar_one()
        for d in docs
    ]


def _invoice_batches(qbo) -> int:
    return sum(
        1
        for r in qbo.requests
        if r.path.endswith("/batch")
        and any("Invoice" in item for item in (r.body or {}).get("BatchItemRequest", []))
    )


def test_sixty_invoices_go_in_two_batch_calls(qbo, primed, store):
    before = _invoice_batches(qbo)
    docs = _docs(store, 60)

    sync_connection(primed.id)

    _assert_each_once(qbo, docs)
    assert _invoice_batches(qbo) - before == 2


def test_response_lost_after_commit_is_matched_not_duplicated(qbo, primed, store):
    docs = _docs(store, 5)
    qbo.faults.drop_next(path="/batch")

    with pytest.raises(TransientError):
        sync_connection(primed.id)
    assert all(d.status == DeliveryStatus.PENDING and d.maybe_sent for d in _deliveries(docs))
    # A new document joins the retry: another batch, another requestid; the look-up must
    # be what prevents the duplicates.
    late = _docs(store, 1)
    sync_connection(primed.id)

    _assert_each_once(qbo, docs + late)
    assert all(d.status == DeliveryStatus.CONFIRMED for d in _deliveries(docs + late))
    matched = db.session.execute(
        db.select(SyncLogEntry).where(SyncLogEntry.message.like("matched existing%"))
    ).scalars()
    assert {e.subject_id for e in matched if e.kind == "invoice"} == {d.id for d in docs}


def test_429_with_retry_after_is_waited_out_without_duplicates(qbo, primed, store):
    docs = _docs(store, 3)
    qbo.faults.throttle_next(2, retry_after=1, path="/batch")

    result = sync_connection(primed.id)

    assert result["throttled"] == 2
    _assert_each_once(qbo, docs)


def test_500_is_retried_and_creates_each_invoice_once(qbo, primed, store):
    docs = _docs(store, 3)
    qbo.faults.fail_next(1, status=500, path="/batch")

    with pytest.raises(TransientError):
        sync_connection(primed.id)
    sync_connection(primed.id)

    _assert_each_once(qbo, docs)
    assert [d.attempts for d in _deliveries(docs)] == [2, 2, 2]


def test_timeout_after_the_ledger_committed_does_not_duplicate(app, qbo, primed, store):
    docs = _docs(store, 3)
    app.config["ACCOUNTING_HTTP_TIMEOUT"] = 1
    qbo.faults.hang_next(seconds=5, after_commit=True, path="/batch")

    with pytest.raises(TransientError):
        sync_connection(primed.id)
    docs += _docs(store, 1)
    sync_connection(primed.id)

    _assert_each_once(qbo, docs)


def test_expired_access_token_is_refreshed_and_the_rotated_refresh_token_saved(
    app, qbo, primed, store
):
    old = read_tokens(primed)
    docs = _docs(store, 2)
    qbo.expire_access_tokens()

    sync_connection(primed.id)

    _assert_each_once(qbo, docs)
    db.session.refresh(primed)
    new = read_tokens(primed)
    assert new.refresh_token != old.refresh_token
    # The old refresh token is dead at the vendor: only the saved one works.
    refused = requests.post(
        app.config["QBO_TOKEN_URL"],
        data={"grant_type": "refresh_token", "refresh_token": old.refresh_token},
        auth=(qbo.client_id, qbo.client_secret),
        timeout=5,
    )
    assert refused.json()["error"] == "invalid_grant"


def test_tokens_are_encrypted_at_rest(qbo, qbo_connection):
    tokens = read_tokens(qbo_connection)
    raw = db.session.execute(
        text("SELECT token_ciphertext FROM integration_connections WHERE id = :id"),
        {"id": qbo_connection.id},
    ).scalar_one()
    assert tokens.access_token not in raw
    assert tokens.refresh_token not in raw
    assert raw  # something is stored


def test_revoked_grant_asks_for_reconnect_and_keeps_the_work(qbo, primed, store):
    qbo.oauth.revoke(read_tokens(primed).refresh_token)
    docs = _docs(store, 2)

    assert sync_connection(primed.id) == {"reconnect": True}

    db.session.refresh(primed)
    assert primed.status == ConnectionStatus.NEEDS_RECONNECT
    assert {d.status for d in _deliveries(docs)} == {DeliveryStatus.PENDING}
    notice = db.session.execute(
        db.select(Notification).filter_by(connection_id=primed.id, delivery_id=None)
    ).scalar_one()
    assert notice.title.endswith("must be reconnected")
    assert notice.status == NotificationStatus.OPEN

    connect_qbo(qbo, mapped=False)  # the admin reconnects the same company
    db.session.commit()
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.RESOLVED  # the cause is gone: it closed itself
    sync_connection(primed.id)

    _assert_each_once(qbo, docs)


def test_rejection_names_field_and_fix_and_is_not_retried_until_asked(qbo, primed, store):
    qbo.closing_date = "2999-12-31"
    (doc,) = _docs(store, 1)

    sync_connection(primed.id)

    (delivery,) = _deliveries([doc])
    assert delivery.status == DeliveryStatus.FAILED
    note = db.session.execute(
        db.select(Notification).filter_by(delivery_id=delivery.id)
    ).scalar_one()
    assert note.field == "Invoice.TxnDate"
    assert "closed" in note.message and "closing date" in note.fix
    requests_before = len(qbo.requests)
    sync_connection(primed.id)
    assert len(qbo.requests) == requests_before  # nothing retried automatically

    qbo.closing_date = None
    core.retry_delivery(delivery, "admin")
    db.session.commit()
    sync_connection(primed.id)

    _assert_each_once(qbo, [doc])
    db.session.refresh(note)
    assert note.status == NotificationStatus.RESOLVED


def test_invoice_waits_for_its_items_instead_of_failing(qbo, qbo_connection, store):
    operations.set_account_mapping(qbo_connection, AccountPurpose.INCOME, "999", "Gone")
    db.session.commit()
    (doc,) = _docs(store, 1)

    sync_connection(qbo_connection.id)

    (invoice,) = _deliveries([doc])
    assert invoice.status == DeliveryStatus.WAITING
    assert _invoice_counts(qbo)[doc.number] == 0
    failed = (
        db.session.execute(db.select(Delivery).filter_by(kind="item", status=DeliveryStatus.FAILED))
        .scalars()
        .all()
    )
    assert failed and all("IncomeAccountRef" in d.error_field for d in failed)

    operations.set_account_mapping(
        qbo_connection, AccountPurpose.INCOME, *QBO_ACCOUNTS[AccountPurpose.INCOME]
    )
    for delivery in failed:
        core.retry_delivery(delivery, "admin")
    db.session.commit()
    sync_connection(qbo_connection.id)

    _assert_each_once(qbo, [doc])


def test_worker_killed_mid_delivery_recovers_without_duplicates(app, qbo, primed, store):
    from webapp.jobs import redis_conn

    docs = _docs(store, 4)
    # The ledger commits the batch, then the answer hangs while we kill the worker.
    qbo.faults.hang_next(seconds=60, after_commit=True, path="/batch")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from workers.integrations import sync_connection; "
            "sync_connection(int(sys.argv[1]))",
            str(primed.id),
        ],
        env=worker_env(app),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: sum(_invoice_counts(qbo)[d.number] for d in docs) == 4, timeout=60)
    finally:
        worker.kill()
        worker.wait()
    assert {d.status for d in _deliveries(docs)} == {DeliveryStatus.SENT}
    wait_for(lambda: not redis_conn().exists(f"integrations:sync:{primed.id}"), timeout=10)
    docs += _docs(store, 1)

    sync_connection(primed.id)

    _assert_each_once(qbo, docs)
    assert {d.status for d in _deliveries(docs)} == {DeliveryStatus.CONFIRMED}
