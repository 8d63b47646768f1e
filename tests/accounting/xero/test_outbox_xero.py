"""End to end: a document ready to invoice goes through the outbox to the Xero sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.accounting.xero.builders import sandbox_config
from tests.factories import Store
from tests.sandboxes.xero import XeroSandbox
from webapp import signals
from webapp.accounting import operations
from webapp.accounting.interfaces import (
    AccountPurpose,
    LedgerDocumentStatus,
)
from webapp.accounting.models import AccountMapping, LedgerConnection, LedgerProvider, TaxMapping
from webapp.catalog.models import TaxCode
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations import outbox
from webapp.integrations.interfaces import (
    RateLimited,
    TokenSet,
    TransientError,
)
from webapp.integrations.models import (
    ConnectionStatus,
    Delivery,
    DeliveryStatus,
    ExternalLink,
    Notification,
)
from webapp.integrations.secrets import write_tokens
from webapp.models_base import utcnow
from webapp.sales import operations as sales
from webapp.sales.models import PaymentMethod, PaymentStatus, SalesDocument

SCOPES = "offline_access accounting.transactions accounting.contacts accounting.settings"


@dataclass
class Ledger:
    sandbox: XeroSandbox
    connection: LedgerConnection
    store: Store


@pytest.fixture
def ledger(app: Any, store: Store, xero_sandbox: XeroSandbox) -> Ledger:
    """A Xero connection to the sandbox with accounts and the GST tax code mapped."""
    app.config.update(sandbox_config(xero_sandbox))
    tokens = xero_sandbox.issue_tokens(scope=SCOPES)
    connection = LedgerConnection(
        provider=LedgerProvider.XERO,
        tenant_id=xero_sandbox.tenant_id,
        tenant_name="Sandbox Company (US)",
        status=ConnectionStatus.CONNECTED,
    )
    write_tokens(
        connection,
        TokenSet(
            tokens["access_token"],
            tokens["refresh_token"],
            access_expires_at=utcnow() + timedelta(minutes=30),
            scope=SCOPES,
        ),
    )
    for purpose, code in (
        (AccountPurpose.INCOME, "200"),
        (AccountPurpose.EXPENSE, "310"),
        (AccountPurpose.SHIPPING, "400"),
        (AccountPurpose.FREIGHT, "400"),
        (AccountPurpose.SURCHARGE, "429"),
    ):
        connection.account_mappings.append(
            AccountMapping(purpose=purpose, ledger_account_id=code, ledger_account_name=code)
        )
    connection.tax_mappings.append(
        TaxMapping(
            tax_code="GST",
            ledger_tax_id="TAX001",
            ledger_tax_name="Sales Tax",
            purchase_tax_id="INPUT",  # bills carry a purchase tax type (sandbox-seeded)
            purchase_tax_name="Tax on Purchases",
        )
    )
    db.session.add(connection)
    db.session.commit()
    return Ledger(xero_sandbox, connection, store)


def ready_document(store: Store, key: str, *, tax_code: TaxCode | None = None) -> SalesDocument:
    """Issue an order (card payment: a surcharge; courier: shipping) and make it ready."""
    product = store.products[0]
    document = sales.issue_document(
        organization=store.org,
        contact=store.customer,
        lines=[
            sales.LineInput(
                product_id=product.id,
                sku=product.mpn,
                description=product.name,
                quantity=2,
                unit_price=Decimal("1100.00"),
                unit_cost=Decimal("1000.00"),
                tax_code=tax_code,
            )
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
            payment_method=PaymentMethod.CARD,
            surcharge_pct=Decimal("1.5"),
            customer_po="PO-4711",
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


def sync(ledger: Ledger) -> Any:
    """Run the connection's sync as the job does, until no ready work is left."""
    connection = db.session.get(LedgerConnection, ledger.connection.id)
    report = outbox.run_sync(connection)
    while report.more:
        report = outbox.run_sync(connection)
    return report


def let_backoff_pass() -> None:
    """Make every delivery due now (the backoff of a transient fault has passed)."""
    for delivery in db.session.execute(db.select(Delivery)).scalars():
        delivery.next_attempt_at = None
    db.session.commit()


def invoice_delivery(document: SalesDocument) -> Delivery:
    return db.session.execute(
        db.select(Delivery).filter_by(subject_type="sales_document", subject_id=document.id)
    ).scalar_one()


