"""Cart and checkout for signed-in customers."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp import htmx_responses, signals
from webapp.auth.access import customer_required
from webapp.extensions import db, htmx
from webapp.organizations.models import Organization
from webapp.parsing import same_site_path, whole_number
from webapp.sales.models import PaymentMethod
from webapp.sales.operations import price_lines
from webapp.sales.queries import organization_document
from webapp.sales.totals import document_totals
from webapp.settings.operations import get_setting
from webapp.store import operations
from webapp.store.forms import CheckoutFormFields
from webapp.store.models import ShippingMethod
from webapp.store.queries import cart_badge_count

bp = Blueprint("store", __name__, template_folder="templates")


@bp.app_context_processor
def _cart_badge():
    # Every page's navbar shows the cart badge: the store provides it to all templates.
    return {"cart_count": cart_badge_count}


def _refused(error: operations.StoreError, template: str | None = None, **context):
    """Answer a refused action: a toast for HTMX, a flash and redirect for plain forms."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=error.message), error.status
    flash(error.message, "danger")
    if template:
        return render_template(template, **context), error.status
    return redirect(_back(), 303)


def _back() -> str:
    # The Referer is typed by the client: follow it only to a page of this site.
    return same_site_path(request.referrer, request.host) or url_for("store.cart")


def _form_int(name: str) -> int:
    raw = request.form.get(name, "")
    value = whole_number(raw)
    if value is None:
        abort(400, description=f"{name} must be a whole number")
    return value


@bp.post("/cart/add")
@customer_required
def add_to_cart():
    product_id = _form_int("product_id")
    try:
        quantity = operations.parse_quantity(request.form.get("quantity", "1"))
        line = operations.add_to_cart(current_user, product_id, quantity)
    except operations.StoreError as error:
        return _refused(error)
    db.session.commit()
    message = f"Added {quantity} × {line.product.name} to your cart."
    if htmx:
        return htmx_responses.trigger(
            render_template("store/_toast_ok.html", message=message),
            "cart-changed",
            **{"toast": message},
        )
    flash(message, "success")
    return redirect(_back(), 303)


@bp.post("/orders/<number>/reorder")
@customer_required
def reorder(number: str):
    """Order again: the document's catalog lines go into the cart at today's prices."""
    document = organization_document(current_user.organization_id, number[:20])
    if document is None:
        abort(404)  # another organization's order looks exactly like a missing one
    try:
        added, skipped = operations.reorder(current_user, document)
    except operations.StoreError as error:
        return _refused(error)
    db.session.commit()
    if added:
        flash(f"{added} item{'' if added == 1 else 's'} from {document.number} added to your cart "
              "at today's prices.", "success")  # fmt: skip
    for name in skipped:
        flash(f"{name} is no longer sold online: ask us for a quote.", "warning")
    return redirect(url_for("store.cart"), 303)


@bp.get("/cart/badge")
@customer_required
def cart_badge():
    return render_template("store/_cart_badge.html")


def _cart_view_model():
    cart = operations.get_cart(current_user)
    lines = list(cart.lines) if cart else []
    totals = document_totals([(line.quantity, line.unit_price_seen, Decimal(0)) for line in lines])
    return {"cart": cart, "lines": lines, "totals": totals}


@bp.get("/cart")
@customer_required
def cart():
    return htmx_responses.render(
        "store/cart.html", "cart_body", organization=current_user.organization, **_cart_view_model()
    )


@bp.post("/cart/lines/<int:line_id>")
@customer_required
def update_line(line_id: int):
    try:
        quantity = operations.parse_quantity(request.form.get("quantity"))
        operations.set_quantity(current_user, line_id, quantity)
    except operations.StoreError as error:
        return _refused(error)
    db.session.commit()
    return _cart_changed()


@bp.post("/cart/lines/<int:line_id>/remove")
@customer_required
def remove_line(line_id: int):
    try:
        operations.remove_line(current_user, line_id)
    except operations.StoreError as error:
        return _refused(error)
    db.session.commit()
    return _cart_changed()


def _cart_changed():
    if htmx:
        body = htmx_responses.render(
            "store/cart.html",
            "cart_body",
            organization=current_user.organization,
            **_cart_view_model(),
        )
        return htmx_responses.trigger(body, "cart-changed")
    return redirect(url_for("store.cart"), 303)


@bp.post("/cart/edit")
@customer_required
def edit_cart():
    """Leave checkout and unfreeze the cart."""
    operations.cancel_checkout(current_user)
    db.session.commit()
    return redirect(url_for("store.cart"), 303)


@bp.post("/checkout/start")
@customer_required
def start_checkout():
    try:
        _cart, changes = operations.start_checkout(current_user)
    except operations.StoreError as error:
        db.session.commit()  # keep removals of obsolete lines made while checking
        flash(error.message, "danger")
        return redirect(url_for("store.cart"), 303)
    db.session.commit()
    for change in changes:
        flash(f"{change.product_name} {change.message}.", "warning")
    return redirect(url_for("store.checkout"), 303)


