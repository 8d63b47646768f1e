"""The capability interface every accounting ledger provider implements.

HOW TO ADD A PROVIDER
=====================

1. Make a package ``webapp/accounting/<name>/`` with three modules (STYLE.md habit 6):

   - ``client.py``   auth + HTTP only. Build every call on ``ctx.http`` (an ``IntegrationHttp``
     from ``webapp.integrations.http``): it adds the bearer token, refreshes it once on a 401
     (the core saves the rotated refresh token in the same unit of work), waits for the
     per-connection rate limiter, turns 429/5xx/timeouts/resets into ``TransientError``
     (honouring ``Retry-After``), counts calls and keeps request/response excerpts. The
     client only parses the vendor's error body into ``PermanentError(field, fix)``.
   - ``mapping.py``  pure functions: the dataclasses below -> vendor JSON, and vendor JSON
     -> ``PushResult`` / ``LedgerAccount`` / ``LedgerTaxRate`` / ``LedgerPayment``.
   - ``provider.py`` one class implementing ``AccountingProvider`` (below). It is built per
     job with a ``ConnectionContext``; it never touches the database or ``flask.request``.

2. Register it in ``webapp.accounting.providers.LEDGERS`` (a ``Registration`` of the
   integrations core: name, ``"ledger"``, ``"webapp.accounting.xero.provider:XeroProvider"``,
   and for webhooks the config key of the signing secret) and add its env vars to
   ``webapp/config.py`` (API base, authorize, token, client id/secret; defaults = the vendor's
   production URLs). The OAuth screens, the outbox, the sync log and notifications then work
   unchanged: they only speak this interface.

3. Rules every provider follows:

   - Batch: every push method takes a sequence (at most ``max_batch`` items; the outbox
     splits) and returns one ``PushResult`` per input, in input order, matched by ``key``.
   - Exactly once: send ``item.key`` as the vendor's idempotency key (QuickBooks
     ``requestid``, Xero ``Idempotency-Key``; for a batch derive one key from the keys of
     its items). When ``item.maybe_sent`` is true a previous try may have reached the
     ledger: look the record up by ``item.reference`` first and return it instead of
     creating a second one.
   - Errors: raise ``TransientError`` for the whole call when nothing can be known
     (network, 429, 5xx); raise ``NeedsReconnect`` when the grant is gone; put a
     ``PermanentError`` on the ``PushResult`` of the one item the ledger rejected
     (validation, closed period, duplicate number) so the other items of the batch succeed.
   - A find-or-create (customers, items, suppliers) matches existing ledger records by name
     or number before creating anything.
   - Capabilities a ledger lacks (Xero has no purchase orders here) are left out of
     ``supports``; the outbox never calls them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Protocol, runtime_checkable

# Errors and plain data every kind of integration shares live in the core.
from webapp.integrations.interfaces import (
    ConnectionContext,
    OAuthSpec,
    PushResult,
    RateLimit,
    TokenSet,
)

# --------------------------------------------------------------------------------------------
# Vocabulary shared by the core and providers
# --------------------------------------------------------------------------------------------


class DeliveryKind(enum.StrEnum):
    """What one outbox delivery pushes (or which operation a provider supports)."""

    CUSTOMER = "customer"
    ITEM = "item"
    SUPPLIER = "supplier"
    INVOICE = "invoice"
    BILL = "bill"
    PURCHASE_ORDER = "purchase_order"
    # Undo an invoice the ledger holds because its document was cancelled: a void (QuickBooks,
    # Xero) or a credit note allocated to it (Xero), per ``CancelAction``.
    INVOICE_VOID = "invoice_void"
    # Close a purchase order the ledger holds because ours was cancelled (QuickBooks: POStatus
    # Closed; a PO is not a posting transaction, so it has no void).
    PURCHASE_ORDER_CLOSE = "purchase_order_close"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class CancelAction(enum.StrEnum):
    """What cancelling a document does to its invoice in Xero (QuickBooks always voids)."""

    VOID = "void"  # Status VOIDED; an invoice with payments is credited instead
    CREDIT_NOTE = "credit_note"  # an ACCRECCREDIT credit note allocated to the invoice

    @property
    def label(self) -> str:
        return {"void": "Void the invoice", "credit_note": "Credit it with a credit note"}[
            self.value
        ]


class LedgerDocumentStatus(enum.StrEnum):
    """The status a bill or invoice is created in, as chosen by the admin."""

    DRAFT = "draft"
    SUBMITTED = "submitted"  # Xero: SUBMITTED (awaiting approval)
    AUTHORIZED = "authorized"  # Xero: AUTHORISED; QuickBooks: created as a normal transaction

    @property
    def label(self) -> str:
        return {"draft": "Draft", "submitted": "Submitted", "authorized": "Authorized"}[self.value]


class Numbering(enum.StrEnum):
    """Who numbers invoices in the ledger."""

    OURS = "ours"  # the ledger number is our INV/SO number
    LEDGER = "ledger"  # the ledger assigns its next number

    @property
    def label(self) -> str:
        return {"ours": "Our numbers", "ledger": "The ledger's numbers"}[self.value]


class AccountPurpose(enum.StrEnum):
    """Which ledger account a mapping chooses."""

    INCOME = "income"
    EXPENSE = "expense"  # purchases / cost of goods sold
    SHIPPING = "shipping"  # shipping charged to customers: income
    FREIGHT = "freight"  # freight suppliers charge us: a cost
    SURCHARGE = "surcharge"  # card surcharge charged to customers: income
    PAYABLES = "payables"  # QuickBooks APAccountRef for bills and purchase orders

    @property
    def label(self) -> str:
        return {
            "income": "Income (sales)",
            "expense": "Expense / cost of goods sold",
            "shipping": "Shipping charged to customers (income)",
            "freight": "Supplier freight (cost)",
            "surcharge": "Payment surcharge (income)",
            "payables": "Accounts payable",
        }[self.value]


# --------------------------------------------------------------------------------------------
# Plain data passed in and out (no ORM objects cross this line)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerTenant:
    """A QuickBooks company (realm) or Xero organisation the grant can reach."""

    id: str
    name: str
    # Xero's connection id (needed to disconnect one tenant); empty for QuickBooks.
    connection_id: str = ""


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""

    @property
    def is_empty(self) -> bool:
        return not any((self.line1, self.line2, self.city, self.region, self.postcode))


@dataclass(frozen=True)
class CustomerData:
    """A client organization, following the BMS sync map (seed 004)."""

    key: str  # idempotency key of the delivery
    reference: str  # our stable id, e.g. "org-12"; kept in the ledger's notes for look-up
    display_name: str
    account_number: str = ""
    email: str = ""
    phone: str = ""
    fax: str = ""
    website: str = ""
    notes: str = ""
    terms: str = ""  # e.g. "Net 30"
    credit_limit: Decimal | None = None
    taxable: bool = True
    currency: str = ""
    billing_address: Address = field(default_factory=Address)
    shipping_address: Address = field(default_factory=Address)
    maybe_sent: bool = False


@dataclass(frozen=True)
class SupplierData:
    """A supplier (QuickBooks Vendor, Xero Contact with IsSupplier)."""

    key: str
    reference: str  # e.g. "supplier-4"
    display_name: str
    account_number: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    currency: str = ""
    address: Address = field(default_factory=Address)
    maybe_sent: bool = False


@dataclass(frozen=True)
class ItemData:
    """A product or service line item (QuickBooks Item, Xero Item)."""

    key: str
    reference: str  # e.g. "product-9"
    code: str  # SKU; matched first (Xero Code, QuickBooks Sku/Name)
    name: str  # QuickBooks Name (unique, <=100, no ':'); Xero Name
    description: str = ""
    sold: bool = True
    purchased: bool = True
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None
    income_account_id: str = ""  # ledger account ids from the mappings
    expense_account_id: str = ""
    taxable: bool = True
    maybe_sent: bool = False


@dataclass(frozen=True)
class DocumentLine:
    """One line of an invoice, bill or purchase order, amounts exclusive of tax."""

    description: str
    quantity: Decimal
    unit_amount: Decimal
    line_amount: Decimal  # quantity * unit_amount, rounded once
    tax_amount: Decimal = Decimal("0")
    item_ledger_id: str = ""  # from the item's ledger link; empty = account-only line
    item_code: str = ""
    account_id: str = ""  # ledger account (income for sales, expense for purchases)
    tax_rate_id: str = ""  # ledger tax rate/code id from the tax mapping
    our_tax_code: str = ""


@dataclass(frozen=True)
class InvoiceData:
    """A customer invoice (QuickBooks Invoice, Xero ACCREC)."""

    key: str
    reference: str  # our document number, e.g. "INV-000123": the look-up key
    customer_ledger_id: str
    issue_date: date
    due_date: date | None
    currency: str
    lines: tuple[DocumentLine, ...]
    status: LedgerDocumentStatus = LedgerDocumentStatus.AUTHORIZED
    # Our number when numbering is OURS; None lets the ledger number it.
    number: str | None = None
    customer_po: str = ""
    memo: str = ""
    subtotal: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    maybe_sent: bool = False


@dataclass(frozen=True)
class BillData:
    """A supplier bill from a receipt (QuickBooks Bill, Xero ACCPAY)."""

    key: str
    reference: str  # our receipt reference, e.g. "RCPT-17": the look-up key
    supplier_ledger_id: str
    supplier_invoice_number: str  # becomes the bill's reference / DocNumber
    issue_date: date
    due_date: date | None
    currency: str
    lines: tuple[DocumentLine, ...]
    status: LedgerDocumentStatus = LedgerDocumentStatus.DRAFT
    memo: str = ""
    subtotal: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    purchase_order_ledger_id: str = ""  # link to the pushed PO, when there is one
    payables_account_id: str = ""  # AccountPurpose.PAYABLES mapping; empty = ledger default
    maybe_sent: bool = False


@dataclass(frozen=True)
class PurchaseOrderData:
    """A purchase order as issued (QuickBooks PurchaseOrder only)."""

    key: str
    reference: str  # our PO number: the look-up key
    supplier_ledger_id: str
    number: str
    issue_date: date
    delivery_date: date | None
    currency: str
    lines: tuple[DocumentLine, ...]
    memo: str = ""
    subtotal: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")  # purchase tax of the lines, as on the PO's bill
    total: Decimal = Decimal("0")
    payables_account_id: str = ""  # AccountPurpose.PAYABLES mapping; empty = ledger default
    maybe_sent: bool = False


@dataclass(frozen=True)
class CloseData:
    """Close one purchase order the ledger holds (ours was cancelled after it was pushed)."""

    key: str
    reference: str  # our PO number
    purchase_order_ledger_id: str
    maybe_sent: bool = False


@dataclass(frozen=True)
class VoidData:
    """Undo one invoice the ledger holds (its document was cancelled).

    The provider reads the invoice first (current version, payments, status) and decides:
    void it, delete a draft, or credit it when payments stop a void.
    """

    key: str
    reference: str  # our document number
    invoice_ledger_id: str
    invoice_number: str = ""
    action: CancelAction = CancelAction.VOID
    issue_date: date | None = None  # the credit note's date (today)
    maybe_sent: bool = False


@dataclass(frozen=True)
class LedgerAccount:
    id: str
    name: str
    code: str = ""
    type: str = ""  # vendor's account type, e.g. "Income", "REVENUE", "Expense"
    purposes: frozenset[AccountPurpose] = frozenset()  # which mapping lists offer it

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}".strip()


@dataclass(frozen=True)
class LedgerTaxRate:
    id: str  # QuickBooks TaxCode id / Xero TaxType
    name: str
    rate: Decimal | None = None


@dataclass
class LedgerLists:
    """A ledger's chart of accounts and tax rates, as stored on its connection.

    A job reads them from the vendor (``operations.refresh_lists``); pages only read the copy.
    """

    accounts: list[LedgerAccount] = field(default_factory=list)
    tax_rates: list[LedgerTaxRate] = field(default_factory=list)
    error: str = ""  # the last refresh failed: shown beside the lists it kept
    read_at: datetime | None = None  # None: never read yet
    pending: bool = False  # a refresh is queued or running

    def accounts_for(self, purpose: AccountPurpose) -> list[LedgerAccount]:
        fitting = [a for a in self.accounts if purpose in a.purposes]
        return fitting or self.accounts

    def to_payload(self) -> dict:
        return {
            "accounts": [
                {
                    "id": a.id,
                    "name": a.name,
                    "code": a.code,
                    "type": a.type,
                    "purposes": sorted(p.value for p in a.purposes),
                }
                for a in self.accounts
            ],
            "tax_rates": [
                {"id": r.id, "name": r.name, "rate": None if r.rate is None else str(r.rate)}
                for r in self.tax_rates
            ],
        }

    @classmethod
    def from_payload(cls, payload: dict | None, **state) -> LedgerLists:
        payload = payload or {}
        accounts = [
            LedgerAccount(
                id=a["id"],
                name=a["name"],
                code=a.get("code", ""),
                type=a.get("type", ""),
                purposes=frozenset(AccountPurpose(p) for p in a.get("purposes", ())),
            )
            for a in payload.get("accounts", ())
        ]
        rates = [
            LedgerTaxRate(
                id=r["id"],
                name=r["name"],
                rate=None if r.get("rate") is None else Decimal(r["rate"]),
            )
            for r in payload.get("tax_rates", ())
        ]
        return cls(accounts, rates, **state)


@dataclass(frozen=True)
class LedgerPayment:
    """One payment (or one allocation of it) applied to an invoice in the ledger."""

    ledger_payment_id: str  # unique per payment *and* invoice it applies to
    invoice_ledger_id: str
    amount: Decimal
    paid_on: date
    currency: str = ""
    reference: str = ""
    # Paid above what the ledger could apply to the invoice (QuickBooks unapplied amount,
    # Xero overpayment credit left): counted as paid on the document, shown as overpaid.
    overpayment: bool = False
    # Deleted in the ledger: every imported allocation of this payment stops counting — the
    # row whose ledger_payment_id is this id, or begins with this id and ":" (invoice_ledger_id
    # and amount are then not known and are left empty / zero). An id "<payment>:<part>"
    # read means all parts of that payment are read: a part imported before and not read
    # again stops counting.
    deleted: bool = False
    # Read again and applied to no invoice now (every QuickBooks line removed, every Xero
    # allocation deleted): as with a deletion, every imported part of it stops counting.
    unallocated: bool = False


def summed_parts(parts: Iterable[LedgerPayment]) -> list[LedgerPayment]:
    """Return one part per ``ledger_payment_id``: parts of one payment on one invoice summed.

    A QuickBooks payment may have two lines on one invoice and a Xero overpayment two
    allocations to it; the id is per payment and invoice, so they are one part of ours.
    """
    merged: dict[str, LedgerPayment] = {}
    for part in parts:
        seen = merged.get(part.ledger_payment_id)
        merged[part.ledger_payment_id] = (
            part if seen is None else replace(seen, amount=seen.amount + part.amount)
        )
    return list(merged.values())


@dataclass(frozen=True)
class WebhookEvent:
    """One change notified by the vendor's webhook."""

    tenant_id: str
    entity: str  # "Invoice", "Payment", ...
    entity_id: str
    operation: str  # "Create", "Update", ...


