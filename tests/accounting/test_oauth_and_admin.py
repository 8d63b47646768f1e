"""Connect, disconnect, mappings, notifications and the sync log through the admin pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.accounting.builders import make_document
from tests.factories import login
from webapp import signals
from webapp.accounting.interfaces import AccountPurpose
from webapp.accounting.models import LedgerConnection
from webapp.extensions import db
from webapp.integrations.models import ConnectionStatus, Delivery, DeliveryStatus, Notification
from workers.integrations import sync_connection


def _start(client, qbo) -> str:
    """Press Connect, follow the sandbox's consent; return our callback URL (path + query)."""
    response = client.post("/admin/accounting/connect/qbo")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{qbo.base_url}/connect/oauth2?")
    consent = requests.get(response.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])
    return f"{callback.path}?{callback.query}"


def _connections() -> list[LedgerConnection]:
    db.session.expire_all()
    return db.session.execute(db.select(LedgerConnection)).scalars().all()


def test_admin_connects_quickbooks_and_the_realm_is_stored(client, qbo, store):
    login(client, store.admin)

    response = client.get(_start(client, qbo))

    assert response.status_code == 303
    (connection,) = _connections()
    assert connection.tenant_id == qbo.realms[0]
    assert connection.tenant_name == f"Sandbox Company {qbo.realms[0]}"
    # Connected, and stored as needing its mappings until an admin chooses them.
    assert connection.status == ConnectionStatus.NEEDS_MAPPING
    assert connection.refresh_expires_at is not None


def test_callback_with_a_wrong_state_is_refused(client, qbo, store):
    login(client, store.admin)
    callback = _start(client, qbo)
    path, query = callback.split("?", 1)
    args = {k: v[0] for k, v in parse_qs(query).items()}
    args["state"] = "forged"

    response = client.get(f"{path}?{urlencode(args)}")

    assert response.status_code == 400
    assert "does not match" in response.get_data(as_text=True)
    assert _connections() == []


def test_a_replayed_callback_or_code_is_refused(client, qbo, store):
    login(client, store.admin)
    first = _start(client, qbo)
    assert client.get(first).status_code == 303

    assert client.get(first).status_code == 400  # the state answered once already
    second = _start(client, qbo)
    path, query = second.split("?", 1)
    args = {k: v[0] for k, v in parse_qs(query).items()}
    args["code"] = parse_qs(first.split("?", 1)[1])["code"][0]  # the used code, fresh state
    response = client.get(f"{path}?{urlencode(args)}")

    assert response.status_code == 400
    assert "refused the authorization code" in response.get_data(as_text=True)


def test_disconnect_revokes_the_grant_and_forgets_the_tokens(client, qbo, qbo_connection, store):
    from webapp.integrations.secrets import read_tokens

    tokens = read_tokens(qbo_connection)
    login(client, store.admin)

    response = client.post(f"/admin/accounting/connections/{qbo_connection.id}/disconnect")

    assert response.status_code == 303
    (connection,) = _connections()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.token_ciphertext == ""
    live, why = qbo.oauth.check_bearer(f"Bearer {tokens.access_token}")
    assert live is None and why == "token revoked"


def _refresh_lists(connection) -> None:
    from webapp.accounting import operations
    from workers.accounting import refresh_lists

    operations.request_lists_refresh(connection)
    db.session.commit()
    refresh_lists(connection.id)
    db.session.expire_all()


