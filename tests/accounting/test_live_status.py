"""Live sync status: fragments that poll only while work moves, and `flask accounting ...`."""

from __future__ import annotations

import re

import pytest

from tests.accounting.builders import connect_qbo, make_document, point_app_at_qbo
from tests.factories import login
from webapp import signals
from webapp.accounting import operations
from webapp.accounting.interfaces import AccountPurpose
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus

HX = {"HX-Request": "true"}
POLL = 'hx-trigger="every 2s"'


@pytest.fixture(autouse=True)
def _retry_at_once(app):
    # Backoff is about wall time; nothing here waits for it.
    app.config["ACCOUNTING_RETRY_BACKOFF"] = "0"


def _ready(store, n=1):
    docs = [make_document(store.org, store.customer, store.products[:2]) for _ in range(n)]
    for doc in docs:
        signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    return docs


def _opening_tag(html: str, element_id: str) -> str:
    found = re.search(rf'<[a-z]+\s[^>]*id="{element_id}"[^>]*>', html)
    assert found, f"no element #{element_id} in the page"
    return found.group(0)


def _counts(html: str, connection_id: int) -> dict[str, str]:
    row = re.search(rf'<tr id="sync-status-{connection_id}">(.*?)</tr>', html, re.S).group(1)
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    names = ["ledger", "pending", "waiting", "sending", "failed", "confirmed_today", "last_sync"]
    return dict(zip(names, cells, strict=True))


def _invoices(qbo, number):
    return [i for i in qbo.entities(qbo.realms[0], "Invoice") if i.get("DocNumber") == number]


# -- Settings › Integrations ---------------------------------------------------------------------


def test_integrations_status_polls_while_deliveries_are_pending(client, qbo_connection, store):
    _ready(store)
    login(client, store.admin)

    page = client.get("/admin/accounting/integrations").get_data(as_text=True)

    tag = _opening_tag(page, "sync-status")
    assert POLL in tag and 'hx-get="/admin/accounting/sync-status"' in tag
    counts = _counts(page, qbo_connection.id)
    # Customer, two items and the freight item are ready; the invoice waits for them.
    assert (counts["pending"], counts["waiting"], counts["confirmed_today"]) == ("4", "1", "0")
    assert counts["last_sync"] == "never"


def test_integrations_status_stops_polling_once_the_outbox_is_drained(
    client, qbo, qbo_connection, store, run_jobs
):
    (doc,) = _ready(store)
    run_jobs()
    login(client, store.admin)

    page = client.get("/admin/accounting/integrations").get_data(as_text=True)

    assert _invoices(qbo, doc.number)
    assert "hx-trigger" not in _opening_tag(page, "sync-status")
    counts = _counts(page, qbo_connection.id)
    assert (counts["pending"], counts["waiting"], counts["sending"]) == ("0", "0", "0")
    assert counts["confirmed_today"] == "5"
    assert counts["last_sync"] != "never"


def test_status_fragment_request_returns_only_the_fragment(client, qbo_connection, store):
    _ready(store)
    login(client, store.sales)

    fragment = client.get("/admin/accounting/sync-status", headers=HX)
    page = client.get("/admin/accounting/sync-status")

    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert body.lstrip().startswith('<section id="sync-status"') and "<html" not in body
    assert POLL in _opening_tag(body, "sync-status")
    assert "HX-Request" in fragment.headers["Vary"]
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]


def test_status_and_document_fragments_are_for_staff_only(client, qbo_connection, store):
    (doc,) = _ready(store)
    urls = ["/admin/accounting/sync-status", f"/admin/accounting/documents/{doc.id}/ledgers"]

    for url in urls:
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
        # A poll whose session ended sends the whole page to the sign-in form.
        polled = client.get(url, headers=HX)
        assert "/login" in polled.headers["HX-Redirect"]
        assert "sync-status" not in polled.get_data(as_text=True)
    login(client, store.customer)
    assert [client.get(url, headers=HX).status_code for url in urls] == [404, 404]


# -- the order page's accounting panel -------------------------------------------------------------


def test_document_panel_polls_while_its_deliveries_are_open(client, store, qbo_connection):
    (doc,) = _ready(store)
    login(client, store.sales)

    page = client.get(f"/admin/orders/{doc.id}").get_data(as_text=True)
    fragment = client.get(f"/admin/accounting/documents/{doc.id}/ledgers", headers=HX)

    tag = _opening_tag(page, "accounting-panel")
    assert POLL in tag and f'hx-get="/admin/accounting/documents/{doc.id}/ledgers"' in tag
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'id="accounting-panel"' in body
    assert "Waiting for a prerequisite" in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_document_panel_stops_polling_once_the_invoice_is_confirmed(
    client, store, qbo_connection, run_jobs
):
    (doc,) = _ready(store)
    run_jobs()
    login(client, store.sales)

    body = client.get(f"/admin/accounting/documents/{doc.id}/ledgers", headers=HX).get_data(
        as_text=True
    )

    assert "Confirmed" in body
    assert "hx-trigger" not in _opening_tag(body, "accounting-panel")


