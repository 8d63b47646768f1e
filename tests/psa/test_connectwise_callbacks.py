"""ConnectWise callbacks: registered idempotently, re-enabled by the health job, verified (key
fetched only from an allow-listed host) before anything is read, handled as hints; plus the
reconciliation poll on lastUpdated. Against the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import issue_order
from tests.psa.conftest import configure, rows
from tests.sandboxes.connectwise import sign
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import InboundEvent, InboundStatus, SyncLogEntry
from webapp.models_base import utcnow
from webapp.psa.connectwise import callbacks, operations, sync


@pytest.fixture
def registered(cw):
    callbacks.ensure_callbacks(cw.connection)
    db.session.commit()
    return cw


def deliver_to(client):
    def deliver(url: str, body: bytes, headers: dict) -> int:
        parts = urlsplit(url)
        return client.post(f"{parts.path}?{parts.query}", data=body, headers=headers).status_code

    return deliver


def test_registration_is_idempotent_and_the_health_job_re_enables_a_disabled_callback(
    app, store, cw
):
    first = callbacks.ensure_callbacks(cw.connection)
    assert first["added"] == 4
    entries = rows(cw, "system/callbacks")
    assert {e["type"] for e in entries} == set(callbacks.TYPES)
    assert all(e["url"].endswith("?recordId=") and e["level"] == "Owner" for e in entries)
    again = callbacks.ensure_callbacks(cw.connection)
    assert (again["added"], again["kept"]) == (0, 4)
    assert len(rows(cw, "system/callbacks")) == 4
    # ConnectWise disabled one after days of failures; a stale extra of ours lingers.
    cw.change("system/callbacks", entries[0]["id"], inactiveFlag=True)
    cw.add("system/callbacks", url=callbacks.callback_url(cw.connection), objectId=1,
           type="Ticket", level="Owner", description="old")  # fmt: skip
    health = callbacks.ensure_callbacks(cw.connection)
    db.session.commit()
    assert (health["enabled"], health["deleted"]) == (1, 1)
    assert not any(e.get("inactiveFlag") for e in rows(cw, "system/callbacks"))
    assert len(rows(cw, "system/callbacks")) == 4


def test_a_valid_callback_is_stored_and_handled_as_a_hint(app, store, client, registered, run_jobs):
    cw = registered
    configure(cw.connection, operations.OUR_INVOICING, opportunities=False)
    document = issue_order(store, store.org, store.customer, "c1")
    db.session.commit()
    run_jobs()
    [ticket] = rows(cw, "service/tickets")
    cw.change("service/tickets", ticket["id"], closedFlag=True)
    [sent] = cw.fire("ticket", ticket["id"], deliver=deliver_to(client))
    assert sent.status == 204
    run_jobs()
    [event] = db.session.scalars(db.select(InboundEvent)).all()
    assert event.status == InboundStatus.PROCESSED
    log = db.session.scalars(db.select(SyncLogEntry).filter_by(kind="callback Ticket")).all()
    assert log and f"Ticket {ticket['id']} updated: closed" in log[-1].message
    link = core.link_for(cw.connection.id, sync.TICKET_LINK, document.id)
    assert link.version  # lastUpdated read back from the re-fetched record
    assert cw.key_fetches == 1
    # The same body again (ConnectWise retries): not stored twice.
    again = deliver_to(client)(sent.url, sent.body, sent.headers)
    assert again == 204 and db.session.scalar(db.select(db.func.count(InboundEvent.id))) == 1


def test_a_forged_signature_is_refused_before_anything_is_read(app, store, client, registered):
    cw = registered
    [sent] = cw.fire("ticket", 1, deliver=lambda *a: 0)
    forged = json.loads(sent.body)
    forged["ID"] = 999
    body = json.dumps(forged).encode()
    status = deliver_to(client)(sent.url, body, sent.headers)
    assert status == 401
    assert db.session.scalar(db.select(db.func.count(InboundEvent.id))) == 0
    missing = deliver_to(client)(sent.url, sent.body, {"Content-Type": "application/json"})
    assert missing == 401


def test_a_key_url_on_a_foreign_host_is_never_fetched(app, store, client, registered):
    cw = registered
    evil = "http://169.254.169.254/latest/meta-data/key"
    [sent] = cw.fire("ticket", 1, deliver=lambda *a: 0, key_url=evil)
    # Even signed with the right key, a foreign key host is refused (SSRF guard).
    assert deliver_to(client)(sent.url, sent.body, sent.headers) == 401
    assert cw.key_fetches == 0
    # A look-alike host is not under the allow-listed one either.
    assert not callbacks.key_url_allowed("https://evil-myconnectwise.net/key")
    app.config["CONNECTWISE_KEY_HOSTS"] = "myconnectwise.net"
    assert callbacks.key_url_allowed("https://na.myconnectwise.net/v4/key")
    assert not callbacks.key_url_allowed("https://na.myconnectwise.net.evil.example/key")


def test_the_signature_covers_the_raw_bytes_with_awkward_characters():
    body = '{"Entity": "a & b + c \' d é"}'.encode()
    assert callbacks.signature("k", body) == sign("k", body)
    assert callbacks.signature("k", body) != callbacks.signature("k", body + b" ")


def test_a_deleted_catalog_item_forgets_its_link_and_the_poll_finds_changes(
    app, store, client, registered, run_jobs
):
    cw = registered
    configure(cw.connection, invoice_from="ticket")
    issue_order(store, store.org, store.customer, "c1")
    db.session.commit()
    run_jobs()
    link = core.link_for(cw.connection.id, sync.PRODUCT, store.products[0].id)
    assert link is not None
    item_id = int(link.remote_id)
    del cw.table("procurement/catalog")[item_id]
    cw.fire("productcatalog", item_id, action="deleted", deliver=deliver_to(client))
    run_jobs()
    assert core.link_for(cw.connection.id, sync.PRODUCT, store.products[0].id) is None
    seen = callbacks.reconcile(cw.connection)
    db.session.commit()
    assert seen >= 1  # everything, the first time
    assert cw.connection.option("reconciled_at")
    later = utcnow() + timedelta(seconds=2)
    assert callbacks.reconcile(cw.connection, since=later) == 0  # nothing changed since
    [ticket] = rows(cw, "service/tickets")
    cw.clock.advance(30)  # ConnectWise's clock: the change is after ``later``
    cw.change("service/tickets", ticket["id"], summary="Changed in ConnectWise")
    assert callbacks.reconcile(cw.connection, since=later) == 1
