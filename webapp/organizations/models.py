from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models_base import TimestampMixin, UTCDateTime

if TYPE_CHECKING:
    from webapp.auth.models import User


class PriceGroup(db.Model):
    """A customer price group: organizations in it get the group's pricing rules."""

    __tablename__ = "price_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")


ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "region", "postcode", "country")


def address_of(source: object) -> dict[str, str]:
    """The postal address fields of an organization, checkout, header or document, by name:
    what is copied from one onto the next (`HeaderInput(**address_of(organization), ...)`)."""
    return {name: getattr(source, name) for name in ADDRESS_FIELDS}


class AddressMixin:
    """A postal address, flattened: it is copied onto each document, never referenced."""

    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(100), default="")


class Organization(AddressMixin, TimestampMixin, db.Model):
    """A client organization of the MSP; its contacts are the store's customers."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    account_number: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    price_group_id: Mapped[int | None] = mapped_column(ForeignKey("price_groups.id"))
    # Days after the invoice date a tax invoice is due; None = the settings' default terms.
    payment_terms_days: Mapped[int | None] = mapped_column()
    # Only approved organizations may place orders; others can still ask for a quote.
    approved: Mapped[bool] = mapped_column(default=False)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))
    # Names are unique whatever their case: "Contoso" and "CONTOSO" are one client.
    __table_args__ = (Index("uq_organizations_name_lower", func.lower(name), unique=True),)

    price_group: Mapped[PriceGroup | None] = relationship()
    contacts: Mapped[list[User]] = relationship(
        back_populates="organization", foreign_keys="User.organization_id"
    )
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
