"""The sales desk: staff key an order for a customer who phones (New order)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp import htmx_responses, signals
from webapp.auth.access import staff_required
from webapp.auth.models import Role, User
from webapp.catalog.queries import staff_matches
from webapp.desk import operations
from webapp.desk.forms import KeyedOrderForm
from webapp.extensions import db, htmx
from webapp.organizations.models import Organization
from webapp.parsing import COST_MAX, MONEY_MAX, InputRefused, bounded_decimal, whole_number
from webapp.sales.models import PaymentMethod
from webapp.sales.operations import HeaderInput
from webapp.sales.totals import ZERO
from webapp.store.models import ShippingMethod
from webapp.store.operations import StoreError, parse_quantity

bp = Blueprint("desk", __name__, url_prefix="/admin/orders", template_folder="templates")

LINE_FIELDS = ("product_id", "quantity", "price_seen", "cost_seen", "stock_seen")


def _organization(raw: str) -> Organization | None:
    if not raw:
        return None
    organization_id = whole_number(raw, minimum=1)
    if organization_id is None:
        abort(400, description="organization must be an id")
    return db.session.get(Organization, organization_id) or abort(404)


def _shipping_methods() -> list[ShippingMethod]:
    return list(
        db.session.scalars(
            select(ShippingMethod)
            .where(ShippingMethod.active.is_(True))
            .order_by(ShippingMethod.position, ShippingMethod.id)
        )
    )


def _form(organization: Organization | None, *, posted: bool) -> KeyedOrderForm:
    form = KeyedOrderForm(formdata=request.form if posted else None)
    methods = _shipping_methods()
    form.shipping_method_id.choices = [(m.id, m.name) for m in methods]
    if not posted:
        form.payment_method.data = PaymentMethod.ON_ACCOUNT.value
        form.shipping_method_id.data = methods[0].id if methods else None
        if organization is not None:
            form.ship_to_name.data = organization.name
            for name in ("address_line1", "address_line2", "city", "region", "postcode"):
                getattr(form, name).data = getattr(organization, name)
            form.country.data = organization.country
    return form


def _posted_lines() -> list[operations.KeyedLine]:
    """The lines the page carries: each with the price, cost and stock it showed."""
    columns = [request.form.getlist(name) for name in LINE_FIELDS]
    if len({len(column) for column in columns}) != 1:
        abort(400, description="the order's lines are incomplete")
    if len(columns[0]) > operations.MAX_LINES:
        abort(400, description=f"an order holds at most {operations.MAX_LINES} lines")
    lines = []
    for product_id, quantity, price, cost, stock in zip(*columns, strict=True):
        ident = whole_number(product_id, minimum=1)
        seen_stock = whole_number(stock)
        if ident is None or seen_stock is None:
            abort(400, description="a line's product or stock is not a number")
        try:
            lines.append(
                operations.KeyedLine(
                    product_id=ident,
                    quantity=parse_quantity(quantity),
                    price_seen=bounded_decimal(
                        price, places=2, minimum=ZERO, maximum=MONEY_MAX, what="a price"
                    ),
                    cost_seen=bounded_decimal(
                        cost, places=4, minimum=ZERO, maximum=COST_MAX, what="a cost"
                    )
                    if cost
                    else None,
                    stock_seen=seen_stock,
                )
            )
        except StoreError as error:
            raise operations.DeskError(error.message) from None
        except InputRefused as error:
            raise operations.DeskError(str(error)) from None
    return lines


def _contact(organization: Organization | None) -> User | None:
    contact_id = whole_number(request.form.get("contact_id", ""), minimum=1)
    if organization is None or contact_id is None:
        return None
    contact = db.session.get(User, contact_id)
    return contact if contact is not None and contact.organization_id == organization.id else None


def _page(organization, form, lines, *, entry_key, contact_id=None, changes=(), status=200):
    entries = operations.price(organization, lines) if organization is not None else []
    shipping_id = whole_number(form.shipping_method_id.data, minimum=1)  # not yet validated
    shipping = db.session.get(ShippingMethod, shipping_id) if shipping_id else None
    try:
        payment = PaymentMethod(form.payment_method.data)
    except ValueError:
        payment = PaymentMethod.ON_ACCOUNT
    document, margin, margin_pct = operations.totals(
        entries, shipping.charge if shipping else ZERO, payment
    )
    body = htmx_responses.render(
        "desk/new_order.html",
        "order" if request.method == "POST" else None,
        organization=organization,
        contacts=operations.contacts_of(organization) if organization else [],
        contact_id=contact_id,
        form=form,
        entries=entries,
        totals=document,
        margin=margin,
        margin_pct=margin_pct,
        floor_pct=operations.margin_floor(),
        entry_key=entry_key,
        changes=changes,
        ticket_offers=lambda: ticket_offers(organization) if organization else [],
    )
    return body, status


def ticket_offers(organization) -> list:
    """What each PSA offers for "which ticket is this order for" (none: no PSA syncs tickets)."""
    return [offer for _psa, offer in signals.ticket_offer_wanted.send(organization) if offer]


@bp.get("/new")
@staff_required(Role.SALES)
def new_order():
    organization = _organization(request.args.get("organization", ""))
    return _page(organization, _form(organization, posted=False), [], entry_key=uuid.uuid4().hex)


def _entry_key() -> str:
    key = request.form.get("entry_key", "")
    if not operations.valid_key(key):
        abort(400, description="the order form is out of date: open New order again")
    return key


@bp.post("/new/lines")
@staff_required(Role.SALES)
def preview():
    """Redraw the order with a line added, removed or changed, at today's figures."""
    organization = _organization(request.form.get("organization_id", "")) or abort(
        400, description="choose the organization first"
    )
    key = _entry_key()
    form = _form(organization, posted=True)
    try:
        lines = _posted_lines()
    except operations.DeskError as error:
        return _refused(error)
    changes = operations.changes_since_shown(organization, lines)
    removed = whole_number(request.form.get("remove", ""))
    if removed is not None and removed < len(lines):
        del lines[removed]
    added = whole_number(request.form.get("add", ""), minimum=1)
    if added is not None:
        product = operations.products([added]).get(added)
        if product is None or product.obsolete:
            return _refused(operations.DeskError("That product is no longer available."))
        if operations.organization_price(product, organization) is None:
            return _refused(
                operations.DeskError(f"{product.name} has no price for {organization.name}.")
            )
        if len(lines) >= operations.MAX_LINES:
            return _refused(
                operations.DeskError(f"An order holds at most {operations.MAX_LINES} lines.")
            )
        lines.append(operations.KeyedLine(product.id, 1, ZERO, None, 0))
    # What the page shows from now on is what staff have seen.
    lines = _as_seen(organization, lines)
    return _page(
        organization, form, lines, entry_key=key, contact_id=_contact_id_arg(), changes=changes
    )