# --------------------------------------------------------------------------------------------
# The interfaces
# --------------------------------------------------------------------------------------------


@runtime_checkable
class AccountingPush(Protocol):
    """The operations the outbox and the admin screens call on a ledger."""

    def find_or_create_customers(self, customers: Sequence[CustomerData]) -> list[PushResult]:
        """Match each customer by name/number, create the missing ones; one result each."""
        ...

    def find_or_create_items(self, items: Sequence[ItemData]) -> list[PushResult]:
        """Match each item by code/name, create the missing ones; one result each."""
        ...

    def find_or_create_suppliers(self, suppliers: Sequence[SupplierData]) -> list[PushResult]:
        """Match each supplier by name/number, create the missing ones; one result each."""
        ...

    def push_invoices(self, invoices: Sequence[InvoiceData]) -> list[PushResult]:
        """Create the invoices (look up first those with ``maybe_sent``); one result each."""
        ...

    def push_bills(self, bills: Sequence[BillData]) -> list[PushResult]:
        """Create the bills (look up first those with ``maybe_sent``); one result each."""
        ...

    def push_purchase_orders(self, orders: Sequence[PurchaseOrderData]) -> list[PushResult]:
        """Create the purchase orders; raise UnsupportedOperation if the ledger has none."""
        ...

    def void_invoices(self, voids: Sequence[VoidData]) -> list[PushResult]:
        """Void (or credit) invoices of cancelled documents; a refusal names what to do."""
        ...

    def close_purchase_orders(self, closes: Sequence[CloseData]) -> list[PushResult]:
        """Close purchase orders of cancelled POs; raise UnsupportedOperation if it has none."""
        ...

    def fetch_payments(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        last_read: datetime | None = None,
        counted: Sequence[str] = (),
    ) -> list[LedgerPayment]:
        """Return payments applied to invoices changed in the window, and deletions.

        ``last_read``: when the previous read ended (None: never). ``counted``: ids of the
        payments counted on our documents now, for a ledger that must read them again to
        find deletions it cannot report otherwise (QuickBooks past CDC's limits).
        """
        ...

    def list_accounts(self) -> list[LedgerAccount]:
        """Return the chart of accounts (active accounts), live from the ledger."""
        ...

    def list_tax_rates(self) -> list[LedgerTaxRate]:
        """Return the ledger's tax rates / codes, live."""
        ...

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the grant at the vendor (disconnect); tolerate an already-dead grant."""
        ...


class AccountingProvider(AccountingPush, Protocol):
    """A provider class: class-level facts plus the push operations on an instance."""

    name: ClassVar[str]  # registry name: "qbo", "xero"
    label: ClassVar[str]  # "QuickBooks Online", "Xero"
    supports: ClassVar[frozenset[DeliveryKind]]
    max_batch: ClassVar[int]  # items per API call the outbox hands over
    rate_limit: ClassVar[RateLimit]
    oauth: ClassVar[OAuthSpec]

    def __init__(self, ctx: ConnectionContext) -> None: ...

    @classmethod
    def list_tenants(
        cls, ctx: ConnectionContext, callback_args: Mapping[str, str]
    ) -> list[LedgerTenant]:
        """Return the tenants the fresh grant reaches (QuickBooks: realmId from the callback)."""
        ...

    @classmethod
    def verify_webhook(cls, raw_body: bytes, headers: Mapping[str, str], key: str) -> bool:
        """Return whether the webhook signature matches (constant-time compare)."""
        ...

    @classmethod
    def parse_webhook(cls, raw_body: bytes) -> list[WebhookEvent]:
        """Return the changes a verified webhook body announces."""
        ...

    def record_url(self, kind: DeliveryKind, remote_id: str) -> str:
        """Return the ledger web UI link for a record (shown on our document)."""
        ...


ProviderFactory = Callable[[ConnectionContext], AccountingPush]
