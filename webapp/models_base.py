"""Column types and mixins shared by every domain's models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, Numeric, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Store timezone-aware UTC datetimes; SQLite drops the zone, so add it back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type:
        return datetime

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use webapp.models_base.utcnow()")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# Sell-side amounts are kept to the cent; supplier costs to 1/100 of a cent, as feeds quote them.
Money = Numeric(14, 2, asdecimal=True)
Cost = Numeric(14, 4, asdecimal=True)
Percent = Numeric(7, 3, asdecimal=True)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Store an enum by value as a plain string column (no native DB enum to migrate)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
