"""Cart and checkout: every rule about what a customer may add, change and order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp.auth.models import User
from webapp.catalog.models import Product
from webapp.catalog.queries import price_book
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization, address_of
from webapp.parsing import is_digits
from webapp.sales.models import DocumentSource, PaymentMethod, SalesDocument
from webapp.sales.operations import HeaderInput, LineInput, issue_document
from webapp.settings.operations import get_setting
from webapp.store.models import Cart, CartLine, CheckoutDetails, ShippingMethod

MAX_QUANTITY = 9999


class StoreError(Exception):
    """A refused cart or checkout action; `message` is for the customer."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    status = 404


class CartFrozen(StoreError):
    status = 409


class NotApproved(StoreError):
    status = 403


def parse_quantity(raw: object) -> int:
    """Parse a quantity typed by a customer, with a message that says what is wrong."""
    text = str(raw if raw is not None else "").strip()
    digits = text.removeprefix("-")
    if not is_digits(digits):
        raise StoreError("Quantity must be a whole number.")
    if text.startswith("-") or not digits.strip("0"):
        raise StoreError("Quantity must be at least 1.")
    # Length first: int() refuses strings past Python's digit limit.
    if len(digits) > len(str(MAX_QUANTITY)) or int(digits) > MAX_QUANTITY:
        raise StoreError(f"Quantity cannot be more than {MAX_QUANTITY:,}; ask us for a quote.")
    return int(digits)


def customer_price(product: Product, user: User) -> Decimal | None:
    group_id = user.organization.price_group_id if user.organization else None
    return price_book().price_of(product, group_id)


def get_cart(user: User, *, create: bool = False) -> Cart | None:
    cart = db.session.scalar(select(Cart).where(Cart.user_id == user.id))
    if cart is None and create:
        cart = Cart(user_id=user.id, organization_id=user.organization_id)
        db.session.add(cart)
        db.session.flush()
    return cart


def _locked_cart(user: User) -> Cart:
    """Return the user's cart, created if need be, locked until the transaction ends.

    Clicks from several tabs at once then change it one after the other: none fails on the
    one-cart-per-user constraint and no quantity is lost to a read-modify-write race.
    """
    # A no-op UPDATE takes the lock on every database: PostgreSQL's row lock, and SQLite's
    # write lock (SQLite has no SELECT ... FOR UPDATE; its reads would not wait).
    lock = update(Cart).where(Cart.user_id == user.id).values(revision=Cart.revision)
    query = select(Cart).where(Cart.user_id == user.id).execution_options(populate_existing=True)
    if db.session.execute(lock).rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(Cart(user_id=user.id, organization_id=user.organization_id))
        except IntegrityError:
            pass  # another request created it first: wait for theirs
        db.session.execute(lock)
    cart = db.session.scalar(query)
    db.session.expire(cart, ["lines"])  # read the lines as they are under the lock
    return cart


def _editable_cart(user: User) -> Cart:
    cart = _locked_cart(user)
    if cart.is_frozen:
        raise CartFrozen(
            "Your cart is in checkout. Go back to the cart to change it, then check out again."
        )
    return cart


def _owned_line(user: User, line_id: int) -> CartLine:
    line = db.session.get(CartLine, line_id)
    # Another customer's line is reported exactly like a missing one.
    if line is None or line.cart.user_id != user.id:
        raise NotFound("That cart line no longer exists.")
    return line


def add_to_cart(user: User, product_id: int, quantity: int) -> CartLine:
    """Add `quantity` of a product, or add to the line already in the cart."""
    product = db.session.get(Product, product_id)
    if product is None or product.obsolete:
        raise NotFound("That product is no longer available.")
    price = customer_price(product, user)
    if price is None:
        raise StoreError(f"{product.name} has no online price; ask us for a quote.")
    cart = _editable_cart(user)
    line = next((line for line in cart.lines if line.product_id == product.id), None)
    if line is None:
        line = CartLine(product=product, quantity=0, added_at=utcnow())
        cart.lines.append(line)
    if line.quantity + quantity > MAX_QUANTITY:
        raise StoreError(f"Quantity cannot be more than {MAX_QUANTITY:,}; ask us for a quote.")
    line.quantity += quantity
    line.unit_price_seen = price
    line.stock_seen = product.total_stock
    cart.revision += 1
    db.session.flush()
    return line


def reorder(user: User, document) -> tuple[int, list[str]]:
    """Put the document's catalog lines in the cart again; return (lines added, names of
    those no longer sold online). Services keyed by hand have no product and are left out."""
    added, skipped = 0, []
    for line in document.lines:
        if line.product_id is None:
            continue
        product = db.session.get(Product, line.product_id)
        if product is None or product.obsolete or customer_price(product, user) is None:
            skipped.append(line.description)
            continue
        add_to_cart(user, product.id, line.quantity)
        added += 1
    return added, skipped


