"""Xero sandbox: constants, collections, seed data, errors and the JSON rendering."""

# Facts come from shared/specs/API-NOTES.md section 2 ("API-NOTES 2.x" below) and the OpenAPI
# documents in shared/specs/xero/. Behaviour marked "(recalled)" is Xero behaviour that
# API-NOTES does not document; it is modelled from memory of Xero's docs and may differ.

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_CLIENT_ID = "xero-sandbox-client"
DEFAULT_CLIENT_SECRET = "xero-sandbox-secret"
DEFAULT_TENANT = {
    "tenantId": "6f2e3d4c-0b1a-4c5d-8e9f-a0b1c2d3e4f5",
    "tenantName": "Sandbox Company (US)",
    "tenantType": "ORGANISATION",
}
API_PREFIX = "/api.xro/2.0/"
MAX_BODY_BYTES = 3_500_000  # API-NOTES 2.4: 3.5 MB per POST
DATE_FIELDS = {
    "Date",
    "DueDate",
    "FullyPaidOnDate",
    "ExpectedPaymentDate",
    "PlannedPaymentDate",
    "DeliveryDate",
    "ExpectedArrivalDate",
}


@dataclass(frozen=True)
class Collection:
    """An accounting endpoint: plural key, item schema, id field, scopes that allow it."""

    name: str
    item: str
    id_field: str
    writable: bool
    # API-NOTES 2.2: broad scopes from the 16.1.0 spec plus the 2026 granular scopes.
    scopes: tuple[str, ...]
    number_field: str | None = None


COLLECTIONS = {
    c.name.lower(): c
    for c in (
        Collection(
            "Invoices",
            "Invoice",
            "InvoiceID",
            True,
            ("accounting.transactions", "accounting.invoices"),
            "InvoiceNumber",
        ),
        Collection(
            "PurchaseOrders",
            "PurchaseOrder",
            "PurchaseOrderID",
            True,
            ("accounting.transactions", "accounting.invoices"),
            "PurchaseOrderNumber",
        ),
        Collection(
            "CreditNotes",
            "CreditNote",
            "CreditNoteID",
            True,
            # API-NOTES 2.2: accounting.invoices covers invoices and credit notes.
            ("accounting.transactions", "accounting.invoices"),
            "CreditNoteNumber",
        ),
        Collection(
            "Payments",
            "Payment",
            "PaymentID",
            True,
            ("accounting.transactions", "accounting.payments"),
        ),
        Collection(
            # Read only here: Xero makes overpayments from RECEIVE-OVERPAYMENT bank
            # transactions (xero_accounting.yaml Overpayment); record_overpayment stands in.
            "Overpayments",
            "Overpayment",
            "OverpaymentID",
            False,
            ("accounting.transactions", "accounting.payments"),
        ),
        Collection(
            "Contacts", "Contact", "ContactID", True, ("accounting.contacts",), "ContactNumber"
        ),
        Collection(
            "Items", "Item", "ItemID", True, ("accounting.settings", "accounting.invoices"), "Code"
        ),
        Collection("Accounts", "Account", "AccountID", True, ("accounting.settings",), "Code"),
        Collection("TaxRates", "TaxRate", "TaxType", False, ("accounting.settings",)),
    )
}


def seed_accounts() -> list[dict[str, Any]]:
    rows = [
        ("090", "Business Bank Account", "BANK", "ASSET", True),
        ("140", "Inventory Asset", "INVENTORY", "ASSET", False),  # spec PUT /Items example
        ("200", "Sales", "REVENUE", "REVENUE", False),
        ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", False),
        ("400", "Advertising", "OVERHEADS", "EXPENSE", False),
        ("429", "General Expenses", "OVERHEADS", "EXPENSE", False),
        ("630", "Inventory", "INVENTORY", "ASSET", False),
        ("710", "Office Equipment", "FIXED", "ASSET", False),  # used by the spec's PO example
        ("500", "Cost of Goods Sold - Inventory", "DIRECTCOSTS", "EXPENSE", False),
        ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", False),
        ("970", "Owner A Funds Introduced", "EQUITY", "EQUITY", False),  # spec PUT /Payments
    ]
    out = []
    for code, name, acc_type, klass, bank in rows:
        account = {
            "AccountID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-sandbox-account-{code}")),
            "Code": code,
            "Name": name,
            "Type": acc_type,
            "Class": klass,
            "Status": "ACTIVE",
            # A US demo company taxes sales by default; lines without TaxType get it.
            "TaxType": "TAX001" if acc_type == "REVENUE" else "NONE",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "ReportingCode": klass[:3],
            "HasAttachments": False,
            "AddToWatchlist": False,
        }
        if code == "970":
            account["EnablePaymentsToAccount"] = True
        if bank:
            account.update(
                BankAccountNumber="121-000-123456", BankAccountType="BANK", CurrencyCode="USD"
            )
        out.append(account)
    return out


