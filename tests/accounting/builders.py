"""Build documents, receipts and ledger connections for the accounting tests and bench."""

from __future__ import annotations

import itertools
import os
from datetime import timedelta
from decimal import Decimal

from tests.conftest import TEST_SCHEMA
from webapp.accounting import operations
from webapp.accounting.interfaces import (
    AccountPurpose,
    LedgerTenant,
)
from webapp.accounting.models import LedgerConnection
from webapp.extensions import db
from webapp.integrations.oauth import token_set
from webapp.models_base import utcnow
from webapp.sales.models import (
    DocumentKind,
    DocumentSource,
    PaymentMethod,
    SalesDocument,
    SalesDocumentLine,
)

_seq = itertools.count(1)

# Account ids seeded by tests/sandboxes/quickbooks.py (_seed).
QBO_ACCOUNTS = {
    AccountPurpose.INCOME: ("79", "Sales of Product Income"),
    AccountPurpose.EXPENSE: ("80", "Cost of Goods Sold"),
    AccountPurpose.SHIPPING: ("1", "Services"),
    AccountPurpose.FREIGHT: ("80", "Cost of Goods Sold"),
    AccountPurpose.SURCHARGE: ("1", "Services"),
    AccountPurpose.PAYABLES: ("33", "Accounts Payable (A/P)"),
}


def point_app_at_qbo(app, sandbox) -> None:
    """Make every QBO_* URL of the app point at the running sandbox."""
    base = sandbox.base_url
    app.config.update(
        QBO_API_BASE=base,
        QBO_AUTHORIZE_URL=f"{base}/connect/oauth2",
        QBO_TOKEN_URL=f"{base}/oauth2/v1/tokens/bearer",
        QBO_REVOKE_URL=f"{base}/v2/oauth2/tokens/revoke",
        QBO_CLIENT_ID=sandbox.client_id,
        QBO_CLIENT_SECRET=sandbox.client_secret,
        QBO_WEBHOOK_VERIFIER="qbo-verifier-token",
    )


def connect_qbo(sandbox, *, mapped: bool = True, realm: str | None = None) -> LedgerConnection:
    """Store a connection with freshly minted sandbox tokens (no browser dance)."""
    realm = realm or sandbox.realms[0]
    tokens = token_set(sandbox.issue_tokens(realm))
    connection = operations.save_connection(
        "qbo", LedgerTenant(realm, f"Sandbox {realm}"), tokens, None
    )
    if mapped:
        for purpose, (account_id, name) in QBO_ACCOUNTS.items():
            operations.set_account_mapping(connection, purpose, account_id, name)
        # US companies carry the pseudo tax codes TAX / NON on lines (sandbox _seed).
        operations.set_tax_mapping(connection, "GST", "TAX", "Taxable")
        operations.set_tax_mapping(connection, "GST", "TAX", "Taxable", purchases=True)
    operations.note_mappings(connection)  # as saving the mappings page does
    db.session.flush()
    return connection


def make_document(organization, contact, products, *, quantity: int = 2, shipping="10.00",
                  surcharge="0", tax_code: str = "GST", tax_pct="10") -> SalesDocument:  # fmt: skip
    """A tax invoice with one line per product, totals computed, ready to invoice."""
    n = next(_seq)
    lines = []
    subtotal = tax = Decimal("0")
    for position, product in enumerate(products, start=1):
        price = Decimal("110.00") + position
        line_subtotal = price * quantity
        line_tax = (line_subtotal * Decimal(tax_pct) / 100).quantize(Decimal("0.01"))
        subtotal += line_subtotal
        tax += line_tax
        lines.append(
            SalesDocumentLine(
                position=position,
                product_id=product.id,
                sku=product.mpn,
                description=product.name,
                quantity=quantity,
                unit_price=price,
                unit_cost=Decimal("90"),
                tax_code=tax_code,
                tax_rate=Decimal(tax_pct),
                line_subtotal=line_subtotal,
                line_tax=line_tax,
            )
        )
    shipping = Decimal(shipping)
    surcharge = Decimal(surcharge)
    document = SalesDocument(
        number=f"INV-T{n:06d}",
        kind=DocumentKind.TAX_INVOICE,
        source=DocumentSource.STORE,
        idempotency_key=f"test-doc-{n}",
        organization_id=organization.id,
        contact_id=contact.id,
        currency="USD",
        shipping_method_name="Courier",
        shipping_charge=shipping,
        surcharge_pct=Decimal("1.5") if surcharge else Decimal("0"),
        surcharge_amount=surcharge,
        payment_method=PaymentMethod.ON_ACCOUNT,
        subtotal=subtotal + shipping + surcharge,
        tax_total=tax,
        total=subtotal + shipping + surcharge + tax,
        ready_to_invoice_at=utcnow(),
        lines=lines,
    )
    db.session.add(document)
    db.session.flush()
    return document


