"""Builders for the Xero provider tests: a provider on the sandbox, documents, lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import requests

from tests.sandboxes.xero import XeroSandbox
from webapp.accounting.interfaces import (
    BillData,
    CustomerData,
    DocumentLine,
    InvoiceData,
    LedgerDocumentStatus,
    SupplierData,
)
from webapp.accounting.xero.provider import XeroProvider
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import (
    ConnectionContext,
    NeedsReconnect,
)


class SandboxTokens:
    """A TokenSource over the sandbox's real token endpoint (refresh rotates the token)."""

    def __init__(self, sandbox: XeroSandbox) -> None:
        self.sandbox = sandbox
        self.tokens = sandbox.issue_tokens()
        self.refreshes = 0

    def access_token(self) -> str:
        return self.tokens["access_token"]

    def refresh(self) -> str:
        response = requests.post(
            f"{self.sandbox.base_url}/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"]},
            auth=(self.sandbox.client_id, self.sandbox.client_secret),
            timeout=5,
        )
        if response.status_code != 200:
            raise NeedsReconnect(f"refresh refused: {response.text}")
        self.tokens = response.json()
        self.refreshes += 1
        return self.tokens["access_token"]


def sandbox_config(sandbox: XeroSandbox) -> dict[str, Any]:
    """Return the app.config keys the Xero provider reads, pointed at the sandbox."""
    return {
        "XERO_API_BASE": sandbox.api_url(),
        "XERO_CONNECTIONS_URL": f"{sandbox.base_url}/connections",
        "XERO_REVOKE_URL": f"{sandbox.base_url}/connect/revocation",
        "XERO_TOKEN_URL": f"{sandbox.base_url}/connect/token",
        "XERO_CLIENT_ID": sandbox.client_id,
        "XERO_CLIENT_SECRET": sandbox.client_secret,
    }


def connect(sandbox: XeroSandbox, **http_options: Any) -> XeroProvider:
    """Return a XeroProvider on the sandbox's first organisation."""
    http = IntegrationHttp(
        tokens=SandboxTokens(sandbox), timeout=5, vendor="Xero", allow_http=True, **http_options
    )
    ctx = ConnectionContext(
        connection_id=1,
        tenant_id=sandbox.tenant_id,
        tenant_name="Sandbox",
        api_base=sandbox.api_url(),
        http=http,
        config=sandbox_config(sandbox),
    )
    return XeroProvider(ctx)


def make_contact(sandbox: XeroSandbox, provider: XeroProvider, name: str) -> str:
    """Create a supplier/customer contact in the sandbox; return its ContactID."""
    [result] = provider.find_or_create_suppliers(
        [SupplierData(key=f"c-{name}", reference=f"ref-{name}", display_name=name)]
    )
    assert result.ok, result.error
    return result.remote_id


def line(
    description: str = "Dell Latitude 5450",
    quantity: str = "2",
    unit: str = "1050.00",
    account: str = "200",
    tax: str = "NONE",
    tax_amount: str = "0",
) -> DocumentLine:
    """Return a document line with a consistent line amount."""
    amount = (Decimal(quantity) * Decimal(unit)).quantize(Decimal("0.01"))
    return DocumentLine(
        description=description,
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit),
        line_amount=amount,
        tax_amount=Decimal(tax_amount),
        account_id=account,
        tax_rate_id=tax,
    )


def invoice(contact_id: str, reference: str = "INV-000101", **changes: Any) -> InvoiceData:
    """Return an invoice for ``contact_id``; numbered with our number unless ``number=None``."""
    data: dict[str, Any] = {
        "key": f"msp-1-invoice-{reference}-g1",
        "reference": reference,
        "customer_ledger_id": contact_id,
        "issue_date": date(2026, 5, 4),
        "due_date": date(2026, 6, 3),
        "currency": "USD",
        "lines": (line(),),
        "status": LedgerDocumentStatus.AUTHORIZED,
        "number": reference,
    }
    data.update(changes)
    return InvoiceData(**data)


def bill(contact_id: str, reference: str = "RCPT-1", **changes: Any) -> BillData:
    """Return a bill (receipt) for supplier ``contact_id``."""
    data: dict[str, Any] = {
        "key": f"msp-1-bill-{reference}-g1",
        "reference": reference,
        "supplier_ledger_id": contact_id,
        "supplier_invoice_number": f"SUP-{reference}",
        "issue_date": date(2026, 5, 2),
        "due_date": date(2026, 6, 1),
        "currency": "USD",
        "lines": (line(account="310", unit="812.5000"),),
        "status": LedgerDocumentStatus.DRAFT,
    }
    data.update(changes)
    return BillData(**data)


def customer(name: str = "Contoso Ltd", **changes: Any) -> CustomerData:
    """Return a client organization as the core hands it over."""
    data: dict[str, Any] = {
        "key": f"msp-1-customer-{name}-g1",
        "reference": "org-" + name.lower().replace(" ", "-"),
        "display_name": name,
    }
    data.update(changes)
    return CustomerData(**data)
