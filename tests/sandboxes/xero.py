"""Serve a Xero Accounting API stand-in: OAuth 2, /connections, accounting, limits, faults."""

# Facts come from shared/specs/API-NOTES.md section 2 ("API-NOTES 2.x" below) and the OpenAPI
# documents in shared/specs/xero/. Behaviour marked "(recalled)" is Xero behaviour that
# API-NOTES does not document; it is modelled from memory of Xero's docs and may differ.

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from flask import Flask, Response, g, redirect, request

from .common import (
    Clock,
    Fault,
    FaultPlan,
    IdempotencyStore,
    OAuthClient,
    OAuthError,
    OAuthServer,
    RateLimiter,
    StoredResponse,
    Window,
    add_query,
    install_fault_hooks,
)
from .specs import XeroSpec, xero_spec

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


def _seed_accounts() -> list[dict[str, Any]]:
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


def _seed_tax_rates() -> list[dict[str, Any]]:
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


class XeroSandbox:
    """State and knobs of one Xero sandbox; ``.app`` is the Flask app."""

    def __init__(
        self,
        *,
        tenants: list[dict[str, str]] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uris: tuple[str, ...] | None = None,
        access_token_lifetime: float = 1800,
        refresh_token_lifetime: float = 60 * 86400,
        refresh_grace: float = 1800,
        code_lifetime: float = 300,
        minute_limit: int = 60,
        day_limit: int = 5000,
        concurrent_limit: int = 5,
        app_minute_limit: int = 10_000,
        enforce_scopes: bool = True,
        base_currency: str = "USD",
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.spec: XeroSpec = xero_spec()
        # API-NOTES 2.2: access token 30 min; refresh token 60 days unused, rotated on every
        # use, the superseded one retryable for a 30-minute grace period.
        self.oauth = OAuthServer(
            self.clock,
            [OAuthClient(client_id, client_secret, redirect_uris)],
            access_token_lifetime=access_token_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
            code_lifetime=code_lifetime,
            refresh_grace=refresh_grace,
            token_type="Bearer",
            allow_body_client_auth=True,  # PKCE public clients post client_id (API-NOTES 2.2)
            require_offline_access=True,  # refresh tokens only with offline_access
            extra_token_fields=lambda grant, _rt: {"scope": grant.scope},
        )
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_currency = base_currency
        self.tenants: dict[str, Tenant] = {}
        for spec in tenants or [DEFAULT_TENANT]:
            self.add_tenant(
                spec["tenantId"],
                spec.get("tenantName", "Org"),
                spec.get("tenantType", "ORGANISATION"),
            )
        self.connections: dict[str, Connection] = {}
        self.faults = FaultPlan(API_PREFIX)
        self.idempotency = IdempotencyStore()
        self.limiter = RateLimiter(self.clock)
        # API-NOTES 2.5: per tenant 5 concurrent, 60/min, 5000/day; per app 10,000/min.
        self.minute_window = Window("minute", minute_limit, 60)
        self.day_window = Window("day", day_limit, 86400)
        self.app_minute_window = Window("appminute", app_minute_limit, 60)
        self.concurrent_limit = concurrent_limit
        self.enforce_scopes = enforce_scopes
        self.base_currency = base_currency
        # Period lock date (YYYY-MM-DD): documents dated on or before it are refused, as a
        # closed period in Xero refuses them. Set it in a test to model a closed period.
        self.lock_date: str | None = None
        self.requests: list[RecordedRequest] = []
        self.base_url: str | None = None
        self._lock = threading.RLock()
        self.app = _build_app(self)

    # -- setup / inspection -------------------------------------------------------------
    def add_tenant(self, tenant_id: str, name: str, tenant_type: str = "ORGANISATION") -> Tenant:
        """Add an organisation (seeded chart of accounts and tax rates)."""
        tenant = Tenant(tenant_id, name, tenant_type)
        tenant.ledger = {c.name: {} for c in COLLECTIONS.values()}
        for account in _seed_accounts():
            tenant.ledger["Accounts"][account["AccountID"]] = account
        for rate in _seed_tax_rates():
            tenant.ledger["TaxRates"][rate["TaxType"]] = rate
        # GET /Organisation (schema Organisation); tests change PaymentTerms to suit.
        tenant.organisation = {
            "OrganisationID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-org-{tenant_id}")),
            "Name": name,
            "BaseCurrency": self.base_currency,
            "OrganisationType": "COMPANY",
            "PaymentTerms": {
                "Bills": {"Day": 30, "Type": "DAYSAFTERBILLDATE"},
                "Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"},
            },
        }
        self.tenants[tenant_id] = tenant
        return tenant

    @property
    def tenant_id(self) -> str:
        """Return the first tenant's id (the usual single-org case)."""
        return next(iter(self.tenants))

    def records(self, collection: str, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Return rendered copies of every stored record of ``collection`` (e.g. "Invoices")."""
        with self._lock:
            ledger = self.tenants[tenant_id or self.tenant_id].ledger[collection]
            return [render(copy.deepcopy(r)) for r in ledger.values()]

    def issue_tokens(
        self,
        scope: str = "openid profile email offline_access accounting.transactions "
        "accounting.contacts accounting.settings",
        tenant_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Return a token set whose grant is connected to ``tenant_ids`` (default: all)."""
        auth_event = str(uuid.uuid4())
        tokens = self.oauth.mint(self.client_id, scope, auth_event_id=auth_event)
        access, _ = self.oauth.check_bearer(f"Bearer {tokens['access_token']}")
        assert access is not None
        self._connect(access.grant.grant_id, auth_event, tenant_ids)
        return tokens

    def expire_access_tokens(self) -> None:
        """Expire every issued access token now (the next API call gets 401)."""
        self.oauth.expire_access_tokens()

    def api_url(self) -> str:
        """Return ``<base>/api.xro/2.0`` for the running server."""
        if self.base_url is None:
            raise RuntimeError("sandbox is not being served; use the xero_sandbox fixture")
        return f"{self.base_url}/api.xro/2.0"

    def release(self) -> None:
        """Wake hanging requests and clear faults (teardown)."""
        self.faults.clear()
        self.faults.release()

    def record_payment(
        self,
        invoice_id: str,
        amount: float,
        account_code: str = "090",
        tenant_id: str | None = None,
        pay_date: str | None = None,
    ) -> dict[str, Any]:
        """Record a payment as if a user entered it in Xero (for polling tests)."""
        body = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": account_code},
            "Amount": amount,
            "Date": pay_date or self.today(),
        }
        with self._lock:
            errors, record = self._save(
                self.tenants[tenant_id or self.tenant_id], COLLECTIONS["payments"], body, "PUT", {}
            )
        if errors:
            raise ValueError(errors)
        assert record is not None
        return render(copy.deepcopy(record))

    def delete_payment(self, payment_id: str, tenant_id: str | None = None) -> dict[str, Any]:
        """Delete a payment as a user would in Xero (``POST /Payments/{id}`` Status DELETED)."""
        body = {"PaymentID": payment_id, "Status": "DELETED"}
        with self._lock:
            errors, record = self._save(
                self.tenants[tenant_id or self.tenant_id], COLLECTIONS["payments"], body, "POST", {}
            )
        if errors:
            raise ValueError(errors)
        assert record is not None
        return render(copy.deepcopy(record))

    def refund_overpayment(
        self,
        overpayment_id: str,
        amount: float,
        account_code: str = "090",
        tenant_id: str | None = None,
    ) -> dict[str, Any]:
        """Pay a customer back out of an overpayment's credit, as ``PUT /Payments`` would."""
        body = {
            "Overpayment": {"OverpaymentID": overpayment_id},
            "Account": {"Code": account_code},
            "Amount": amount,
            "Date": self.today(),
        }
        with self._lock:
            errors, record = self._save(
                self.tenants[tenant_id or self.tenant_id], COLLECTIONS["payments"], body, "PUT", {}
            )
        if errors:
            raise ValueError(errors)
        assert record is not None
        return render(copy.deepcopy(record))

    def record_overpayment(
        self,
        invoice_id: str,
        total: float,
        allocated: float,
        tenant_id: str | None = None,
        on: str | None = None,
    ) -> dict[str, Any]:
        """Record a customer's overpayment as if a user entered it in Xero and allocated part.

        A RECEIVE-OVERPAYMENT of ``total`` from the invoice's contact, ``allocated`` of it
        applied to the invoice (schema Overpayment: Allocations, RemainingCredit).
        """
        tenant = self.tenants[tenant_id or self.tenant_id]
        with self._lock:
            invoice = tenant.ledger["Invoices"][invoice_id]
            overpayment_id = str(uuid.uuid4())
            tenant.ledger["Overpayments"][overpayment_id] = {
                "OverpaymentID": overpayment_id,
                "Type": "RECEIVE-OVERPAYMENT",
                "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
                "Date": on or self.today(),
                "Status": "AUTHORISED",
                "LineAmountTypes": "Inclusive",
                "SubTotal": total,
                "TotalTax": 0.0,
                "Total": total,
                "CurrencyCode": invoice.get("CurrencyCode", "USD"),
                "RemainingCredit": total,
                "AppliedAmount": 0.0,
                "Allocations": [],
                "Payments": [],
                "UpdatedDateUTC": self.clock.now(),
            }
        try:
            return self.allocate_overpayment(overpayment_id, invoice_id, allocated, tenant_id, on)
        except ValueError:
            del tenant.ledger["Overpayments"][overpayment_id]  # refused: nothing is kept
            raise

    def allocate_overpayment(
        self,
        overpayment_id: str,
        invoice_id: str,
        amount: float,
        tenant_id: str | None = None,
        on: str | None = None,
    ) -> dict[str, Any]:
        """Apply overpayment credit to an invoice, as ``PUT /Overpayments/{id}/Allocations``.

        Like a credit-note allocation it cannot exceed what the invoice owes nor the credit
        left, and the invoice must be an AUTHORISED ACCREC one of the same contact.
        """
        tenant = self.tenants[tenant_id or self.tenant_id]
        on = on or self.today()
        with self._lock:
            overpayment = tenant.ledger["Overpayments"][overpayment_id]
            invoice = tenant.ledger["Invoices"][invoice_id]
            error = allocation_error(overpayment, "overpayment", invoice, amount)
            if error:
                raise ValueError(error)
            invoice["AmountCredited"] = round(invoice.get("AmountCredited", 0) + amount, 2)
            invoice["AmountDue"] = round(
                invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"], 2
            )
            invoice.setdefault("Overpayments", []).append(
                {"OverpaymentID": overpayment_id, "AppliedAmount": amount, "Date": on}
            )
            if invoice["AmountDue"] <= 0:
                invoice["Status"] = "PAID"
                invoice["FullyPaidOnDate"] = on
            invoice["UpdatedDateUTC"] = self.clock.now()
            overpayment["Allocations"].append(
                {
                    "AllocationID": str(uuid.uuid4()),
                    "Amount": amount,
                    "Date": on,
                    "Invoice": {
                        "InvoiceID": invoice_id,
                        "InvoiceNumber": invoice.get("InvoiceNumber"),
                    },
                }
            )
            overpayment["RemainingCredit"] = round(overpayment["RemainingCredit"] - amount, 2)
            overpayment["AppliedAmount"] = round(overpayment["AppliedAmount"] + amount, 2)
            if overpayment["RemainingCredit"] <= 0:
                overpayment["Status"] = "PAID"
            overpayment["UpdatedDateUTC"] = self.clock.now()
            return render(copy.deepcopy(overpayment))

    def delete_overpayment_allocation(
        self, overpayment_id: str, allocation_id: str, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Undo one allocation, as ``DELETE /Overpayments/{id}/Allocations/{AllocationID}``.

        xero_accounting.yaml deleteOverpaymentAllocations: the allocation goes, the invoice
        owes that amount again and the overpayment has it back as credit.
        """
        tenant = self.tenants[tenant_id or self.tenant_id]
        with self._lock:
            overpayment = tenant.ledger["Overpayments"][overpayment_id]
            allocation = next(
                a for a in overpayment["Allocations"] if a["AllocationID"] == allocation_id
            )
            overpayment["Allocations"].remove(allocation)
            invoice = tenant.ledger["Invoices"][allocation["Invoice"]["InvoiceID"]]
            amount = allocation["Amount"]
            invoice["AmountCredited"] = round(invoice.get("AmountCredited", 0) - amount, 2)
            invoice["AmountDue"] = round(
                invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"], 2
            )
            applied = [
                o for o in invoice.get("Overpayments", []) if o["OverpaymentID"] == overpayment_id
            ]
            if applied:
                invoice["Overpayments"].remove(applied[0])
            if invoice["Status"] == "PAID" and invoice["AmountDue"] > 0:
                invoice["Status"] = "AUTHORISED"
                invoice.pop("FullyPaidOnDate", None)
            invoice["UpdatedDateUTC"] = self.clock.now()
            overpayment["RemainingCredit"] = round(overpayment["RemainingCredit"] + amount, 2)
            overpayment["AppliedAmount"] = round(overpayment["AppliedAmount"] - amount, 2)
            overpayment["Status"] = "AUTHORISED"
            overpayment["UpdatedDateUTC"] = self.clock.now()
            return render(copy.deepcopy(overpayment))

    def today(self) -> str:
        """Return the sandbox date as YYYY-MM-DD."""
        return self.clock.utcnow().date().isoformat()

    def _connect(self, grant_id: str, auth_event: str, tenant_ids: list[str] | None) -> None:
        with self._lock:
            for tenant_id in tenant_ids or list(self.tenants):
                conn = Connection(
                    str(uuid.uuid4()), tenant_id, auth_event, grant_id, self.clock.now()
                )
                self.connections[conn.id] = conn

    def connected(self, grant_id: str, tenant_id: str) -> bool:
        """Return whether the grant has a live connection to the tenant."""
        with self._lock:
            return any(
                c.grant_id == grant_id and c.tenant_id == tenant_id
                for c in self.connections.values()
            )

    # -- writes -------------------------------------------------------------------------
    def write(
        self,
        tenant: Tenant,
        coll: Collection,
        method: str,
        body: Any,
        item_id: str | None,
        summarize: bool,
        unitdp: int,
    ) -> dict[str, Any]:
        """Validate and save a PUT/POST body; return the response body or raise."""
        spec_path = f"/{coll.name}" + (f"/{{{coll.id_field}}}" if item_id else "")
        try:
            schema_name = self.spec.request_schema_name(spec_path, method)
        except KeyError:
            raise XeroApiError(
                405,
                {"Type": "MethodNotAllowed", "Message": f"{method} {spec_path} is not in the spec"},
            ) from None
        if schema_name not in (coll.item, coll.name):
            # e.g. POST /Payments/{PaymentID} takes PaymentDelete; not modelled here.
            raise XeroApiError(
                405,
                {
                    "Type": "MethodNotAllowed",
                    "Message": f"{method} {spec_path} ({schema_name}) is not "
                    "supported by the sandbox",
                },
            )
        if (
            coll.name == "Payments"
            and schema_name == coll.item
            and isinstance(body, dict)
            and coll.name in body
        ):
            # Quirk: POST /Payments declares a single Payment body, but the spec's own
            # example wraps it in {"Payments": [...]}; accept both.
            schema_name = f"{coll.name}"
        wrapped = schema_name != coll.item
        problems = self.spec.problems(schema_name, body)
        if wrapped:
            items = body.get(coll.name) if isinstance(body, dict) else None
            outer = [
                p
                for p in problems
                if not (len(p.path) >= 2 and p.path[0] == coll.name and isinstance(p.path[1], int))
            ]
            if not outer and not isinstance(items, list):
                outer_msg = f"{coll.name}: a JSON array of {coll.item} objects is required"
                raise validation_error([{"ValidationErrors": [{"Message": outer_msg}]}])
            if outer:
                raise validation_error(
                    [{"ValidationErrors": [{"Message": p.message} for p in outer]}]
                )
        else:
            if not isinstance(body, dict):
                raise validation_error(
                    [{"ValidationErrors": [{"Message": "body must be an object"}]}]
                )
            items = [body]
        assert isinstance(items, list)
        per_item: dict[int, list[str]] = {}
        for p in problems:
            index = p.path[1] if wrapped else 0
            assert isinstance(index, int)
            per_item.setdefault(index, []).append(p.message)
        with self._lock:
            snapshot = copy.deepcopy((tenant.ledger, tenant.counters))
            results: list[tuple[dict[str, Any], list[str], dict[str, Any] | None]] = []
            for i, item in enumerate(items):
                errors = per_item.get(i, [])
                record = None
                if not errors:
                    if item_id:
                        item = {**item, coll.id_field: item_id}
                    errors, record = self._save(tenant, coll, item, method, {"unitdp": unitdp})
                results.append((item, errors, record))
            failed = [(item, errs) for item, errs, _ in results if errs]
            if failed and summarize:
                tenant.ledger, tenant.counters = snapshot
                raise validation_error(
                    [self._error_element(coll, item, errs) for item, errs in failed]
                )
        rendered = [
            self._error_element(coll, item, errs)
            if errs
            else {**render(copy.deepcopy(record)), "StatusAttributeString": "OK"}
            for item, errs, record in results
        ]
        return self.envelope(coll.name, rendered)

    def envelope(self, key: str, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """Wrap rows in Xero's response envelope."""
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "Xero Sandbox",
            "DateTimeUTC": msdate(self.clock.now()),
            **extra,
            key: rows,
        }

    def _error_element(self, coll: Collection, item: Any, errors: list[str]) -> dict[str, Any]:
        element = dict(item) if isinstance(item, dict) else {}
        props = self.spec.properties(coll.item)
        # The flag's name differs per schema (Invoice.HasErrors, Contact.HasValidationErrors).
        for flag in ("HasErrors", "HasValidationErrors"):
            if flag in props:
                element[flag] = True
                break
        element["StatusAttributeString"] = "ERROR"
        element["ValidationErrors"] = [{"Message": m} for m in errors]
        return element

    def _save(
        self,
        tenant: Tenant,
        coll: Collection,
        item: dict[str, Any],
        method: str,
        opts: dict[str, Any],
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Apply business rules and store one object; return (errors, record)."""
        ledger = tenant.ledger[coll.name]
        # Read-only members are ignored, as Xero does (the spec's own PUT /Contacts example
        # sends UpdatedDateUTC).
        data = {k: v for k, v in item.items() if k not in self.spec.read_only(coll.item)}
        existing = None
        given_id = data.get(coll.id_field)
        if given_id:
            existing = ledger.get(given_id)
            if existing is None and method == "POST":
                return [f"{coll.item} with {coll.id_field} {given_id} could not be found"], None
            if existing is not None and method == "PUT":
                # API-NOTES 2.3: PUT = create only; POST = update-or-create.
                return [f"{coll.item} {given_id} already exists; use POST to update it"], None
            # A PUT carrying an unknown id creates a new object (the spec's own PUT /Contacts
            # example sends a ContactID); the id is assigned by the sandbox.
        record_id = existing[coll.id_field] if existing else str(uuid.uuid4())
        handler = getattr(self, f"_save_{coll.name.lower()}")
        errors, record = handler(tenant, data, existing, {**opts, "id": record_id})
        if errors:
            return errors, None
        assert record is not None
        record[coll.id_field] = record_id
        record["UpdatedDateUTC"] = self.clock.now()
        ledger[record[coll.id_field]] = record
        return [], record

    def _find(self, tenant: Tenant, coll: str, key: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        for record in tenant.ledger[coll].values():
            if str(record.get(key, "")).casefold() == str(value).casefold():
                return record
        return None

    def _account(self, tenant: Tenant, code: str | None) -> dict[str, Any] | None:
        found = self._find(tenant, "Accounts", "Code", code)
        return found if found and found.get("Status") == "ACTIVE" else None

    def _save_contacts(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, _opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        record = {**(existing or {}), **data}
        name = record.get("Name")
        if not name:
            return ["Name is required for a contact (API-NOTES 2.3)"], None
        clash = self._find(tenant, "Contacts", "Name", name)
        if clash and clash is not existing and clash.get("ContactStatus") == "ACTIVE":
            # Contact names are unique across active contacts (recalled wording).
            return [
                f"The contact name {name} is already assigned to another contact. The "
                "contact name must be unique across all active contacts."
            ], None
        record.setdefault("ContactStatus", "ACTIVE")
        record.setdefault("Addresses", [])
        record.setdefault("Phones", [])
        record.setdefault("ContactPersons", [])
        record.setdefault("HasAttachments", False)
        record.setdefault("HasValidationErrors", False)
        # API-NOTES 2.3: IsSupplier / IsCustomer are derived from transactions, not settable.
        record["IsSupplier"] = bool(existing and existing.get("IsSupplier"))
        record["IsCustomer"] = bool(existing and existing.get("IsCustomer"))
        return [], record

    def _save_items(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, _opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        if existing is None and data.get("Code"):
            existing_by_code = self._find(tenant, "Items", "Code", data["Code"])
            if existing_by_code is not None:
                return [f"Item code '{data['Code']}' already exists (recalled wording)"], None
        record = {**(existing or {}), **data}
        errors = []
        for side in ("PurchaseDetails", "SalesDetails"):
            details = record.get(side) or {}
            for key in ("AccountCode", "COGSAccountCode"):
                if details.get(key) and not self._account(tenant, details[key]):
                    errors.append(f"{side}.{key} '{details[key]}' is not a valid account code")
            if details.get("TaxType") and details["TaxType"] not in tenant.ledger["TaxRates"]:
                errors.append(f"{side}.TaxType '{details['TaxType']}' does not exist")
        if record.get("IsTrackedAsInventory"):
            # API-NOTES 2.3: tracked items need InventoryAssetAccountCode + COGSAccountCode.
            if not record.get("InventoryAssetAccountCode"):
                errors.append("InventoryAssetAccountCode is required for tracked inventory")
            if not (record.get("PurchaseDetails") or {}).get("COGSAccountCode"):
                errors.append("PurchaseDetails.COGSAccountCode is required for tracked inventory")
        if errors:
            return errors, None
        record["IsSold"] = bool(record.get("SalesDetails"))
        record["IsPurchased"] = bool(record.get("PurchaseDetails"))
        record.setdefault("IsTrackedAsInventory", False)
        return [], record

    def _save_accounts(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, _opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        record = {**(existing or {}), **data}
        errors = [f"{k} is required" for k in ("Code", "Name", "Type") if not record.get(k)]
        if len(str(record.get("Code", ""))) > 10:
            errors.append("Code must be at most 10 characters (API-NOTES 2.3)")
        for key, message in (
            ("Code", "Please enter a unique Code."),
            ("Name", "Please enter a unique Name."),
        ):
            clash = self._find(tenant, "Accounts", key, record.get(key))
            if clash is not None and clash is not existing:
                # "Please enter a unique Name." is the spec's PUT /Accounts 400 example.
                errors.append(message)
        if errors:
            return errors, None
        record.setdefault("Status", "ACTIVE")
        record.setdefault("EnablePaymentsToAccount", False)
        return [], record

    def _save_invoices(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        return self._save_document(tenant, "Invoices", data, existing, opts)

    def _save_purchaseorders(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        return self._save_document(tenant, "PurchaseOrders", data, existing, opts)

    def _save_document(
        self, tenant: Tenant, coll: str, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        invoice = coll == "Invoices"
        if existing is not None and existing.get("Status") in (
            "PAID",
            "VOIDED",
            "DELETED",
            "BILLED",
        ):
            return [f"Document is {existing['Status']} and cannot be modified (recalled)"], None
        record = {**(existing or {}), **data}
        errors: list[str] = []
        creatable = ("DRAFT", "SUBMITTED", "AUTHORISED")
        record.setdefault("Status", "DRAFT")
        status = record["Status"]
        if existing is None and status not in creatable:
            errors.append(f"Status {status} cannot be used when creating a document")
        if existing is not None and invoice and status != existing.get("Status"):
            errors += self._status_change_errors(existing, status)
        if invoice and not record.get("Type"):
            errors.append("Type is required (ACCREC or ACCPAY) (API-NOTES 2.3)")
        elif invoice and record["Type"] not in ("ACCREC", "ACCPAY"):
            errors.append(f"Type {record['Type']} is not an invoice type; use CreditNotes etc.")
        if invoice and status in ("SUBMITTED", "AUTHORISED") and not record.get("DueDate"):
            # The API does not apply payment terms on create: an approved invoice without a
            # DueDate is refused (recalled; Xero's "Due Date is required" validation).
            errors.append("Due Date is required when the invoice is submitted or approved")
        if coll == "PurchaseOrders" and not record.get("Date"):
            errors.append("Date is required for a purchase order (API-NOTES 2.3)")
        doc_date = str(record.get("Date") or self.today())[:10]
        if self.lock_date and doc_date <= self.lock_date:
            # Wording as Xero's lock-date rejection is quoted on its forums (recalled).
            errors.append(
                f"The document date cannot be before the period lock date of {self.lock_date}."
            )
        contact, contact_error = self._resolve_contact(tenant, record.get("Contact"))
        if contact_error:
            errors.append(contact_error)
        lines = record.get("LineItems") or []
        if status in ("SUBMITTED", "AUTHORISED") and not lines:
            errors.append("At least one line item is required before a document is approved")
        doc_type = record.get("Type", "ACCPAY")
        for i, line in enumerate(lines):
            errors += [
                f"LineItems[{i}]: {m}"
                for m in self._line_errors(tenant, line, status, doc_type, coll)
            ]
        number_field = "InvoiceNumber" if invoice else "PurchaseOrderNumber"
        number = record.get(number_field)
        if number and (doc_type == "ACCREC" or not invoice):
            for other in tenant.ledger[coll].values():
                same = str(other.get(number_field, "")).casefold() == str(number).casefold()
                if same and other is not existing and other.get("Type") == record.get("Type"):
                    errors.append(f"{number_field} must be unique: {number} (recalled)")
        if errors:
            return errors, None
        assert contact is not None
        if contact.get("ContactID") is None:
            contact["ContactID"] = str(uuid.uuid4())
            contact.update(
                ContactStatus="ACTIVE",
                Addresses=[],
                Phones=[],
                ContactPersons=[],
                IsSupplier=False,
                IsCustomer=False,
                UpdatedDateUTC=self.clock.now(),
            )
            tenant.ledger["Contacts"][contact["ContactID"]] = contact
        if doc_type == "ACCREC" and invoice:
            contact["IsCustomer"] = True
        else:
            contact["IsSupplier"] = True
        record["Contact"] = {k: contact[k] for k in ("ContactID", "Name") if k in contact}
        record.setdefault("Date", self.today())
        record.setdefault("LineAmountTypes", "Exclusive")
        record.setdefault("CurrencyCode", self.base_currency)
        record.setdefault("CurrencyRate", 1.0)
        record.setdefault("HasAttachments", False)
        if not number and (doc_type == "ACCREC" or not invoice):
            # ACCREC invoices and POs are numbered by Xero when no number is sent.
            prefix = "INV" if invoice else "PO"
            tenant.counters[coll] = tenant.counters.get(coll, 0) + 1
            record[number_field] = f"{prefix}-{tenant.counters[coll]:04d}"
        self._totals(tenant, record, opts.get("unitdp", 2))
        if invoice:
            record.setdefault("AmountPaid", 0.0)
            record.setdefault("AmountCredited", 0.0)
            record["AmountDue"] = round(
                record["Total"] - record["AmountPaid"] - record["AmountCredited"], 2
            )
            if status in ("VOIDED", "DELETED"):
                record["AmountDue"] = 0.0
            record.setdefault("Payments", [])
            record.setdefault("CreditNotes", [])
            record["HasErrors"] = False
        return [], record

    @staticmethod
    def _status_change_errors(existing: dict[str, Any], status: str) -> list[str]:
        """Xero's invoice status rules (https://developer.xero.com/documentation/api/accounting/invoices):
        DRAFT / SUBMITTED invoices are DELETED, AUTHORISED ones VOIDED, and only while no
        payment or credit note is allocated to them (wording recalled)."""
        current = existing.get("Status")
        if status == "DELETED" and current not in ("DRAFT", "SUBMITTED"):
            return [f"A {current} invoice cannot be deleted; void it instead"]
        if status == "VOIDED":
            if current != "AUTHORISED":
                return [f"Only AUTHORISED invoices can be voided; delete a {current} one"]
            if existing.get("AmountPaid") or existing.get("AmountCredited"):
                return [
                    "This document cannot be voided as it has a payment or credit note "
                    "allocated to it"
                ]
        return []

    def _save_creditnotes(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Create a credit note (xero_accounting.yaml CreditNote); edits are not modelled."""
        if existing is not None:
            return ["Editing a credit note is not supported by the sandbox"], None
        record = dict(data)
        record.setdefault("Status", "DRAFT")
        status = record["Status"]
        errors: list[str] = []
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"Status {status} cannot be used when creating a credit note")
        if record.get("Type") not in ("ACCRECCREDIT", "ACCPAYCREDIT"):
            errors.append("Type is required (ACCRECCREDIT or ACCPAYCREDIT)")
        doc_date = str(record.get("Date") or self.today())[:10]
        if self.lock_date and doc_date <= self.lock_date:
            errors.append(
                f"The document date cannot be before the period lock date of {self.lock_date}."
            )
        contact, contact_error = self._resolve_contact(tenant, record.get("Contact"))
        if contact_error:
            errors.append(contact_error)
        lines = record.get("LineItems") or []
        if status in ("SUBMITTED", "AUTHORISED") and not lines:
            errors.append("At least one line item is required before a document is approved")
        doc_type = "ACCREC" if record.get("Type") == "ACCRECCREDIT" else "ACCPAY"
        for i, line in enumerate(lines):
            errors += [
                f"LineItems[{i}]: {m}"
                for m in self._line_errors(tenant, line, status, doc_type, "CreditNotes")
            ]
        if errors:
            return errors, None
        if contact is None or contact.get("ContactID") is None:
            return [f"Contact {record['Contact'].get('Name')} could not be found"], None
        record["Contact"] = {k: contact[k] for k in ("ContactID", "Name") if k in contact}
        record.setdefault("Date", self.today())
        record.setdefault("LineAmountTypes", "Exclusive")
        record.setdefault("CurrencyCode", self.base_currency)
        record.setdefault("CurrencyRate", 1.0)
        record.setdefault("HasAttachments", False)
        if not record.get("CreditNoteNumber") and doc_type == "ACCREC":
            tenant.counters["CreditNotes"] = tenant.counters.get("CreditNotes", 0) + 1
            record["CreditNoteNumber"] = f"CN-{tenant.counters['CreditNotes']:04d}"
        self._totals(tenant, record, opts.get("unitdp", 2))
        record["Allocations"] = []
        record["RemainingCredit"] = record["Total"]
        record["AppliedAmount"] = 0.0
        record["HasErrors"] = False
        return [], record

    def allocate_credit_note(
        self, tenant: Tenant, credit_note_id: str, body: Any
    ) -> dict[str, Any]:
        """``PUT /CreditNotes/{id}/Allocations``: apply credit to invoices (schema Allocations).

        Both must be AUTHORISED, of one contact and of matching type; an allocation cannot
        exceed what the invoice owes nor the credit left (wording recalled).
        """
        problems = self.spec.problems("Allocations", body)
        if problems:
            raise validation_error(
                [{"ValidationErrors": [{"Message": p.message} for p in problems]}]
            )
        allocations = body.get("Allocations") if isinstance(body, dict) else None
        if not isinstance(allocations, list) or not allocations:
            raise validation_error(
                [{"ValidationErrors": [{"Message": "Allocations: at least one is required"}]}]
            )
        with self._lock:
            note = tenant.ledger["CreditNotes"].get(credit_note_id)
            if note is None:
                raise XeroApiError(
                    404,
                    {
                        "Type": "NotFoundException",
                        "Message": "The resource you're looking for cannot be found",
                    },
                )
            errors: list[str] = []
            remaining = note["RemainingCredit"]
            plan = []
            for allocation in allocations:
                ref = allocation.get("Invoice") or {}
                invoice = tenant.ledger["Invoices"].get(ref.get("InvoiceID") or "")
                amount = allocation.get("Amount", 0)
                error = allocation_error(note, "credit note", invoice, amount, remaining)
                if error:
                    errors.append(error)
                else:
                    remaining -= amount
                    plan.append((invoice, amount, str(allocation.get("Date") or self.today())))
            if errors:
                raise validation_error([{"ValidationErrors": [{"Message": m} for m in errors]}])
            rows = []
            for invoice, amount, on in plan:
                allocation_id = str(uuid.uuid4())
                invoice["AmountCredited"] = round(invoice.get("AmountCredited", 0) + amount, 2)
                invoice["AmountDue"] = round(
                    invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"], 2
                )
                invoice.setdefault("CreditNotes", []).append(
                    {
                        "CreditNoteID": note["CreditNoteID"],
                        "CreditNoteNumber": note.get("CreditNoteNumber"),
                        "AppliedAmount": amount,
                    }
                )
                if invoice["AmountDue"] <= 0:
                    invoice["Status"] = "PAID"
                    invoice["FullyPaidOnDate"] = on
                invoice["UpdatedDateUTC"] = self.clock.now()
                row = {
                    "AllocationID": allocation_id,
                    "Amount": amount,
                    "Date": on,
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                }
                note["Allocations"].append(row)
                rows.append({**row, "CreditNote": {"CreditNoteID": note["CreditNoteID"]}})
            note["RemainingCredit"] = round(remaining, 2)
            note["AppliedAmount"] = round(note["Total"] - note["RemainingCredit"], 2)
            if note["RemainingCredit"] <= 0:
                note["Status"] = "PAID"
            note["UpdatedDateUTC"] = self.clock.now()
            return self.envelope("Allocations", [render(copy.deepcopy(r)) for r in rows])

    def _resolve_contact(self, tenant: Tenant, ref: Any) -> tuple[dict[str, Any] | None, str]:
        if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
            return None, "A Contact (ContactID or Name) must be specified (API-NOTES 2.3)"
        if ref.get("ContactID"):
            found = tenant.ledger["Contacts"].get(ref["ContactID"])
            if found is None:
                return None, f"Contact {ref['ContactID']} could not be found"
            return found, ""
        # A Contact given by Name links to the existing contact or creates one (recalled).
        found = self._find(tenant, "Contacts", "Name", ref["Name"])
        return (found or {"Name": ref["Name"]}), ""

    def _line_errors(
        self, tenant: Tenant, line: dict[str, Any], status: str, doc_type: str, coll: str
    ) -> list[str]:
        errors = []
        item = self._find(tenant, "Items", "Code", line.get("ItemCode"))
        if line.get("ItemCode") and item is None:
            errors.append(f"Item code '{line['ItemCode']}' is not valid")
        if not line.get("Description") and item is None:
            errors.append("Description is required when no ItemCode is given (recalled)")
        if line.get("AccountCode") and not self._account(tenant, line["AccountCode"]):
            errors.append(
                f"Account code '{line['AccountCode']}' is not a valid code for this document."
            )
        side = "SalesDetails" if doc_type == "ACCREC" else "PurchaseDetails"
        item_account = ((item or {}).get(side) or {}).get("AccountCode")
        if (
            status in ("SUBMITTED", "AUTHORISED")
            and not line.get("AccountCode")
            and not item_account
        ):
            errors.append("An AccountCode is required on every line of an approved document")
        if line.get("TaxType") and line["TaxType"] not in tenant.ledger["TaxRates"]:
            # API-NOTES 2.3: a line TaxType must be a TaxRates code.
            errors.append(
                f"The TaxType code '{line['TaxType']}' does not exist or cannot be "
                "used for this type of transaction."
            )
        if len(line.get("Tracking") or []) > 2:
            errors.append("A line can have at most two tracking categories (API-NOTES 2.3)")
        if (doc_type == "ACCPAY" or coll == "PurchaseOrders") and (
            line.get("DiscountRate") or line.get("DiscountAmount")
        ):
            errors.append("Discounts are not supported on ACCPAY documents (API-NOTES 2.3)")
        if "LineAmount" in line:
            qty = line.get("Quantity", 1)
            expected = qty * line.get("UnitAmount", 0) * (1 - line.get("DiscountRate", 0) / 100)
            expected -= line.get("DiscountAmount", 0)
            if abs(round(expected, 2) - line["LineAmount"]) > 0.01:
                errors.append(
                    f"LineAmount {line['LineAmount']} does not equal Quantity x "
                    f"UnitAmount ({round(expected, 2)}) (recalled)"
                )
        return errors

    def _totals(self, tenant: Tenant, record: dict[str, Any], unitdp: int) -> None:
        sub_total = total_tax = 0.0
        mode = record.get("LineAmountTypes", "Exclusive")
        for line in record.get("LineItems") or []:
            line.setdefault("LineItemID", str(uuid.uuid4()))
            line.setdefault("Quantity", 1.0)
            # API-NOTES 2.1: unit amounts are rounded to 2 dp unless unitdp=4.
            line["UnitAmount"] = round(line.get("UnitAmount", 0.0), 4 if unitdp == 4 else 2)
            amount = line["Quantity"] * line["UnitAmount"]
            amount *= 1 - line.get("DiscountRate", 0) / 100
            amount = round(amount - line.get("DiscountAmount", 0), 2)
            line["LineAmount"] = amount
            if not line.get("TaxType"):
                # Xero takes a missing line TaxType from the item, else from the line's account
                # (Account.TaxType "the default tax type of the account"), else NONE.
                item = self._find(tenant, "Items", "Code", line.get("ItemCode")) or {}
                side = (
                    "SalesDetails"
                    if record.get("Type") in ("ACCREC", "ACCRECCREDIT")
                    else "PurchaseDetails"
                )
                account = self._account(tenant, line.get("AccountCode")) or {}
                line["TaxType"] = (
                    (item.get(side) or {}).get("TaxType") or account.get("TaxType") or "NONE"
                )
            rate = tenant.ledger["TaxRates"].get(line["TaxType"], {}).get("EffectiveRate", 0.0)
            if mode == "Exclusive":
                tax = round(amount * rate / 100, 2)
                sub_total += amount
            elif mode == "Inclusive":
                tax = round(amount - amount / (1 + rate / 100), 2)
                sub_total += amount - tax
            else:
                tax = 0.0
                sub_total += amount
            given = line.get("TaxAmount")
            if isinstance(given, int | float) and mode != "NoTax":
                # LineItem.TaxAmount "can be overriden if the calculated TaxAmount is not
                # correct" (xero_accounting.yaml): a sent amount replaces the computed one.
                if mode == "Inclusive":
                    sub_total += tax - round(given, 2)
                tax = round(given, 2)
            line["TaxAmount"] = tax
            total_tax += tax
            line.setdefault("Tracking", [])
        record["SubTotal"] = round(sub_total, 2)
        record["TotalTax"] = round(total_tax, 2)
        record["Total"] = round(sub_total + total_tax, 2)

    def _save_payments(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        if existing is not None:
            # POST /Payments/{PaymentID} {"Status": "DELETED"} deletes it (xero_accounting.yaml
            # deletePayment, PaymentDelete); anything else is an edit, which Xero refuses.
            if {k: v for k, v in data.items() if k != "PaymentID"} != {"Status": "DELETED"}:
                return ["Payments can only be created or deleted, not edited (recalled)"], None
            if existing.get("Status") == "DELETED":
                return ["This payment has already been deleted"], None
            if existing.get("PaymentType") == "AROVERPAYMENTPAYMENT":
                # A refund deleted: the credit is the customer's again.
                overpayment = tenant.ledger["Overpayments"][
                    existing["Overpayment"]["OverpaymentID"]
                ]
                overpayment["RemainingCredit"] = round(
                    overpayment["RemainingCredit"] + existing["Amount"], 2
                )
                overpayment["Payments"] = [
                    p
                    for p in overpayment["Payments"]
                    if p.get("PaymentID") != existing["PaymentID"]
                ]
                overpayment["Status"] = "AUTHORISED"
                overpayment["UpdatedDateUTC"] = self.clock.now()
                return [], {**existing, "Status": "DELETED"}
            invoice = tenant.ledger["Invoices"][existing["Invoice"]["InvoiceID"]]
            invoice["AmountPaid"] = round(invoice["AmountPaid"] - existing["Amount"], 2)
            invoice["AmountDue"] = round(
                invoice["Total"] - invoice["AmountPaid"] - invoice.get("AmountCredited", 0), 2
            )
            if invoice["Status"] == "PAID" and invoice["AmountDue"] > 0:
                invoice["Status"] = "AUTHORISED"
                invoice.pop("FullyPaidOnDate", None)
            invoice["Payments"] = [
                p for p in invoice["Payments"] if p.get("PaymentID") != existing["PaymentID"]
            ]
            invoice["UpdatedDateUTC"] = self.clock.now()
            return [], {**existing, "Status": "DELETED"}
        if "Overpayment" in data and "Invoice" not in data:
            return self._refund_overpayment(tenant, data, opts["id"])
        ref = data.get("Invoice") or {}
        invoice = tenant.ledger["Invoices"].get(ref.get("InvoiceID") or "")
        if invoice is None and ref.get("InvoiceNumber"):
            invoice = self._find(tenant, "Invoices", "InvoiceNumber", ref["InvoiceNumber"])
        errors, account = self._payment_errors(tenant, data, "Invoice", invoice)
        if errors:
            return errors, None
        assert invoice is not None and account is not None
        invoice["AmountPaid"] = round(invoice["AmountPaid"] + data["Amount"], 2)
        invoice["AmountDue"] = round(invoice["Total"] - invoice["AmountPaid"], 2)
        if invoice["AmountDue"] <= 0:
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = data["Date"]
        invoice["UpdatedDateUTC"] = self.clock.now()
        record = {
            **data,
            "Invoice": {
                k: invoice[k]
                for k in ("InvoiceID", "InvoiceNumber", "Type", "Contact")
                if k in invoice
            },
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
            "Status": "AUTHORISED",
            "IsReconciled": data.get("IsReconciled", False),
            "CurrencyRate": data.get("CurrencyRate", 1.0),
            "HasAccount": True,
            "HasValidationErrors": False,
        }
        invoice["Payments"].append(
            {"PaymentID": opts["id"], "Date": data["Date"], "Amount": data["Amount"]}
        )
        return [], record

    # What a payment needs, by what it pays (an invoice) or pays out of (an overpayment's
    # credit, a refund): one set of rules, their wording per kind (recalled).
    _PAYMENT_RULES: ClassVar[dict[str, dict[str, str]]] = {
        "Invoice": {
            "required": "{field} is required (API-NOTES 2.3)",
            "missing": "Invoice could not be found (give InvoiceID or InvoiceNumber)",
            "status": "Payments can only be made against Authorised documents (recalled)",
            "left": "AmountDue",
            "over": "Payment amount exceeds the amount outstanding on this document (recalled)",
        },
        "Overpayment": {
            "required": "{field} is required to refund an overpayment",
            "missing": "Overpayment could not be found (give OverpaymentID)",
            "status": "Only an overpayment with credit left can be refunded",
            "left": "RemainingCredit",
            "over": "The refund exceeds the overpayment's remaining credit",
        },
    }

    def _payment_errors(
        self, tenant: Tenant, data: dict[str, Any], kind: str, target: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Check a payment to an invoice or out of an overpayment; return errors and account.

        Required fields, the target AUTHORISED with enough left (amount due / credit), and
        an account that takes it: a bank account, or for an invoice payment one with
        ``EnablePaymentsToAccount`` (API-NOTES 2.3); a refund is paid out of a bank account.
        """
        rules = self._PAYMENT_RULES[kind]
        errors = [
            rules["required"].format(field=k)
            for k in (kind, "Account", "Date", "Amount")
            if k not in data
        ]
        if errors:
            return errors, None
        acc_ref = data["Account"] or {}
        account = (
            self._account(tenant, acc_ref.get("Code"))
            if acc_ref.get("Code")
            else (tenant.ledger["Accounts"].get(acc_ref.get("AccountID") or ""))
        )
        if target is None:
            errors.append(rules["missing"])
        elif target.get("Status") != "AUTHORISED":
            errors.append(rules["status"])
        elif data["Amount"] <= 0 or data["Amount"] > target[rules["left"]] + 0.005:
            errors.append(rules["over"])
        if account is None:
            errors.append("Account could not be found (give Code or AccountID)")
        elif account.get("Type") != "BANK" and kind == "Overpayment":
            errors.append(f"Account {account['Code']} is not a bank account: refunds are paid out")
        elif account.get("Type") != "BANK" and not account.get("EnablePaymentsToAccount"):
            errors.append(f"Account {account['Code']} does not accept payments (API-NOTES 2.3)")
        return errors, account

    def _refund_overpayment(
        self, tenant: Tenant, data: dict[str, Any], payment_id: str
    ) -> tuple[list[str], dict[str, Any] | None]:
        """``PUT /Payments`` naming an Overpayment: money paid back out of its credit.

        xero_accounting.yaml Payment: ``Overpayment`` instead of ``Invoice``, PaymentType
        AROVERPAYMENTPAYMENT; the overpayment lists it in ``Payments`` and its
        ``RemainingCredit`` drops (PAID once nothing is left).
        """
        overpayment = tenant.ledger["Overpayments"].get(
            str((data.get("Overpayment") or {}).get("OverpaymentID") or "")
        )
        errors, account = self._payment_errors(tenant, data, "Overpayment", overpayment)
        if errors:
            return errors, None
        assert overpayment is not None and account is not None
        overpayment["RemainingCredit"] = round(overpayment["RemainingCredit"] - data["Amount"], 2)
        if overpayment["RemainingCredit"] <= 0:
            overpayment["Status"] = "PAID"
        overpayment["Payments"].append(
            {"PaymentID": payment_id, "Date": data["Date"], "Amount": data["Amount"]}
        )
        overpayment["UpdatedDateUTC"] = self.clock.now()
        record = {
            **data,
            "Overpayment": {"OverpaymentID": overpayment["OverpaymentID"]},
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "PaymentType": "AROVERPAYMENTPAYMENT",
            "Status": "AUTHORISED",
            "IsReconciled": data.get("IsReconciled", False),
            "CurrencyRate": data.get("CurrencyRate", 1.0),
            "HasAccount": True,
            "HasValidationErrors": False,
        }
        return [], record

    # -- reads --------------------------------------------------------------------------
    def read(self, tenant: Tenant, coll: Collection, item_id: str | None) -> dict[str, Any]:
        """Answer GET on a collection or one record; raise ``XeroApiError`` on problems."""
        with self._lock:
            rows = list(tenant.ledger[coll.name].values())
            if item_id is not None:
                found = tenant.ledger[coll.name].get(item_id)
                if found is None and coll.number_field:
                    found = self._find(tenant, coll.name, coll.number_field, item_id)
                if found is None:
                    raise XeroApiError(
                        404,
                        {
                            "Type": "NotFoundException",
                            "Message": "The resource you're looking for cannot be found",
                        },
                    )
                return self.envelope(coll.name, [render(copy.deepcopy(found))])
            rows = copy.deepcopy(rows)
        since = request.headers.get("If-Modified-Since")
        if since:
            threshold = _parse_since(since)
            rows = [r for r in rows if r.get("UpdatedDateUTC", 0) > threshold]
        ids = request.args.get("IDs")
        if ids:
            wanted = {s.strip().lower() for s in ids.split(",")}
            rows = [r for r in rows if str(r.get(coll.id_field, "")).lower() in wanted]
        numbers = request.args.get("InvoiceNumbers")
        if numbers and coll.name == "Invoices":
            wanted = {s.strip().casefold() for s in numbers.split(",")}
            rows = [r for r in rows if str(r.get("InvoiceNumber", "")).casefold() in wanted]
        contact_ids = request.args.get("ContactIDs")
        if contact_ids and coll.name == "Invoices":
            wanted = {s.strip().lower() for s in contact_ids.split(",")}
            rows = [
                r
                for r in rows
                if str((r.get("Contact") or {}).get("ContactID", "")).lower() in wanted
            ]
        statuses = request.args.get("Statuses")
        if statuses:
            wanted = {s.strip().upper() for s in statuses.split(",")}
            rows = [r for r in rows if r.get("Status") in wanted]
        where = request.args.get("where")
        if where:
            try:
                predicate = parse_where(where)
            except WhereError as exc:
                raise XeroApiError(
                    400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}
                ) from exc
            rows = [r for r in rows if predicate(r)]
        rows.sort(key=lambda r: r.get("UpdatedDateUTC", 0))
        extra: dict[str, Any] = {}
        if "page" in request.args:
            # API-NOTES 2.1: up to 100 records per page (pageSize param may change it).
            page = max(1, int(request.args.get("page", "1") or 1))
            size = min(1000, max(1, int(request.args.get("pageSize", "100") or 100)))
            extra["pagination"] = {
                "page": page,
                "pageSize": size,
                "pageCount": max(1, -(-len(rows) // size)),
                "itemCount": len(rows),
            }
            rows = rows[(page - 1) * size : page * size]
        return self.envelope(coll.name, [render(r) for r in rows], **extra)


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


def _parse_since(value: str) -> float:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        pass
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# -- where filter: Field == "x" AND Other.Sub == Guid("...") AND Date >= DateTime(2026,1,1) ---


class WhereError(Exception):
    """A ``where`` expression the sandbox cannot parse."""


_WHERE_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>==|!=|>=|<=|>|<|&&|\|\|)|(?P<punct>[(),])'
    r"|(?P<num>-?\d+(\.\d+)?)|(?P<word>[A-Za-z_][\w.]*)|(?P<bad>\S))"
)


def parse_where(text: str) -> Any:
    """Parse Xero's filter subset: comparisons, Contains/StartsWith, joined by AND / OR."""
    toks = []
    for match in _WHERE_TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "bad":
            raise WhereError(f"unexpected {match.group(kind)!r} in where")
        if kind:
            toks.append((kind, match.group(kind)))
    pos = 0

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise WhereError("unexpected end of where expression")
        pos += 1
        return toks[pos - 1]

    def literal() -> Any:
        kind, value = take()
        if kind == "str":
            return json.loads(value)
        if kind == "num":
            return float(value)
        if kind == "word" and value.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[value.lower()]
        if kind == "word" and value in ("Guid", "DateTime"):
            if take() != ("punct", "("):
                raise WhereError(f"expected ( after {value}")
            args = [literal()]
            while toks[pos] == ("punct", ","):
                take()
                args.append(literal())
            if take() != ("punct", ")"):
                raise WhereError("expected )")
            if value == "Guid":
                return str(args[0]).lower()
            return datetime(*[int(a) for a in args], tzinfo=UTC)  # type: ignore[misc]
        raise WhereError(f"expected a value, found {value!r}")

    def condition() -> Any:
        kind, path = take()
        if kind != "word":
            raise WhereError(f"expected a field name, found {path!r}")
        for method in ("Contains", "StartsWith", "EndsWith"):
            if path.endswith(f".{method}"):
                field_path = path[: -len(method) - 1]
                if take() != ("punct", "("):
                    raise WhereError(f"expected ( after {method}")
                needle = str(literal())
                if take() != ("punct", ")"):
                    raise WhereError("expected )")
                test = {
                    "Contains": str.__contains__,
                    "StartsWith": str.startswith,
                    "EndsWith": str.endswith,
                }[method]
                return lambda r: test(str(_field(r, field_path) or ""), needle)
        kind, op = take()
        if kind != "op" or op in ("&&", "||"):
            raise WhereError(f"expected a comparison after {path}, found {op!r}")
        expected = literal()
        return lambda r: _where_compare(_field(r, path), op, expected)

    # AND binds tighter than OR, as in C# (Xero's filters are .NET expressions).
    groups = [[condition()]]
    while pos < len(toks):
        kind, value = take()
        if value == "&&" or value.upper() == "AND":
            groups[-1].append(condition())
        elif value == "||" or value.upper() == "OR":
            groups.append([condition()])
        else:
            raise WhereError(f"expected AND or OR between conditions, found {value!r}")
    return lambda r: any(all(c(r) for c in group) for group in groups)


def _contact_id(record: dict[str, Any]) -> str:
    return str((record.get("Contact") or {}).get("ContactID", "")).lower()


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(key) if key else None
    return value


def _where_compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, datetime):
        if isinstance(actual, int | float):
            actual = datetime.fromtimestamp(actual, UTC)
        elif isinstance(actual, str):
            try:
                actual = datetime.combine(date.fromisoformat(actual[:10]), datetime.min.time(), UTC)
            except ValueError:
                return False
        else:
            return False
    elif isinstance(expected, str) and isinstance(actual, str):
        actual, expected = actual.lower(), expected.lower()
    try:
        return {
            "==": actual == expected,
            "!=": actual != expected,
            ">": actual > expected,
            ">=": actual >= expected,
            "<": actual < expected,
            "<=": actual <= expected,
        }[op]
    except TypeError:
        return False


# ============================================================================================
# Flask app
# ============================================================================================


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers or {}, mimetype="application/json")


