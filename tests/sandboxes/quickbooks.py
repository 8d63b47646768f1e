"""Serve a QuickBooks Online v3 stand-in: OAuth 2, entities, query, batch, faults."""

# Facts come from shared/specs/API-NOTES.md section 1 ("API-NOTES 1.x" below) and the XSDs in
# shared/specs/quickbooks/. Behaviour marked "(recalled)" is Intuit behaviour that API-NOTES
# does not document; it is modelled from memory of Intuit's docs and may differ in detail.
# The reads (query, CDC) are in qbo_query.py, the HTTP layer in qbo_app.py.

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from typing import Any

from flask import Flask

from .common import (
    Clock,
    FaultPlan,
    IdempotencyStore,
    OAuthClient,
    OAuthServer,
    RateLimiter,
    Window,
)
from .qbo_app import build_app
from .qbo_base import (
    ACCOUNT_CLASSIFICATION,
    ACCOUNTING_SCOPE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM,
    LINKABLE,
    REF_TARGETS,
    TRANSACTIONS,
    QboFault,
    RecordedRequest,
    display_name,
    duplicate_name,
    empty_ledgers,
    id_key,
    seed_ledgers,
)
from .qbo_query import QboReads
from .specs import (
    NO_AMOUNT_LINES,
    QboProblem,
    QboSchema,
    missing,
    qbo_schema,
    required_problems,
    unsupported,
)

__all__ = ["ACCOUNTING_SCOPE", "QboFault", "QboSandbox", "RecordedRequest", "create_qbo_sandbox"]


class QboSandbox(QboReads):
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
        self.ledgers = {realm: seed_ledgers() if seed else empty_ledgers() for realm in realms}
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
        self.app = build_app(self)

    # -- inspection / test helpers ------------------------------------------------------
    def entities(self, realm: str, entity: str) -> list[dict[str, Any]]:
        """Return copies of every stored ``entity`` (e.g. "Bill") in ``realm``, by Id."""
        with self._lock:
            stored = self.ledgers[realm][entity]
            return [copy.deepcopy(stored[k]) for k in sorted(stored, key=id_key)]

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
            display = body.get("DisplayName") or display_name(body)
            # DisplayName is unique across customers, vendors and employees (recalled, 6240).
            clash = duplicate(("Customer", "Vendor"), "DisplayName", display)
            if clash:
                problems.append(duplicate_name(clash))
        elif name in ("Item", "Account"):
            clash = duplicate((name,), "Name", str(body.get("Name", "")))
            if clash:
                problems.append(duplicate_name(clash))
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
            entity.setdefault("DisplayName", display_name(entity))
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


def create_qbo_sandbox(**options: Any) -> Flask:
    """Build the QuickBooks Online sandbox Flask app; its state is ``app.sandbox``."""
    return QboSandbox(**options).app
