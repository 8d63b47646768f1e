"""Demo purchasing data: own stock, a customer bid price, supplier emails, the officer's address.

Call `seed_purchasing()` after the catalog demo is loaded (it needs suppliers, products and
organizations); it flushes and does nothing the second time.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from webapp.auth.models import Role, User
from webapp.catalog.models import Product, ProductType, Supplier, SupplierOffer
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization
from webapp.purchasing.models import BidPrice, StockItem
from webapp.settings.operations import set_setting

OFFICER_EMAIL = "purchasing@msp.example"


def seed_purchasing(echo=print) -> None:
    """Add own stock for a few products, one bid price, and the purchasing settings."""
    if db.session.scalar(select(StockItem.id).limit(1)) is not None:
        return
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
    # Suppliers that take orders need an address to send POs to (the offline one has none,
    # which the demo shows as a draft that "needs an email address").
    for supplier in db.session.scalars(select(Supplier).where(Supplier.online.is_(True))):
        if not supplier.email:
            supplier.email = f"orders@{supplier.code}.example"

    products = list(
        db.session.scalars(
            select(Product)
            .where(
                Product.product_type == ProductType.PHYSICAL,
                Product.best_cost.is_not(None),
                Product.obsolete.is_(False),
            )
            .order_by(Product.id)
            .limit(4)
        )
    )
    for product, on_hand in zip(products[:3], (5, 2, 10), strict=False):
        db.session.add(
            StockItem(
                product=product,
                quantity_on_hand=on_hand,
                quantity_allocated=0,
                unit_cost=(product.best_cost * Decimal("0.95")).quantize(Decimal("0.0001")),
                location="Main warehouse",
            )
        )
        echo(f"  Own stock: {on_hand} × {product.name}")

    contoso = db.session.scalar(select(Organization).where(Organization.name == "Contoso"))
    if len(products) == 4 and contoso is not None:
        target = products[3]
        offer = db.session.scalar(
            select(SupplierOffer)
            .where(SupplierOffer.product_id == target.id, SupplierOffer.available.is_(True))
            .order_by(SupplierOffer.cost.desc())
            .limit(1)
        )
        if offer is not None:
            today = utcnow().date()
            db.session.add(
                BidPrice(
                    supplier_id=offer.supplier_id,
                    product=target,
                    organization=contoso,
                    unit_cost=(target.best_cost * Decimal("0.9")).quantize(Decimal("0.0001")),
                    valid_from=today - timedelta(days=7),
                    valid_until=today + timedelta(days=90),
                    reference="DEAL-CONTOSO-01",
                )
            )
            echo(f"  Bid price for Contoso on {target.name}")
    if admin is not None:
        set_setting("purchasing_officer_email", OFFICER_EMAIL, admin)
    db.session.flush()