def set_quantity(user: User, line_id: int, quantity: int) -> CartLine:
    line = _owned_line(user, line_id)
    if line.cart.is_frozen:
        _editable_cart(user)
    line.quantity = quantity
    line.cart.revision += 1
    db.session.flush()
    return line


def remove_line(user: User, line_id: int) -> Cart:
    line = _owned_line(user, line_id)
    cart = line.cart
    if cart.is_frozen:
        _editable_cart(user)
    cart.lines.remove(line)
    cart.revision += 1
    db.session.flush()
    return cart


@dataclass(frozen=True)
class LineChange:
    """Something about a cart line that differs from what the customer last saw."""

    product_name: str
    message: str


def seen_changes(
    product: Product, quantity: int, price_seen: Decimal, stock_seen: int, price: Decimal
) -> list[LineChange]:
    """What differs for a line between the price and stock last shown and those of now.

    The one rule of "something changed since you looked", for the store's checkout and the
    sales desk's staff-keyed orders: a new price, or stock that no longer (or now) covers it.
    """
    changes: list[LineChange] = []
    if price != price_seen:
        changes.append(
            LineChange(product.name, f"price changed from {_money(price_seen)} to {_money(price)}")
        )
    if product.product_type.is_stocked:
        was_enough = stock_seen >= quantity
        now_enough = product.total_stock >= quantity
        if was_enough != now_enough:
            if now_enough:
                message = f"is now in stock for all {quantity}"
            else:
                eta = (
                    f"; the rest ships in about {product.min_eta_days} days"
                    if product.min_eta_days is not None
                    else ""
                )
                message = f"has only {product.total_stock} in stock now{eta}"
            changes.append(LineChange(product.name, message))
    return changes


def refresh_seen(cart: Cart, user: User) -> list[LineChange]:
    """Bring the cart's 'seen' prices and stock up to date; return what changed."""
    changes: list[LineChange] = []
    for line in list(cart.lines):
        product = line.product
        price = None if product.obsolete else customer_price(product, user)
        if price is None:
            changes.append(
                LineChange(product.name, "is no longer available and was removed from your cart")
            )
            cart.lines.remove(line)
            continue
        changes += seen_changes(
            product, line.quantity, line.unit_price_seen, line.stock_seen, price
        )
        line.unit_price_seen = price
        if product.product_type.is_stocked:
            line.stock_seen = product.total_stock
    return changes


def _money(amount: Decimal) -> str:
    from webapp.money import format_money

    return format_money(amount, current_app.config["CURRENCY"])


def _require_approved(user: User) -> None:
    require_approved(user.organization)


def require_approved(organization: Organization | None) -> None:
    """Refuse an order for an organization not (yet) approved to order."""
    if organization is None or not organization.approved:
        raise NotApproved(
            f"{organization.name if organization else 'Your organization'} is not yet approved "
            "to order online. Your account manager can approve it, or send you a quote."
        )


def start_checkout(user: User) -> tuple[Cart, list[LineChange]]:
    """Freeze the cart for checkout, reporting anything that changed since it was filled."""
    _require_approved(user)
    cart = get_cart(user)
    if cart is None or not cart.lines:
        raise StoreError("Your cart is empty.")
    changes = refresh_seen(cart, user)
    if not cart.lines:
        db.session.flush()
        raise StoreError("Nothing in your cart can be ordered any more.")
    cart.checkout_started_at = utcnow()
    cart.revision += 1
    if db.session.get(CheckoutDetails, cart.id) is None:
        db.session.add(_default_details(cart, user))
    db.session.flush()
    return cart, changes


def cancel_checkout(user: User) -> Cart | None:
    """Unfreeze the cart so the customer can edit it again."""
    cart = get_cart(user)
    if cart is not None and cart.is_frozen:
        cart.checkout_started_at = None
        cart.revision += 1
        db.session.flush()
    return cart


def _default_details(cart: Cart, user: User) -> CheckoutDetails:
    organization = user.organization
    first_method = db.session.scalar(
        select(ShippingMethod)
        .where(ShippingMethod.active.is_(True))
        .order_by(ShippingMethod.position, ShippingMethod.id)
    )
    return CheckoutDetails(
        cart_id=cart.id,
        ship_to_name=organization.name,
        **address_of(organization),
        shipping_method_id=first_method.id if first_method else None,
    )


