"""Purchase orders to suppliers, receipts of supplier invoices, own stock and bid prices.

How the rows hang together (reports read them this way):

- A `PurchaseOrder` goes to one `Supplier`. Each `PurchaseOrderLine` buys part (or all) of one
  sales document line (`sales_document_line_id`, with `sales_document_id` copied for queries);
  demand from several sales documents for one supplier can share one PO. Lines with no sales
  line were added by staff by hand.
- A `Receipt` is one supplier invoice receipted against one PO (invoice number unique per
  supplier). Its `ReceiptLine`s say how many units of which PO line arrived and at what
  *actual* unit cost: receipted cost, not PO cost, is what gross profit uses.
- Own stock (`StockItem`, one per product) is allocated to sales document lines first
  (`StockAllocation`, with the stock's unit cost at the time); only the rest is bought.
- `BidPrice` is a special cost a supplier granted for one client organization's deal.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.catalog.models import Product, Supplier
from webapp.extensions import db
from webapp.models_base import Cost, Money, TimestampMixin, UTCDateTime, str_enum, utcnow
from webapp.money import round_money
from webapp.organizations.models import Organization
from webapp.sales.models import SalesDocument, SalesDocumentLine


class PurchaseOrderStatus(enum.StrEnum):
    """draft → issued → partially received → received; draft or issued → cancelled."""

    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        """Tell whether goods are still expected on this PO (it counts as on order)."""
        return self in {
            PurchaseOrderStatus.DRAFT,
            PurchaseOrderStatus.ISSUED,
            PurchaseOrderStatus.PARTIALLY_RECEIVED,
        }


class PurchaseOrder(TimestampMixin, db.Model):
    """An order to one supplier: a draft (purchasing suggestion) until issued."""

    __tablename__ = "purchase_orders"
    __table_args__ = (Index("ix_purchase_orders_supplier_status", "supplier_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # PO-000123, from the shared document sequences (prefix "PO").
    number: Mapped[str] = mapped_column(String(20), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        str_enum(PurchaseOrderStatus, "purchase_order_status"), default=PurchaseOrderStatus.DRAFT
    )
    currency: Mapped[str] = mapped_column(String(3))
    # Sum of the lines' totals (each rounded to the cent once) and the freight the supplier
    # charges on this PO (its flat fee, or 0 once the subtotal reaches the free threshold).
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    freight: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # How the lines were chosen: "mip", "greedy" (optimizer) or "manual" (staff).
    planning_method: Mapped[str] = mapped_column(String(20), default="")
    # Why a draft needs a person before it can go out (e.g. the supplier has no email).
    attention: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where it was emailed when issued (the supplier's address at that time).
    issued_to: Mapped[str] = mapped_column(String(254), default="")
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None when the optimizer created it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    supplier: Mapped[Supplier] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="purchase_order",
        cascade="all, delete-orphan",
        order_by="PurchaseOrderLine.position",
    )
    receipts: Mapped[list[Receipt]] = relationship(
        back_populates="purchase_order", order_by="Receipt.id"
    )
    events: Mapped[list[PurchaseOrderEvent]] = relationship(
        back_populates="purchase_order",
        cascade="all, delete-orphan",
        order_by="PurchaseOrderEvent.id",
    )

    @property
    def is_locked(self) -> bool:
        """Tell whether goods were receipted against it (receipted lines never change)."""
        return any(line.quantity_received for line in self.lines)


class PurchaseOrderLine(db.Model):
    """Units of one product bought from the PO's supplier, with the optimizer's reasons."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_received >= 0", name="quantity_received_not_negative"),
        CheckConstraint("quantity_received <= quantity", name="received_within_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    position: Mapped[int] = mapped_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    # The supplier's SKU from its offer when the line was written (the PO speaks their codes).
    supplier_sku: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column()
    # Expected unit cost (offer or bid); the receipt records what was actually charged.
    unit_cost: Mapped[Decimal] = mapped_column(Cost)
    quantity_received: Mapped[int] = mapped_column(default=0)
    bid_used: Mapped[bool] = mapped_column(default=False)
    # Nobody had stock: ordered from the supplier with the best ETA, to arrive later.
    backorder: Mapped[bool] = mapped_column(default=False)
    eta_days: Mapped[int | None] = mapped_column()
    # Staff chose the supplier by hand: a re-plan keeps this line where it is.
    overridden: Mapped[bool] = mapped_column(default=False)
    # Staff confirmed the line's zero cost (free goods); any other cost clears it.
    zero_cost_confirmed: Mapped[bool] = mapped_column(default=False)
    # The demand this line covers; both None for lines staff added by hand.
    sales_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_documents.id"), index=True
    )
    sales_document_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_document_lines.id"), index=True
    )
    # The optimizer's decision record for the demand line (webapp.purchasing.optimizer
    # Decision.to_dict(): summary + candidates with landed cost, stock, premium and reason),
    # plus "method" and, after an override, "override": {"by", "from", "reason", "at"}.
    decision: Mapped[dict] = mapped_column(JSON, default=dict)

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    sales_document: Mapped[SalesDocument | None] = relationship()
    sales_document_line: Mapped[SalesDocumentLine | None] = relationship()

    @property
    def line_total(self) -> Decimal:
        """Return quantity × unit cost, rounded to the cent once."""
        return round_money(self.quantity * self.unit_cost)

    @property
    def outstanding(self) -> int:
        """Return how many units are still to be receipted."""
        return self.quantity - self.quantity_received


