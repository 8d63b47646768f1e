"""The Xero ledger: AccountingProvider over XeroClient and the pure mapping functions."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from webapp.accounting.interfaces import (
    BillData,
    CancelAction,
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
from webapp.accounting.xero import mapping
from webapp.accounting.xero.client import ElementResult, XeroClient, idempotency_key
from webapp.accounting.xero.errors import explain
from webapp.integrations.http import excerpt
from webapp.integrations.interfaces import (
    ConnectionContext,
    NeedsReconnect,
    OAuthSpec,
    PermanentError,
    RateLimit,
    TokenSet,
    UnsupportedOperation,
)

T = TypeVar("T")

# A `where` filter travels in the query string; keep each look-up URL well under the 2,000-ish
# characters proxies accept, splitting a batch's look-up into several calls if needed.
WHERE_MAX_CHARS = 1500

# Xero's web app (deep links shown on our documents); paths as Xero's UI uses them (recalled).
DEFAULT_APP_URL = "https://go.xero.com"

_WEBHOOK_ENTITIES = {
    "INVOICE": "Invoice",
    "CONTACT": "Contact",
    "CREDITNOTE": "CreditNote",
    "SUBSCRIPTION": "Subscription",
}


def quote(value: str) -> str:
    """Return a string literal for Xero's ``where`` (C# syntax: backslash-escaped quotes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def where_chunks(conditions: Sequence[str], limit: int = WHERE_MAX_CHARS) -> list[str]:
    """Join conditions with OR into as few ``where`` strings as fit in ``limit`` each."""
    chunks: list[str] = []
    current = ""
    for condition in conditions:
        candidate = f"{current} OR {condition}" if current else condition
        if current and len(candidate) > limit:
            chunks.append(current)
            current = condition
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _first(records: Iterable[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> Any:
    return next((r for r in records if test(r)), None)


class XeroProvider:
    """Push contacts, items, invoices (ACCREC) and bills (ACCPAY) to one Xero organisation."""

    name: ClassVar[str] = "xero"
    label: ClassVar[str] = "Xero"
    # Xero gets bills only: no purchase orders (issue 5, item 3).
    supports: ClassVar[frozenset[DeliveryKind]] = frozenset(
        {
            DeliveryKind.CUSTOMER,
            DeliveryKind.SUPPLIER,
            DeliveryKind.ITEM,
            DeliveryKind.INVOICE,
            DeliveryKind.BILL,
            DeliveryKind.INVOICE_VOID,
        }
    )
    # API-NOTES 2.4: about 50 elements per request is the practical ceiling.
    max_batch: ClassVar[int] = 50
    # API-NOTES 2.5: per organisation 60 calls/minute, 5 concurrent, 5,000 a day.
    rate_limit: ClassVar[RateLimit] = RateLimit(per_minute=60, concurrent=5, per_day=5000)
    oauth: ClassVar[OAuthSpec] = OAuthSpec(
        authorize_url_key="XERO_AUTHORIZE_URL",
        token_url_key="XERO_TOKEN_URL",  # noqa: S106 - a config key name, not a secret
        client_id_key="XERO_CLIENT_ID",
        client_secret_key="XERO_CLIENT_SECRET",  # noqa: S106 - a config key name
        api_base_key="XERO_API_BASE",
        # API-NOTES 2.2: apps created after 2026-03-02 must use the granular scopes;
        # offline_access is what brings a refresh token.
        scopes=(
            "openid",
            "profile",
            "email",
            "offline_access",
            "accounting.invoices",
            "accounting.payments",
            "accounting.contacts",
            "accounting.settings",
        ),
        revoke_url_key="XERO_REVOKE_URL",
        tenant_source="connections",
    )

    def __init__(self, ctx: ConnectionContext) -> None:
        self.ctx = ctx
        self.client = XeroClient(ctx.http, ctx.api_base, ctx.tenant_id)

    # -- class-level: connect, webhooks, links ------------------------------------------
    @classmethod
    def list_tenants(
        cls, ctx: ConnectionContext, callback_args: Mapping[str, str]
    ) -> list[LedgerTenant]:
        """Return the organisations the fresh grant reaches (``GET /connections``)."""
        client = XeroClient(ctx.http, ctx.api_base, "")
        rows = client.connections(ctx.config["XERO_CONNECTIONS_URL"])
        return [
            LedgerTenant(
                id=str(row["tenantId"]),
                name=str(row.get("tenantName") or row["tenantId"]),
                connection_id=str(row.get("id", "")),
            )
            for row in rows
            if row.get("tenantId") and row.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]

    @classmethod
    def verify_webhook(cls, raw_body: bytes, headers: Mapping[str, str], key: str) -> bool:
        """Check ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw body)).

        xero-webhooks.yaml #/components/headers/x-xero-signature; API-NOTES 2.7.
        """
        if not key:
            return False
        signature = next((v for k, v in headers.items() if k.lower() == "x-xero-signature"), None)
        if not signature:
            return False
        expected = base64.b64encode(
            hmac.new(key.encode(), raw_body, hashlib.sha256).digest()
        ).decode()
        return hmac.compare_digest(expected.encode(), signature.strip().encode())

    @classmethod
    def parse_webhook(cls, raw_body: bytes) -> list[WebhookEvent]:
        """Return the events of a verified webhook body (empty for "intent to receive")."""
        try:
            body = json.loads(raw_body or b"{}")
        except ValueError as exc:
            raise ValueError("The webhook body is not JSON.") from exc
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise ValueError("The webhook body has no events list.")
        out = []
        for event in events:
            if not isinstance(event, dict) or not event.get("resourceId"):
                continue
            category = str(event.get("eventCategory", ""))
            out.append(
                WebhookEvent(
                    tenant_id=str(event.get("tenantId", "")),
                    entity=_WEBHOOK_ENTITIES.get(category, category.title()),
                    entity_id=str(event["resourceId"]),
                    operation=str(event.get("eventType", "")).title(),
                )
            )
        return out

    def record_url(self, kind: DeliveryKind, remote_id: str) -> str:
        """Return the Xero web link for a record."""
        if not remote_id:
            return ""
        base = str(self.ctx.config.get("XERO_APP_URL") or DEFAULT_APP_URL).rstrip("/")
        return {
            DeliveryKind.INVOICE: f"{base}/AccountsReceivable/View.aspx?InvoiceID={remote_id}",
            DeliveryKind.BILL: f"{base}/AccountsPayable/View.aspx?InvoiceID={remote_id}",
            # The credit note that cancelled an invoice (Xero's UI path, recalled).
            DeliveryKind.INVOICE_VOID: (
                f"{base}/AccountsReceivable/ViewCreditNote.aspx?creditNoteID={remote_id}"
            ),
            DeliveryKind.CUSTOMER: f"{base}/Contacts/View/{remote_id}",
            DeliveryKind.SUPPLIER: f"{base}/Contacts/View/{remote_id}",
            DeliveryKind.ITEM: f"{base}/Accounts/Inventory/{remote_id}",
        }.get(kind, "")

    # -- shared machinery ----------------------------------------------------------------
    def _lookup(self, collection: str, conditions: Sequence[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for where in where_chunks(conditions):
            rows += self.client.get(collection, params={"where": where})
        return rows

    def _create(
        self,
        collection: str,
        kind: DeliveryKind,
        pending: Sequence[tuple[Any, dict[str, Any]]],
        *,
        id_field: str,
        number_field: str,
        subject: Callable[[Any], str],
        unitdp: int | None = None,
    ) -> dict[str, PushResult]:
        """PUT the elements of ``pending`` ((data, element) pairs) in one call."""
        if not pending:
            return {}
        key = idempotency_key([data.key for data, _ in pending])
        try:
            results = self.client.save(
                collection,
                [element for _, element in pending],
                key=key,
                subject=f"{kind.label.lower()} batch",
                unitdp=unitdp,
            )
        except PermanentError as error:
            # The whole request was refused: every element carries the reason.
            return {
                data.key: PushResult(
                    key=data.key, error=error, request_excerpt=excerpt(element, 2000)
                )
                for data, element in pending
            }
        out = {}
        for (data, element), result in zip(pending, results, strict=True):
            out[data.key] = self._result(
                kind, data, element, result, id_field, number_field, subject
            )
        return out

    def _result(
        self,
        kind: DeliveryKind,
        data: Any,
        element: dict[str, Any],
        result: ElementResult,
        id_field: str,
        number_field: str,
        subject: Callable[[Any], str],
    ) -> PushResult:
        if not result.ok:
            return PushResult(
                key=data.key,
                error=explain(result.errors, subject(data)),
                request_excerpt=excerpt(element, 2000),
                response_excerpt=excerpt({"ValidationErrors": result.errors}, 2000),
            )
        record = result.record or {}
        remote_id = str(record.get(id_field, ""))
        return PushResult(
            key=data.key,
            remote_id=remote_id,
            remote_number=str(record.get(number_field) or ""),
            remote_url=self.record_url(kind, remote_id),
            request_excerpt=excerpt(element, 2000),
            response_excerpt=excerpt(record, 2000),
        )

    def _found(
        self, kind: DeliveryKind, data: Any, record: dict[str, Any], id_field: str, number: str
    ) -> PushResult:
        remote_id = str(record.get(id_field, ""))
        return PushResult(
            key=data.key,
            remote_id=remote_id,
            remote_number=str(record.get(number) or ""),
            remote_url=self.record_url(kind, remote_id),
            found_existing=True,
            response_excerpt=excerpt(record, 2000),
        )

    # -- contacts ------------------------------------------------------------------------
    def _exempt_tax_type(self) -> str:
        """Return the tax type for non-taxable customers: the admin's choice, else NONE."""
        chosen = str(self.ctx.options.get("exempt_tax_type") or "")
        if chosen:
            return chosen
        rates = self.list_tax_rates()
        if any(r.id == "NONE" for r in rates):
            return "NONE"
        zero = _first(rates, lambda r: r.rate is not None and r.rate == 0)
        return zero.id if zero else ""

    def _find_or_create_contacts(
        self,
        kind: DeliveryKind,
        items: Sequence[T],
        build: Callable[[T], dict[str, Any]],
        account_number: Callable[[T], str],
    ) -> list[PushResult]:
        conditions = []
        for data in items:
            ref = data.reference[: mapping.CONTACT_NUMBER_MAX]  # type: ignore[attr-defined]
            name = data.display_name.strip()[: mapping.NAME_MAX]  # type: ignore[attr-defined]
            conditions.append(f"ContactNumber=={quote(ref)}")
            conditions.append(f"Name=={quote(name)}")
            if account_number(data):
                conditions.append(f"AccountNumber=={quote(account_number(data))}")
        existing = self._lookup("Contacts", conditions)
        found: dict[str, PushResult] = {}
        pending = []
        claimed: dict[str, str] = {}  # Xero name (casefolded) -> key of the item creating it
        twins: dict[str, str] = {}  # key -> key of the item whose contact it shares
        for data in items:
            record = self._match_contact(existing, data, account_number(data))
            if record is not None:
                found[data.key] = self._found(kind, data, record, "ContactID", "ContactNumber")
                continue
            element = build(data)
            name = element["Name"].casefold()
            if name in claimed:
                # Two of ours with one name: Xero names are unique, so they share the contact.
                twins[data.key] = claimed[name]
                continue
            claimed[name] = data.key
            pending.append((data, element))
        created = self._create(
            "Contacts",
            kind,
            pending,
            id_field="ContactID",
            number_field="ContactNumber",
            subject=lambda d: f"{kind.label.lower()} {d.display_name}",
        )
        return [_pick(data.key, found, created, twins) for data in items]

    @staticmethod
    def _match_contact(
        existing: Sequence[dict[str, Any]], data: Any, account_number: str
    ) -> dict[str, Any] | None:
        # Our own ContactNumber first (a contact we created), then the name (Xero's unique
        # key), then the account number the admin may have typed into Xero.
        for test in (
            lambda r: mapping.contact_matches(r, reference=data.reference, name=""),
            lambda r: mapping.contact_matches(r, reference="", name=data.display_name),
            lambda r: mapping.contact_matches(
                r, reference="", name="", account_number=account_number
            ),
        ):
            record = _first(existing, test)
            if record is not None:
                return record
        return None

    def find_or_create_customers(self, customers: Sequence[CustomerData]) -> list[PushResult]:
        """Match each client organization to a Xero contact, creating the missing ones."""
        exempt = ""
        if any(not c.taxable for c in customers):
            exempt = self._exempt_tax_type()
        return self._find_or_create_contacts(
            DeliveryKind.CUSTOMER,
            customers,
            lambda c: mapping.customer_contact(c, exempt_tax_type=exempt),
            lambda c: c.account_number,
        )

    def find_or_create_suppliers(self, suppliers: Sequence[SupplierData]) -> list[PushResult]:
        """Match each supplier to a Xero contact, creating the missing ones."""
        return self._find_or_create_contacts(
            DeliveryKind.SUPPLIER,
            suppliers,
            mapping.supplier_contact,
            lambda s: s.account_number,
        )

    # -- items ---------------------------------------------------------------------------
    def find_or_create_items(self, items: Sequence[ItemData]) -> list[PushResult]:
        """Match each product to a Xero item by code (then name), creating the missing ones."""
        conditions = []
        for data in items:
            conditions.append(f"Code=={quote(mapping.item_code(data.code or data.reference))}")
        existing = self._lookup("Items", conditions)
        found: dict[str, PushResult] = {}
        pending = []
        claimed: dict[str, str] = {}  # Xero code (casefolded) -> key of the item creating it
        twins: dict[str, str] = {}
        for data in items:
            code = mapping.item_code(data.code or data.reference)
            record = _first(
                existing, lambda r, c=code: str(r.get("Code", "")).casefold() == c.casefold()
            )
            if record is not None:
                found[data.key] = self._found(DeliveryKind.ITEM, data, record, "ItemID", "Code")
            elif code.casefold() in claimed:
                twins[data.key] = claimed[code.casefold()]
            else:
                claimed[code.casefold()] = data.key
                pending.append((data, mapping.item(data)))
        created = self._create(
            "Items",
            DeliveryKind.ITEM,
            pending,
            id_field="ItemID",
            number_field="Code",
            subject=lambda d: f"item {d.code or d.name}",
        )
        return [_pick(data.key, found, created, twins) for data in items]

    # -- invoices and bills ---------------------------------------------------------------
    def push_invoices(self, invoices: Sequence[InvoiceData]) -> list[PushResult]:
        """Create ACCREC invoices; those that may have been sent are looked up first."""
        # Xero's API does not apply the organisation's payment terms to an invoice made
        # without a DueDate; an approved one needs it. Take it from those terms
        # (Organisation.PaymentTerms.Sales, xero_accounting.yaml PaymentTerm).
        if any(i.due_date is None for i in invoices):
            terms = self._sales_terms()
            invoices = [
                i
                if i.due_date is not None
                else dataclasses.replace(i, due_date=mapping.due_date(i.issue_date, terms))
                for i in invoices
            ]
        # Reference is our number, or "<number> / PO <customer PO>" (mapping.sales_invoice);
        # AND binds tighter than OR in Xero's filters.
        return self._push_invoices(
            invoices,
            DeliveryKind.INVOICE,
            where=lambda i: (
                f'Type=="ACCREC" AND Reference=={quote(i.reference)} OR Type=="ACCREC" AND '
                f"Reference.StartsWith({quote(i.reference + ' / PO ')})"
            ),
            matches=mapping.matches_invoice,
            payload=mapping.sales_invoice,
            subject=lambda d: f"invoice {d.reference}",
        )

    def _sales_terms(self) -> Mapping[str, Any] | None:
        """Return the organisation's sales payment terms, read once per provider (job)."""
        if not hasattr(self, "_terms"):
            self._terms = (self.client.organisation().get("PaymentTerms") or {}).get("Sales")
        return self._terms

    def push_bills(self, bills: Sequence[BillData]) -> list[PushResult]:
        """Create ACCPAY invoices (bills); those that may have been sent are looked up first."""
        return self._push_invoices(
            bills,
            DeliveryKind.BILL,
            where=lambda b: (
                f'Type=="ACCPAY" AND Contact.ContactID==Guid({quote(b.supplier_ledger_id)}) '
                f"AND InvoiceNumber=={quote(mapping.bill_number(b))}"
            ),
            matches=mapping.matches_bill,
            payload=mapping.purchase_bill,
            subject=lambda d: f"bill {d.reference}",
        )

    def _push_invoices(self, documents, kind: DeliveryKind, *, where, matches, payload, subject):
        """Create Xero invoices of either type. Documents that may have been sent already are
        looked up with `where` and, when `matches` finds one, answered with it instead."""
        existing = self._lookup("Invoices", [where(d) for d in documents if d.maybe_sent])
        found: dict[str, PushResult] = {}
        pending = []
        for document in documents:
            record = (
                _first(existing, lambda r, d=document: matches(r, d))
                if document.maybe_sent
                else None
            )
            if record is not None:
                found[document.key] = self._found(
                    kind, document, record, "InvoiceID", "InvoiceNumber"
                )
            else:
                pending.append((document, payload(document)))
        created = self._create(
            "Invoices",
            kind,
            pending,
            id_field="InvoiceID",
            number_field="InvoiceNumber",
            subject=subject,
            unitdp=4,
        )
        return [found.get(d.key) or created[d.key] for d in documents]

    # -- cancelled documents: void, delete or credit their invoices ---------------------
    def void_invoices(self, voids: Sequence[VoidData]) -> list[PushResult]:
        """Undo each invoice as Xero allows (https://developer.xero.com/documentation/api/accounting/invoices):

        a DRAFT or SUBMITTED invoice is DELETED; an AUTHORISED one without payments or credit
        is VOIDED when the admin chose voids; otherwise (payments applied, or credit notes
        chosen) an ACCRECCREDIT credit note copying its lines is created and allocated to
        what the invoice still owes — what was paid stays as the customer's credit to refund.
        """
        return [self._void(item) for item in voids]

    def _void(self, item: VoidData) -> PushResult:
        subject = f"invoice {item.invoice_number or item.reference}"
        try:
            rows = self.client.get(f"Invoices/{item.invoice_ledger_id}")
            invoice = rows[0] if rows else {}
            status = str(invoice.get("Status") or "")
            if status in ("VOIDED", "DELETED"):
                return self._undone(item, invoice, f"{subject} {status.lower()}", True)
            if status in ("DRAFT", "SUBMITTED"):
                # Only approved invoices can be voided; a draft is deleted instead.
                return self._set_status(item, invoice, "DELETED", subject)
            settled = float(invoice.get("AmountPaid") or 0) + float(
                invoice.get("AmountCredited") or 0
            )
            if item.action == CancelAction.VOID and status == "AUTHORISED" and not settled:
                return self._set_status(item, invoice, "VOIDED", subject)
            return self._credit(item, invoice, subject)
        except PermanentError as error:
            return PushResult(item.key, error=error)

    def _set_status(self, item: VoidData, invoice: dict, status: str, subject: str) -> PushResult:
        element = {"InvoiceID": invoice["InvoiceID"], "Status": status}
        (result,) = self.client.save(
            "Invoices", [element], key=idempotency_key([item.key]), method="POST", subject=subject
        )
        if not result.ok:
            return PushResult(
                item.key,
                error=explain(result.errors, subject),
                request_excerpt=excerpt(element, 2000),
                response_excerpt=excerpt({"ValidationErrors": result.errors}, 2000),
            )
        return self._undone(item, result.record or invoice, f"{subject} {status.lower()}")

    def _credit(self, item: VoidData, invoice: dict, subject: str) -> PushResult:
        reference = mapping.credit_note_reference(item.reference)
        note = None
        if item.maybe_sent:
            found = self.client.get(
                "CreditNotes",
                params={"where": f'Type=="ACCRECCREDIT" AND Reference=={quote(reference)}'},
            )
            note = _first(found, lambda r: r.get("Status") not in ("DELETED", "VOIDED"))
        if note is None:
            element = mapping.cancelling_credit_note(
                invoice, item.reference, item.issue_date or datetime.now(UTC).date()
            )
            (result,) = self.client.save(
                "CreditNotes",
                [element],
                key=idempotency_key([item.key], prefix="msp-cn"),
                subject=f"credit note for {subject}",
                unitdp=4,
            )
            if not result.ok:
                return PushResult(
                    item.key,
                    error=explain(result.errors, f"credit note for {subject}"),
                    request_excerpt=excerpt(element, 2000),
                    response_excerpt=excerpt({"ValidationErrors": result.errors}, 2000),
                )
            note = result.record or {}
        number = note.get("CreditNoteNumber") or note.get("CreditNoteID")
        allocated = any(
            (a.get("Invoice") or {}).get("InvoiceID") == invoice["InvoiceID"]
            for a in note.get("Allocations") or []
        )
        due = min(float(invoice.get("AmountDue") or 0), float(note.get("Total") or 0))
        text = f"credit note {number}"
        if due > 0 and not allocated:
            self.client.put(
                f"CreditNotes/{note['CreditNoteID']}/Allocations",
                {
                    "Allocations": [
                        {
                            "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                            "Amount": round(due, 2),
                            "Date": (item.issue_date or datetime.now(UTC).date()).isoformat(),
                        }
                    ]
                },
                key=idempotency_key([item.key], prefix="msp-alloc"),
                subject=f"allocation of credit note {number}",
            )
        left = round(float(note.get("Total") or 0) - (due if not allocated else 0), 2)
        if left > 0 and not allocated:
            text += f" ({left:.2f} paid: customer credit to refund)"
        return PushResult(
            key=item.key,
            remote_id=str(note.get("CreditNoteID") or ""),
            remote_number=text,
            remote_url=self.record_url(DeliveryKind.INVOICE_VOID, str(note.get("CreditNoteID"))),
            response_excerpt=excerpt(note, 2000),
        )

    def _undone(
        self, item: VoidData, invoice: dict, text: str, found_existing: bool = False
    ) -> PushResult:
        remote_id = str(invoice.get("InvoiceID") or item.invoice_ledger_id)
        return PushResult(
            key=item.key,
            remote_id=remote_id,
            remote_number=text,
            remote_url=self.record_url(DeliveryKind.INVOICE, remote_id),
            found_existing=found_existing,
            response_excerpt=excerpt(invoice, 2000),
        )

    def push_purchase_orders(self, orders: Sequence[PurchaseOrderData]) -> list[PushResult]:
        """Xero gets bills only (issue 5, item 3): purchase orders are not pushed."""
        raise UnsupportedOperation("Xero receives bills only, not purchase orders.")

    # -- reads ---------------------------------------------------------------------------
    def fetch_payments(self, since: datetime, until: datetime | None = None) -> list[LedgerPayment]:
        """Return customer payments changed since ``since`` (If-Modified-Since, paged)."""
        rows = self.client.get_all("Payments", modified_since=since)
        if until is not None:
            limit = until if until.tzinfo else until.replace(tzinfo=UTC)
            rows = [r for r in rows if _updated(r) is None or _updated(r) <= limit]
        return mapping.payments(rows)

    def list_accounts(self) -> list[LedgerAccount]:
        """Return the active, coded accounts of the chart, by code."""
        accounts = [mapping.ledger_account(r) for r in self.client.get("Accounts")]
        return sorted((a for a in accounts if a is not None), key=lambda a: a.code)

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        """Return the active tax rates (id = TaxType)."""
        rates = [mapping.ledger_tax_rate(r) for r in self.client.get("TaxRates")]
        return [r for r in rates if r is not None]

    def revoke(self, tokens: TokenSet) -> None:
        """Disconnect the organisation (DELETE /connections/{id}); revoke the token if last.

        xero-identity.yaml: DELETE /Connections/{id}; revocation endpoint per RFC 7009. A
        grant that is already dead is fine: there is nothing left to revoke.
        """
        config = self.ctx.config
        url = config["XERO_CONNECTIONS_URL"]
        try:
            known = str(self.ctx.options.get("vendor_connection_id") or "")
            if not known or not self.client.delete_connection(url, known):
                # No stored id, or it went stale (a reconnect makes a new connection): find
                # this organisation's connection among the grant's.
                for row in self.client.connections(url):
                    if str(row.get("tenantId")) == self.ctx.tenant_id and row.get("id"):
                        self.client.delete_connection(url, str(row["id"]))
            # One grant can hold several organisations: revoking it would disconnect the
            # others too, so the token is revoked only when its last organisation goes.
            if self.client.connections(url):
                return
        except NeedsReconnect:
            pass  # the grant is already gone: nothing is connected any more
        revoke_url = config.get(self.oauth.revoke_url_key)
        if revoke_url and tokens.refresh_token:
            self.client.revoke_token(
                revoke_url,
                tokens.refresh_token,
                str(config.get(self.oauth.client_id_key) or ""),
                str(config.get(self.oauth.client_secret_key) or ""),
            )


def _pick(
    key: str,
    found: Mapping[str, PushResult],
    created: Mapping[str, PushResult],
    twins: Mapping[str, str],
) -> PushResult:
    """Return an item's result: found, created, or the result of the twin that created it."""
    if key in found:
        return found[key]
    if key in twins:
        twin = created[twins[key]]
        return PushResult(
            key=key,
            remote_id=twin.remote_id,
            remote_number=twin.remote_number,
            remote_url=twin.remote_url,
            error=twin.error,
            found_existing=True,
        )
    return created[key]


def _updated(record: Mapping[str, Any]) -> datetime | None:
    value = record.get("UpdatedDateUTC")
    match = mapping._MSDATE.fullmatch(str(value or ""))
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    return None
