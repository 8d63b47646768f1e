"""Purchasing scenes: suppliers with offers, sales documents issued the real way, settings."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select

# The browser test drives the purchasing admin with tests/browser's Chromium.
from tests.browser.conftest import chromium, new_page  # noqa: F401
from tests.factories import make_product, make_supplier
from webapp.catalog.models import Product, ProductType, Supplier, SupplierOffer
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from webapp.sales import operations as sales_operations
from webapp.sales.models import DocumentSource, PaymentMethod, SalesDocument
from webapp.settings.operations import set_setting

_keys = itertools.count(1)


def offer(supplier: Supplier, product: Product, cost: str, stock: int, eta_days=3) -> SupplierOffer:
    """Add a supplier offer for a product (another supplier's price and stock)."""
    row = SupplierOffer(
        supplier=supplier,
        product=product,
        supplier_sku=f"{supplier.code.upper()}-{product.mpn}",
        cost=Decimal(cost),
        stock=stock,
        eta_days=eta_days,
        updated_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def issue(store, *items, organization=None, contact=None, hold_reason: str = "") -> SalesDocument:
    """Issue a sales document for (product, quantity) items, as checkout does."""
    lines = [
        sales_operations.LineInput(
            product_id=product.id,
            sku=product.mpn,
            description=product.name,
            quantity=quantity,
            unit_price=(product.best_cost or Decimal("100")) * Decimal("1.2"),
            unit_cost=product.best_cost,
            tax_code=None,
        )
        for product, quantity in items
    ]
    return sales_operations.issue_document(
        organization=organization or store.org,
        contact=contact or store.customer,
        lines=lines,
        header=sales_operations.HeaderInput(
            ship_to_name="Contoso",
            address_line1="1 Harbour St",
            address_line2="",
            city="Springfield",
            region="",
            postcode="62701",
            country="US",
            shipping_method_name="Courier",
            shipping_charge=Decimal("15.00"),
            payment_method=PaymentMethod.ON_ACCOUNT,
            surcharge_pct=Decimal(0),
            customer_po="",
            note="",
        ),
        source=DocumentSource.STORE,
        idempotency_key=f"test:{next(_keys)}",
        actor=contact or store.customer,
        currency="USD",
        hold_reason=hold_reason,
    )


def configure(store, **settings) -> None:
    """Set purchasing settings (as the admin would)."""
    for key, value in settings.items():
        set_setting(key, value, store.admin)
    db.session.flush()


def purchase_orders() -> list[PurchaseOrder]:
    return list(db.session.scalars(select(PurchaseOrder).order_by(PurchaseOrder.id)))


def po_lines(document: SalesDocument) -> list[PurchaseOrderLine]:
    return list(
        db.session.scalars(
            select(PurchaseOrderLine)
            .where(PurchaseOrderLine.sales_document_id == document.id)
            .order_by(PurchaseOrderLine.id)
        )
    )


@dataclass
class Market:
    """Three suppliers for the store's laptops, one of them without an email address."""

    ingram: Supplier
    dicker: Supplier
    silent: Supplier
    t14: Product
    x1: Product
    e16: Product
    service: Product


@pytest.fixture
def market(store) -> Market:
    ingram = store.supplier
    ingram.email = "orders@ingram.example"
    dicker = make_supplier("dicker", name="Dicker Data", email="po@dicker.example")
    silent = make_supplier("silent", name="Silent Supplies", email="")
    t14, x1, e16 = store.products
    # T14: Ingram 1000 x5; Dicker 990 x2 -> 7 units would be split.
    offer(dicker, t14, "990.00", 2)
    service = make_product(
        category=store.category,
        brand=store.brand,
        name="Onsite setup",
        cost=None,
        product_type=ProductType.LABOUR,
    )
    db.session.commit()
    return Market(ingram, dicker, silent, t14, x1, e16, service)