def test_integrations_page_shows_the_stored_lists_and_calls_no_vendor(
    client, qbo, qbo_connection, store
):
    _refresh_lists(qbo_connection)
    login(client, store.admin)
    calls_before = len(qbo.requests)

    page = client.get(f"/admin/accounting/integrations?connection={qbo_connection.id}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sales of Product Income" in html and "Accounts Payable (A/P)" in html
    assert "Non-taxable" in html  # a QuickBooks tax code, offered for our GST code
    assert "Lists read from QuickBooks Online" in html
    assert len(qbo.requests) == calls_before  # rendered from the stored copy
    # The rate budget the workers share, read from Redis: the read of the lists spent some.
    assert "498 per minute" in html and "40 batches per minute" in html


def test_connecting_queues_a_read_of_the_lists_and_the_page_polls_until_it_ends(
    client, qbo, store, run_jobs
):
    login(client, store.admin)
    client.get(_start(client, qbo))
    (connection,) = _connections()
    url = f"/admin/accounting/integrations?connection={connection.id}"

    waiting = client.get(url).get_data(as_text=True)
    assert "Reading accounts and tax rates from QuickBooks Online" in waiting
    assert 'hx-trigger="every 2s"' in waiting and "Save mappings" not in waiting

    run_jobs()
    fragment = client.get(f"{url}&block=mappings", headers={"HX-Request": "true"})

    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<section id="mappings"')
    assert "Sales of Product Income" in text and "Save mappings" in text
    assert "every 2s" not in text  # done: the fragment stops polling


def test_a_failed_read_keeps_the_lists_it_had_and_says_why(client, qbo, qbo_connection, store):
    _refresh_lists(qbo_connection)
    qbo.faults.fail_next(10, status=400)  # every call of the next read is refused
    _refresh_lists(qbo_connection)
    qbo.faults.clear()
    login(client, store.admin)

    html = client.get(f"/admin/accounting/integrations?connection={qbo_connection.id}").get_data(
        as_text=True
    )

    assert "QuickBooks Online lists unavailable:" in html
    assert "Sales of Product Income" in html  # the last good copy stays choosable
    assert "Reading accounts" not in html  # the failed read ended the wait


def test_refresh_lists_button_queues_a_read(client, qbo, qbo_connection, store, run_jobs):
    login(client, store.admin)

    response = client.post(f"/admin/accounting/connections/{qbo_connection.id}/lists")

    assert response.status_code == 303
    db.session.expire_all()
    assert qbo_connection.lists_pending
    run_jobs()
    db.session.expire_all()
    assert not qbo_connection.lists_pending
    names = {a["name"] for a in qbo_connection.ledger_lists["accounts"]}
    assert "Sales of Product Income" in names


def test_mappings_save_and_unknown_ids_are_refused_without_partial_writes(
    client, qbo, qbo_connection, store
):
    login(client, store.admin)
    url = f"/admin/accounting/connections/{qbo_connection.id}/mappings"
    assert client.post(url, data={"account_income": "1"}).status_code == 409  # lists not read
    _refresh_lists(qbo_connection)

    bad = client.post(
        url, data={"account_income": "1", "account_expense": "nope", "tax_GST": "TAX"}
    )
    assert bad.status_code == 400
    db.session.expire_all()
    assert qbo_connection.account_for(AccountPurpose.INCOME).ledger_account_id == "79"

    good = client.post(url, data={"account_income": "1", "tax_GST": "TAX"})
    assert good.status_code == 303
    db.session.expire_all()
    assert qbo_connection.account_for(AccountPurpose.INCOME).ledger_account_id == "1"
    assert qbo_connection.account_for(AccountPurpose.EXPENSE) is None
    assert qbo_connection.tax_for("GST").ledger_tax_name == "Taxable"


def test_options_save_and_purchase_orders_only_where_supported(client, qbo, qbo_connection, store):
    login(client, store.admin)

    response = client.post(
        f"/admin/accounting/connections/{qbo_connection.id}/options",
        data={
            "bill_status": "authorized",
            "invoice_status": "draft",
            "numbering": "ledger",
            "push_purchase_orders": "y",
            "push_bills": "y",
        },
    )

    assert response.status_code == 303
    db.session.expire_all()
    assert qbo_connection.numbering.value == "ledger"
    assert qbo_connection.push_purchase_orders and not qbo_connection.push_invoices
    bad = client.post(
        f"/admin/accounting/connections/{qbo_connection.id}/options",
        data={"bill_status": "paid", "invoice_status": "draft", "numbering": "ours"},
    )
    assert bad.status_code == 400


def test_integrations_is_for_admins_only(client, qbo, store):
    login(client, store.sales)
    assert client.get("/admin/accounting/integrations").status_code == 403
    assert client.post("/admin/accounting/connect/qbo").status_code == 403


def test_notification_view_shows_the_error_and_retry_requeues(client, qbo, qbo_connection, store):
    qbo.closing_date = "2999-12-31"
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)
    note = db.session.execute(
        db.select(Notification).where(Notification.delivery_id.isnot(None))
    ).scalar_one()
    login(client, store.admin)

    view = client.get(f"/admin/accounting/notifications/{note.id}")
    html = view.get_data(as_text=True)
    assert "books are closed" in html and "Invoice.TxnDate" in html
    assert "CustomerRef" in html  # the request as sent

    qbo.closing_date = None
    assert client.post(f"/admin/accounting/notifications/{note.id}/retry").status_code == 303
    db.session.expire_all()
    assert note.delivery.status == DeliveryStatus.PENDING
    sync_connection(qbo_connection.id)
    db.session.expire_all()
    assert note.delivery.status == DeliveryStatus.CONFIRMED


