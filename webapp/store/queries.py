"""Store reads used by templates on every page."""

from __future__ import annotations

from flask import g
from flask_login import current_user
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.store.models import Cart, CartLine


def cart_badge_count() -> int:
    """Items in the signed-in customer's cart (0 for staff and visitors), once per request."""
    if not current_user.is_authenticated or current_user.organization_id is None:
        return 0
    if "cart_badge_count" not in g:
        g.cart_badge_count = (
            db.session.scalar(
                select(func.coalesce(func.sum(CartLine.quantity), 0))
                .join(Cart, Cart.id == CartLine.cart_id)
                .where(Cart.user_id == current_user.id)
            )
            or 0
        )
    return g.cart_badge_count