def _checkout_form(details) -> CheckoutFormFields:
    form = CheckoutFormFields(obj=details if request.method == "GET" else None)
    methods = db.session.scalars(
        select(ShippingMethod)
        .where(ShippingMethod.active.is_(True))
        .order_by(ShippingMethod.position, ShippingMethod.id)
    ).all()
    form.shipping_method_id.choices = [(m.id, f"{m.name} — {_money(m.charge)}") for m in methods]
    if request.method == "GET":
        form.payment_method.data = details.payment_method.value
    return form


def _money(amount: Decimal) -> str:
    return current_app.jinja_env.filters["money"](amount)


def ticket_offers(organization) -> list:
    """What each PSA offers for "which ticket is this order for" (none: no PSA syncs tickets)."""
    return [offer for _psa, offer in signals.ticket_offer_wanted.send(organization) if offer]


def _checkout_page(cart, details, form, *, changes=(), status=200):
    shipping = db.session.get(ShippingMethod, details.shipping_method_id or 0)
    card_surcharge = get_setting("card_surcharge_pct")
    surcharge = card_surcharge if details.payment_method is PaymentMethod.CARD else Decimal(0)
    totals, _codes = price_lines(
        [(line.quantity, line.unit_price_seen, line.product.tax_code) for line in cart.lines],
        shipping=shipping.charge if shipping else Decimal(0),
        surcharge_pct=surcharge,
    )
    return (
        htmx_responses.render(
            "store/checkout.html",
            "summary",
            cart=cart,
            details=details,
            form=form,
            totals=totals,
            changes=changes,
            surcharge_pct=card_surcharge,
            applied_surcharge_pct=surcharge,
            payment_help={method.value: method.explanation for method in PaymentMethod},
            # Called by the full page only: the summary fragment asks the PSA nothing.
            ticket_offers=lambda: ticket_offers(db.session.get(Organization, cart.organization_id)),
        ),
        status,
    )


def _frozen_cart_or_redirect():
    cart = operations.get_cart(current_user)
    if cart is None or not cart.is_frozen or not cart.lines:
        return None
    return cart


@bp.get("/checkout")
@customer_required
def checkout():
    cart = _frozen_cart_or_redirect()
    if cart is None:
        flash("Start checkout from your cart.", "info")
        return redirect(url_for("store.cart"))
    details = operations.checkout_details(cart)
    return _checkout_page(cart, details, _checkout_form(details))


def _posted_checkout(form: CheckoutFormFields) -> operations.CheckoutForm:
    return operations.CheckoutForm(
        **form.posted_address(),
        shipping_method_id=form.shipping_method_id.data,
        payment_method=PaymentMethod(form.payment_method.data),
        customer_po=(form.customer_po.data or "").strip(),
        note=(form.note.data or "").strip(),
    )


@bp.post("/checkout/details")
@customer_required
def save_checkout_details():
    """Save the checkout form as it is typed; answer with the updated summary."""
    cart = _frozen_cart_or_redirect()
    if cart is None:
        return htmx_responses.redirect(url_for("store.cart"))
    form = _checkout_form(operations.checkout_details(cart))
    if not form.validate():
        return render_template("errors/toast.html", message=_form_errors(form)), 422
    try:
        details = operations.save_details(current_user, _posted_checkout(form))
    except operations.StoreError as error:
        return _refused(error)
    db.session.commit()
    return _checkout_page(cart, details, form)


def _form_errors(form) -> str:
    return "; ".join(
        f"{getattr(form, name).label.text}: {', '.join(errors)}"
        for name, errors in form.errors.items()
    )


@bp.post("/checkout")
@customer_required
def place_order():
    cart = operations.get_cart(current_user)
    if cart is None:
        flash("Your cart is empty.", "info")
        return redirect(url_for("store.cart"), 303)
    revision_raw = request.form.get("revision", "")
    if whole_number(revision_raw) is None:
        abort(400, description="The checkout form is incomplete; reload the page.")
    details = operations.checkout_details(cart)
    form = _checkout_form(details) if details else CheckoutFormFields()
    if details is not None and not form.validate():
        return _checkout_page(cart, details, form, status=422)
    try:
        document = operations.place_order(
            current_user, int(revision_raw), _posted_checkout(form) if details else None
        )
    except operations.StaleCheckout as stale:
        db.session.commit()  # the refreshed prices and the new revision are what we show
        return _checkout_page(
            cart, operations.checkout_details(cart), form, changes=stale.changes, status=409
        )
    except operations.StoreError as error:
        db.session.rollback()
        flash(error.message, "danger")
        target = "store.checkout" if cart.is_frozen else "store.cart"
        return redirect(url_for(target), 303)
    try:
        signals.ticket_chosen.send(document, value=request.form.get("psa_ticket", ""))
    except ValueError as refused:  # not an open ticket of the organisation (webapp.signals)
        db.session.rollback()
        abort(400, description=str(refused))
    db.session.commit()
    flash(f"Thank you. Your order is {document.title} {document.number}.", "success")
    return redirect(url_for("sales.order_detail", number=document.number), 303)
