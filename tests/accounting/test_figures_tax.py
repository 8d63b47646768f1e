"""Ledger figures: an explicit tax type on every line, and the ledger's totals equal ours."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.accounting.builders import connect_xero, point_app_at_xero
from tests.accounting.test_bills_payments_webhooks import _pay
from webapp import signals
from webapp.accounting import operations
from webapp.accounting.models import LedgerConnection
from webapp.catalog.models import TaxCode
from webapp.extensions import db
from webapp.integrations import outbox
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.models_base import utcnow
from webapp.sales import operations as sales
from webapp.sales.models import PaymentStatus
from webapp.store.models import PaymentMethod
from workers.accounting import import_payments
from workers.integrations import sync_connection

# (quantity, unit price, our tax code) per line; prices chosen so per-line rounding matters.
DOCUMENTS = [
    [(3, "19.99", "GST")],
    [(7, "33.33", "GST"), (1, "0.05", "ZERO")],
    [(1, "1234.57", "EXEMPT")],
    [(2, "10.05", "GST"), (3, "10.05", "ZERO"), (5, "0.15", "EXEMPT")],
    [(11, "0.95", "GST")],
    [(1, "999.99", "ZERO"), (4, "2.49", "GST")],
    [(9, "1.11", "GST"), (9, "1.11", "GST")],
    [(6, "45.45", "EXEMPT"), (1, "0.01", "GST")],
    [(13, "7.77", "GST")],
]


@pytest.fixture
def xero(app, xero_sandbox):
    """The Xero sandbox with rates equal to ours: 10% GST, zero-rated and exempt at 0%."""
    point_app_at_xero(app, xero_sandbox)
    rates = xero_sandbox.tenants[xero_sandbox.tenant_id].ledger["TaxRates"]
    for tax_type, name, rate in (
        ("GST10", "GST 10%", 10.0),
        ("ZERORATEDOUTPUT", "Zero rated", 0.0),
        ("EXEMPTOUTPUT", "Exempt", 0.0),
    ):
        rates[tax_type] = {**rates["TAX001"], "TaxType": tax_type, "Name": name,
                           "DisplayTaxRate": rate, "EffectiveRate": rate}  # fmt: skip
    return xero_sandbox


@pytest.fixture
def codes(store):
    db.session.add_all(
        [
            TaxCode(code="ZERO", name="Zero rated", rate=Decimal("0")),
            TaxCode(code="EXEMPT", name="Exempt", rate=Decimal("0")),
        ]
    )
    db.session.flush()
    return {c.code: c for c in db.session.execute(db.select(TaxCode)).scalars()}


def _issue(store, codes, lines, key, *, card=True):
    product = store.products[0]
    document = sales.issue_document(
        organization=store.org,
        contact=store.customer,
        lines=[
            sales.LineInput(
                product_id=product.id,
                sku=product.mpn,
                description=product.name,
                quantity=qty,
                unit_price=Decimal(price),
                unit_cost=Decimal("0.01"),
                tax_code=codes[code],
            )
            for qty, price, code in lines
        ],
        header=sales.HeaderInput(
            ship_to_name="Jordan",
            address_line1="1 Main St",
            address_line2="",
            city="Springfield",
            region="IL",
            postcode="62701",
            country="US",
            shipping_method_name="Courier",
            shipping_charge=Decimal("15.00"),
            payment_method=PaymentMethod.CARD if card else PaymentMethod.ON_ACCOUNT,
            surcharge_pct=Decimal("1.5") if card else Decimal("0"),
            customer_po="",
            note="",
        ),
        source=sales.DocumentSource.STORE,
        idempotency_key=key,
        actor=store.customer,
        currency="USD",
    )
    document.ready_to_invoice_at = utcnow()
    signals.sales_document_ready_to_invoice.send(document)
    db.session.commit()
    return document


def _map_xero(xero):
    connection = connect_xero(xero, tax_code="GST", tax_type="GST10")
    operations.set_tax_mapping(connection, "ZERO", "ZERORATEDOUTPUT", "Zero rated")
    operations.set_tax_mapping(connection, "EXEMPT", "EXEMPTOUTPUT", "Exempt")
    db.session.commit()
    return connection


def _drain(connection_id):
    connection = db.session.get(LedgerConnection, connection_id)
    while outbox.run_sync(connection).more:
        pass


def test_every_xero_line_has_a_tax_type_and_each_invoice_totals_equal_ours(xero, store, codes):
    connection = _map_xero(xero)
    docs = [_issue(store, codes, lines, f"x{n}") for n, lines in enumerate(DOCUMENTS)]

    _drain(connection.id)

    sent = [
        line
        for r in xero.requests
        if r.path.endswith("/Invoices") and isinstance(r.body, dict)
        for invoice in r.body.get("Invoices", [])
        for line in invoice["LineItems"]
    ]
    assert sent and all(line.get("TaxType") for line in sent)
    stored = {i["InvoiceNumber"]: i for i in xero.records("Invoices")}
    figures = [
        (Decimal(str(stored[d.number]["SubTotal"])), Decimal(str(stored[d.number]["TotalTax"])),
         Decimal(str(stored[d.number]["Total"])))
        for d in docs
    ]  # fmt: skip
    assert figures == [(d.subtotal, d.tax_total, d.total) for d in docs]


def test_zero_rated_and_exempt_lines_name_their_own_xero_tax_types(xero, store, codes):
    connection = _map_xero(xero)
    doc = _issue(store, codes, DOCUMENTS[3], "z1", card=False)

    _drain(connection.id)

    [stored] = [i for i in xero.records("Invoices") if i["InvoiceNumber"] == doc.number]
    assert [line["TaxType"] for line in stored["LineItems"]] == [
        "GST10",
        "ZERORATEDOUTPUT",
        "EXEMPTOUTPUT",
        "GST10",  # shipping is taxed at our default code, GST
    ]


def test_unmapped_tax_code_blocks_the_invoice_with_a_notification_naming_the_code(
    xero, store, codes
):
    connection = connect_xero(xero, tax_code="GST", tax_type="GST10")  # ZERO left unmapped
    db.session.commit()
    doc = _issue(store, codes, DOCUMENTS[1], "u1")

    _drain(connection.id)

    delivery = db.session.execute(
        db.select(Delivery).filter_by(kind="invoice", subject_id=doc.id)
    ).scalar_one()
    assert delivery.status == DeliveryStatus.FAILED
    assert not [i for i in xero.records("Invoices") if i.get("InvoiceNumber") == doc.number]
    [note] = db.session.execute(
        db.select(Notification).filter_by(delivery_id=delivery.id)
    ).scalars()
    assert note.field == "Tax code ZERO" and "ZERO" in note.fix


def test_qbo_invoice_carries_our_tax_so_a_full_payment_leaves_it_paid(qbo, qbo_connection, store):
    from tests.accounting.builders import make_document

    doc = make_document(store.org, store.customer, store.products[:2])  # 10% GST + shipping
    assert doc.tax_total > 0
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)
    delivery = db.session.execute(db.select(Delivery).filter_by(kind="invoice")).scalar_one()
    invoice = qbo.get(qbo.realms[0], "Invoice", delivery.remote_id)
    assert all(
        line["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "TAX" for line in invoice["Line"]
    )
    assert Decimal(str(invoice["TotalAmt"])) == doc.total

    _pay(qbo, invoice["Id"], invoice["CustomerRef"]["value"], float(doc.total))
    import_payments(qbo_connection.id)

    assert qbo.get(qbo.realms[0], "Invoice", invoice["Id"])["Balance"] == 0
    db.session.refresh(doc)
    assert doc.payment_status == PaymentStatus.PAID and doc.amount_paid == doc.total