def make_receipt(supplier, products, *, invoice_number: str | None = None, freight="12.50"):
    """An issued PO for ``products`` and one receipt of all of it (a bill to push)."""
    from webapp.purchasing.models import (
        PurchaseOrder,
        PurchaseOrderLine,
        PurchaseOrderStatus,
        Receipt,
        ReceiptLine,
    )

    n = next(_seq)
    order = PurchaseOrder(
        number=f"PO-T{n:06d}",
        supplier_id=supplier.id,
        status=PurchaseOrderStatus.RECEIVED,
        currency="USD",
        issued_at=utcnow(),
    )
    receipt = Receipt(
        purchase_order=order,
        supplier_id=supplier.id,
        supplier_invoice_number=invoice_number or f"SI-{n}",
        invoice_date=utcnow().date(),
        due_date=utcnow().date() + timedelta(days=30),
        currency="USD",
        subtotal=Decimal("0"),
        freight=Decimal(freight),
        total=Decimal("0"),
    )
    subtotal = Decimal("0")
    for position, product in enumerate(products, start=1):
        unit_cost = Decimal("87.1234")
        po_line = PurchaseOrderLine(
            position=position,
            product_id=product.id,
            supplier_sku=f"SKU-{product.id}",
            description=product.name,
            quantity=3,
            unit_cost=unit_cost,
            quantity_received=3,
        )
        order.lines.append(po_line)
        line_total = (unit_cost * 3).quantize(Decimal("0.01"))
        subtotal += line_total
        receipt.lines.append(
            ReceiptLine(
                purchase_order_line=po_line, quantity=3, unit_cost=unit_cost, line_total=line_total
            )
        )
    order.subtotal = subtotal
    order.total = subtotal
    receipt.subtotal = subtotal
    receipt.total = subtotal + receipt.freight
    db.session.add_all([order, receipt])
    db.session.flush()
    return receipt


# Account codes and tax types seeded by tests/sandboxes/xero.py.
XERO_ACCOUNTS = {
    AccountPurpose.INCOME: ("200", "Sales"),
    AccountPurpose.EXPENSE: ("310", "Cost of Goods Sold"),
    AccountPurpose.SHIPPING: ("200", "Sales"),
    AccountPurpose.FREIGHT: ("429", "General Expenses"),
    AccountPurpose.SURCHARGE: ("200", "Sales"),
}


def point_app_at_xero(app, sandbox) -> None:
    base = sandbox.base_url
    app.config.update(
        XERO_API_BASE=sandbox.api_url(),
        XERO_AUTHORIZE_URL=f"{base}/identity/connect/authorize",
        XERO_TOKEN_URL=f"{base}/connect/token",
        XERO_REVOKE_URL=f"{base}/connect/revocation",
        XERO_CONNECTIONS_URL=f"{base}/connections",
        XERO_CLIENT_ID=sandbox.client_id,
        XERO_CLIENT_SECRET=sandbox.client_secret,
    )


def connect_xero(sandbox, *, tax_code: str = "GST", tax_type: str = "OUTPUT") -> LedgerConnection:
    tokens = token_set(sandbox.issue_tokens())
    connection = operations.save_connection(
        "xero", LedgerTenant(sandbox.tenant_id, "Xero sandbox"), tokens, None
    )
    for purpose, (code, name) in XERO_ACCOUNTS.items():
        operations.set_account_mapping(connection, purpose, code, name)
    operations.set_tax_mapping(connection, tax_code, tax_type, tax_type)
    # Xero names tax on purchases apart from tax on sales (the sandbox seeds INPUT).
    operations.set_tax_mapping(connection, tax_code, "INPUT", "Tax on Purchases", purchases=True)
    operations.note_mappings(connection)  # as saving the mappings page does
    db.session.flush()
    return connection


def worker_env(app) -> dict[str, str]:
    """The environment of a worker process that shares this test's database, Redis and QBO."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{TEST_SCHEMA}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        REDIS_URL=app.config["REDIS_URL"],
        SECRET_KEY=app.config["SECRET_KEY"],
        INSTANCE_PATH=app.instance_path,
        ACCOUNTING_LOCK_TTL="1",
        INTEGRATIONS_ALLOW_HTTP="1",  # the sandbox serves plain http
        ACCOUNTING_RETRY_BACKOFF="0",
    )
    for key in ("QBO_API_BASE", "QBO_TOKEN_URL", "QBO_CLIENT_ID", "QBO_CLIENT_SECRET"):
        env[key] = str(app.config[key])
    return env