def test_ready_document_becomes_one_xero_invoice_with_its_customer_and_items(
    ledger: Ledger,
) -> None:
    document = ready_document(ledger.store, "k1")
    report = sync(ledger)
    assert report.failed == 0
    [stored] = [i for i in ledger.sandbox.records("Invoices") if i["Type"] == "ACCREC"]
    assert stored["InvoiceNumber"] == document.number
    assert stored["Reference"] == f"{document.number} / PO PO-4711"
    assert stored["Status"] == "AUTHORISED"
    assert stored["Contact"]["Name"] == "Contoso"
    assert Decimal(str(stored["Total"])) == document.total
    lines = stored["LineItems"]
    assert [line["AccountCode"] for line in lines] == ["200", "400", "429"]
    assert lines[0]["TaxType"] == "TAX001" and lines[0]["ItemCode"] == document.lines[0].sku
    codes = {i["Code"] for i in ledger.sandbox.records("Items")}
    assert {document.lines[0].sku, "FREIGHT", "SURCHARGE"} <= codes
    delivery = invoice_delivery(document)
    assert delivery.status == DeliveryStatus.CONFIRMED
    link = db.session.execute(
        db.select(ExternalLink).filter_by(subject_type="sales_document", subject_id=document.id)
    ).scalar_one()
    assert link.remote_id == stored["InvoiceID"]
    assert link.remote_url.endswith(stored["InvoiceID"])


def test_many_invoices_share_one_call(ledger: Ledger) -> None:
    documents = [ready_document(ledger.store, f"k{n}") for n in range(30)]
    sync(ledger)
    invoice_puts = [
        r for r in ledger.sandbox.requests if r.method == "PUT" and r.path.endswith("/Invoices")
    ]
    assert len(invoice_puts) == 1
    numbers = sorted(i["InvoiceNumber"] for i in ledger.sandbox.records("Invoices"))
    assert numbers == sorted(d.number for d in documents)


def test_dropped_response_is_recovered_exactly_once(ledger: Ledger) -> None:
    document = ready_document(ledger.store, "k1")
    ledger.sandbox.faults.drop_next(path="/Invoices")
    with pytest.raises(TransientError):
        sync(ledger)
    delivery = invoice_delivery(document)
    assert delivery.status == DeliveryStatus.PENDING and delivery.maybe_sent
    assert len(ledger.sandbox.records("Invoices")) == 1  # Xero saved it; we never heard
    let_backoff_pass()
    sync(ledger)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    [stored] = ledger.sandbox.records("Invoices")
    assert delivery.remote_id == stored["InvoiceID"]


def test_throttled_batch_waits_and_nothing_is_lost_or_doubled(ledger: Ledger) -> None:
    documents = [ready_document(ledger.store, f"k{n}") for n in range(3)]
    ledger.sandbox.faults.throttle_next(retry_after=120, path="/Invoices")
    with pytest.raises(RateLimited):
        sync(ledger)
    let_backoff_pass()
    from webapp.accounting.xero.provider import XeroProvider
    from webapp.integrations.operations import limiter_for

    limiter_for(str(ledger.connection.id), XeroProvider).reset()  # the Retry-After passed
    sync(ledger)
    assert all(invoice_delivery(d).status == DeliveryStatus.CONFIRMED for d in documents)
    assert len(ledger.sandbox.records("Invoices")) == 3


def test_access_token_expiring_mid_run_is_refreshed_and_saved(ledger: Ledger) -> None:
    ready_document(ledger.store, "k1")
    before = ledger.connection.token_ciphertext
    ledger.sandbox.expire_access_tokens()
    sync(ledger)
    connection = db.session.get(LedgerConnection, ledger.connection.id)
    assert connection.token_ciphertext != before
    assert len(ledger.sandbox.records("Invoices")) == 1


def test_rejected_invoice_fails_alone_with_a_notification_naming_the_field(
    ledger: Ledger,
) -> None:
    exempt = TaxCode(code="ZERO", name="Zero rated", rate=Decimal("5"))
    db.session.add(exempt)
    connection = db.session.get(LedgerConnection, ledger.connection.id)
    connection.tax_mappings.append(TaxMapping(tax_code="ZERO", ledger_tax_id="GST9"))
    db.session.commit()
    good = ready_document(ledger.store, "k1")
    bad = ready_document(ledger.store, "k2", tax_code=exempt)
    sync(ledger)
    assert invoice_delivery(good).status == DeliveryStatus.CONFIRMED
    failed = invoice_delivery(bad)
    assert failed.status == DeliveryStatus.FAILED and failed.error_field == "TaxType"
    [note] = db.session.execute(db.select(Notification)).scalars()
    assert note.delivery_id == failed.id and note.field == "TaxType"
    assert "Settings > Integrations" in note.fix
    calls = len(ledger.sandbox.requests)
    sync(ledger)  # nothing is retried automatically until the cause is fixed
    assert len(ledger.sandbox.requests) == calls
    assert [i["InvoiceNumber"] for i in ledger.sandbox.records("Invoices")] == [good.number]


