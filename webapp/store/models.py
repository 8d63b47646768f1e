from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.catalog.models import Product
from webapp.extensions import db
from webapp.models_base import Money, Percent, TimestampMixin, UTCDateTime, str_enum
from webapp.organizations.models import AddressMixin
from webapp.sales.models import PaymentMethod


class ShippingMethod(db.Model):
    __tablename__ = "shipping_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    charge: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class Cart(TimestampMixin, db.Model):
    """A customer's cart. While `checkout_started_at` is set its lines are frozen."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    checkout_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changes on every freeze, edit and order: a "Place order" form carries the value it
    # was rendered with, so a second click or a stale tab cannot place a second order.
    revision: Mapped[int] = mapped_column(default=0)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )

    @property
    def is_frozen(self) -> bool:
        return self.checkout_started_at is not None

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class CartLine(db.Model):
    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("cart_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column()
    # What the customer was shown: checkout compares these with current values.
    unit_price_seen: Mapped[Decimal] = mapped_column(Money)
    stock_seen: Mapped[int] = mapped_column(default=0)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class CheckoutDetails(AddressMixin, db.Model):
    """What the customer typed at checkout, kept so a re-confirm does not lose it."""

    __tablename__ = "checkout_details"

    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), primary_key=True)
    ship_to_name: Mapped[str] = mapped_column(String(200), default="")
    shipping_method_id: Mapped[int | None] = mapped_column(ForeignKey("shipping_methods.id"))
    payment_method: Mapped[PaymentMethod] = mapped_column(
        str_enum(PaymentMethod, "payment_method"), default=PaymentMethod.ON_ACCOUNT
    )
    customer_po: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(String(2000), default="")
    card_surcharge_pct: Mapped[Decimal | None] = mapped_column(Percent)
