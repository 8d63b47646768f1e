"""The Xero ledger: AccountingProvider over XeroClient and the pure mapping functions.

The work is split by responsibility: ``records`` (look-ups, batched PUTs, results),
``contacts`` (contacts and items), ``cancel`` (voids and credit notes) and ``webhooks``;
this class holds the connection's settings and pushes invoices and bills.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
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
from webapp.accounting.xero import mapping, reads, webhooks
from webapp.accounting.xero.cancel import Cancelling
from webapp.accounting.xero.client import XeroClient
from webapp.accounting.xero.contacts import NameLists
from webapp.accounting.xero.records import Records, first, quote, updated_at
from webapp.integrations.interfaces import (
    ConnectionContext,
    NeedsReconnect,
    OAuthSpec,
    RateLimit,
    TokenSet,
    UnsupportedOperation,
)


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
        self.records = Records(self.client, str(ctx.config.get("XERO_APP_URL") or ""))
        self.names = NameLists(self.records, self._exempt_tax_type)
        self.cancelling = Cancelling(self.records)

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
        """Check ``x-xero-signature`` over the raw body (``webhooks.verify``)."""
        return webhooks.verify(raw_body, headers, key)

    @classmethod
    def parse_webhook(cls, raw_body: bytes) -> list[WebhookEvent]:
        """Return the events of a verified webhook body (empty for "intent to receive")."""
        return webhooks.parse(raw_body)

    def record_url(self, kind: DeliveryKind, remote_id: str) -> str:
        """Return the Xero web link for a record."""
        return self.records.url(kind, remote_id)

    # -- name lists ----------------------------------------------------------------------
    def _exempt_tax_type(self) -> str:
        """Return the tax type for non-taxable customers: the admin's choice, else NONE."""
        chosen = str(self.ctx.options.get("exempt_tax_type") or "")
        if chosen:
            return chosen
        rates = self.list_tax_rates()
        if any(r.id == "NONE" for r in rates):
            return "NONE"
        zero = first(rates, lambda r: r.rate is not None and r.rate == 0)
        return zero.id if zero else ""

    def find_or_create_customers(self, customers: Sequence[CustomerData]) -> list[PushResult]:
        """Match each client organization to a Xero contact, creating the missing ones."""
        return self.names.customers(customers)

    def find_or_create_suppliers(self, suppliers: Sequence[SupplierData]) -> list[PushResult]:
        """Match each supplier to a Xero contact, creating the missing ones."""
        return self.names.suppliers(suppliers)

    def find_or_create_items(self, items: Sequence[ItemData]) -> list[PushResult]:
        """Match each product to a Xero item by code (then name), creating the missing ones."""
        return self.names.items(items)

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
        existing = self.records.lookup("Invoices", [where(d) for d in documents if d.maybe_sent])
        found: dict[str, PushResult] = {}
        pending = []
        for document in documents:
            record = (
                first(existing, lambda r, d=document: matches(r, d))
                if document.maybe_sent
                else None
            )
            if record is not None:
                found[document.key] = self.records.found(
                    kind, document, record, "InvoiceID", "InvoiceNumber"
                )
            else:
                pending.append((document, payload(document)))
        created = self.records.create(
            "Invoices",
            kind,
            pending,
            id_field="InvoiceID",
            number_field="InvoiceNumber",
            subject=subject,
            unitdp=4,
        )
        return [found.get(d.key) or created[d.key] for d in documents]

    # -- cancelled documents ---------------------------------------------------------------
    def void_invoices(self, voids: Sequence[VoidData]) -> list[PushResult]:
        """Delete, void or credit each cancelled document's invoice (``cancel.Cancelling``)."""
        return self.cancelling.void_invoices(voids)

    def push_purchase_orders(self, orders: Sequence[PurchaseOrderData]) -> list[PushResult]:
        """Xero gets bills only (issue 5, item 3): purchase orders are not pushed."""
        raise UnsupportedOperation("Xero receives bills only, not purchase orders.")

    def close_purchase_orders(self, closes: Sequence[CloseData]) -> list[PushResult]:
        """Xero holds none of our purchase orders: there is nothing to close."""
        raise UnsupportedOperation("Xero receives bills only, not purchase orders.")

    # -- reads ---------------------------------------------------------------------------
    def fetch_payments(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        last_read: datetime | None = None,
        counted: Sequence[str] = (),
    ) -> list[LedgerPayment]:
        """Return customer payments and overpayments changed since ``since`` (paged).

        An overpayment (xero_accounting.yaml GET /Overpayments) is not a Payment: its
        allocations settle invoices and what is left is the customer's credit. A deleted
        payment is still listed (Status DELETED) as changed, so ``last_read`` and ``counted``
        are not needed here.
        """
        payments = self.client.get_all("Payments", modified_since=since)
        overpayments = self.client.get_all("Overpayments", modified_since=since)
        if until is not None:
            limit = until if until.tzinfo else until.replace(tzinfo=UTC)
            payments, overpayments = (
                [r for r in rows if updated_at(r) is None or updated_at(r) <= limit]
                for rows in (payments, overpayments)
            )
        return reads.payments(payments) + reads.overpayments(overpayments)

    def list_accounts(self) -> list[LedgerAccount]:
        """Return the active, coded accounts of the chart, by code."""
        accounts = [reads.ledger_account(r) for r in self.client.get("Accounts")]
        return sorted((a for a in accounts if a is not None), key=lambda a: a.code)

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        """Return the active tax rates (id = TaxType)."""
        rates = [reads.ledger_tax_rate(r) for r in self.client.get("TaxRates")]
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
