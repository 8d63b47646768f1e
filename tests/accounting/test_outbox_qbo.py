"""The outbox against the QuickBooks sandbox: batches, dependencies, exactly once."""

from __future__ import annotations

from tests.accounting.builders import make_document
from webapp import signals
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus, ExternalLink


def _ready(store, n=1, **kw):
    docs = [make_document(store.org, store.customer, store.products[:2], **kw) for _ in range(n)]
    for doc in docs:
        signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    return docs


def _invoices(qbo, number):
    return [i for i in qbo.entities(qbo.realms[0], "Invoice") if i.get("DocNumber") == number]


def test_ready_document_becomes_one_invoice_after_its_customer_and_items(
    qbo, qbo_connection, store, run_jobs
):
    (doc,) = _ready(store)

    run_jobs()

    (invoice,) = _invoices(qbo, doc.number)
    customer = qbo.get(qbo.realms[0], "Customer", invoice["CustomerRef"]["value"])
    assert customer["DisplayName"] == "Contoso"
    assert invoice["TotalAmt"] == float(doc.total)
    delivery = db.session.execute(
        db.select(Delivery).filter_by(kind="invoice", subject_id=doc.id)
    ).scalar_one()
    assert delivery.status == DeliveryStatus.CONFIRMED
    assert delivery.remote_id == invoice["Id"]
    link = db.session.execute(
        db.select(ExternalLink).filter_by(subject_type="sales_document", subject_id=doc.id)
    ).scalar_one()
    assert link.remote_url.endswith(f"invoice?txnId={invoice['Id']}")