def checkout_details(cart: Cart) -> CheckoutDetails:
    return db.session.get(CheckoutDetails, cart.id)


@dataclass(frozen=True)
class CheckoutForm:
    ship_to_name: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postcode: str
    country: str
    shipping_method_id: int | None
    payment_method: PaymentMethod
    customer_po: str
    note: str


def save_details(user: User, form: CheckoutForm) -> CheckoutDetails:
    """Keep what the customer typed, so an expired session or a re-confirm loses nothing."""
    cart = get_cart(user)
    if cart is None or not cart.is_frozen:
        raise StoreError("Your checkout has ended; open the cart to start again.")
    details = checkout_details(cart)
    for field in CheckoutForm.__dataclass_fields__:
        setattr(details, field, getattr(form, field))
    db.session.flush()
    return details


class StaleCheckout(StoreError):
    """Prices or stock moved since the checkout page was shown: confirm again."""

    status = 409

    def __init__(self, changes: list[LineChange]):
        super().__init__("Some items changed since you opened checkout. Check them and confirm.")
        self.changes = changes


def order_for_revision(cart: Cart, revision: int) -> SalesDocument | None:
    return db.session.scalar(
        select(SalesDocument).where(SalesDocument.idempotency_key == _key(cart, revision))
    )


def _key(cart: Cart, revision: int) -> str:
    return f"cart:{cart.id}:{revision}"


def place_order(user: User, revision: int, form: CheckoutForm | None) -> SalesDocument:
    """Turn the frozen cart into a sales document, exactly once per checkout revision."""
    _require_approved(user)
    cart = get_cart(user)
    if cart is None:
        raise StoreError("Your cart is empty.")
    # Claim this checkout revision with a compare-and-swap: of two concurrent clicks, the
    # second waits on the row (PostgreSQL) or the write lock (SQLite), then matches nothing.
    claimed = db.session.execute(
        update(Cart)
        .where(Cart.id == cart.id, Cart.revision == revision)
        .values(revision=revision + 1),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.expire(cart)
    if not claimed:
        existing = order_for_revision(cart, revision)
        if existing is not None:
            return existing  # a second click on "Place order": the first one won
        raise CartFrozen("Your cart changed in another window. Check it and confirm again.")
    if not cart.is_frozen or not cart.lines:
        raise StoreError("Your checkout has ended; open the cart to start again.")
    details = save_details(user, form)
    shipping = (
        db.session.get(ShippingMethod, details.shipping_method_id)
        if details.shipping_method_id
        else None
    )
    if shipping is None or not shipping.active:
        raise StoreError("Choose a shipping method.")
    require_address(details)

    changes = refresh_seen(cart, user)
    if changes:
        db.session.flush()  # the claimed revision stays: the re-rendered page carries it
        raise StaleCheckout(changes)

    surcharge_pct = (
        get_setting("card_surcharge_pct")
        if details.payment_method is PaymentMethod.CARD
        else Decimal("0")
    )
    lines = [
        LineInput(
            product_id=line.product.id,
            sku=line.product.mpn,
            description=line.product.display_name,
            quantity=line.quantity,
            unit_price=line.unit_price_seen,
            unit_cost=line.product.best_cost,
            tax_code=line.product.tax_code,
        )
        for line in cart.lines
    ]
    try:
        with db.session.begin_nested():
            document = issue_document(
                organization=user.organization,
                contact=user,
                lines=lines,
                header=HeaderInput(
                    ship_to_name=details.ship_to_name,
                    **address_of(details),
                    shipping_method_name=shipping.name,
                    shipping_charge=shipping.charge,
                    payment_method=details.payment_method,
                    surcharge_pct=surcharge_pct,
                    customer_po=details.customer_po,
                    note=details.note,
                ),
                source=DocumentSource.STORE,
                idempotency_key=_key(cart, revision),
                actor=user,
                currency=current_app.config["CURRENCY"],
            )
    except IntegrityError:
        # A concurrent click committed the same checkout first.
        existing = order_for_revision(cart, revision)
        if existing is None:
            raise
        return existing
    cart.lines.clear()
    cart.checkout_started_at = None
    cart.revision += 1
    db.session.delete(details)
    db.session.flush()
    return document


def require_address(details: CheckoutDetails | HeaderInput) -> None:
    """Refuse a delivery without a name, address, city, postcode or country."""
    missing = [
        label
        for label, value in (
            ("ship-to name", details.ship_to_name),
            ("address", details.address_line1),
            ("city", details.city),
            ("postcode", details.postcode),
            ("country", details.country),
        )
        if not value.strip()
    ]
    if missing:
        raise StoreError("Fill in the " + ", ".join(missing) + ".")