def _contact_id_arg() -> int | None:
    return whole_number(request.form.get("contact_id", ""), minimum=1)


def _as_seen(organization: Organization, lines: list[operations.KeyedLine]):
    return [
        operations.KeyedLine(e.product.id, e.quantity, e.price or ZERO, e.cost, e.stock)
        for e in operations.price(organization, lines)
    ]


def _refused(error: operations.DeskError, redraw=None):
    """Say why: a toast for HTMX; for a plain post the order redrawn (`redraw`) or an error page."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=error.message), error.status
    if redraw is not None:
        flash(error.message, "danger")
        page, _status = redraw()
        return page, error.status
    title = "Order not placed"
    return render_template("errors/error.html", title=title, message=error.message), error.status


@bp.post("/new")
@staff_required(Role.SALES)
def place():
    organization = _organization(request.form.get("organization_id", "")) or abort(
        400, description="choose the organization first"
    )
    key = _entry_key()
    form = _form(organization, posted=True)
    try:
        lines = _posted_lines()
    except operations.DeskError as error:
        return _refused(error)

    def redraw(changes=()):
        seen = _as_seen(organization, lines)
        return _page(
            organization, form, seen, entry_key=key, contact_id=_contact_id_arg(), changes=changes
        )

    if not form.validate():
        message = "; ".join(
            f"{getattr(form, name).label.text}: {', '.join(errors)}"
            for name, errors in form.errors.items()
        )
        return _refused(operations.DeskError(message), redraw)
    try:
        order = operations.KeyedOrder(
            organization=organization,
            contact=_contact(organization),
            lines=lines,
            header=HeaderInput(
                **form.posted_address(),
                shipping_method_name="",
                shipping_charge=Decimal(0),
                payment_method=PaymentMethod(form.payment_method.data),
                surcharge_pct=Decimal(0),
                customer_po=(form.customer_po.data or "").strip(),
                note=(form.note.data or "").strip(),
            ),
            shipping_method_id=form.shipping_method_id.data,
            entry_key=key,
        )
        document = operations.place_order(order, current_user._get_current_object())
        signals.ticket_chosen.send(document, value=request.form.get("psa_ticket", ""))
    except ValueError as refused:  # not an open ticket of the organisation (webapp.signals)
        db.session.rollback()
        return _refused(operations.DeskError(str(refused), field="psa_ticket"), redraw)
    except operations.ChangedSinceShown as error:
        db.session.rollback()
        page, _status = redraw(error.changes)
        return page, error.status
    except operations.DeskError as error:
        return _refused(error, redraw)
    db.session.commit()
    held = f" It is on hold: {document.hold_reason}." if document.hold_reason else ""
    flash(
        f"{document.title} {document.number} placed for {organization.name}.{held}",
        "warning" if held else "success",
    )
    return htmx_responses.redirect(url_for("sales_admin.order_detail", document_id=document.id))


@bp.get("/new/catalog")
@staff_required(Role.SALES)
def catalog():
    """Catalog search results for the order: price for the organization, cost and stock."""
    organization = _organization(request.args.get("organization", "")) or abort(
        400, description="choose the organization first"
    )
    query = request.args.get("q", "").strip()[:200]
    products = staff_matches(query) if query else []
    rows = [(p, operations.organization_price(p, organization)) for p in products]
    return render_template("desk/_catalog.html", rows=rows, query=query)