def test_document_panel_does_not_poll_an_invoice_stuck_behind_a_failed_item(
    client, store, qbo_connection
):
    from workers.integrations import sync_connection

    operations.set_account_mapping(qbo_connection, AccountPurpose.INCOME, "999", "Gone")
    db.session.commit()
    (doc,) = _ready(store)
    sync_connection(qbo_connection.id)
    login(client, store.sales)

    body = client.get(f"/admin/accounting/documents/{doc.id}/ledgers", headers=HX).get_data(
        as_text=True
    )

    assert "Waiting for a prerequisite" in body
    assert "hx-trigger" not in _opening_tag(body, "accounting-panel")


def test_document_ledgers_of_an_unknown_document_is_404(client, store):
    login(client, store.sales)
    assert client.get("/admin/accounting/documents/999999/ledgers", headers=HX).status_code == 404


# -- flask accounting sync / status --------------------------------------------------------------


def test_cli_sync_pushes_the_pending_deliveries_and_exits_0(app, qbo, qbo_connection, store):
    docs = _ready(store, 2)

    result = app.test_cli_runner().invoke(args=["accounting", "sync"])

    assert result.exit_code == 0, result.output
    assert [len(_invoices(qbo, d.number)) for d in docs] == [1, 1]
    # Customer, two items, freight item and two invoices.
    assert f"{qbo_connection.label}: 6 confirmed, 0 failed, 0 still waiting." in result.output
    db.session.expire_all()
    statuses = db.session.execute(db.select(Delivery.status)).scalars().all()
    assert set(statuses) == {DeliveryStatus.CONFIRMED}


def test_cli_sync_exits_non_zero_and_shows_the_ledgers_error(app, qbo, qbo_connection, store):
    qbo.closing_date = "2999-12-31"
    (doc,) = _ready(store)

    result = app.test_cli_runner().invoke(args=["accounting", "sync"])

    assert result.exit_code == 1
    assert _invoices(qbo, doc.number) == []
    assert "4 confirmed, 1 failed, 0 still waiting." in result.output
    (line,) = [ln for ln in result.output.splitlines() if doc.number in ln]
    assert line.strip().startswith(f"Invoice {doc.number}:")
    assert "Field: Invoice.TxnDate." in line and "closing date" in line


def test_cli_sync_exits_non_zero_when_the_ledger_keeps_failing(app, qbo, qbo_connection, store):
    (doc,) = _ready(store)
    qbo.faults.fail_next(50, status=503, path="/batch")  # QuickBooks is down for a while

    result = app.test_cli_runner().invoke(args=["accounting", "sync"])

    assert result.exit_code == 1, result.output
    assert "stopped, the rest will be retried by the worker" in result.output
    assert f"{qbo_connection.label}: 0 confirmed" in result.output
    assert _invoices(qbo, doc.number) == []


def test_cli_sync_exits_non_zero_when_one_of_two_ledgers_fails(app, qbo_sandbox_factory, store):
    sandbox = qbo_sandbox_factory(realms=("realm-a", "realm-b"))
    point_app_at_qbo(app, sandbox)
    good = connect_qbo(sandbox, realm="realm-a")
    bad = connect_qbo(sandbox, realm="realm-b")
    db.session.commit()
    _ready(store)
    sandbox.faults.fail_next(50, status=503, path="/realm-b/")

    result = app.test_cli_runner().invoke(args=["accounting", "sync"])

    assert result.exit_code == 1, result.output
    assert f"{good.label}: 5 confirmed, 0 failed, 0 still waiting." in result.output
    assert f"{bad.label}: 0 confirmed" in result.output


def test_cli_sync_of_one_connection_waits_for_a_sync_already_running(
    app, qbo, qbo_connection, store
):
    from webapp.jobs import redis_conn

    (doc,) = _ready(store)
    lock = redis_conn().lock(f"integrations:sync:{qbo_connection.id}", timeout=60)
    assert lock.acquire(blocking=False)
    try:
        result = app.test_cli_runner().invoke(
            args=["accounting", "sync", "--connection", str(qbo_connection.id)]
        )
    finally:
        lock.release()

    assert result.exit_code == 1
    assert "another worker is syncing it" in result.output
    assert _invoices(qbo, doc.number) == []


def test_cli_sync_of_an_unknown_connection_is_a_usage_error(app, qbo_connection):
    result = app.test_cli_runner().invoke(args=["accounting", "sync", "--connection", "999"])

    assert result.exit_code == 2
    assert f"no connection 999 (known: {qbo_connection.id} ({qbo_connection.label}))" in (
        result.output
    )


def test_cli_status_prints_each_connections_counts(app, qbo_connection, store):
    _ready(store)

    result = app.test_cli_runner().invoke(args=["accounting", "status"])

    assert result.exit_code == 0, result.output
    assert (
        f"{qbo_connection.id}  {qbo_connection.label} (connected): 4 pending · "
        "1 waiting for a prerequisite · 0 sending · 0 failed · 0 confirmed today · "
        "last sync never"
    ) in result.output
