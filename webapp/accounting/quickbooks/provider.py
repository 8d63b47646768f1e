"""QuickBooks Online implementation of ``AccountingProvider``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from webapp.accounting.interfaces import (
    BillData,
    CloseData,
    CustomerData,
    DeliveryKind,
    InvoiceData,
    ItemData,
    LedgerAccount,
    LedgerPayment,
    LedgerTaxRate,
    LedgerTenant,
    PurchaseOrderData,
    PushResult,
    SupplierData,
    VoidData,
    WebhookEvent,
)
from webapp.accounting.quickbooks import mapping
from webapp.accounting.quickbooks.client import MAX_BATCH, QboClient, fault_error, quote, request_id
from webapp.accounting.quickbooks.payments import PaymentReader
from webapp.integrations.http import excerpt
from webapp.integrations.interfaces import (
    ConnectionContext,
    OAuthSpec,
    PermanentError,
    RateLimit,
    TokenSet,
)

# Names / numbers per look-up query (an IN list; keeps the GET URL well under 8 KB).
LOOKUP_CHUNK = 80

_RECORD_PATHS = {
    DeliveryKind.INVOICE: "invoice?txnId=",
    DeliveryKind.INVOICE_VOID: "invoice?txnId=",
    DeliveryKind.BILL: "bill?txnId=",
    DeliveryKind.PURCHASE_ORDER: "purchaseorder?txnId=",
    DeliveryKind.PURCHASE_ORDER_CLOSE: "purchaseorder?txnId=",
    DeliveryKind.CUSTOMER: "customerdetail?nameId=",
    DeliveryKind.SUPPLIER: "vendordetail?nameId=",
    DeliveryKind.ITEM: "items?itemId=",
}


class QuickBooksProvider:
    """Pushes to one QuickBooks Online company (realm)."""

    name: ClassVar[str] = "qbo"
    label: ClassVar[str] = "QuickBooks Online"
    supports: ClassVar[frozenset[DeliveryKind]] = frozenset(DeliveryKind)
    max_batch: ClassVar[int] = MAX_BATCH
    # API-NOTES 1.5 / 1.4: 500 requests/min and 10 concurrent per realm; 40 /batch per minute.
    rate_limit: ClassVar[RateLimit] = RateLimit(per_minute=500, concurrent=10, batch_per_minute=40)
    # The *_key fields name config keys; they are not secrets.
    oauth: ClassVar[OAuthSpec] = OAuthSpec(
        authorize_url_key="QBO_AUTHORIZE_URL",
        token_url_key="QBO_TOKEN_URL",  # noqa: S106
        client_id_key="QBO_CLIENT_ID",
        client_secret_key="QBO_CLIENT_SECRET",  # noqa: S106
        api_base_key="QBO_API_BASE",
        scopes=("com.intuit.quickbooks.accounting",),
        revoke_url_key="QBO_REVOKE_URL",
        tenant_source="callback",
    )

    def __init__(self, ctx: ConnectionContext) -> None:
        self.ctx = ctx
        self.client = QboClient(ctx.http, ctx.api_base, ctx.tenant_id)
        self._payables: str | None = None

    # -- connect / webhooks -------------------------------------------------------------
    @classmethod
    def list_tenants(
        cls, ctx: ConnectionContext, callback_args: Mapping[str, str]
    ) -> list[LedgerTenant]:
        """QuickBooks names the company in the callback (realmId); read its name."""
        realm = callback_args.get("realmId", "")
        if not realm:
            raise PermanentError(
                "QuickBooks did not say which company was connected (no realmId).",
                field="realmId",
                fix="Start the connection again and pick a company.",
            )
        name = realm
        info = QboClient(ctx.http, ctx.api_base, realm).get(f"companyinfo/{realm}")
        name = (info.get("CompanyInfo") or {}).get("CompanyName") or realm
        return [LedgerTenant(id=realm, name=name)]

    @classmethod
    def verify_webhook(cls, raw_body: bytes, headers: Mapping[str, str], key: str) -> bool:
        """``intuit-signature`` = base64 HMAC-SHA256(verifier token, raw body) (API-NOTES 0)."""
        given = headers.get("intuit-signature", "")
        if not key or not given:
            return False
        expected = base64.b64encode(hmac.new(key.encode(), raw_body, hashlib.sha256).digest())
        return hmac.compare_digest(expected.decode(), given.strip())

    @classmethod
    def parse_webhook(cls, raw_body: bytes) -> list[WebhookEvent]:
        """Read the classic ``eventNotifications`` shape and the CloudEvents list shape."""
        body = json.loads(raw_body or b"{}")
        events: list[WebhookEvent] = []
        if isinstance(body, dict):
            for note in body.get("eventNotifications") or []:
                realm = str(note.get("realmId", ""))
                for entity in (note.get("dataChangeEvent") or {}).get("entities") or []:
                    events.append(
                        WebhookEvent(
                            realm,
                            str(entity.get("name", "")),
                            str(entity.get("id", "")),
                            str(entity.get("operation", "")),
                        )
                    )
        elif isinstance(body, list):  # CloudEvents: type "qbo.payment.created.v1"
            for event in body:
                parts = str(event.get("type", "")).split(".")
                events.append(
                    WebhookEvent(
                        str(event.get("intuitaccountid", "")),
                        parts[1].capitalize() if len(parts) > 2 else "",
                        str(event.get("intuitentityid", "")),
                        parts[2].capitalize() if len(parts) > 2 else "",
                    )
                )
        return events

    def record_url(self, kind: DeliveryKind, remote_id: str) -> str:
        base = str(self.ctx.config.get("QBO_APP_URL", "https://app.qbo.intuit.com/app"))
        return f"{base.rstrip('/')}/{_RECORD_PATHS[kind]}{remote_id}"

    # -- name lists: find by name, create the missing ones -----------------------------
    def find_or_create_customers(self, customers: Sequence[CustomerData]) -> list[PushResult]:
        return self._find_or_create(
            "Customer",
            "DisplayName",
            DeliveryKind.CUSTOMER,
            customers,
            lambda c: c.display_name,
            mapping.customer,
        )

    def find_or_create_suppliers(self, suppliers: Sequence[SupplierData]) -> list[PushResult]:
        return self._find_or_create(
            "Vendor",
            "DisplayName",
            DeliveryKind.SUPPLIER,
            suppliers,
            lambda s: s.display_name,
            mapping.vendor,
        )

    def find_or_create_items(self, items: Sequence[ItemData]) -> list[PushResult]:
        return self._find_or_create(
            "Item", "Name", DeliveryKind.ITEM, items, lambda i: i.name, mapping.item
        )

    def _find_or_create(
        self,
        entity: str,
        name_field: str,
        kind: DeliveryKind,
        items: Sequence[Any],
        name_of: Callable[[Any], str],
        body_of: Callable[[Any], dict[str, Any]],
    ) -> list[PushResult]:
        existing = self._by_names(entity, name_field, [name_of(i) for i in items])
        results: dict[str, PushResult] = {}
        to_create = []
        for item in items:
            found = existing.get(name_of(item).casefold())
            if found is not None:
                results[item.key] = self._result(kind, item.key, found, found_existing=True)
            else:
                to_create.append((item, body_of(item)))
        created = self._create(entity, kind, to_create)
        clashes = [item for item, _ in to_create if _code(created[item.key]) == "6240"]
        if clashes:
            # Created meanwhile by someone else (or by our lost response): match it now.
            again = self._by_names(entity, name_field, [name_of(i) for i in clashes])
            for item in clashes:
                found = again.get(name_of(item).casefold())
                if found is not None:
                    created[item.key] = self._result(kind, item.key, found, found_existing=True)
        results.update(created)
        return [results[item.key] for item in items]

    def _by_names(self, entity: str, field: str, names: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        unique = sorted({n for n in names if n})
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start : start + LOOKUP_CHUNK]
            where = f"{field} in ({', '.join(quote(n) for n in chunk)})"
            for row in self.client.query_all(entity, where):
                found.setdefault(str(row.get(field, "")).casefold(), row)
        return found

    # -- transactions: look up what may have been sent, create the rest ----------------
    def push_invoices(self, invoices: Sequence[InvoiceData]) -> list[PushResult]:
        return self._push_documents("Invoice", DeliveryKind.INVOICE, invoices, mapping.invoice)

    def push_bills(self, bills: Sequence[BillData]) -> list[PushResult]:
        return self._push_documents("Bill", DeliveryKind.BILL, bills, mapping.bill)

    def push_purchase_orders(self, orders: Sequence[PurchaseOrderData]) -> list[PushResult]:
        def body(order: PurchaseOrderData) -> dict[str, Any]:
            return mapping.purchase_order(order, order.payables_account_id or self._ap_account())

        return self._push_documents("PurchaseOrder", DeliveryKind.PURCHASE_ORDER, orders, body)

    def _push_documents(
        self,
        entity: str,
        kind: DeliveryKind,
        items: Sequence[Any],
        body_of: Callable[[Any], dict[str, Any]],
    ) -> list[PushResult]:
        results: dict[str, PushResult] = {}
        maybe = [i for i in items if i.maybe_sent]
        if maybe:
            found = self._lookup_documents(entity, maybe)
            for item in maybe:
                if item.key in found:
                    results[item.key] = self._result(
                        kind, item.key, found[item.key], found_existing=True
                    )
        to_create = []
        for item in items:
            if item.key in results:
                continue
            try:
                to_create.append((item, body_of(item)))
            except PermanentError as error:
                results[item.key] = PushResult(item.key, error=error)
        results.update(self._create(entity, kind, to_create))
        return [results[item.key] for item in items]

    def _lookup_documents(self, entity: str, items: Sequence[Any]) -> dict[str, dict[str, Any]]:
        """Find records a previous try created, by DocNumber or by date, then our tag."""
        numbers, dates = set(), set()
        for item in items:
            number = getattr(item, "number", None) or getattr(item, "supplier_invoice_number", "")
            if number:
                numbers.add(number[:21])
            else:
                dates.add(item.issue_date.isoformat())
        rows: list[dict[str, Any]] = []
        for values, field in ((sorted(numbers), "DocNumber"), (sorted(dates), "TxnDate")):
            for start in range(0, len(values), LOOKUP_CHUNK):
                chunk = values[start : start + LOOKUP_CHUNK]
                where = f"{field} in ({', '.join(quote(v) for v in chunk)})"
                rows += self.client.query_all(entity, where)
        found = {}
        for item in items:
            match = next((r for r in rows if mapping.has_marker(r, item.reference)), None)
            if match is not None:
                found[item.key] = match
        return found

    # -- cancelled documents: void their invoices ---------------------------------------
    def void_invoices(self, voids: Sequence[VoidData]) -> list[PushResult]:
        """Void each invoice: POST /invoice?operation=void with its Id and current SyncToken.

        QuickBooks keeps a voided invoice with every amount zeroed and "Voided" put before its
        PrivateNote (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#void-an-invoice).
        The invoice is read first: its SyncToken moves whenever it changes (a payment applied),
        a retry finds it already voided, and one with payments applied is not voided — the
        admin is told to deal with the payment in QuickBooks first.
        """
        return [self._void(item) for item in voids]

    def _void(self, item: VoidData) -> PushResult:
        number = item.invoice_number or item.reference
        try:
            invoice = self.client.get(f"invoice/{item.invoice_ledger_id}").get("Invoice") or {}
            if mapping.is_voided(invoice):
                return self._voided(item, invoice, found_existing=True)
            paid = mapping.amount_paid(invoice)
            if paid > 0:
                return PushResult(
                    item.key,
                    error=PermanentError(
                        f"QuickBooks invoice {number} cannot be voided: payments of "
                        f"{paid:.2f} are applied to it.",
                        field="Payments",
                        fix=f"In QuickBooks, delete the payment applied to invoice {number} "
                        "(or unapply it and refund the customer), then press Retry to void it.",
                    ),
                    response_excerpt=excerpt(invoice),
                )
            body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
            voided = self.client.post(
                "invoice", body, requestid=request_id([item.key]), operation="void"
            )
        except PermanentError as error:
            return PushResult(item.key, error=error)
        return self._voided(item, voided.get("Invoice") or {}, request=excerpt(body))

    def _voided(self, item: VoidData, invoice: dict[str, Any], **done) -> PushResult:
        return self._undone(
            DeliveryKind.INVOICE,
            item.key,
            item.invoice_ledger_id,
            item.reference,
            invoice,
            "invoice {} voided",
            **done,
        )

    # -- cancelled purchase orders: close them ------------------------------------------
    def close_purchase_orders(self, closes: Sequence[CloseData]) -> list[PushResult]:
        """Close each PO: a sparse update with its current SyncToken and ``POStatus`` Closed.

        A purchase order posts nothing, so QuickBooks has no void for it; Closed (Finance.xsd
        PurchaseOrder.POStatus, PurchaseOrderStatusEnum Open/Closed) keeps it, and its lines,
        out of what is still on order. A retry finds it closed already.
        """
        return [self._close(item) for item in closes]

    def _close(self, item: CloseData) -> PushResult:
        try:
            found = self.client.get(f"purchaseorder/{item.purchase_order_ledger_id}")
            order = found.get("PurchaseOrder") or {}
            if order.get("POStatus") == "Closed":
                return self._closed(item, order, found_existing=True)
            body = {
                "Id": order["Id"],
                "SyncToken": order["SyncToken"],
                "sparse": True,
                "POStatus": "Closed",
            }
            closed = self.client.post("purchaseorder", body, requestid=request_id([item.key]))
        except PermanentError as error:
            return PushResult(item.key, error=error)
        return self._closed(item, closed.get("PurchaseOrder") or {}, request=excerpt(body))

    def _closed(self, item: CloseData, order: dict[str, Any], **done) -> PushResult:
        return self._undone(
            DeliveryKind.PURCHASE_ORDER,
            item.key,
            item.purchase_order_ledger_id,
            item.reference,
            order,
            "purchase order {} closed",
            **done,
        )

    def _undone(
        self,
        kind: DeliveryKind,
        key: str,
        ledger_id: str,
        reference: str,
        record: dict[str, Any],
        wording: str,
        *,
        found_existing: bool = False,
        request: str = "",
    ) -> PushResult:
        """The result of voiding an invoice or closing a PO (or finding it done already)."""
        remote_id = str(record.get("Id") or ledger_id)
        return PushResult(
            key=key,
            remote_id=remote_id,
            remote_number=wording.format(record.get("DocNumber") or reference),
            remote_url=self.record_url(kind, remote_id),
            found_existing=found_existing,
            request_excerpt=request,
            response_excerpt=excerpt(record),
            version=str(record.get("SyncToken", "")),
        )

    # -- batch create ---------------------------------------------------------------------
    def _create(
        self, entity: str, kind: DeliveryKind, pairs: list[tuple[Any, dict[str, Any]]]
    ) -> dict[str, PushResult]:
        results: dict[str, PushResult] = {}
        for start in range(0, len(pairs), MAX_BATCH):
            chunk = pairs[start : start + MAX_BATCH]
            requests_ = [
                {"bId": f"b{i}", "operation": "create", entity: body}
                for i, (_item, body) in enumerate(chunk)
            ]
            responses, _sent, _got = self.client.batch(
                requests_, request_id(item.key for item, _ in chunk)
            )
            by_bid = {r.get("bId"): r for r in responses}
            for i, (item, body) in enumerate(chunk):
                response = by_bid.get(f"b{i}") or {}
                sent = excerpt(body)
                if entity in response:
                    results[item.key] = self._result(
                        kind, item.key, response[entity], request=sent, response=response
                    )
                else:
                    error = fault_error(response.get("Fault") or {})
                    results[item.key] = PushResult(
                        item.key,
                        error=error,
                        request_excerpt=sent,
                        response_excerpt=excerpt(response),
                    )
        return results

    def _result(
        self,
        kind: DeliveryKind,
        key: str,
        entity: dict[str, Any],
        *,
        found_existing: bool = False,
        request: str = "",
        response: Any = None,
    ) -> PushResult:
        remote_id = str(entity.get("Id", ""))
        return PushResult(
            key=key,
            remote_id=remote_id,
            remote_number=str(
                entity.get("DocNumber") or entity.get("DisplayName") or entity.get("Name") or ""
            ),
            remote_url=self.record_url(kind, remote_id),
            found_existing=found_existing,
            request_excerpt=request,
            response_excerpt=excerpt(response if response is not None else entity),
            version=str(entity.get("SyncToken", "")),
        )

    def _ap_account(self) -> str:
        if self._payables is None:
            rows = self.client.query_all("Account", "AccountType = 'Accounts Payable'")
            if not rows:
                raise PermanentError(
                    "QuickBooks has no Accounts Payable account for purchase orders.",
                    field="Accounts payable account",
                    fix="Choose one under Settings > Integrations > Accounts.",
                )
            self._payables = str(rows[0]["Id"])
        return self._payables

    # -- reads ----------------------------------------------------------------------------
    def fetch_payments(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        last_read: datetime | None = None,
        counted: Sequence[str] = (),
    ) -> list[LedgerPayment]:
        """Return payment parts changed in the window and deletions (``payments.PaymentReader``)."""
        return PaymentReader(self.client).fetch(since, until, last_read=last_read, counted=counted)

    def list_accounts(self) -> list[LedgerAccount]:
        rows = self.client.query_all("Account", "Active = true")
        return sorted((mapping.account(r) for r in rows), key=lambda a: a.name.casefold())

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        return [mapping.tax_rate(r) for r in self.client.query_all("TaxCode")]

    def revoke(self, tokens: TokenSet) -> None:
        config = self.ctx.config
        self.client.revoke(
            str(config[self.oauth.revoke_url_key]),
            tokens.refresh_token or tokens.access_token,
            str(config.get(self.oauth.client_id_key) or ""),
            str(config.get(self.oauth.client_secret_key) or ""),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _code(result: PushResult) -> str:
    return result.error.vendor_code if result.error is not None else ""
