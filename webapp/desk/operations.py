"""Staff-keyed orders: an order taken on the phone, with the store checkout's own checks.

The order is not kept while it is keyed: the page holds its lines with the price, cost and
stock each showed, and `place_order` checks them the way the store's checkout checks a cart
(`webapp.store.operations`: an approved organization, `seen_changes`, the address), holds it
with the quotes' margin guard when a cost rose under the floor, and issues it through
`webapp.sales.operations.issue_document` exactly once per page (`entry_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.auth.models import User
from webapp.catalog.models import Product
from webapp.catalog.queries import price_book
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.quotes.margin import record_margin_guard
from webapp.quotes.totals import (
    CostedLine,
    MarginCheck,
    PricedLine,
    line_figures,
    margin_guard,
    margin_total,
)
from webapp.sales.models import DocumentSource, PaymentMethod, SalesDocument
from webapp.sales.operations import HeaderInput, LineInput, issue_document, price_lines
from webapp.sales.totals import ZERO
from webapp.settings.operations import get_setting
from webapp.store import operations as store
from webapp.store.models import ShippingMethod

MAX_LINES = 100
_KEY = re.compile(r"[0-9a-f]{32}")


class DeskError(Exception):
    """A refused staff order; `message` is for the staff member, `status` the HTTP status,
    `field` the input at fault where there is one (the API points at it: "lines/0/quantity")."""

    status = 422

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


class ChangedSinceShown(DeskError):
    """Prices or stock moved since the page showed them: the page is redrawn to confirm."""

    status = 409

    def __init__(self, changes: list[store.LineChange]):
        super().__init__("Some lines changed since they were shown. Check them and place again.")
        self.changes = changes


@dataclass(frozen=True)
class KeyedLine:
    """A line as the page showed it: what staff saw when they chose to order it."""

    product_id: int
    quantity: int
    price_seen: Decimal
    cost_seen: Decimal | None
    stock_seen: int


@dataclass(frozen=True)
class PricedEntry:
    """A keyed line with today's price, cost, stock and margin (what the page shows)."""

    product: Product
    quantity: int
    price: Decimal | None
    cost: Decimal | None
    stock: int
    subtotal: Decimal
    margin: Decimal
    margin_pct: Decimal | None


def valid_key(raw: str) -> bool:
    return bool(_KEY.fullmatch(raw or ""))


def contacts_of(organization: Organization) -> list[User]:
    return [user for user in organization.contacts if user.active]


def organization_price(product: Product, organization: Organization) -> Decimal | None:
    return price_book().price_of(product, organization.price_group_id)


def products(ids: list[int]) -> dict[int, Product]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}


def price(organization: Organization, lines: list[KeyedLine]) -> list[PricedEntry]:
    """Today's price, cost, stock and margin of each line; unknown products are dropped."""
    found = products([line.product_id for line in lines])
    priced = []
    for line in lines:
        product = found.get(line.product_id)
        if product is None:
            continue
        sell = organization_price(product, organization)
        cost = product.best_cost
        figures = line_figures(
            PricedLine("", line.quantity, sell or ZERO, cost if cost is not None else ZERO, ZERO)
        )
        priced.append(
            PricedEntry(
                product=product,
                quantity=line.quantity,
                price=sell,
                cost=cost,
                stock=product.total_stock,
                subtotal=figures.subtotal,
                margin=figures.margin,
                margin_pct=figures.margin_pct,
            )
        )
    return priced


def changes_since_shown(
    organization: Organization, lines: list[KeyedLine]
) -> list[store.LineChange]:
    """What moved (price, stock) for each line since the page showed it."""
    found = products([line.product_id for line in lines])
    changes: list[store.LineChange] = []
    for line in lines:
        product = found.get(line.product_id)
        now = organization_price(product, organization) if product is not None else None
        if now is not None:
            changes += store.seen_changes(
                product, line.quantity, line.price_seen, line.stock_seen, now
            )
    return changes


def margin_floor() -> Decimal:
    return get_setting("quote_margin_floor_pct")


def totals(entries: list[PricedEntry], shipping: Decimal, payment_method: PaymentMethod):
    """The document totals the order would have, and its margin over the lines."""
    surcharge = get_setting("card_surcharge_pct") if payment_method is PaymentMethod.CARD else ZERO
    document, _codes = price_lines(
        [(e.quantity, e.price or ZERO, e.product.tax_code) for e in entries],
        shipping=shipping,
        surcharge_pct=surcharge,
    )
    margin = margin_total(entries)
    return document, margin.margin, margin.margin_pct


@dataclass(frozen=True)
class KeyedOrder:
    organization: Organization
    contact: User | None
    lines: list[KeyedLine]
    header: HeaderInput
    shipping_method_id: int | None
    entry_key: str
    # Where it was keyed: the desk page, or another system through the REST API.
    source: DocumentSource = DocumentSource.DESK


