"""Serve a QuickBooks Online v3 stand-in: OAuth 2, entities, query, batch, faults."""

# Facts come from shared/specs/API-NOTES.md section 1 ("API-NOTES 1.x" below) and the XSDs in
# shared/specs/quickbooks/. Behaviour marked "(recalled)" is Intuit behaviour that API-NOTES
# does not document; it is modelled from memory of Intuit's docs and may differ in detail.

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

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
from .specs import (
    NAME_PARTS,
    NO_AMOUNT_LINES,
    QboProblem,
    QboSchema,
    missing,
    qbo_schema,
    required_problems,
    unsupported,
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


def _seed() -> dict[str, dict[str, dict[str, Any]]]:
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


class QboSandbox:
    """State and knobs of one QuickBooks Online sandbox; ``.app`` is the Flask app."""

    API_PREFIX = "/v3/company/"

    def __init__(
        self,
        *,
        realms: tuple[str, ...] = (DEFAULT_REALM,),
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uris: tuple[str, ...] | None = None,
        access_token_lifetime: float = 3600,
        refresh_token_lifetime: float = 100 * 86400,
        refresh_token_hard_lifetime: float = 5 * 365 * 86400,
        code_lifetime: float = 300,
        seed: bool = True,
        requests_per_minute: int = 500,
        concurrent_requests: int = 10,
        batch_requests_per_minute: int = 40,
        max_batch_items: int = 30,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.schema: QboSchema = qbo_schema()
        # API-NOTES 1.2: access 3600 s; refresh 100 days rolling, rotated on every use, hard
        # maximum 5 years reported as x_refresh_token_expires_in.
        self.oauth = OAuthServer(
            self.clock,
            [OAuthClient(client_id, client_secret, redirect_uris)],
            access_token_lifetime=access_token_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
            refresh_hard_lifetime=refresh_token_hard_lifetime,
            code_lifetime=code_lifetime,
            token_type="bearer",
            extra_token_fields=self._extra_token_fields,
        )
        self.client_id = client_id
        self.client_secret = client_secret
        self.realms = list(realms)
        #: Realm the auto-approving authorize endpoint connects (the "company picker").
        self.authorize_realm = realms[0]
        self.faults = FaultPlan(self.API_PREFIX)
        self.idempotency = IdempotencyStore()
        self.limiter = RateLimiter(self.clock)
        # API-NOTES 1.5 / 1.4: 500 req/min/realm, 10 concurrent, 40 batch req/min, 30 items.
        self.minute_window = Window("minute", requests_per_minute, 60)
        self.batch_window = Window("batch", batch_requests_per_minute, 60)
        self.concurrent_requests = concurrent_requests
        # RFC 9110 10.2.3: Retry-After is delay-seconds or an HTTP-date; a test may ask for
        # the date form (the sandbox's clock plus the delay).
        self.retry_after_as_date = False
        self.max_batch_items = max_batch_items
        self.ledgers = {realm: _seed() if seed else _empty() for realm in realms}
        self._applied: dict[str, dict[tuple[str, str], float]] = {realm: {} for realm in realms}
        self._counters: dict[str, int] = {realm: 1000 for realm in realms}
        self._doc_numbers: dict[str, int] = {realm: 1000 for realm in realms}
        #: Deleted transactions as Change Data Capture reports them: {realm: [(entity, stub)]}.
        self._deleted: dict[str, list[tuple[str, dict[str, Any]]]] = {r: [] for r in realms}
        self.requests: list[RecordedRequest] = []
        #: Books closed up to this ISO date: transactions dated on/before it are refused.
        self.closing_date: str | None = None
        self.base_url: str | None = None
        self._lock = threading.RLock()
        self.app = _build_app(self)

    # -- inspection / test helpers ------------------------------------------------------
    def entities(self, realm: str, entity: str) -> list[dict[str, Any]]:
        """Return copies of every stored ``entity`` (e.g. "Bill") in ``realm``, by Id."""
        with self._lock:
            stored = self.ledgers[realm][entity]
            return [copy.deepcopy(stored[k]) for k in sorted(stored, key=_id_key)]

    def get(self, realm: str, entity: str, entity_id: str) -> dict[str, Any] | None:
        """Return a copy of one stored entity, or None."""
        with self._lock:
            found = self.ledgers[realm][entity].get(entity_id)
            return copy.deepcopy(found) if found is not None else None

    def add(self, realm: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an entity directly (validated like an API create) and return it."""
        return self.apply(realm, entity, copy.deepcopy(body), None, None)

    def issue_tokens(self, realm: str | None = None, scope: str = ACCOUNTING_SCOPE) -> dict:
        """Return a fresh token set for ``realm`` without the browser redirect dance."""
        return self.oauth.mint(self.client_id, scope, realm_id=realm or self.realms[0])

    def expire_access_tokens(self) -> None:
        """Expire every issued access token now (the next API call gets 401)."""
        self.oauth.expire_access_tokens()

    def api_url(self, realm: str | None = None) -> str:
        """Return ``<base>/v3/company/<realm>`` for the running server."""
        if self.base_url is None:
            raise RuntimeError("sandbox is not being served; use the qbo_sandbox fixture")
        return f"{self.base_url}/v3/company/{realm or self.realms[0]}"

    def release(self) -> None:
        """Wake hanging requests and clear faults (teardown)."""
        self.faults.clear()
        self.faults.release()

    def _extra_token_fields(self, grant: Any, refresh: Any) -> dict[str, Any]:
        if refresh is None:
            return {}
        return {"x_refresh_token_expires_in": round(refresh.expires_at - self.clock.now())}

    def now_iso(self) -> str:
        """Return the sandbox time as ISO 8601 with offset (QBO ``time``/MetaData style)."""
        return self.clock.utcnow().isoformat(timespec="milliseconds")

    # -- the ledger engine --------------------------------------------------------------
    def apply(
        self,
        realm: str,
        name: str,
        body: Any,
        operation: str | None,
        visible: set[tuple[str, str]] | None,
    ) -> dict[str, Any]:
        """Validate and execute create / update / delete; raise ``QboFault`` on failure."""
        if not isinstance(body, dict):
            raise QboFault([unsupported(name, "request body must be a JSON object")])
        problems = self.schema.validate(name, body)
        if problems:
            raise QboFault(problems)
        with self._lock:
            if operation == "delete":
                return self._delete(realm, name, body)
            if operation == "void":
                return self._void(realm, name, body)
            if operation not in (None, "update", "create"):
                raise QboFault([unsupported("operation", f"operation={operation} not supported")])
            if "Id" in body and operation != "create":
                return self._update(realm, name, body, visible)
            return self._create(realm, name, body, visible)

    def _create(
        self, realm: str, name: str, body: dict[str, Any], visible: set[tuple[str, str]] | None
    ) -> dict[str, Any]:
        problems = required_problems(name, body)
        if not problems:
            problems = self._reference_problems(realm, body, visible)
            problems += self._business_problems(realm, name, body, None)
        if problems:
            raise QboFault(problems)
        entity = copy.deepcopy(body)
        for server_field in ("Id", "SyncToken", "MetaData"):
            entity.pop(server_field, None)
        self._counters[realm] += 1
        entity["Id"] = str(self._counters[realm])
        entity["SyncToken"] = "0"
        created = self.now_iso()
        entity["MetaData"] = {"CreateTime": created, "LastUpdatedTime": created}
        self._derive(realm, name, entity)
        self.ledgers[realm][name][entity["Id"]] = entity
        self._apply_payment(realm, name, entity, sign=1)
        return copy.deepcopy(entity)

    def _update(
        self, realm: str, name: str, body: dict[str, Any], visible: set[tuple[str, str]] | None
    ) -> dict[str, Any]:
        existing = self._existing(realm, name, body)
        merged = {**existing, **body} if body.get("sparse") is True else copy.deepcopy(body)
        merged.pop("sparse", None)
        problems = required_problems(name, merged)
        if not problems:
            problems = self._reference_problems(realm, merged, visible)
            problems += self._business_problems(realm, name, merged, existing["Id"])
        if problems:
            raise QboFault(problems)
        self._apply_payment(realm, name, existing, sign=-1)
        merged["SyncToken"] = str(int(existing["SyncToken"]) + 1)
        merged["MetaData"] = {
            "CreateTime": existing["MetaData"]["CreateTime"],
            "LastUpdatedTime": self.now_iso(),
        }
        self._derive(realm, name, merged)
        self.ledgers[realm][name][merged["Id"]] = merged
        self._apply_payment(realm, name, merged, sign=1)
        return copy.deepcopy(merged)

    def _delete(self, realm: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if name not in TRANSACTIONS:
            # Name-list entities are made inactive (Active=false), never deleted (recalled).
            raise QboFault([unsupported("operation", f"delete is not supported for {name}")])
        existing = self._existing(realm, name, body)
        self._apply_payment(realm, name, existing, sign=-1)
        del self.ledgers[realm][name][existing["Id"]]
        stub = {"domain": "QBO", "status": "Deleted", "Id": existing["Id"]}
        # IntuitBaseTypes.xsd EntityStatusEnum "Deleted": deleted but not yet purged; CDC
        # returns it with its Id and the time of the delete only.
        self._deleted[realm].append(
            (name, {**stub, "MetaData": {"LastUpdatedTime": self.now_iso()}})
        )
        return stub

    def _void(self, realm: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /invoice?operation=void`` with Id + SyncToken: keep it, zero every amount.

        Intuit's invoice reference ("Void an invoice"): the transaction stays, all amounts and
        quantities become zero and "Voided" is put before the PrivateNote. An invoice with a
        payment applied is refused until the payment is removed (recalled; code 6000).
        """
        if name != "Invoice":
            raise QboFault([unsupported("operation", f"void is not supported for {name}")])
        existing = self._existing(realm, name, body)
        paid = self._applied[realm].get((name, existing["Id"]), 0.0)
        if paid > 0.005:
            raise QboFault(
                [
                    QboProblem(
                        "6000",
                        "A business validation error has occurred while processing your request",
                        f"Business Validation Error: payments of {paid:.2f} are applied to "
                        "this invoice; delete or unapply them before voiding it.",
                        "Invoice.Id",
                    )
                ]
            )
        voided = copy.deepcopy(existing)
        for line in voided.get("Line") or []:
            line["Amount"] = 0
            detail = line.get("SalesItemLineDetail")
            if isinstance(detail, dict):
                detail["Qty"] = 0
                detail["UnitPrice"] = 0
        if isinstance(voided.get("TxnTaxDetail"), dict):
            voided["TxnTaxDetail"]["TotalTax"] = 0
        note = str(existing.get("PrivateNote") or "")
        if not note.startswith("Voided"):
            voided["PrivateNote"] = f"Voided - {note}" if note else "Voided"
        voided["TotalAmt"] = 0
        voided["Balance"] = 0
        voided["SyncToken"] = str(int(existing["SyncToken"]) + 1)
        voided["MetaData"] = {**existing["MetaData"], "LastUpdatedTime": self.now_iso()}
        self.ledgers[realm][name][existing["Id"]] = voided
        return copy.deepcopy(voided)

    def _existing(self, realm: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        existing = self.ledgers[realm][name].get(str(body.get("Id")))
        if existing is None:
            # API-NOTES 1.6: 610 Object Not Found.
            raise QboFault(
                [QboProblem("610", "Object Not Found", f"Object Not Found : {name} {body['Id']}")]
            )
        if "SyncToken" not in body:
            raise QboFault([missing(f"{name}.SyncToken")])
        if str(body["SyncToken"]) != existing["SyncToken"]:
            # API-NOTES 1.4: a stale SyncToken fails with 5010 "Stale Object Error".
            raise QboFault(
                [
                    QboProblem(
                        "5010",
                        "Stale Object Error",
                        "Stale Object Error : You and another user were working on this at the "
                        f"same time. SyncToken {body['SyncToken']} is not the current "
                        f"{existing['SyncToken']}.",
                        f"{name}.SyncToken",
                    )
                ]
            )
        return existing

    def _reference_problems(
        self, realm: str, body: dict[str, Any], visible: set[tuple[str, str]] | None
    ) -> list[QboProblem]:
        ledger = self.ledgers[realm]
        problems: list[QboProblem] = []

        def exists(entity: str, entity_id: str) -> bool:
            # API-NOTES 1.4: items of one batch cannot see each other's results.
            if visible is not None and (entity, entity_id) not in visible:
                return False
            found = ledger[entity].get(entity_id)
            return found is not None and found.get("Active", True) is not False

        def walk(node: Any, path: str) -> None:
            if isinstance(node, list):
                for i, item in enumerate(node):
                    walk(item, f"{path}[{i}]")
                return
            if not isinstance(node, dict):
                return
            for key, value in node.items():
                sub = f"{path}.{key}"
                target = REF_TARGETS.get(key)
                if target and isinstance(value, dict) and "value" in value:
                    if not exists(target, str(value["value"])):
                        problems.append(
                            QboProblem(
                                "2500",
                                "Invalid Reference Id",
                                f"Invalid Reference Id : {target} {value['value']} does not exist",
                                sub,
                            )
                        )
                elif key == "LinkedTxn" and isinstance(value, list):
                    for i, link in enumerate(value):
                        kind = link.get("TxnType") if isinstance(link, dict) else None
                        if kind in LINKABLE and not exists(kind, str(link.get("TxnId"))):
                            problems.append(
                                QboProblem(
                                    "2500",
                                    "Invalid Reference Id",
                                    f"Invalid Reference Id : {kind} {link.get('TxnId')} "
                                    "does not exist",
                                    f"{sub}[{i}]",
                                )
                            )
                else:
                    walk(value, sub)

        walk(body, "")
        return problems

    def _business_problems(
        self, realm: str, name: str, body: dict[str, Any], own_id: str | None
    ) -> list[QboProblem]:
        ledger = self.ledgers[realm]
        problems: list[QboProblem] = []

        def duplicate(kinds: tuple[str, ...], key: str, value: str) -> str | None:
            # Names are unique case-insensitively (guess: matches the QBO UI's behaviour).
            for kind in kinds:
                for other in ledger[kind].values():
                    same = str(other.get(key, "")).casefold() == value.casefold()
                    if same and not (kind == name and other["Id"] == own_id):
                        return other["Id"]
            return None

        if name in ("Customer", "Vendor"):
            display = body.get("DisplayName") or _display_name(body)
            # DisplayName is unique across customers, vendors and employees (recalled, 6240).
            clash = duplicate(("Customer", "Vendor"), "DisplayName", display)
            if clash:
                problems.append(_duplicate_name(clash))
        elif name in ("Item", "Account"):
            clash = duplicate((name,), "Name", str(body.get("Name", "")))
            if clash:
                problems.append(_duplicate_name(clash))
        for i, line in enumerate(body.get("Line") or []):
            detail = line.get("SalesItemLineDetail") or line.get("ItemBasedExpenseLineDetail")
            if not detail or "Qty" not in detail or "UnitPrice" not in detail:
                continue
            expected = detail["Qty"] * detail["UnitPrice"]
            if "Amount" in line and abs(expected - line["Amount"]) > 0.005:
                # Intuit rejects lines whose Amount != Qty * UnitPrice, code 6070 (recalled).
                problems.append(
                    QboProblem(
                        "6070",
                        "Amount is not equal to UnitPrice * Qty",
                        f"Amount is not equal to UnitPrice * Qty. Supplied value:{line['Amount']}",
                        f"{name}.Line[{i}].Amount",
                    )
                )
        for element, limit in (("DocNumber", 21), ("PONumber", 15)):
            # Finance.xsd "ValidRange: QBO: max=21" / "max=15"; API-NOTES 1.6: 2050 string length.
            value = body.get(element)
            if isinstance(value, str) and len(value) > limit:
                problems.append(
                    QboProblem(
                        "2050",
                        "String length is either shorter or longer than supported by specification",
                        f"{element} is {len(value)} characters; the maximum is {limit}",
                        f"{name}.{element}",
                    )
                )
        if name in ("Payment", "BillPayment"):
            problems += self._payment_problems(realm, name, body)
        txn_date = str(body.get("TxnDate") or self.clock.utcnow().date().isoformat())
        if name in TRANSACTIONS and self.closing_date and txn_date <= self.closing_date:
            # Closed books refuse the transaction, code 6210 (recalled, not in API-NOTES).
            problems.append(
                QboProblem(
                    "6210",
                    "Account Period Closed, cannot update through Services API",
                    f"The account period has closed and the books are locked ({txn_date} is on "
                    f"or before the closing date {self.closing_date}).",
                    f"{name}.TxnDate",
                )
            )
        return problems

    def _payment_problems(self, realm: str, name: str, body: dict[str, Any]) -> list[QboProblem]:
        problems = []
        applied = 0.0
        for i, line in enumerate(body.get("Line") or []):
            applied += line.get("Amount", 0)
            for link in line.get("LinkedTxn") or []:
                target = self.ledgers[realm].get(link.get("TxnType", ""), {}).get(link.get("TxnId"))
                if target is not None and line.get("Amount", 0) > target.get("Balance", 0) + 0.005:
                    problems.append(
                        QboProblem(
                            "6000",
                            "A business validation error has occurred while processing your "
                            "request",
                            f"Business Validation Error: payment {line['Amount']} exceeds the "
                            f"open balance {target.get('Balance')}",
                            f"{name}.Line[{i}].Amount",
                        )
                    )
        if applied > body.get("TotalAmt", 0) + 0.005:
            problems.append(
                QboProblem(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: applied amount exceeds TotalAmt",
                    f"{name}.TotalAmt",
                )
            )
        return problems

    def _derive(self, realm: str, name: str, entity: dict[str, Any]) -> None:
        """Fill the fields QBO computes or defaults on save."""
        entity["domain"] = "QBO"
        entity["sparse"] = False
        today = self.clock.utcnow().date().isoformat()
        if name in TRANSACTIONS:
            entity.setdefault("TxnDate", today)
            entity.setdefault("CurrencyRef", {"value": "USD", "name": "United States Dollar"})
            for n, line in enumerate(entity.get("Line") or [], start=1):
                line.setdefault("Id", str(n))
                if name not in ("Payment", "BillPayment"):
                    line.setdefault("LineNum", n)
        if name in ("Bill", "Invoice", "PurchaseOrder"):
            total = 0.0
            for line in entity.get("Line") or []:
                if line.get("DetailType") in NO_AMOUNT_LINES:
                    continue
                amount = line.get("Amount", 0)
                total += -amount if line.get("DetailType") == "DiscountLineDetail" else amount
            # TotalAmt is the lines plus the transaction's tax (Finance.xsd TxnTaxDetail.TotalTax,
            # "total tax calculated for the transaction"); tax is never part of a line Amount.
            total += float((entity.get("TxnTaxDetail") or {}).get("TotalTax") or 0)
            entity["TotalAmt"] = round(total, 2)
            if name == "PurchaseOrder":
                entity.setdefault("POStatus", "Open")
            else:
                paid = self._applied[realm].get((name, entity["Id"]), 0.0)
                entity["Balance"] = round(total - paid, 2)
        if name == "Bill":
            entity.setdefault("DueDate", entity["TxnDate"])
            entity.setdefault("APAccountRef", {"value": "33", "name": "Accounts Payable (A/P)"})
        if name in ("Invoice", "PurchaseOrder") and "DocNumber" not in entity:
            # QBO numbers sales forms and POs itself unless custom numbering is on (recalled).
            self._doc_numbers[realm] += 1
            entity["DocNumber"] = str(self._doc_numbers[realm])
        if name in ("Payment", "BillPayment"):
            applied = sum(line.get("Amount", 0) for line in entity.get("Line") or [])
            if name == "Payment":
                entity["UnappliedAmt"] = round(entity.get("TotalAmt", 0) - applied, 2)
        if name in ("Customer", "Vendor"):
            entity.setdefault("DisplayName", _display_name(entity))
            entity.setdefault("PrintOnCheckName", entity["DisplayName"])
            entity.setdefault("Active", True)
            entity.setdefault("Balance", 0)
            if name == "Customer":
                entity["FullyQualifiedName"] = entity["DisplayName"]
        if name in ("Item", "Account"):
            entity.setdefault("Active", True)
            entity["FullyQualifiedName"] = entity["Name"]
        if name == "Account":
            entity.setdefault("SubAccount", False)
            entity.setdefault("CurrentBalance", 0)
            if entity.get("AccountType") in ACCOUNT_CLASSIFICATION:
                entity["Classification"] = ACCOUNT_CLASSIFICATION[entity["AccountType"]]

    def _apply_payment(self, realm: str, name: str, entity: dict[str, Any], sign: int) -> None:
        """Move linked invoice/bill balances when a payment is saved (+1) or removed (-1)."""
        if name not in ("Payment", "BillPayment"):
            return
        for line in entity.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                key = (link.get("TxnType", ""), str(link.get("TxnId")))
                target = self.ledgers[realm].get(key[0], {}).get(key[1])
                if target is None:
                    continue
                paid = self._applied[realm].get(key, 0.0) + sign * line.get("Amount", 0)
                self._applied[realm][key] = paid
                target["Balance"] = round(target.get("TotalAmt", 0) - paid, 2)

    def delete(
        self, realm: str, entity: str, entity_id: str, *, days_ago: float = 0
    ) -> dict[str, Any]:
        """Delete a transaction as a user would in QuickBooks (``operation=delete``).

        ``days_ago`` dates the deletion in the past (what CDC reports as its time), for
        tests of deletions older than the 30 days CDC looks back.
        """
        found = self.get(realm, entity, entity_id)
        if found is None:
            raise KeyError(entity_id)
        body = {"Id": entity_id, "SyncToken": found["SyncToken"]}
        stub = self.apply(realm, entity, body, "delete", None)
        if days_ago:
            when = self.clock.utcnow() - timedelta(days=days_ago)
            with self._lock:
                _kind, logged = self._deleted[realm][-1]
                logged["MetaData"]["LastUpdatedTime"] = when.isoformat(timespec="milliseconds")
        return stub

    # -- change data capture ------------------------------------------------------------
    def cdc(self, realm: str, entities: str, changed_since: str) -> dict[str, Any]:
        """Answer ``GET /cdc?entities=..&changedSince=..`` (IntuitRestServiceDef.xsd CDCQuery).

        One ``QueryResponse`` per entity asked for, holding what was created, updated or
        deleted after ``changedSince`` (deleted ones as ``status: Deleted`` stubs). Intuit's
        CDC page: "CDC operations can track changes within the last 30 days" and "Server
        responses can handle a maximum of 1,000 objects" — one cap for the whole answer, over
        every entity asked for; what is over it is left out, the oldest changes kept
        (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture).
        """
        names = [n.strip() for n in (entities or "").split(",") if n.strip()]
        if not names:
            raise QboFault([missing("entities")])
        unknown = [n for n in names if n not in self.schema.entities]
        if unknown:
            raise QboFault([unsupported("entities", f"unknown entity {unknown[0]}")])
        if not changed_since:
            raise QboFault([missing("changedSince")])
        try:
            since = datetime.fromisoformat(changed_since)
        except ValueError:
            raise QboFault([unsupported("changedSince", "not an ISO 8601 date-time")]) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if since < self.clock.utcnow() - timedelta(days=30):
            raise QboFault(
                [unsupported("changedSince", "changedSince must be within the last 30 days")]
            )

        def changed(row: dict[str, Any]) -> bool:
            stamp = datetime.fromisoformat(row["MetaData"]["LastUpdatedTime"])
            return stamp >= since

        with self._lock:
            rows = [
                (name, copy.deepcopy(e))
                for name in names
                for e in self.ledgers[realm].get(name, {}).values()
            ]
            rows += [(kind, copy.deepcopy(stub)) for kind, stub in self._deleted[realm]]
        kept = sorted(
            ((n, r) for n, r in rows if n in names and "MetaData" in r and changed(r)),
            key=lambda pair: pair[1]["MetaData"]["LastUpdatedTime"],
        )[:CDC_MAX_OBJECTS]
        responses = []
        for name in names:
            found = [r for n, r in kept if n == name]
            block = {name: found, "startPosition": 1, "maxResults": len(found)} if found else {}
            responses.append({"QueryResponse": [block]})
        return {"CDCResponse": responses, "time": self.now_iso()}

    # -- query --------------------------------------------------------------------------
    def query(self, realm: str, text: str) -> dict[str, Any]:
        """Run a QBO query statement; return the ``QueryResponse`` object."""
        parsed = parse_query(text, self.schema.entities)
        with self._lock:
            rows = [copy.deepcopy(e) for e in self.ledgers[realm].get(parsed.entity, {}).values()]
        rows = [row for row in rows if all(cond(row) for cond in parsed.conditions)]
        if parsed.count:
            return {"totalCount": len(rows)}
        rows.sort(key=lambda r: _id_key(r.get("Id", "")))
        for field_name, descending in reversed(parsed.order):
            rows.sort(key=lambda r, f=field_name: _sort_key(_lookup(r, f)), reverse=descending)
        page = rows[parsed.start - 1 : parsed.start - 1 + parsed.max_results]
        if parsed.fields is not None:
            page = [
                {"domain": "QBO", "sparse": True, **{f: r[f] for f in parsed.fields if f in r}}
                for r in page
            ]
        if not page:
            return {}  # QBO answers an empty QueryResponse object when nothing matches
        return {parsed.entity: page, "startPosition": parsed.start, "maxResults": len(page)}


def _empty() -> dict[str, dict[str, dict[str, Any]]]:
    return {name: {} for name in ENTITY_PATHS.values()}


def _id_key(entity_id: str) -> tuple[int, str]:
    return (int(entity_id), "") if str(entity_id).isdigit() else (1 << 62, str(entity_id))


def _display_name(body: dict[str, Any]) -> str:
    return " ".join(str(body[p]) for p in NAME_PARTS if body.get(p))


def _duplicate_name(existing_id: str) -> QboProblem:
    return QboProblem(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Id={existing_id}",
        "Name",
    )


# ============================================================================================
# Query language subset: select */count(*)/fields from X [where a = 'b' and ...]
#   [orderby f [asc|desc], ...] [startposition n] [maxresults n]
# ============================================================================================

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<word>[\w.]+)|(?P<bad>\S))"
)


class QueryError(Exception):
    """A statement the sandbox (and QBO's parser) does not accept."""


@dataclass
class ParsedQuery:
    """A parsed select statement."""

    entity: str
    fields: list[str] | None
    count: bool
    conditions: list[Callable[[dict[str, Any]], bool]]
    order: list[tuple[str, bool]]
    start: int
    max_results: int


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            break
        kind = match.lastgroup or "bad"
        if kind == "bad":
            raise QueryError(f"unexpected character {match.group(kind)!r}")
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse_query(text: str, entities: list[str]) -> ParsedQuery:
    """Parse the subset of QBO's query language that look-ups need."""
    toks = _tokens(text)
    pos = 0

    def peek(offset: int = 0) -> tuple[str, str]:
        return toks[pos + offset] if pos + offset < len(toks) else ("eof", "")

    def take(kind: str | None = None, word: str | None = None) -> str:
        nonlocal pos
        tok_kind, value = peek()
        if (kind and tok_kind != kind) or (word and value.lower() != word):
            raise QueryError(f"expected {word or kind}, found {value or 'end of statement'!r}")
        pos += 1
        return value

    take("word", "select")
    fields: list[str] | None = None
    count = False
    if peek() == ("punct", "*"):
        take()
    elif peek()[1].lower() == "count" and peek(1) == ("punct", "("):
        take(), take(), take("punct"), take("punct")
        count = True
    else:
        fields = [take("word")]
        while peek() == ("punct", ","):
            take()
            fields.append(take("word"))
    take("word", "from")
    raw_entity = take("word")
    lookup = {e.lower(): e for e in entities}
    entity = lookup.get(raw_entity.lower())
    if entity is None:
        raise QueryError(f"unknown entity {raw_entity}")
    conditions: list[Callable[[dict[str, Any]], bool]] = []
    order: list[tuple[str, bool]] = []
    start, max_results = 1, 100  # QBO defaults: STARTPOSITION 1, MAXRESULTS 100 (recalled)
    if peek()[1].lower() == "where":
        take()
        conditions.append(_condition(take, peek))
        while peek()[1].lower() == "and":
            take()
            conditions.append(_condition(take, peek))
        if peek()[1].lower() == "or":
            raise QueryError("OR is not supported by the QBO query language")
    if peek()[1].lower() == "orderby" or (
        peek()[1].lower() == "order" and peek(1)[1].lower() == "by"
    ):
        if take("word").lower() == "order":
            take("word", "by")
        while True:
            field_name = take("word")
            descending = False
            if peek()[1].lower() in ("asc", "desc"):
                descending = take("word").lower() == "desc"
            order.append((field_name, descending))
            if peek() != ("punct", ","):
                break
            take()
    if peek()[1].lower() == "startposition":
        take()
        start = _positive(take("word"))
    if peek()[1].lower() == "maxresults":
        take()
        # API-NOTES 1.1: at most 1000 rows per query (unverified there); larger is clamped.
        max_results = min(_positive(take("word")), 1000)
    if peek()[0] != "eof":
        raise QueryError(f"unexpected {peek()[1]!r}")
    return ParsedQuery(entity, fields, count, conditions, order, start, max_results)


def _positive(word: str) -> int:
    if not word.isdigit() or int(word) < 1:
        raise QueryError(f"expected a positive integer, found {word!r}")
    return int(word)


def _literal(take: Callable[..., str], peek: Callable[..., tuple[str, str]]) -> Any:
    kind, value = peek()
    if kind == "str":
        take()
        # QBO escapes a single quote inside a literal with a backslash: 'Bob\'s'.
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if kind == "word":
        take()
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        try:
            return float(value)
        except ValueError as exc:
            raise QueryError(f"expected a literal, found {value!r}") from exc
    raise QueryError(f"expected a literal, found {value or 'end of statement'!r}")


def _condition(
    take: Callable[..., str], peek: Callable[..., tuple[str, str]]
) -> Callable[[dict[str, Any]], bool]:
    field_name = take("word")
    kind, op = peek()
    if kind == "op":
        take()
        literal = _literal(take, peek)
        return lambda row: _compare(_lookup(row, field_name), op, literal)
    if op.lower() == "in":
        take()
        take("punct")
        values = [_literal(take, peek)]
        while peek() == ("punct", ","):
            take()
            values.append(_literal(take, peek))
        if take("punct") != ")":
            raise QueryError("expected )")
        return lambda row: any(_compare(_lookup(row, field_name), "=", v) for v in values)
    if op.lower() == "like":
        take()
        pattern = _literal(take, peek)
        regex = re.compile(
            "^" + ".*".join(re.escape(part) for part in str(pattern).split("%")) + "$",
            re.IGNORECASE | re.DOTALL,
        )
        return lambda row: regex.match(str(_lookup(row, field_name) or "")) is not None
    raise QueryError(f"expected an operator after {field_name}, found {op!r}")


def _lookup(row: dict[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        match = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(match) if match else None
    if isinstance(value, dict) and "value" in value:
        return value["value"]  # "CustomerRef = '1'" compares the reference id
    return value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return op == "!=" and expected is not None
    if isinstance(expected, bool) or isinstance(actual, bool):
        left, right = actual, expected
    elif isinstance(expected, float) or isinstance(actual, int | float):
        try:
            left, right = float(actual), float(expected)
        except (TypeError, ValueError):
            left, right = str(actual).casefold(), str(expected).casefold()
    else:
        left, right = str(actual).casefold(), str(expected).casefold()
    try:
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[op]
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value or "").casefold())


# ============================================================================================
# Flask app
# ============================================================================================


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers or {}, mimetype="application/json")


