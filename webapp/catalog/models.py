from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models_base import (
    Cost,
    Money,
    Percent,
    TimestampMixin,
    UTCDateTime,
    str_enum,
    utcnow,
)


class ProductType(enum.StrEnum):
    PHYSICAL = "physical"
    NON_PHYSICAL = "non_physical"
    SERVICE = "service"
    RECURRING_SERVICE = "recurring_service"
    LABOUR = "labour"
    BUNDLE = "bundle"

    @property
    def label(self) -> str:
        return self.value.replace("_", "-").capitalize()

    @property
    def is_stocked(self) -> bool:
        """Goods bought from suppliers; services and labour have no stock."""
        return self in {ProductType.PHYSICAL, ProductType.NON_PHYSICAL}


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])


class Brand(db.Model):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)


class TaxCode(db.Model):
    __tablename__ = "tax_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(Percent)  # percent, e.g. 10.000
    is_default: Mapped[bool] = mapped_column(default=False)


def brand_and_name(brand: str, text: str) -> str:
    """Return ``text`` led by ``brand`` exactly once (feed names often start with the brand)."""
    brand, text = (brand or "").strip(), (text or "").strip()
    if not brand:
        return text
    prefix = f"{brand} ".casefold()
    while text.casefold().startswith(prefix + prefix):
        text = text[len(prefix) :]
    if text.casefold() == brand.casefold() or text.casefold().startswith(prefix):
        return text
    return f"{brand} {text}".strip()


class Product(TimestampMixin, db.Model):
    """One sellable thing: one per manufacturer part number and brand."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("brand_id", "mpn"),
        # The category page: live products of a category in name order.
        Index("ix_products_category_listing", "category_id", "obsolete", "name", "id"),
        Index("ix_products_brand_listing", "brand_id", "obsolete", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mpn: Mapped[str] = mapped_column(String(100))
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    product_type: Mapped[ProductType] = mapped_column(
        str_enum(ProductType, "product_type"), default=ProductType.PHYSICAL
    )
    tax_code_id: Mapped[int | None] = mapped_column(ForeignKey("tax_codes.id"))
    # A fixed sell price overrides the pricing rules.
    fixed_price: Mapped[Decimal | None] = mapped_column(Money)
    obsolete: Mapped[bool] = mapped_column(default=False)
    # Aggregates over live supplier offers, maintained by catalog.operations on every change
    # so that listing pages never scan offers.
    best_cost: Mapped[Decimal | None] = mapped_column(Cost)
    total_stock: Mapped[int] = mapped_column(default=0)
    min_eta_days: Mapped[int | None] = mapped_column()
    # A picture from the feed's image column (an https address on the distributor's CDN);
    # a picture staff upload (ProductImage) is shown instead when there is one.
    image_url: Mapped[str] = mapped_column(String(1000), default="", server_default="")

    brand: Mapped[Brand] = relationship(lazy="joined", innerjoin=True)
    category: Mapped[Category] = relationship()
    tax_code: Mapped[TaxCode | None] = relationship()
    offers: Mapped[list[SupplierOffer]] = relationship(back_populates="product")

    @property
    def in_stock(self) -> bool:
        return self.total_stock > 0 or not self.product_type.is_stocked

    @property
    def display_name(self) -> str:
        """Return the line description: brand and name, the brand once ("Dell Latitude 5440")."""
        return brand_and_name(self.brand.name, self.name)


class ProductImage(db.Model):
    """A picture staff uploaded for a product, kept in the database: every web server and
    worker sees it, whichever machine it was uploaded to."""

    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(50))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Supplier(TimestampMixin, db.Model):
    """A distributor that publishes a price-and-stock feed and receives purchase orders."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    online: Mapped[bool] = mapped_column(default=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    freight_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    free_freight_threshold: Mapped[Decimal | None] = mapped_column(Money)
    priority_premium_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    # How to read this supplier's feed: see catalog.feeds.FeedFormat.
    feed_format: Mapped[dict] = mapped_column(JSON, default=dict)

    offers: Mapped[list[SupplierOffer]] = relationship(back_populates="supplier")


class SupplierCategoryMap(db.Model):
    """Maps a supplier's own category name onto one of ours."""

    __tablename__ = "supplier_category_maps"
    __table_args__ = (UniqueConstraint("supplier_id", "supplier_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    supplier_category: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))

    category: Mapped[Category] = relationship()


class SupplierOffer(db.Model):
    """One row of a supplier's feed: their SKU for our product, with cost, stock and ETA."""

    __tablename__ = "supplier_offers"
    __table_args__ = (
        UniqueConstraint("supplier_id", "supplier_sku"),
        Index("ix_supplier_offers_product", "product_id", "available"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    supplier_sku: Mapped[str] = mapped_column(String(100))
    cost: Mapped[Decimal] = mapped_column(Cost)
    stock: Mapped[int] = mapped_column(default=0)
    eta_days: Mapped[int | None] = mapped_column()
    # False once a full feed no longer lists the offer: kept for history, never priced.
    available: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The import that last listed this offer: a full feed withdraws offers it did not list.
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("feed_imports.id"))

    supplier: Mapped[Supplier] = relationship(back_populates="offers")
    product: Mapped[Product] = relationship(back_populates="offers")


class PricingRule(db.Model):
    """Markup on best cost; the most specific rule for (price group, brand, category) wins."""

    __tablename__ = "pricing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    price_group_id: Mapped[int | None] = mapped_column(ForeignKey("price_groups.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    markup_pct: Mapped[Decimal] = mapped_column(Percent)
    __table_args__ = (
        # A plain unique constraint lets NULLs repeat, and NULL means "any" here: compare
        # them as 0 so two "any brand" rules for one category cannot both exist.
        Index(
            "uq_pricing_rules_scope",
            func.coalesce(price_group_id, 0),
            func.coalesce(category_id, 0),
            func.coalesce(brand_id, 0),
            unique=True,
        ),
    )

    price_group = relationship("PriceGroup")
    category: Mapped[Category | None] = relationship()
    brand: Mapped[Brand | None] = relationship()


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # A full feed that would withdraw too many offers or has too many bad rows: nothing was
    # changed, and it waits for someone to confirm it (which runs it with override_limits).
    HELD = "held"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FeedImport(TimestampMixin, db.Model):
    """One run of a supplier feed import, with its summary and the rows it skipped."""

    __tablename__ = "feed_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    stored_path: Mapped[str] = mapped_column(String(500), default="")
    # The feed file itself, so a worker on any machine can read it (deferred: it can be large).
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    override_limits: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "import_status"), default=ImportStatus.QUEUED
    )
    rows_read: Mapped[int] = mapped_column(default=0)
    products_created: Mapped[int] = mapped_column(default=0)
    offers_created: Mapped[int] = mapped_column(default=0)
    offers_updated: Mapped[int] = mapped_column(default=0)
    offers_withdrawn: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    # [{"line": 12, "reason": "cost: 'abc' is not a number"}, ...], capped in size.
    problems: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    supplier: Mapped[Supplier] = relationship()


class SearchIndexChange(db.Model):
    """One committed catalog change the search index must take in: every node's index
    (`catalog.search_sync`) applies the changes it has not seen, so a web node and a worker on
    different machines agree. Written in the transaction of the change itself."""

    __tablename__ = "search_index_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The products to reindex; None for all of them (a full feed, a price rule).
    product_ids: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
