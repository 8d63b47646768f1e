"""QuickBooks Online sandbox: its constants, seed company, faults and recorded requests."""

# Facts come from shared/specs/API-NOTES.md section 1 and the XSDs in shared/specs/quickbooks/.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .specs import (
    NAME_PARTS,
    QboProblem,
)

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"  # API-NOTES 1.2
# Intuit's CDC page: a CDC answer holds at most 1,000 objects, over all entities asked for.
CDC_MAX_OBJECTS = 1000
DEFAULT_REALM = "9130350000000001"
DEFAULT_CLIENT_ID = "qbo-sandbox-client"
DEFAULT_CLIENT_SECRET = "qbo-sandbox-secret"

# API-NOTES 1.1: entity path segments are lowercase and URIs are case sensitive.
ENTITY_PATHS = {
    "account": "Account",
    "bill": "Bill",
    "billpayment": "BillPayment",
    "companyinfo": "CompanyInfo",
    "customer": "Customer",
    "invoice": "Invoice",
    "item": "Item",
    "payment": "Payment",
    "purchaseorder": "PurchaseOrder",
    "taxcode": "TaxCode",
    "vendor": "Vendor",
}
WRITABLE = set(ENTITY_PATHS.values()) - {"CompanyInfo", "TaxCode"}
TRANSACTIONS = {"Bill", "BillPayment", "Invoice", "Payment", "PurchaseOrder"}
# Reference fields we check against the ledger; Intuit answers 2500 "Invalid Reference Id"
# for ids that do not exist (recalled).
REF_TARGETS = {
    "APAccountRef": "Account",
    "ARAccountRef": "Account",
    "AccountRef": "Account",
    "AssetAccountRef": "Account",
    "BankAccountRef": "Account",
    "CCAccountRef": "Account",
    "CustomerRef": "Customer",
    "DepositToAccountRef": "Account",
    "ExpenseAccountRef": "Account",
    "IncomeAccountRef": "Account",
    "ItemRef": "Item",
    # ItemLineDetail / AccountBasedExpenseLineDetail TaxCodeRef (Finance.xsd): a TaxCode id.
    "TaxCodeRef": "TaxCode",
    "VendorRef": "Vendor",
}
LINKABLE = {"Bill", "Invoice", "PurchaseOrder"}
ACCOUNT_CLASSIFICATION = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}


def seed_ledgers() -> dict[str, dict[str, dict[str, Any]]]:
    """Return the starting ledger; ids match the API-NOTES 1.8 sample payloads."""
    accounts = [
        ("1", "Services", "Income", "ServiceFeeIncome"),
        ("7", "Advertising", "Expense", "AdvertisingPromotional"),
        ("33", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
        ("35", "Checking", "Bank", "Checking"),
        ("79", "Sales of Product Income", "Income", "SalesOfProductIncome"),
        ("80", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
        ("81", "Inventory Asset", "Other Current Asset", "Inventory"),
        ("84", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ]
    ledger: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITY_PATHS.values()}
    for acc_id, name, acc_type, sub in accounts:
        ledger["Account"][acc_id] = {
            "Id": acc_id,
            "SyncToken": "0",
            "Name": name,
            "FullyQualifiedName": name,
            "AccountType": acc_type,
            "AccountSubType": sub,
            "Classification": ACCOUNT_CLASSIFICATION[acc_type],
            "Active": True,
            "SubAccount": False,
            "CurrentBalance": 0,
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        }
    # US companies have the two pseudo tax codes TAX and NON (recalled from Intuit's docs).
    for code, name in (("TAX", "Taxable"), ("NON", "Non-taxable")):
        ledger["TaxCode"][code] = {
            "Id": code,
            "SyncToken": "0",
            "Name": name,
            "Active": True,
            "Taxable": code == "TAX",
        }
    ledger["Item"]["1"] = {
        "Id": "1",
        "SyncToken": "0",
        "Name": "Services",
        "FullyQualifiedName": "Services",
        "Type": "Service",
        "Active": True,
        "IncomeAccountRef": {"value": "1", "name": "Services"},
    }
    ledger["Customer"]["1"] = {
        "Id": "1",
        "SyncToken": "0",
        "DisplayName": "Amy's Bird Sanctuary",
        "FullyQualifiedName": "Amy's Bird Sanctuary",
        "Active": True,
        "Balance": 0,
    }
    ledger["Vendor"]["56"] = {
        "Id": "56",
        "SyncToken": "0",
        "DisplayName": "Bob's Burger Joint",
        "Active": True,
        "Balance": 0,
    }
    return ledger


class QboFault(Exception):
    """A QBO ``Fault`` response: HTTP status, fault type and error items."""

    def __init__(
        self, problems: list[QboProblem], status: int = 400, fault_type: str = "ValidationFault"
    ) -> None:
        super().__init__("; ".join(p.detail for p in problems))
        self.problems = problems
        self.status = status
        self.fault_type = fault_type

    def body(self) -> dict[str, Any]:
        """Return ``{"Error": [...], "type": ...}`` (API-NOTES 1.6)."""
        return {"Error": [p.as_error() for p in self.problems], "type": self.fault_type}


@dataclass
class RecordedRequest:
    """A request as the sandbox saw it (for assertions on what the client sent)."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: Any


def empty_ledgers() -> dict[str, dict[str, dict[str, Any]]]:
    return {name: {} for name in ENTITY_PATHS.values()}


def id_key(entity_id: str) -> tuple[int, str]:
    return (int(entity_id), "") if str(entity_id).isdigit() else (1 << 62, str(entity_id))


def display_name(body: dict[str, Any]) -> str:
    return " ".join(str(body[p]) for p in NAME_PARTS if body.get(p))


def duplicate_name(existing_id: str) -> QboProblem:
    return QboProblem(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Id={existing_id}",
        "Name",
    )
