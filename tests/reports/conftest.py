"""Report scenes: sales documents issued the real way, purchase orders tied to their lines,
supplier invoices receipted through purchasing's own operation, on chosen dates."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.factories import make_product, make_supplier, make_user
from webapp.auth.models import Role, User
from webapp.catalog.models import Product, ProductType, Supplier
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.purchasing import lifecycle, ordering, receipting
from webapp.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    StockAllocation,
    StockItem,
)
from webapp.sales import operations as sales_operations
from webapp.sales.models import DocumentSource, PaymentMethod, SalesDocument, SalesDocumentLine

_keys = itertools.count(1)


def at(day: str, hour: int = 12) -> datetime:
    """A UTC moment on an ISO day (midday unless told)."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    product: Product
    quantity: int
    unit_price: str
    unit_cost: str | None = None
    description: str | None = None


def sell(
    organization: Organization,
    contact: User,
    *items: Item,
    on: str,
    actor: User | None = None,
    payment: PaymentMethod = PaymentMethod.ON_ACCOUNT,
    shipping: str = "0",
    surcharge_pct: str = "0",
    customer_po: str = "",
    note: str = "",
) -> SalesDocument:
    """Issue a sales document (the real operation) and date it `on` (YYYY-MM-DD)."""
    document = sales_operations.issue_document(
        organization=organization,
        contact=contact,
        lines=[
            sales_operations.LineInput(
                product_id=item.product.id,
                sku=item.product.mpn,
                description=item.description or item.product.name,
                quantity=item.quantity,
                unit_price=Decimal(item.unit_price),
                unit_cost=Decimal(item.unit_cost) if item.unit_cost is not None else None,
                tax_code=None,
            )
            for item in items
        ],
        header=sales_operations.HeaderInput(
            ship_to_name=organization.name,
            address_line1="1 Harbour St",
            address_line2="Level 2",
            city="Springfield",
            region="IL",
            postcode="62701",
            country="US",
            shipping_method_name="Courier",
            shipping_charge=Decimal(shipping),
            payment_method=payment,
            surcharge_pct=Decimal(surcharge_pct),
            customer_po=customer_po,
            note=note,
        ),
        source=DocumentSource.QUOTE if actor and actor.is_staff else DocumentSource.STORE,
        idempotency_key=f"report-test:{next(_keys)}",
        actor=actor or contact,
        currency="USD",
    )
    # The report's subject is the document date: set it as the test's story needs.
    document.created_at = at(on)
    db.session.flush()
    return document


def order(
    supplier: Supplier,
    *lines: tuple[SalesDocumentLine | Product, int, str],
    on: str,
    eta_days: int | None = 3,
    issue: bool = True,
    actor: User | None = None,
) -> PurchaseOrder:
    """A purchase order for (sales line or product, quantity, unit cost) lines, issued on a
    day. Lines are written as the optimizer writes them; issuing is purchasing's operation."""
    po = lifecycle.create_purchase_order(supplier, actor, method="manual")
    for position, (target, quantity, cost) in enumerate(lines, start=1):
        if isinstance(target, SalesDocumentLine):
            product = db.session.get(Product, target.product_id)
            links = {"sales_document_id": target.document_id, "sales_document_line_id": target.id}
        else:
            product, links = target, {}
        po.lines.append(
            PurchaseOrderLine(
                position=position,
                product=product,
                supplier_sku=f"{supplier.code.upper()}-{product.mpn}",
                description=product.name,
                quantity=quantity,
                unit_cost=Decimal(cost),
                eta_days=eta_days,
                **links,
            )
        )
    lifecycle.recompute_totals(po)
    db.session.flush()
    if issue:
        ordering.issue_purchase_order(po, actor)
        po.issued_at = at(on, 9)
    po.created_at = at(on, 8)
    db.session.flush()
    return po


def receive(
    po: PurchaseOrder,
    *lines: tuple[PurchaseOrderLine, int, str],
    invoice: str,
    on: str,
    due: str | None = None,
    freight: str = "0",
    actor: User | None = None,
) -> Receipt:
    """Receipt a supplier invoice against the PO with purchasing's own operation."""
    return receipting.record_receipt(
        po,
        receipting.ReceiptInput(
            supplier_invoice_number=invoice,
            invoice_date=date.fromisoformat(on),
            due_date=date.fromisoformat(due) if due else None,
            freight=Decimal(freight),
            lines=[
                receipting.ReceiptLineInput(line_id=line.id, quantity=qty, unit_cost=Decimal(cost))
                for line, qty, cost in lines
            ],
        ),
        actor,
    )


def allocate(line: SalesDocumentLine, quantity: int, unit_cost: str) -> StockAllocation:
    """Serve units of a sales line from own stock at the stock's cost."""
    stock = StockItem(
        product_id=line.product_id,
        quantity_on_hand=quantity,
        quantity_allocated=quantity,
        unit_cost=Decimal(unit_cost),
    )
    db.session.add(stock)
    allocation = StockAllocation(
        stock_item=stock,
        sales_document_id=line.document_id,
        sales_document_line_id=line.id,
        quantity=quantity,
        unit_cost=Decimal(unit_cost),
    )
    db.session.add(allocation)
    db.session.flush()
    return allocation


@dataclass
class Books:
    """The store plus what reports need: a second supplier, a labour product, a salesperson."""

    store: object
    ingram: Supplier
    dicker: Supplier
    laptop: Product
    dock: Product
    labour: Product
    seller: User
    org: Organization
    other_org: Organization


@pytest.fixture
def books(store) -> Books:
    store.supplier.email = "orders@ingram.example"
    dicker = make_supplier("dicker", name="Dicker Data", email="po@dicker.example")
    laptop = store.products[0]
    dock = make_product(
        category=store.category, brand=store.brand, name="USB-C Dock", cost="150.00", stock=50
    )
    labour = make_product(
        category=store.category,
        brand=store.brand,
        name="Onsite setup",
        cost=None,
        product_type=ProductType.LABOUR,
    )
    seller = make_user(role=Role.SALES, email="dana@msp.example", name="Dana Seller")
    db.session.commit()
    return Books(
        store=store,
        ingram=store.supplier,
        dicker=dicker,
        laptop=laptop,
        dock=dock,
        labour=labour,
        seller=seller,
        org=store.org,
        other_org=store.other_org,
    )


# The browser test drives the reports with the same headless Chromium as tests/browser.
from tests.browser.conftest import chromium, new_page  # noqa: E402, F401