def lines_at_todays_prices(
    organization: Organization, wanted: list[tuple[int, int]]
) -> list[KeyedLine]:
    """Keyed lines for (product id, quantity) pairs "seen" now: for a caller that shows no
    page (the REST API), so nothing can have changed since; the margin guard still applies."""
    found = products([product_id for product_id, _quantity in wanted])
    lines = []
    for product_id, quantity in wanted:
        product = found.get(product_id)
        price = organization_price(product, organization) if product is not None else None
        lines.append(
            KeyedLine(
                product_id=product_id,
                quantity=quantity,
                price_seen=price if price is not None else ZERO,
                cost_seen=product.best_cost if product is not None else None,
                stock_seen=product.total_stock if product is not None else 0,
            )
        )
    return lines


def _idempotency_key(entry_key: str) -> str:
    return f"desk:{entry_key}"


def order_for_key(entry_key: str) -> SalesDocument | None:
    return db.session.scalar(
        select(SalesDocument).where(SalesDocument.idempotency_key == _idempotency_key(entry_key))
    )


def _check(order: KeyedOrder) -> tuple[ShippingMethod, dict[int, Product]]:
    organization = order.organization
    try:
        store.require_approved(organization)
    except store.NotApproved:
        raise DeskError(
            f"{organization.name} is not approved to order. Approve it on its page first, "
            "or send it a quote.",
            "organization_id",
        ) from None
    contact = order.contact
    if contact is None or contact.organization_id != organization.id or not contact.active:
        raise DeskError(f"Choose an active contact of {organization.name}.", "contact_id")
    if not order.lines:
        raise DeskError("Add at least one line.", "lines")
    if len(order.lines) > MAX_LINES:
        raise DeskError(f"An order holds at most {MAX_LINES} lines.", "lines")
    shipping = (
        db.session.get(ShippingMethod, order.shipping_method_id)
        if order.shipping_method_id
        else None
    )
    if shipping is None or not shipping.active:
        raise DeskError("Choose a shipping method.", "shipping_method_id")
    try:
        store.require_address(order.header)
    except store.StoreError as error:
        raise DeskError(error.message) from None
    found = products([line.product_id for line in order.lines])
    for index, line in enumerate(order.lines):
        product = found.get(line.product_id)
        if product is None or product.obsolete:
            raise DeskError(
                "A line's product is no longer available: remove it.",
                f"lines/{index}/product_id",
            )
        if not 1 <= line.quantity <= store.MAX_QUANTITY:
            raise DeskError(
                f"Quantity must be from 1 to {store.MAX_QUANTITY:,}.", f"lines/{index}/quantity"
            )
        if organization_price(product, organization) is None:
            raise DeskError(
                f"{product.name} has no price for {organization.name}: quote it.",
                f"lines/{index}/product_id",
            )
    return shipping, found


def place_order(order: KeyedOrder, actor: User) -> SalesDocument:
    """Issue the keyed order as a sales document, once per page (a second click returns it)."""
    existing = order_for_key(order.entry_key)
    if existing is not None:
        return existing
    shipping, found = _check(order)
    organization = order.organization
    changes = changes_since_shown(organization, order.lines)
    if changes:
        raise ChangedSinceShown(changes)
    costed: list[CostedLine] = []
    lines: list[LineInput] = []
    for position, line in enumerate(order.lines):
        product = found[line.product_id]
        now = organization_price(product, organization)
        cost_now = product.best_cost
        seen_cost = line.cost_seen if line.cost_seen is not None else cost_now
        costed.append(
            CostedLine(
                key=str(position),
                description=product.display_name,
                quantity=line.quantity,
                unit_price=now,
                quoted_cost=seen_cost if seen_cost is not None else ZERO,
                current_cost=cost_now if cost_now is not None else ZERO,
            )
        )
        lines.append(
            LineInput(
                product_id=product.id,
                sku=product.mpn,
                description=product.display_name,
                quantity=line.quantity,
                unit_price=now,
                unit_cost=cost_now,
                tax_code=product.tax_code,
            )
        )
    check = margin_guard(costed, margin_floor())
    header = order.header
    surcharge = (
        get_setting("card_surcharge_pct") if header.payment_method is PaymentMethod.CARD else ZERO
    )
    header = HeaderInput(
        **{
            **header.__dict__,
            "shipping_method_name": shipping.name,
            "shipping_charge": shipping.charge,
            "surcharge_pct": surcharge,
        }
    )
    try:
        with db.session.begin_nested():
            document = issue_document(
                organization=organization,
                contact=order.contact,
                lines=lines,
                header=header,
                source=order.source,
                idempotency_key=_idempotency_key(order.entry_key),
                actor=actor,
                currency=current_app.config["CURRENCY"],
                hold_reason=_hold_reason(check),
            )
    except IntegrityError:
        # A concurrent click committed the same page's order first.
        existing = order_for_key(order.entry_key)
        if existing is None:
            raise
        return existing
    record_margin_guard(
        document,
        check,
        document.currency,
        {str(i): line.sku for i, line in enumerate(lines)},
        "the order was keyed",
    )
    db.session.flush()
    return document


def _hold_reason(check: MarginCheck) -> str:
    if not check.held:
        return ""
    return (
        "margin guard: supplier costs rose while the order was keyed; the margin is now "
        f"{check.current_margin_pct}%, below the {check.floor_pct.normalize():f}% floor"
    )