def seed_tax_rates() -> list[dict[str, Any]]:
    rows = [
        ("NONE", "Tax Exempt", 0.0, "NONE"),
        ("INPUT", "Tax on Purchases", 0.0, "INPUT"),
        ("OUTPUT", "Tax on Sales", 0.0, "OUTPUT"),
        ("TAX001", "Sales Tax 8.25%", 8.25, "USSALESTAX"),
    ]
    return [
        {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": report,
            "Status": "ACTIVE",
            "DisplayTaxRate": rate,
            "EffectiveRate": rate,
            "CanApplyToAssets": True,
            "CanApplyToEquity": True,
            "CanApplyToExpenses": True,
            "CanApplyToLiabilities": True,
            "CanApplyToRevenue": True,
            "TaxComponents": [
                {"Name": name, "Rate": rate, "IsCompound": False, "IsNonRecoverable": False}
            ],
        }
        for tax_type, name, rate, report in rows
    ]


@dataclass
class Tenant:
    """One connected organisation and its ledger."""

    tenant_id: str
    name: str
    tenant_type: str
    ledger: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    organisation: dict[str, Any] = field(default_factory=dict)


@dataclass
class Connection:
    """A row of ``GET /connections`` (xero-identity.yaml Connection)."""

    id: str
    tenant_id: str
    auth_event_id: str
    grant_id: str
    created: float


@dataclass
class RecordedRequest:
    """A request as the sandbox saw it."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: Any


class XeroApiError(Exception):
    """An error response from the accounting API."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def validation_error(elements: list[dict[str, Any]], message: str | None = None) -> XeroApiError:
    """Build the 400 ValidationException body (API-NOTES 2.6, schema Error/Element)."""
    return XeroApiError(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": message or "A validation exception occurred",
            "Elements": elements,
        },
    )


def problem(status: int, title: str, detail: str) -> XeroApiError:
    """Build the problem-details body Xero's gateway uses for 401/403 (recalled)."""
    return XeroApiError(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
    )


def allocation_error(
    credit: dict[str, Any],
    noun: str,
    invoice: dict[str, Any] | None,
    amount: float,
    remaining: float | None = None,
) -> str | None:
    """Return why ``amount`` of a credit note's or overpayment's credit cannot go to ``invoice``.

    One rule set for both (xero_accounting.yaml createCreditNoteAllocation /
    createOverpaymentAllocations; wording recalled): both AUTHORISED, of matching type
    (ACCREC with a sales credit) and one contact, at most what the invoice owes and the
    credit left (``remaining``: what earlier allocations of the same request left).
    """
    receivable = credit.get("Type") in ("ACCRECCREDIT", "RECEIVE-OVERPAYMENT")
    left = credit["RemainingCredit"] if remaining is None else remaining
    if credit.get("Status") != "AUTHORISED":
        return f"Only an AUTHORISED {noun} can be allocated"
    if invoice is None:
        return "Invoice could not be found"
    if invoice.get("Status") != "AUTHORISED":
        return "The invoice must be AUTHORISED to allocate credit to it"
    if (invoice["Type"] == "ACCREC") != receivable:
        return f"The {noun} and invoice types do not match"
    if invoice["Contact"]["ContactID"] != credit["Contact"]["ContactID"]:
        return f"The {noun} and invoice must be for the same contact"
    if amount <= 0 or amount > invoice["AmountDue"] + 0.005:
        return "The amount allocated exceeds the amount due on the invoice"
    if amount > left + 0.005:
        return f"The amount allocated exceeds the {noun}'s remaining credit"
    return None


# -- rendering -------------------------------------------------------------------------------


def msdate(epoch: float) -> str:
    """Return Xero's WCF date form ``/Date(1573755038314+0000)/``."""
    return f"/Date({int(epoch * 1000)}+0000)/"


def render(record: Any) -> Any:
    """Convert stored ISO dates / epoch stamps to Xero's JSON forms, recursively."""
    if isinstance(record, list):
        return [render(r) for r in record]
    if not isinstance(record, dict):
        return record
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "UpdatedDateUTC" and isinstance(value, int | float):
            out[key] = msdate(value)
        elif (
            key in DATE_FIELDS and isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value)
        ):
            day = datetime.fromisoformat(value[:10]).replace(tzinfo=UTC)
            out[key] = msdate(day.timestamp())
            out[f"{key}String"] = f"{value[:10]}T00:00:00"
        else:
            out[key] = render(value)
    return out