def test_retry_after_the_fix_sends_the_failed_invoice(ledger: Ledger) -> None:
    exempt = TaxCode(code="ZERO", name="Zero rated", rate=Decimal("5"))
    db.session.add(exempt)
    connection = db.session.get(LedgerConnection, ledger.connection.id)
    mapping = TaxMapping(tax_code="ZERO", ledger_tax_id="GST9")
    connection.tax_mappings.append(mapping)
    db.session.commit()
    bad = ready_document(ledger.store, "k2", tax_code=exempt)
    sync(ledger)
    mapping.ledger_tax_id = "TAX001"
    core.retry_delivery(invoice_delivery(bad), ledger.store.admin)
    db.session.commit()
    sync(ledger)
    assert invoice_delivery(bad).status == DeliveryStatus.CONFIRMED
    assert [i["InvoiceNumber"] for i in ledger.sandbox.records("Invoices")] == [bad.number]


def test_xero_payments_mark_the_document_paid(ledger: Ledger) -> None:
    document = ready_document(ledger.store, "k1")
    sync(ledger)
    invoice_id = invoice_delivery(document).remote_id
    ledger.sandbox.record_payment(invoice_id, 100.0)
    connection = db.session.get(LedgerConnection, ledger.connection.id)
    provider, _http = core.build_provider(connection)
    since = operations.default_payment_window_start()
    assert operations.import_payments(connection, provider, since) == 1
    db.session.commit()
    assert document.payment_status == PaymentStatus.PARTIALLY_PAID
    assert document.amount_paid == Decimal("100.00")
    ledger.sandbox.record_payment(invoice_id, float(document.total - Decimal("100.00")))
    operations.import_payments(connection, provider, since)
    db.session.commit()
    assert document.payment_status == PaymentStatus.PAID


# -- bills on receipt -------------------------------------------------------------------------


def receipt_of(store: Store, invoice_number: str = "ING-5501") -> Any:
    """Issue a PO to the store's supplier and receipt the supplier's invoice against it."""
    from datetime import date

    from webapp.purchasing import lifecycle, ordering, receipting

    po = lifecycle.create_purchase_order(store.supplier, store.admin)
    line = ordering.add_manual_line(
        po,
        product=store.products[0],
        quantity=3,
        unit_cost=Decimal("987.6543"),
        actor=store.admin,
    )
    ordering.issue_purchase_order(po, store.admin)
    receipt = receipting.record_receipt(
        po,
        receipting.ReceiptInput(
            supplier_invoice_number=invoice_number,
            invoice_date=date(2026, 5, 2),
            due_date=date(2026, 6, 1),
            freight=Decimal("25.00"),
            lines=[receipting.ReceiptLineInput(line.id, 3, Decimal("987.6543"))],
        ),
        store.admin,
    )
    db.session.commit()
    return receipt


def bill_delivery(receipt: Any) -> Delivery:
    return db.session.execute(
        db.select(Delivery).filter_by(subject_type="receipt", subject_id=receipt.id)
    ).scalar_one()


def test_receipt_becomes_a_xero_bill_in_the_chosen_status(ledger: Ledger) -> None:
    connection = db.session.get(LedgerConnection, ledger.connection.id)
    connection.bill_status = LedgerDocumentStatus.AUTHORIZED
    db.session.commit()
    receipt = receipt_of(ledger.store)
    report = sync(ledger)
    assert report.failed == 0
    [stored] = ledger.sandbox.records("Invoices")
    assert (stored["Type"], stored["Status"]) == ("ACCPAY", "AUTHORISED")
    assert stored["InvoiceNumber"] == "ING-5501"
    assert stored["Contact"]["Name"] == "Ingram"
    product, freight = stored["LineItems"]
    assert product["AccountCode"] == "310" and product["UnitAmount"] == 987.6543
    assert product["ItemCode"] in {i["Code"] for i in ledger.sandbox.records("Items")}
    assert freight["AccountCode"] == "400" and freight["LineAmount"] == 25.0
    assert Decimal(str(stored["SubTotal"])) == receipt.total
    supplier = next(c for c in ledger.sandbox.records("Contacts") if c["Name"] == "Ingram")
    assert supplier["IsSupplier"] is True
    assert bill_delivery(receipt).status == DeliveryStatus.CONFIRMED


def test_bill_after_a_dropped_response_exists_once(ledger: Ledger) -> None:
    receipt = receipt_of(ledger.store)
    ledger.sandbox.faults.drop_next(path="/Invoices")
    with pytest.raises(TransientError):
        sync(ledger)
    let_backoff_pass()
    sync(ledger)
    assert bill_delivery(receipt).status == DeliveryStatus.CONFIRMED
    bills = [i for i in ledger.sandbox.records("Invoices") if i["Type"] == "ACCPAY"]
    assert [b["InvoiceNumber"] for b in bills] == ["ING-5501"]