class PurchaseOrderEvent(db.Model):
    """One entry of a PO's timeline (created, issued, emailed, receipted, overridden...)."""

    __tablename__ = "purchase_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    type: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Receipt(db.Model):
    """A supplier invoice receipted against a PO: the bill the ledger will receive."""

    __tablename__ = "receipts"
    __table_args__ = (
        # One supplier never bills the same invoice twice.
        UniqueConstraint("supplier_id", "supplier_invoice_number"),
        Index("ix_receipts_due_date", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    supplier_invoice_number: Mapped[str] = mapped_column(String(100))
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    # Goods at actual unit costs (each line rounded to the cent), freight on this invoice.
    subtotal: Mapped[Decimal] = mapped_column(Money)
    freight: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str] = mapped_column(Text, default="")
    # The consignment the supplier shipped it on (purchasing.tracking): My orders shows it.
    tracking_number: Mapped[str] = mapped_column(String(100), default="", server_default="")
    carrier: Mapped[str] = mapped_column(String(20), default="", server_default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="receipts")
    supplier: Mapped[Supplier] = relationship()
    received_by: Mapped[User | None] = relationship()
    lines: Mapped[list[ReceiptLine]] = relationship(
        back_populates="receipt", cascade="all, delete-orphan", order_by="ReceiptLine.id"
    )


class ReceiptLine(db.Model):
    """Units of one PO line that arrived on a receipt, at the cost actually invoiced."""

    __tablename__ = "receipt_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    purchase_order_line_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order_lines.id"), index=True
    )
    quantity: Mapped[int] = mapped_column()
    unit_cost: Mapped[Decimal] = mapped_column(Cost)
    line_total: Mapped[Decimal] = mapped_column(Money)
    serial_numbers: Mapped[list] = mapped_column(JSON, default=list)

    receipt: Mapped[Receipt] = relationship(back_populates="lines")
    purchase_order_line: Mapped[PurchaseOrderLine] = relationship()


class StockItem(TimestampMixin, db.Model):
    """The MSP's own stock of one product: on hand, and how much is promised to orders."""

    __tablename__ = "stock_items"
    __table_args__ = (
        CheckConstraint("quantity_on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint(
            "quantity_allocated >= 0 AND quantity_allocated <= quantity_on_hand",
            name="allocated_within_on_hand",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), unique=True)
    quantity_on_hand: Mapped[int] = mapped_column(default=0)
    quantity_allocated: Mapped[int] = mapped_column(default=0)
    # What a unit of it cost (the cost gross profit uses for lines served from stock).
    unit_cost: Mapped[Decimal] = mapped_column(Cost, default=Decimal("0"))
    location: Mapped[str] = mapped_column(String(100), default="")

    product: Mapped[Product] = relationship()

    @property
    def available(self) -> int:
        """Return the units on hand not yet promised to an order."""
        return self.quantity_on_hand - self.quantity_allocated


class StockAllocation(db.Model):
    """Own stock promised to one sales document line (served from stock, not bought)."""

    __tablename__ = "stock_allocations"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_item_id: Mapped[int] = mapped_column(ForeignKey("stock_items.id"), index=True)
    sales_document_id: Mapped[int] = mapped_column(ForeignKey("sales_documents.id"), index=True)
    sales_document_line_id: Mapped[int] = mapped_column(
        ForeignKey("sales_document_lines.id"), index=True
    )
    quantity: Mapped[int] = mapped_column()
    unit_cost: Mapped[Decimal] = mapped_column(Cost)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stock_item: Mapped[StockItem] = relationship()
    sales_document_line: Mapped[SalesDocumentLine] = relationship()


class BidPrice(TimestampMixin, db.Model):
    """A supplier's special unit cost for one client organization, valid between two dates.

    The optimizer uses a bid for that organization's demand unless the supplier's regular
    offer is cheaper on the day of planning.
    """

    __tablename__ = "bid_prices"
    __table_args__ = (
        Index("ix_bid_prices_lookup", "product_id", "organization_id", "supplier_id"),
        CheckConstraint("unit_cost > 0", name="unit_cost_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    unit_cost: Mapped[Decimal] = mapped_column(Cost)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)  # inclusive; None: open-ended
    # The supplier's deal or bid number, quoted back on the PO.
    reference: Mapped[str] = mapped_column(String(100), default="")

    supplier: Mapped[Supplier] = relationship()
    product: Mapped[Product] = relationship()
    organization: Mapped[Organization] = relationship()
