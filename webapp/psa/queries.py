"""PSA reads for pages: where a quote stands in Autotask (the quote page's panel)."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.extensions import db
from webapp.integrations.models import Delivery, ExternalLink
from webapp.psa.autotask import mapping
from webapp.psa.autotask.quotes import AT_QUOTE
from webapp.psa.models import PsaConnection

ITEM_TYPES = {"1": "Product", "2": "Cost", "6": "Shipping", "11": "Service"}


@dataclass(frozen=True)
class ItemState:
    name: str
    item_type: str
    remote_id: str


@dataclass(frozen=True)
class QuoteState:
    connection: PsaConnection
    quote_number: str  # the Autotask quote (empty: not made yet)
    status: str  # the latest sync's status, in plain words
    error: str
    items: list[ItemState]


def quote_states(quote) -> list[QuoteState]:
    """Per Autotask connection: the Autotask quote, the latest sync, and each line's item
    (its tax category was set when it was created and stays as it was: frozen)."""
    out = []
    connections = db.session.scalars(
        db.select(PsaConnection).where(PsaConnection.provider == "autotask")
    ).all()
    for connection in connections:
        latest = db.session.scalar(
            db.select(Delivery)
            .where(
                Delivery.connection_id == connection.id,
                Delivery.kind == "psa_quote",
                Delivery.subject_id == quote.id,
                Delivery.subject_type.like("quote%"),
            )
            .order_by(Delivery.id.desc())
            .limit(1)
        )
        if latest is None:
            continue
        link = db.session.scalar(
            db.select(ExternalLink).filter_by(
                connection_id=connection.id, subject_type=AT_QUOTE, subject_id=quote.id
            )
        )
        names = {line.id: line.description for line in quote.lines}
        items = [
            ItemState(names[row.subject_id], ITEM_TYPES.get(row.remote_number, "?"), row.remote_id)
            for row in db.session.scalars(
                db.select(ExternalLink).where(
                    ExternalLink.connection_id == connection.id,
                    ExternalLink.subject_type == mapping.LINE,
                    ExternalLink.subject_id.in_(list(names) or [0]),
                )
            )
        ]
        out.append(
            QuoteState(
                connection,
                latest.remote_number or (link.remote_number if link else ""),
                latest.status.label,
                latest.last_error,
                items,
            )
        )
    return out


def top_categories() -> list:
    """Our top-level product categories, for the Autotask category mapping (a sub-category
    takes its parent's Autotask category)."""
    from webapp.catalog.models import Category

    return list(
        db.session.scalars(
            db.select(Category)
            .where(Category.parent_id.is_(None))
            .order_by(Category.position, Category.name)
        )
    )
