"""A document's payments come from the ledger it was invoiced in, never summed across two."""

from __future__ import annotations

from tests.accounting.builders import connect_qbo, make_document, point_app_at_qbo
from tests.accounting.test_bills_payments_webhooks import _pay
from webapp import signals
from webapp.extensions import db
from webapp.integrations.models import Delivery
from webapp.sales.models import PaymentStatus
from workers.accounting import import_payments
from workers.integrations import sync_connection


def test_full_payment_in_each_of_two_ledgers_counts_once(app, qbo_sandbox_factory, store):
    sandbox = qbo_sandbox_factory(realms=("realm-a", "realm-b"))
    point_app_at_qbo(app, sandbox)
    first = connect_qbo(sandbox, realm="realm-a")
    db.session.commit()
    second = connect_qbo(sandbox, realm="realm-b")
    db.session.commit()
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    for connection in (first, second):
        sync_connection(connection.id)
    for connection, realm in ((first, "realm-a"), (second, "realm-b")):
        delivery = db.session.execute(
            db.select(Delivery).filter_by(kind="invoice", connection_id=connection.id)
        ).scalar_one()
        invoice = sandbox.get(realm, "Invoice", delivery.remote_id)
        sandbox.realms[0] = realm  # _pay posts to the first realm
        _pay(sandbox, invoice["Id"], invoice["CustomerRef"]["value"], float(doc.total))

    import_payments(second.id)
    db.session.refresh(doc)
    assert doc.amount_paid == 0  # the second ledger is not the one of record
    import_payments(first.id)
    db.session.refresh(doc)

    assert doc.amount_paid == doc.total
    assert doc.payment_status == PaymentStatus.PAID
