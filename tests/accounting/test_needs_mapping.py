"""A ledger connection whose mappings are incomplete is stored as "needs mapping" (issue 11):
set and cleared when the mappings change, shown in the admin, and nothing is pushed meanwhile."""

from __future__ import annotations

from tests.accounting.builders import connect_qbo, make_document
from tests.factories import login
from webapp import signals
from webapp.accounting import operations
from webapp.accounting.interfaces import AccountPurpose
from webapp.extensions import db
from webapp.integrations.models import (
    ConnectionStatus,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationStatus,
)
from workers.integrations import sync_connection


def _notices(connection) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(Notification).filter_by(
                connection_id=connection.id, status=NotificationStatus.OPEN
            )
        )
    )


def _read_lists(connection, run_jobs):
    operations.request_lists_refresh(connection)
    db.session.commit()
    run_jobs()
    db.session.expire_all()


def test_a_new_connection_without_mappings_is_stored_as_needs_mapping(qbo, store):
    connection = connect_qbo(qbo, mapped=False)
    db.session.commit()
    db.session.expire_all()
    assert connection.status == ConnectionStatus.NEEDS_MAPPING
    assert connection.is_active and connection.is_connected
    # No notice: the admin who just connected it lands on the page listing what is missing.
    assert _notices(connection) == []


def test_saving_the_last_mapping_clears_it_and_sends_what_waited(client, qbo, store, run_jobs):
    connection = connect_qbo(qbo)
    operations.set_account_mapping(connection, AccountPurpose.SHIPPING, "", "")
    operations.note_mappings(connection)
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    run_jobs()
    assert not qbo.entities(qbo.realms[0], "Invoice")  # blocked while it needs mapping
    db.session.expire_all()
    assert connection.status == ConnectionStatus.NEEDS_MAPPING

    login(client, store.admin)
    page = client.get(f"/admin/accounting/integrations?connection={connection.id}")
    row = page.get_data(as_text=True).split(f'id="connection-{connection.id}"')[1].split("</tr>")[0]
    assert "Needs mapping" in row
    assert "Sync now" in row and "Reconnect" not in row  # the grant still works

    _read_lists(connection, run_jobs)
    form = {f"account_{p.value}": m.ledger_account_id for p in AccountPurpose
            if (m := connection.account_for(p)) is not None}  # fmt: skip
    form["account_shipping"] = "1"
    form["tax_GST"] = form["purchase_tax_GST"] = "TAX"
    assert (
        client.post(
            f"/admin/accounting/connections/{connection.id}/mappings", data=form
        ).status_code
        == 303
    )
    db.session.expire_all()
    assert connection.status == ConnectionStatus.CONNECTED
    assert _notices(connection) == []

    run_jobs()  # the sync the cleared status queued
    assert len(qbo.entities(qbo.realms[0], "Invoice")) == 1


def test_removing_a_required_mapping_on_the_page_stores_needs_mapping(
    client, qbo, qbo_connection, store, run_jobs
):
    _read_lists(qbo_connection, run_jobs)
    login(client, store.admin)
    # Only the income account and the tax rate: every other account is left unmapped.
    response = client.post(
        f"/admin/accounting/connections/{qbo_connection.id}/mappings",
        data={"account_income": "1", "tax_GST": "TAX"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert qbo_connection.status == ConnectionStatus.NEEDS_MAPPING
    [notice] = _notices(qbo_connection)
    assert "Purchases" in notice.message or "account" in notice.message


def test_a_sync_stores_needs_mapping_when_a_mapping_went_missing_behind_the_page(
    qbo, qbo_connection, store
):
    operations.set_tax_mapping(qbo_connection, "GST", "", "")  # no note_mappings: as if elsewhere
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    assert qbo_connection.status == ConnectionStatus.CONNECTED

    sync_connection(qbo_connection.id)

    db.session.expire_all()
    assert qbo_connection.status == ConnectionStatus.NEEDS_MAPPING
    [notice] = _notices(qbo_connection)
    assert "needs mappings" in notice.title
    assert "Tax rate for our default tax code GST" in notice.message
    statuses = set(db.session.scalars(db.select(Delivery.status)))
    assert DeliveryStatus.CONFIRMED not in statuses
    assert not qbo.entities(qbo.realms[0], "Invoice")


def test_a_reconnect_does_not_hide_that_mappings_are_missing(qbo, store):
    connection = connect_qbo(qbo, mapped=False)
    db.session.commit()
    connect_qbo(qbo, mapped=False)  # reconnect the same realm: still nothing mapped
    db.session.commit()
    db.session.expire_all()
    assert connection.status == ConnectionStatus.NEEDS_MAPPING