def create_qbo_sandbox(**options: Any) -> Flask:
    """Build the QuickBooks Online sandbox Flask app; its state is ``app.sandbox``."""
    return QboSandbox(**options).app


def _build_app(sb: QboSandbox) -> Flask:
    app = Flask("qbo_sandbox")
    app.sandbox = sb  # type: ignore[attr-defined]

    def fault_response(fault: QboFault, headers: dict[str, str] | None = None) -> Response:
        return _json({"Fault": fault.body(), "time": sb.now_iso()}, fault.status, headers)

    def gateway_fault(status: int, retry_after: int | None = None) -> Response:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = (
                format_datetime(sb.clock.utcnow() + timedelta(seconds=retry_after), usegmt=True)
                if sb.retry_after_as_date
                else str(retry_after)
            )
        if status == 429:
            # API-NOTES 1.5: throttling is HTTP 429, ThrottleExceeded, errorCode 003001.
            problem = QboProblem(
                "003001",
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "The request limit was reached.",
            )
        else:
            problem = QboProblem(
                "10000",
                "An application error has occurred while processing your request",
                f"System Failure Error: injected HTTP {status}",
            )
        return fault_response(QboFault([problem], status, "SystemFault"), headers)

    @app.before_request
    def gate() -> Response | None:
        path = request.path
        api = path.startswith(sb.API_PREFIX)
        realm = path[len(sb.API_PREFIX) :].split("/", 1)[0] if api else None
        g.fault = None
        g.slot = None
        if api:
            body: Any = request.get_data(as_text=True)
            if request.mimetype == "application/json":
                with contextlib.suppress(ValueError):  # keep malformed bodies as text
                    body = json.loads(body) if body else None
            sb.requests.append(
                RecordedRequest(
                    request.method, path, request.args.to_dict(), dict(request.headers), body
                )
            )
            windows = [(sb.minute_window, realm)]
            if path.endswith("/batch"):
                windows.append((sb.batch_window, realm))
            decision = sb.limiter.enter(windows, ("concurrent", sb.concurrent_requests, realm))
            if not decision.allowed:
                return gateway_fault(429, decision.retry_after)
            g.slot = realm
        fault: Fault | None = sb.faults.take(path)
        if fault is not None:
            if fault.kind == "status":
                return gateway_fault(fault.status, fault.retry_after)
            if fault.kind == "hang" and not fault.after_commit:
                sb.faults.sleep(fault.seconds)
            else:
                g.fault = fault
        if not api:
            return None
        token, why = sb.oauth.check_bearer(request.headers.get("Authorization"))
        if token is None:
            # API-NOTES 1.6: 401 means the access token expired -> refresh and retry once.
            problem = QboProblem(
                "3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", why
            )
            return fault_response(
                QboFault([problem], 401, "AuthenticationFault"),
                {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
            )
        if token.grant.data.get("realm_id") != realm or ACCOUNTING_SCOPE not in token.grant.scopes:
            problem = QboProblem(
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                f"token is not authorized for realm {realm}",
            )
            # FaultTypeEnum in IntuitRestServiceDef.xsd spells it "AuthorizatonFault" [sic].
            return fault_response(QboFault([problem], 403, "AuthorizatonFault"))
        if not any(mime == "application/json" for mime, _ in request.accept_mimetypes):
            # API-NOTES 1.2 lists "Accept: application/json"; without it QBO answers XML
            # (recalled), which our client cannot parse, so the sandbox refuses outright.
            return Response("sandbox speaks JSON only: send Accept: application/json", 406)
        minor = request.args.get("minorversion")
        if minor is not None and not minor.isdigit():
            return fault_response(QboFault([unsupported("minorversion", f"{minor!r}")]))
        return None

    install_fault_hooks(app, sb)

    # -- OAuth 2 (API-NOTES 1.2) --------------------------------------------------------
    @app.get("/.well-known/openid_configuration")
    def discovery() -> Response:
        base = request.host_url.rstrip("/")
        return _json(
            {
                "issuer": f"{base}/op/v1",
                "authorization_endpoint": f"{base}/connect/oauth2",
                "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
                "response_types_supported": ["code"],
                "scopes_supported": [ACCOUNTING_SCOPE, "openid", "profile", "email"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    @app.get("/connect/oauth2")
    def authorize() -> Any:
        args = request.args
        try:
            client = sb.oauth.check_redirect(args.get("client_id"), args.get("redirect_uri"))
        except OAuthError as exc:
            return _json(exc.body(), 400)
        redirect_uri = args["redirect_uri"]
        state = args.get("state")
        error = None
        if args.get("response_type") != "code":
            error = "unsupported_response_type"
        elif ACCOUNTING_SCOPE not in args.get("scope", "").split():
            error = "invalid_scope"
        elif not state:
            error = "invalid_request"  # Intuit requires state for CSRF protection (recalled)
        if error:
            return redirect(add_query(redirect_uri, {"error": error, "state": state or ""}))
        code = sb.oauth.issue_code(
            client, redirect_uri, args["scope"], {"realm_id": sb.authorize_realm}
        )
        # API-NOTES 1.2: the callback carries code, state and realmId.
        return redirect(
            add_query(redirect_uri, {"code": code, "state": state, "realmId": sb.authorize_realm})
        )

    @app.post("/oauth2/v1/tokens/bearer")
    def token() -> Response:
        try:
            body = sb.oauth.token(request.form.to_dict(), request.headers.get("Authorization"))
        except OAuthError as exc:
            headers = {"WWW-Authenticate": "Basic"} if exc.status == 401 else {}
            return _json(exc.body(), exc.status, headers)
        return _json(body, headers={"Cache-Control": "no-store"})

    @app.post("/v2/oauth2/tokens/revoke")
    def revoke() -> Response:
        try:
            sb.oauth.authenticate_client({}, request.headers.get("Authorization"))
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        data = request.get_json(silent=True) or request.form.to_dict()
        if not data.get("token"):
            return _json({"error": "invalid_request"}, 400)
        sb.oauth.revoke(data["token"])
        return Response("", 200)

    # -- API ----------------------------------------------------------------------------
    def idempotent(realm: str, batch: bool, handler: Callable[[], Response]) -> Response:
        request_id = request.args.get("requestid")
        if request_id is None:
            return handler()
        # API-NOTES 1.4: requestid <= 50 chars (<= 36 on batch).
        limit = 36 if batch else 50
        if len(request_id) > limit:
            return fault_response(
                QboFault([unsupported("requestid", f"longer than {limit} characters")])
            )
        with sb.idempotency.claim((realm, request_id)) as stored:
            if stored is not None:
                return Response(stored.body, stored.status, content_type=stored.content_type)
            response = handler()
            sb.idempotency.store(
                (realm, request_id),
                StoredResponse(response.status_code, response.get_data(), response.content_type),
            )
            return response

    def json_body() -> Any:
        if request.mimetype != "application/json":
            raise QboFault(
                [unsupported("Content-Type", "send Content-Type: application/json")], 415
            )
        try:
            return json.loads(request.get_data(as_text=True))
        except ValueError as exc:
            raise QboFault([unsupported("body", f"malformed JSON: {exc}")]) from exc

    @app.post("/v3/company/<realm>/<entity_path>")
    def post_entity(realm: str, entity_path: str) -> Response:
        name = ENTITY_PATHS.get(entity_path)
        if name is None or name not in WRITABLE:
            return fault_response(
                QboFault([unsupported(entity_path, "unknown entity path (paths are lowercase)")])
            )

        def handle() -> Response:
            try:
                result = sb.apply(realm, name, json_body(), request.args.get("operation"), None)
            except QboFault as fault:
                return fault_response(fault)
            return _json({name: result, "time": sb.now_iso()})

        return idempotent(realm, False, handle)

    @app.get("/v3/company/<realm>/<entity_path>/<entity_id>")
    def read_entity(realm: str, entity_path: str, entity_id: str) -> Response:
        name = ENTITY_PATHS.get(entity_path)
        if name == "CompanyInfo":
            info = {
                "Id": "1",
                "SyncToken": "0",
                "CompanyName": f"Sandbox Company {realm}",
                "Country": "US",
                "domain": "QBO",
                "sparse": False,
            }
            return _json({"CompanyInfo": info, "time": sb.now_iso()})
        found = sb.get(realm, name, entity_id) if name else None
        if found is None:
            return fault_response(
                QboFault(
                    [
                        QboProblem(
                            "610",
                            "Object Not Found",
                            f"Object Not Found : {entity_path} {entity_id}",
                        )
                    ]
                )
            )
        return _json({name: found, "time": sb.now_iso()})

    @app.route("/v3/company/<realm>/query", methods=["GET", "POST"])
    def query(realm: str) -> Response:
        text = request.args.get("query")
        if request.method == "POST" and text is None:
            text = request.get_data(as_text=True)  # Content-Type: application/text
        try:
            result = sb.query(realm, text or "")
        except QueryError as exc:
            problem = QboProblem("4000", "Error parsing query", f"QueryParserError: {exc}")
            return fault_response(QboFault([problem]))
        return _json({"QueryResponse": result, "time": sb.now_iso()})

    @app.get("/v3/company/<realm>/cdc")
    def cdc(realm: str) -> Response:
        try:
            result = sb.cdc(
                realm, request.args.get("entities", ""), request.args.get("changedSince", "")
            )
        except QboFault as fault:
            return fault_response(fault)
        return _json(result)

    @app.post("/v3/company/<realm>/batch")
    def batch(realm: str) -> Response:
        return idempotent(realm, True, lambda: run_batch(realm))

    def run_batch(realm: str) -> Response:
        try:
            body = json_body()
        except QboFault as fault:
            return fault_response(fault)
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        problems = (
            [unsupported(k, "unrecognized field") for k in (body or {}) if k != "BatchItemRequest"]
            if isinstance(body, dict)
            else []
        )
        if not isinstance(items, list) or not items:
            problems.append(missing("BatchItemRequest"))
        elif len(items) > sb.max_batch_items:
            # API-NOTES 1.4: max 30 payloads per batch (error code is a guess).
            problems.append(
                unsupported(
                    "BatchItemRequest",
                    f"{len(items)} items; at most {sb.max_batch_items} are allowed per batch",
                )
            )
        else:
            ids = [item.get("bId") if isinstance(item, dict) else None for item in items]
            if any(not isinstance(b, str) or not b for b in ids) or len(set(ids)) != len(ids):
                problems.append(unsupported("bId", "every item needs a unique string bId"))
            elif "requestid" in request.args and any(len(b) > 10 for b in ids):
                problems.append(unsupported("bId", "at most 10 characters with requestid"))
        if problems:
            return fault_response(QboFault(problems))
        with sb._lock:
            visible = {(kind, eid) for kind, rows in sb.ledgers[realm].items() for eid in rows}
        responses = [batch_item(realm, item, visible) for item in items]
        return _json({"BatchItemResponse": responses, "time": sb.now_iso()})

    def batch_item(realm: str, item: Any, visible: set[tuple[str, str]]) -> dict[str, Any]:
        bid = item.get("bId")
        names = [k for k in item if k in sb.schema.entities]
        envelope = {k: v for k, v in item.items() if k not in names}
        try:
            problems = sb.schema.validate("BatchItemRequest", envelope, "BatchItemRequest")
            if problems:
                raise QboFault(problems)
            if "Query" in item:
                return {"bId": bid, "QueryResponse": sb.query(realm, item["Query"])}
            if len(names) != 1:
                raise QboFault([missing("BatchItemRequest.<Entity>")])
            name = names[0]
            if name not in WRITABLE:
                raise QboFault([unsupported(name, "entity not supported by the sandbox")])
            operation = item.get("operation")
            if operation is None:
                raise QboFault([missing("BatchItemRequest.operation")])
            if operation not in ("create", "update", "delete"):
                # OperationEnum also lists revert/void/send/merge; the sandbox does not.
                raise QboFault([unsupported("operation", f"{operation} not supported by sandbox")])
            if operation == "update" and "Id" not in item[name]:
                raise QboFault([missing(f"{name}.Id")])
            result = sb.apply(realm, name, item[name], operation, visible)
            return {"bId": bid, name: result}
        except QboFault as fault:
            return {"bId": bid, "Fault": fault.body()}
        except QueryError as exc:
            problem = QboProblem("4000", "Error parsing query", f"QueryParserError: {exc}")
            return {"bId": bid, "Fault": QboFault([problem]).body()}

    @app.errorhandler(QboFault)
    def on_fault(fault: QboFault) -> Response:
        return fault_response(fault)

    return app