def create_xero_sandbox(**options: Any) -> Flask:
    """Build the Xero sandbox Flask app; its state is ``app.sandbox``."""
    return XeroSandbox(**options).app


def _bool_arg(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("false", "0", "no")


def _build_app(sb: XeroSandbox) -> Flask:
    app = Flask("xero_sandbox")
    app.sandbox = sb  # type: ignore[attr-defined]

    def rate_headers() -> dict[str, str]:
        remaining = g.get("remaining") or {}
        names = {
            "day": "X-DayLimit-Remaining",
            "minute": "X-MinLimit-Remaining",
            "appminute": "X-AppMinLimit-Remaining",
        }
        return {names[k]: str(v) for k, v in remaining.items() if k in names}

    def too_many(problem_name: str, retry_after: int) -> Response:
        # API-NOTES 2.5: 429 + Retry-After + X-Rate-Limit-Problem. Values are lowercase
        # ("minute", "day", ...) as third-party reports quote them; compare case-insensitively.
        headers = {
            "Retry-After": str(retry_after),
            "X-Rate-Limit-Problem": problem_name,
            **rate_headers(),
        }
        return Response("", 429, headers, mimetype="text/plain")

    @app.errorhandler(XeroApiError)
    def on_error(exc: XeroApiError) -> Response:
        return _json(exc.body, exc.status, exc.headers)

    @app.before_request
    def gate() -> Response | None:
        path = request.path
        api = path.startswith(API_PREFIX)
        identity_api = path.lower().startswith("/connections")
        g.fault = None
        g.slot = None
        if api or identity_api:
            body: Any = request.get_data(as_text=True)
            if request.mimetype == "application/json" and body:
                with contextlib.suppress(ValueError):  # keep malformed bodies as text
                    body = json.loads(body)
            sb.requests.append(
                RecordedRequest(
                    request.method, path, request.args.to_dict(), dict(request.headers), body
                )
            )
            token, why = sb.oauth.check_bearer(request.headers.get("Authorization"))
            if token is None:
                detail = "TokenExpired: token expired" if why == "token expired" else why
                err = problem(401, "Unauthorized", detail)
                err.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                raise err
            g.token = token
        if api:
            # API-NOTES 2.1: the xero-tenant-id header is required on every accounting call.
            tenant_id = request.headers.get("xero-tenant-id")
            if not tenant_id:
                raise problem(400, "Bad Request", "xero-tenant-id header is required")
            if tenant_id not in sb.tenants or not sb.connected(g.token.grant.grant_id, tenant_id):
                raise problem(403, "Forbidden", "AuthenticationUnsuccessful")
            decision = sb.limiter.enter(
                [
                    (sb.minute_window, tenant_id),
                    (sb.day_window, tenant_id),
                    (sb.app_minute_window, "app"),
                ],
                ("concurrent", sb.concurrent_limit, tenant_id),
            )
            g.remaining = decision.remaining
            if not decision.allowed:
                assert decision.problem is not None
                return too_many(decision.problem, decision.retry_after)
            g.slot = tenant_id
        fault: Fault | None = sb.faults.take(path)
        if fault is not None:
            if fault.kind == "status":
                if fault.status == 429:
                    return too_many("minute", fault.retry_after or 1)
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                return _json(
                    {
                        "Type": None,
                        "Title": "Internal Server Error",
                        "Status": fault.status,
                        "Detail": "injected fault",
                    },
                    fault.status,
                    headers,
                )
            if fault.kind == "hang" and not fault.after_commit:
                sb.faults.sleep(fault.seconds)
            else:
                g.fault = fault
        if api and not any(m == "application/json" for m, _ in request.accept_mimetypes):
            # Xero answers XML unless Accept: application/json (recalled); our client
            # cannot parse XML, so the sandbox refuses outright.
            return Response("sandbox speaks JSON only: send Accept: application/json", 406)
        return None

    def add_rate_headers(response: Response) -> None:
        if g.get("slot") is not None:
            response.headers.update(rate_headers())

    install_fault_hooks(app, sb, before_fault=add_rate_headers)

    # -- OAuth 2 (API-NOTES 2.2; xero-identity.yaml) ------------------------------------
    @app.get("/identity/connect/authorize")
    def authorize() -> Any:
        args = request.args
        try:
            client = sb.oauth.check_redirect(args.get("client_id"), args.get("redirect_uri"))
        except OAuthError as exc:
            return _json(exc.body(), 400)  # Xero shows an error page, it never redirects here
        redirect_uri = args["redirect_uri"]
        state = args.get("state", "")
        scope = args.get("scope", "")
        error = None
        if args.get("response_type") != "code":
            error = "unsupported_response_type"
        elif not scope.strip():
            error = "invalid_scope"
        elif args.get("code_challenge") and args.get("code_challenge_method", "plain") not in (
            "S256",
            "plain",
        ):
            error = "invalid_request"
        if error:
            return redirect(add_query(redirect_uri, {"error": error, "state": state}))
        auth_event = str(uuid.uuid4())
        code = sb.oauth.issue_code(
            client,
            redirect_uri,
            scope,
            {"auth_event_id": auth_event},
            args.get("code_challenge"),
            args.get("code_challenge_method", "plain"),
        )
        return redirect(add_query(redirect_uri, {"code": code, "state": state}))

    @app.post("/connect/token")
    def token() -> Response:
        try:
            body = sb.oauth.token(request.form.to_dict(), request.headers.get("Authorization"))
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        if request.form.get("grant_type") == "authorization_code":
            # Consent connects the user's organisations to this grant (GET /connections).
            access, _ = sb.oauth.check_bearer(f"Bearer {body['access_token']}")
            assert access is not None
            sb._connect(access.grant.grant_id, access.grant.data["auth_event_id"], None)
        return _json(body, headers={"Cache-Control": "no-store"})

    @app.post("/connect/revocation")
    def revoke() -> Response:
        try:
            sb.oauth.authenticate_client(
                request.form.to_dict(), request.headers.get("Authorization")
            )
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        sb.oauth.revoke(request.form.get("token", ""))
        return Response("", 200)

    @app.get("/connections")
    @app.get("/Connections")
    def list_connections() -> Response:
        grant = g.token.grant
        event = request.args.get("authEventId")
        with sb._lock:
            rows = [
                {
                    "id": c.id,
                    "authEventId": c.auth_event_id,
                    "tenantId": c.tenant_id,
                    "tenantType": sb.tenants[c.tenant_id].tenant_type,
                    "tenantName": sb.tenants[c.tenant_id].name,
                    "createdDateUtc": datetime.fromtimestamp(c.created, UTC)
                    .replace(tzinfo=None)
                    .isoformat(timespec="microseconds"),
                    "updatedDateUtc": datetime.fromtimestamp(c.created, UTC)
                    .replace(tzinfo=None)
                    .isoformat(timespec="microseconds"),
                }
                for c in sb.connections.values()
                if c.grant_id == grant.grant_id and (event is None or c.auth_event_id == event)
            ]
        return _json(rows)

    @app.delete("/connections/<conn_id>")
    @app.delete("/Connections/<conn_id>")
    def delete_connection(conn_id: str) -> Response:
        with sb._lock:
            conn = sb.connections.get(conn_id)
            if conn is None or conn.grant_id != g.token.grant.grant_id:
                return Response("", 404)
            del sb.connections[conn_id]
        return Response("", 204)

    # -- accounting API -----------------------------------------------------------------
    def collection(name: str, write: bool) -> Collection:
        coll = COLLECTIONS.get(name.lower())
        if coll is None or (write and not coll.writable):
            raise XeroApiError(
                404,
                {"Type": "NotFoundException", "Message": f"The resource {name} is not supported"},
            )
        if sb.enforce_scopes:
            granted = g.token.grant.scopes
            ok = any(s in granted for s in coll.scopes) or (
                not write and any(f"{s}.read" in granted for s in coll.scopes)
            )
            if not ok:
                raise problem(
                    403,
                    "Forbidden",
                    "AuthorizationUnsuccessful: missing scope " + " or ".join(coll.scopes),
                )
        return coll

    @app.get(f"{API_PREFIX}Organisation")
    def get_organisation() -> Response:
        tenant = sb.tenants[request.headers["xero-tenant-id"]]
        return _json(sb.envelope("Organisations", [copy.deepcopy(tenant.organisation)]))

    @app.get(f"{API_PREFIX}<name>")
    @app.get(f"{API_PREFIX}<name>/<item_id>")
    def get_collection(name: str, item_id: str | None = None) -> Response:
        coll = collection(name, write=False)
        return _json(sb.read(sb.tenants[request.headers["xero-tenant-id"]], coll, item_id))

    @app.put(f"{API_PREFIX}CreditNotes/<credit_note_id>/Allocations")
    def allocate(credit_note_id: str) -> Response:
        collection("CreditNotes", write=True)
        tenant = sb.tenants[request.headers["xero-tenant-id"]]

        def handle() -> Response:
            try:
                body = json.loads(request.get_data())
            except ValueError as exc:
                raise XeroApiError(
                    400,
                    {
                        "ErrorNumber": 14,
                        "Type": "PostDataInvalidException",
                        "Message": f"JSON for post data was invalid: {exc}",
                    },
                ) from exc
            return _json(sb.allocate_credit_note(tenant, credit_note_id, body))

        return idempotent(tenant, handle)

    def idempotent(tenant: Tenant, handle: Callable[[], Response]) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handle()
        if len(key) > 128:
            raise validation_error(
                [
                    {
                        "ValidationErrors": [
                            {"Message": "Idempotency-Key must be at most 128 characters"}
                        ]
                    }
                ]
            )
        with sb.idempotency.claim((tenant.tenant_id, key)) as stored:
            if stored is not None:
                return Response(stored.body, stored.status, content_type=stored.content_type)
            try:
                response = handle()
            except XeroApiError as exc:
                response = _json(exc.body, exc.status, exc.headers)
            sb.idempotency.store(
                (tenant.tenant_id, key),
                StoredResponse(response.status_code, response.get_data(), response.content_type),
            )
            return response

    @app.route(f"{API_PREFIX}<name>", methods=["PUT", "POST"])
    @app.route(f"{API_PREFIX}<name>/<item_id>", methods=["POST"])
    def write_collection(name: str, item_id: str | None = None) -> Response:
        coll = collection(name, write=True)
        tenant = sb.tenants[request.headers["xero-tenant-id"]]
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handle_write(tenant, coll, item_id)
        if len(key) > 128:
            # API-NOTES 2.4: Idempotency-Key is at most 128 characters.
            raise validation_error(
                [
                    {
                        "ValidationErrors": [
                            {"Message": "Idempotency-Key must be at most 128 characters"}
                        ]
                    }
                ]
            )
        with sb.idempotency.claim((tenant.tenant_id, key)) as stored:
            if stored is not None:
                return Response(stored.body, stored.status, content_type=stored.content_type)
            try:
                response = handle_write(tenant, coll, item_id)
            except XeroApiError as exc:
                response = _json(exc.body, exc.status, exc.headers)
            sb.idempotency.store(
                (tenant.tenant_id, key),
                StoredResponse(response.status_code, response.get_data(), response.content_type),
            )
            return response

    def handle_write(tenant: Tenant, coll: Collection, item_id: str | None) -> Response:
        raw = request.get_data()
        if len(raw) > MAX_BODY_BYTES:
            return Response("Request Entity Too Large", 413)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            # Unparseable JSON is a PostDataInvalidException, ErrorNumber 14 (recalled).
            raise XeroApiError(
                400,
                {
                    "ErrorNumber": 14,
                    "Type": "PostDataInvalidException",
                    "Message": f"JSON for post data was invalid: {exc}",
                },
            ) from exc
        # API-NOTES 2.4: summarizeErrors defaults to true (whole request 400 on any error),
        # although the spec's parameter schema says default false.
        summarize = _bool_arg(request.args.get("summarizeErrors"), True)
        unitdp = int(request.args.get("unitdp", "2") or 2)
        return _json(sb.write(tenant, coll, request.method, body, item_id, summarize, unitdp))

    return app
