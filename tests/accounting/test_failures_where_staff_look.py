"""A ledger's refusal shows where staff look: the PO and receipt pages and the dashboard."""

from __future__ import annotations

from tests.accounting.builders import make_receipt
from tests.factories import login, make_user
from webapp import signals
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.integrations.models import Notification, NotificationStatus
from workers.integrations import sync_connection


def _refused_bill(qbo, qbo_connection, store):
    """A receipt whose bill QuickBooks refuses: its books are closed for the bill's date."""
    qbo.closing_date = "2999-12-31"
    receipt = make_receipt(store.supplier, store.products[:1], invoice_number="REFUSE-1")
    signals.receipt_recorded.send(receipt)
    db.session.commit()
    sync_connection(qbo_connection.id)
    db.session.expire_all()
    return receipt


def test_a_refused_bill_shows_on_the_receipt_and_its_po(client, qbo, qbo_connection, store):
    receipt = _refused_bill(qbo, qbo_connection, store)
    note = db.session.execute(
        db.select(Notification).where(
            Notification.status == NotificationStatus.OPEN,
            Notification.delivery_id.is_not(None),
        )
    ).scalar_one()
    assert "REFUSE-1" in note.title  # named by its number, not "receipt #3"
    login(client, store.admin)

    receipt_page = client.get(f"/admin/purchasing/receipts/{receipt.id}").get_data(as_text=True)
    po_page = client.get(f"/admin/purchasing/orders/{receipt.purchase_order_id}").get_data(
        as_text=True
    )

    for html in (receipt_page, po_page):
        assert 'id="accounting-panel"' in html
        assert "Failed" in html and "QuickBooks Online" in html
        assert f"/admin/accounting/notifications/{note.id}" in html


def test_the_dashboard_lists_open_integration_notices(client, qbo, qbo_connection, store):
    receipt = _refused_bill(qbo, qbo_connection, store)
    login(client, store.admin)

    html = client.get("/admin/").get_data(as_text=True)

    assert 'id="integration-attention"' in html
    assert "REFUSE-1" in html
    assert f"/admin/purchasing/receipts/{receipt.id}" in html  # Open: the receipt itself


def test_staff_who_cannot_open_notices_see_the_state_but_no_view_link(
    client, qbo, qbo_connection, store
):
    _refused_bill(qbo, qbo_connection, store)
    buyer = make_user(role=Role.PURCHASING, email="buyer@example.com")
    db.session.commit()
    login(client, buyer)

    html = client.get("/admin/").get_data(as_text=True)

    assert "REFUSE-1" in html
    assert "/admin/accounting/notifications/" not in html


def test_nothing_is_shown_when_every_delivery_went_through(client, qbo, qbo_connection, store):
    receipt = make_receipt(store.supplier, store.products[:1], invoice_number="FINE-1")
    signals.receipt_recorded.send(receipt)
    db.session.commit()
    sync_connection(qbo_connection.id)
    login(client, store.admin)

    dashboard = client.get("/admin/").get_data(as_text=True)
    page = client.get(f"/admin/purchasing/receipts/{receipt.id}").get_data(as_text=True)

    assert 'id="integration-attention"' not in dashboard
    assert "Confirmed" in page  # the bill reached QuickBooks
