"""Own stock and supplier bid costs.

Every function flushes and never commits; the view or job that calls it commits once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from webapp.auth.models import User
from webapp.catalog.models import Product, Supplier
from webapp.extensions import db
from webapp.purchasing.errors import PurchasingError
from webapp.purchasing.lifecycle import check_unit_cost
from webapp.purchasing.models import BidPrice, StockItem

# --- own stock --------------------------------------------------------------------------------


def set_stock(
    product: Product, *, on_hand: int, unit_cost: Decimal, actor: User | None, location: str = ""
) -> StockItem:
    """Set how many of a product the MSP holds itself, and what a unit cost."""
    if not isinstance(on_hand, int) or on_hand < 0:
        raise PurchasingError("Stock on hand must be a whole number, zero or more.")
    check_unit_cost(unit_cost, "Stock unit cost")
    item = db.session.scalar(
        select(StockItem).where(StockItem.product_id == product.id).with_for_update()
    ) or StockItem(product=product, quantity_allocated=0)
    if on_hand < (item.quantity_allocated or 0):
        raise PurchasingError(
            f"{item.quantity_allocated} of {product.name} are already allocated to orders: "
            "on hand cannot go below that."
        )
    item.quantity_on_hand = on_hand
    item.unit_cost = unit_cost
    item.location = location.strip()[:100]
    db.session.add(item)
    db.session.flush()
    return item


def add_bid_price(
    *,
    supplier: Supplier,
    product: Product,
    organization,
    unit_cost: Decimal,
    valid_from: date,
    valid_until: date | None,
    reference: str,
    actor: User,
) -> BidPrice:
    """Record a supplier's special cost for one organization's deal."""
    check_unit_cost(unit_cost, "Bid unit cost")
    if valid_until is not None and valid_until < valid_from:
        raise PurchasingError("The bid ends before it starts: check the dates.")
    bid = BidPrice(
        supplier=supplier,
        product=product,
        organization=organization,
        unit_cost=unit_cost,
        valid_from=valid_from,
        valid_until=valid_until,
        reference=reference.strip()[:100],
    )
    db.session.add(bid)
    db.session.flush()
    return bid