def test_sync_log_and_document_panel_show_the_push(client, qbo, qbo_connection, store):
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)
    delivery = db.session.execute(db.select(Delivery).filter_by(kind="invoice")).scalar_one()
    login(client, store.admin)

    log = client.get("/admin/accounting/sync-log").get_data(as_text=True)
    panel = client.get(f"/admin/orders/{doc.id}").get_data(as_text=True)

    assert f"sales document #{doc.id}" in log
    assert "Confirmed" in panel and f"invoice?txnId={delivery.remote_id}" in panel


def test_sync_log_is_filtered_by_ledger_document_and_outcome(client, qbo, qbo_connection, store):
    first, second = (make_document(store.org, store.customer, store.products[:1]) for _ in "ab")
    for doc in (first, second):
        signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)
    qbo.closing_date = "2999-12-31"  # the next invoice is refused
    refused = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(refused)
    db.session.commit()
    sync_connection(qbo_connection.id)
    login(client, store.admin)

    def log(query: str) -> str:
        page = client.get(f"/admin/accounting/sync-log?{query}")
        assert page.status_code == 200, page.status_code
        return page.get_data(as_text=True)

    def row(doc) -> str:
        return f"sales document #{doc.id}</td>"

    one = log(f"subject=sales_document&subject_id={first.id}")
    assert row(first) in one and row(second) not in one and row(refused) not in one
    failed = log("errors=1")
    assert row(refused) in failed and row(first) not in failed and row(second) not in failed
    mine = log(f"connection={qbo_connection.id}&subject=sales_document&subject_id={second.id}")
    assert row(second) in mine and row(first) not in mine
    assert row(first) not in log(f"connection={qbo_connection.id + 1}")
    for bad in ("subject=invoice&subject_id=1", "subject=sales_document&subject_id=x"):
        assert client.get(f"/admin/accounting/sync-log?{bad}").status_code == 400
    panel = client.get(f"/admin/orders/{first.id}").get_data(as_text=True)
    assert f"sync-log?subject=sales_document&amp;subject_id={first.id}" in panel


def test_xero_connect_offers_the_organisations_and_stores_the_chosen_one(
    app, client, xero_sandbox, store
):
    from tests.accounting.builders import point_app_at_xero

    point_app_at_xero(app, xero_sandbox)
    second = xero_sandbox.add_tenant("5b7d5c5e-0000-4000-8000-000000000002", "Second Org")
    login(client, store.admin)
    start = client.post("/admin/accounting/connect/xero")
    assert start.status_code == 303
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(consent.headers["Location"])

    choose = client.get(f"{callback.path}?{callback.query}")
    assert choose.status_code == 200 and "Second Org" in choose.get_data(as_text=True)
    assert _connections() == []
    done = client.post(
        "/admin/accounting/callback/xero/choose", data={"tenant_id": second.tenant_id}
    )

    assert done.status_code == 303
    (connection,) = _connections()
    assert (connection.tenant_id, connection.tenant_name) == (second.tenant_id, "Second Org")
    assert connection.vendor_connection_id  # kept for DELETE /connections/{id} on disconnect
    assert (
        client.post(
            "/admin/accounting/callback/xero/choose", data={"tenant_id": second.tenant_id}
        ).status_code
        == 400
    )  # the pending grant answers one choice only
