"""The store: a customer's cart becomes a quote request for staff."""

from __future__ import annotations

from sqlalchemy import select

from webapp.auth.models import Role, User
from webapp.extensions import db
from webapp.mail.operations import public_url, queue_email
from webapp.quotes.building import add_product_line, create_quote
from webapp.quotes.errors import QuoteError
from webapp.quotes.models import Quote, QuoteSource
from webapp.store.operations import cancel_checkout, get_cart


def _request_owner() -> User | None:
    for role in (Role.SALES, Role.ADMIN):
        owner = db.session.scalar(
            select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)
        )
        if owner is not None:
            return owner
    return None


def request_from_cart(user: User, note: str) -> Quote:
    """Turn the customer's cart into a draft quote for staff to review and send."""
    if user.organization is None:
        raise QuoteError("Only contacts of a client organization can ask for quotes.")
    if len(note) > 2000:
        raise QuoteError("Keep the note under 2,000 characters.")
    cart = get_cart(user)
    if cart is None or not cart.lines:
        raise QuoteError("Your cart is empty.")
    owner = _request_owner()
    if owner is None:
        raise QuoteError("We cannot take quote requests right now. Please call us.")
    cancel_checkout(user)
    quote = create_quote(
        organization=user.organization,
        owner=owner,
        actor=user,
        title=f"Quote request from {user.name}",
        source=QuoteSource.STORE,
        requested_by=user,
        request_note=note.strip(),
    )
    section = quote.sections[0]
    for cart_line in cart.lines:
        product = cart_line.product
        if product.obsolete:
            continue
        add_product_line(quote, section, product, cart_line.quantity, user)
    if not quote.lines:
        raise QuoteError("Nothing in your cart can be quoted any more.")
    cart.lines.clear()
    cart.revision += 1
    queue_email(
        to=owner.email,
        subject=f"Quote request {quote.number} from {user.name} ({user.organization.name})",
        template="quote_requested",
        topic=f"quote:{quote.id}",
        quote=quote,
        requester=user,
        quote_url=public_url("quotes_admin.detail", quote_id=quote.id),
    )
    db.session.flush()
    return quote
