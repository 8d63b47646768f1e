"""Staff screens for purchasing: POs (with decision records), receipting, stock, bids, settings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp import htmx_responses
from webapp.auth.access import staff_required
from webapp.auth.models import Role, User
from webapp.catalog.models import Product, Supplier, SupplierOffer
from webapp.extensions import db, htmx
from webapp.organizations.models import Organization
from webapp.parsing import COST_MAX, InputRefused, bounded_decimal, page_arg, whole_number
from webapp.purchasing import errors, ordering, own_stock, planning, queries, receipting, tracking
from webapp.purchasing.forms import (
    BidForm,
    CancelForm,
    LineForm,
    ManualLineForm,
    OverrideForm,
    ReceiptForm,
    SettingsForm,
    StockForm,
)
from webapp.purchasing.models import (
    BidPrice,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    StockItem,
)
from webapp.sales.models import SalesDocument
from webapp.settings.operations import get_setting, set_setting
from webapp.settings.registry import InvalidSetting

bp = Blueprint(
    "purchasing_admin", __name__, url_prefix="/admin/purchasing", template_folder="templates"
)

MAX_SERIALS_TEXT = 20_000
SETTING_KEYS = (
    "purchasing_issue_mode",
    "purchasing_merge_drafts",
    "purchasing_allow_split",
    "purchasing_officer_email",
    "supplier_payment_terms_days",
)


@bp.app_context_processor
def _panel_helpers() -> dict:
    # The order page includes our panel with only `document` in context.
    return {"purchasing_panel": queries.document_panel}


@bp.app_template_filter("as_decimal")
def _as_decimal(value) -> Decimal | None:
    """Turn a Decimal stored as a string in a decision record back into a Decimal."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _actor() -> User:
    return current_user._get_current_object()


def _id_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    value = whole_number(raw, minimum=1)
    if value is None:
        abort(400, description=f"{name} must be an id")
    return value


def _get(model, row_id: int):
    """Return the row with this id from the URL, or answer 404."""
    return db.session.get(model, row_id) or abort(404)


def _get_po(po_id: int) -> PurchaseOrder:
    return _get(PurchaseOrder, po_id)


def _get_line(po: PurchaseOrder, line_id: int) -> PurchaseOrderLine:
    line = _get(PurchaseOrderLine, line_id)
    if line.purchase_order_id != po.id:
        abort(404)
    return line


def _refused(message: str, target: str, status: int = 409):
    """Roll back and say why: a toast for HTMX, a flash and redirect for plain posts."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=message), status
    flash(message, "danger")
    return redirect(target, 303)


def _done(message: str, target: str):
    if htmx:
        return htmx_responses.redirect(target)
    flash(message, "success")
    return redirect(target, 303)


def _form_errors(form) -> str:
    return "; ".join(
        f"{getattr(form, name).label.text}: {' '.join(errors)}"
        for name, errors in form.errors.items()
        if name != "csrf_token"
    )


# --- purchase orders -------------------------------------------------------------------------


@bp.get("/orders")
@staff_required(Role.PURCHASING)
def purchase_orders():
    raw_status = request.args.get("status", "")
    status = None
    if raw_status:
        try:
            status = PurchaseOrderStatus(raw_status)
        except ValueError:
            abort(400, description=f"unknown status {raw_status!r}")
    attention = request.args.get("attention", "")
    if attention not in ("", "1"):
        abort(400, description="attention must be 1 or empty")
    page = page_arg()
    rows, has_next = queries.purchase_orders(
        status=status,
        supplier_id=_id_arg("supplier"),
        needs_attention=attention == "1",
        search=request.args.get("q", "")[:100],
        page=page,
    )
    return htmx_responses.render(
        "purchasing_admin/purchase_orders.html",
        "table",
        orders=rows,
        page=page,
        has_next=has_next,
        statuses=list(PurchaseOrderStatus),
        suppliers=queries.suppliers_with_orders(),
        issue_mode=get_setting("purchasing_issue_mode"),
    )


def _po_context(po: PurchaseOrder, **extra) -> dict:
    offers_by_product: dict[int, list[SupplierOffer]] = {}
    product_ids = {line.product_id for line in po.lines}
    if product_ids and po.status is PurchaseOrderStatus.DRAFT:
        for offer in db.session.scalars(
            select(SupplierOffer)
            .options(selectinload(SupplierOffer.supplier))
            .where(SupplierOffer.product_id.in_(product_ids), SupplierOffer.available.is_(True))
            .order_by(SupplierOffer.cost)
        ):
            if offer.supplier_id != po.supplier_id:
                offers_by_product.setdefault(offer.product_id, []).append(offer)
    return {
        "po": po,
        "offers_by_product": offers_by_product,
        "cancel_form": CancelForm(formdata=None),
        "can_edit": po.status is PurchaseOrderStatus.DRAFT,
        **extra,
    }


@bp.get("/orders/<int:po_id>")
@staff_required(Role.PURCHASING)
def purchase_order(po_id: int):
    po = _get_po(po_id)
    return render_template("purchasing_admin/purchase_order.html", **_po_context(po))


@bp.post("/orders/<int:po_id>/issue")
@staff_required(Role.PURCHASING)
def issue(po_id: int):
    po = _get_po(po_id)
    target = url_for(".purchase_order", po_id=po.id)
    try:
        ordering.issue_purchase_order(po, _actor())
    except errors.PurchasingError as error:
        return _refused(f"Not issued: {error}", target)
    db.session.commit()
    return _done(f"{po.number} issued and emailed to {po.issued_to}.", target)


@bp.post("/orders/<int:po_id>/cancel")
@staff_required(Role.PURCHASING)
def cancel(po_id: int):
    po = _get_po(po_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = CancelForm()
    if not form.validate():
        return _refused(f"Not cancelled: {_form_errors(form)}", target, 422)
    try:
        ordering.cancel_purchase_order(po, _actor(), form.reason.data)
    except errors.PurchasingError as error:
        return _refused(f"Not cancelled: {error}", target)
    db.session.commit()
    return _done(f"{po.number} cancelled.", target)


@bp.post("/orders/<int:po_id>/lines/<int:line_id>")
@staff_required(Role.PURCHASING)
def update_line(po_id: int, line_id: int):
    po = _get_po(po_id)
    line = _get_line(po, line_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = LineForm()
    if not form.validate():
        return _refused(f"Line {line.position} not changed: {_form_errors(form)}", target, 422)
    try:
        ordering.update_line(
            line,
            quantity=form.quantity.data,
            unit_cost=form.unit_cost.data,
            actor=_actor(),
            zero_cost_confirmed=form.confirm_zero_cost.data,
        )
    except errors.PurchasingError as error:
        return _refused(f"Line {line.position} not changed: {error}", target)
    db.session.commit()
    return _done(f"Line {line.position} saved.", target)


@bp.post("/orders/<int:po_id>/lines/<int:line_id>/delete")
@staff_required(Role.PURCHASING)
def delete_line(po_id: int, line_id: int):
    po = _get_po(po_id)
    line = _get_line(po, line_id)
    target = url_for(".purchase_order", po_id=po.id)
    position = line.position
    try:
        ordering.remove_line(line, _actor())
    except errors.PurchasingError as error:
        return _refused(f"Line {position} not removed: {error}", target)
    db.session.commit()
    return _done(f"Line {position} removed.", target)


@bp.post("/orders/<int:po_id>/lines")
@staff_required(Role.PURCHASING)
def add_line(po_id: int):
    po = _get_po(po_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = ManualLineForm()
    if not form.validate():
        return _refused(f"Line not added: {_form_errors(form)}", target, 422)
    product = db.session.get(Product, form.product_id.data)
    if product is None:
        return _refused(
            f"Line not added: there is no product #{form.product_id.data}.", target, 422
        )
    try:
        ordering.add_manual_line(
            po,
            product=product,
            quantity=form.quantity.data,
            unit_cost=form.unit_cost.data,
            actor=_actor(),
            zero_cost_confirmed=form.confirm_zero_cost.data,
        )
    except errors.PurchasingError as error:
        return _refused(f"Line not added: {error}", target)
    db.session.commit()
    return _done(f"{product.name} added.", target)


@bp.post("/orders/<int:po_id>/lines/<int:line_id>/override")
@staff_required(Role.PURCHASING)
def override_line(po_id: int, line_id: int):
    po = _get_po(po_id)
    line = _get_line(po, line_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = OverrideForm()
    form.supplier_id.choices = [(s.id, s.name) for s in db.session.scalars(select(Supplier))]
    if not form.validate():
        return _refused(f"Supplier not changed: {_form_errors(form)}", target, 422)
    supplier = db.session.get(Supplier, form.supplier_id.data) or abort(404)
    try:
        new_po = ordering.override_line_supplier(
            line, supplier, _actor(), (form.reason.data or "").strip()
        )
    except errors.PurchasingError as error:
        return _refused(f"Supplier not changed: {error}", target)
    db.session.commit()
    destination = url_for(".purchase_order", po_id=new_po.id)
    return _done(f"Line moved to {supplier.name} on {new_po.number}.", destination)


@bp.get("/orders/<int:po_id>/pdf")
@staff_required(Role.PURCHASING)
def po_pdf(po_id: int):
    po = _get_po(po_id)
    return Response(
        ordering.purchase_order_pdf(po),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{po.number}.pdf"'},
    )


@bp.get("/orders/<int:po_id>/csv")
@staff_required(Role.PURCHASING)
def po_csv(po_id: int):
    po = _get_po(po_id)
    return Response(
        ordering.purchase_order_csv(po),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{po.number}.csv"'},
    )


# --- receipting -------------------------------------------------------------------------------


def _receipt_lines(po: PurchaseOrder) -> tuple[list[receipting.ReceiptLineInput], dict[int, str]]:
    """Read qty-<id>, cost-<id> and serials-<id> for every outstanding line of the PO."""
    items: list[receipting.ReceiptLineInput] = []
    problems: dict[int, str] = {}
    for line in po.lines:
        if line.outstanding <= 0:
            continue
        label = f"Line {line.position}"
        raw_qty = request.form.get(f"qty-{line.id}", "0").strip() or "0"
        raw_cost = request.form.get(f"cost-{line.id}", "").strip()
        raw_serials = request.form.get(f"serials-{line.id}", "")[:MAX_SERIALS_TEXT]
        quantity = whole_number(raw_qty, maximum=999_999_999)
        if quantity is None:
            problems[line.id] = f"{label}: quantity {raw_qty!r} is not a whole number."
            continue
        try:
            cost = (
                bounded_decimal(raw_cost, places=4, minimum=Decimal(0), maximum=COST_MAX)
                if raw_cost
                else line.unit_cost
            )
        except InputRefused as refused:
            problems[line.id] = f"{label}: unit cost: {refused}"
            continue
        serials = [s.strip() for s in raw_serials.replace(",", "\n").splitlines() if s.strip()]
        items.append(receipting.ReceiptLineInput(line.id, quantity, cost, tuple(serials)))
    return items, problems


def _receive_page(po: PurchaseOrder, form: ReceiptForm, problems: dict[int, str], status=200):
    return (
        render_template(
            "purchasing_admin/receive.html",
            po=po,
            form=form,
            problems=problems,
            values=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.route("/orders/<int:po_id>/receive", methods=["GET", "POST"])
@staff_required(Role.PURCHASING)
def receive(po_id: int):
    po = _get_po(po_id)
    if request.method == "GET":
        if po.status not in (PurchaseOrderStatus.ISSUED, PurchaseOrderStatus.PARTIALLY_RECEIVED):
            flash(f"{po.number} is {po.status.label.lower()}: nothing to receipt.", "warning")
            return redirect(url_for(".purchase_order", po_id=po.id), 303)
        # The PO's freight is billed once: a later partial invoice starts from zero.
        freight = Decimal(0) if po.receipts else po.freight
        return _receive_page(po, ReceiptForm(formdata=None, freight=freight), {})
    form = ReceiptForm()
    items, problems = _receipt_lines(po)
    if not form.validate() or problems:
        return _receive_page(po, form, problems, 422)
    data = receipting.ReceiptInput(
        supplier_invoice_number=form.supplier_invoice_number.data,
        invoice_date=form.invoice_date.data,
        due_date=form.due_date.data,
        freight=form.freight.data or Decimal(0),
        lines=items,
        note=form.note.data or "",
        zero_costs_confirmed=form.confirm_zero_costs.data,
        tracking_number=form.tracking_number.data or "",
        carrier=form.carrier.data or "",
    )
    try:
        receipt = receipting.record_receipt(po, data, _actor())
        db.session.commit()
    except receipting.ReceiptProblems as error:
        db.session.rollback()
        return _receive_page(po, form, error.by_line or {0: str(error)}, 422)
    except errors.DuplicateInvoice as error:
        db.session.rollback()
        form.supplier_invoice_number.errors = [str(error)]
        return _receive_page(po, form, {}, 409)
    except errors.PurchasingError as error:
        db.session.rollback()
        return _receive_page(po, form, {0: str(error)}, 409)
    except IntegrityError:
        # Two people receipted the same invoice at once: the unique constraint caught it.
        db.session.rollback()
        form.supplier_invoice_number.errors = [
            f"{po.supplier.name} invoice {data.supplier_invoice_number.strip()} was just "
            "receipted by someone else: a bill cannot be entered twice."
        ]
        return _receive_page(po, form, {}, 409)
    flash(
        f"Supplier invoice {receipt.supplier_invoice_number} receipted on {po.number}: "
        f"{po.status.label.lower()}.",
        "success",
    )
    return redirect(url_for(".receipt", receipt_id=receipt.id), 303)


@bp.get("/receipts")
@staff_required(Role.PURCHASING)
def receipts():
    page = page_arg()
    rows, has_next = queries.receipts(
        supplier_id=_id_arg("supplier"), search=request.args.get("q", "")[:100], page=page
    )
    return htmx_responses.render(
        "purchasing_admin/receipts.html",
        "table",
        receipts=rows,
        page=page,
        has_next=has_next,
        suppliers=queries.suppliers_with_orders(),
    )


@bp.get("/receipts/<int:receipt_id>")
@staff_required(Role.PURCHASING)
def receipt(receipt_id: int):
    row = _get(Receipt, receipt_id)
    return render_template(
        "purchasing_admin/receipt.html",
        receipt=row,
        track_url=tracking.tracking_url(row.tracking_number, row.carrier),
        carrier=tracking.carrier_name(row.carrier),
    )


# --- sales documents --------------------------------------------------------------------------


@bp.get("/documents/<int:document_id>/procurement")
@staff_required()
def document_procurement(document_id: int):
    # The order page's panel polls this while planning is pending; a plain GET shows it alone.
    document = _get(SalesDocument, document_id)
    return htmx_responses.render(
        "purchasing_admin/document_procurement.html", block="panel", document=document
    )


@bp.post("/documents/<int:document_id>/replan")
@staff_required(Role.PURCHASING)
def replan(document_id: int):
    document = _get(SalesDocument, document_id)
    target = url_for("sales_admin.order_detail", document_id=document.id)
    try:
        released = planning.replan_document(document, _actor())
    except errors.PurchasingError as error:
        return _refused(f"Not re-planned: {error}", target)
    db.session.commit()
    return _done(
        f"{document.number} is being re-planned ({released} draft line"
        f"{'s' if released != 1 else ''} released).",
        target,
    )


# --- own stock and bid prices ---------------------------------------------------------------


@bp.route("/stock", methods=["GET", "POST"])
@staff_required(Role.PURCHASING)
def stock():
    form = StockForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            product = db.session.get(Product, form.product_id.data)
            if product is None:
                form.product_id.errors = [f"There is no product #{form.product_id.data}."]
            else:
                try:
                    own_stock.set_stock(
                        product,
                        on_hand=form.quantity_on_hand.data,
                        unit_cost=form.unit_cost.data,
                        actor=_actor(),
                        location=form.location.data or "",
                    )
                except errors.PurchasingError as error:
                    db.session.rollback()
                    form.quantity_on_hand.errors = [str(error)]
                else:
                    db.session.commit()
                    flash(f"Stock of {product.name} saved.", "success")
                    return redirect(url_for(".stock"), 303)
        status = 422
    items = db.session.scalars(
        select(StockItem).options(selectinload(StockItem.product)).order_by(StockItem.id)
    ).all()
    return render_template("purchasing_admin/stock.html", items=items, form=form), status


def _bid_form() -> BidForm:
    form = BidForm()
    form.supplier_id.choices = [
        (s.id, s.name) for s in db.session.scalars(select(Supplier).order_by(Supplier.name))
    ]
    form.organization_id.choices = [
        (o.id, o.name) for o in db.session.scalars(select(Organization).order_by(Organization.name))
    ]
    return form


@bp.route("/bids", methods=["GET", "POST"])
@staff_required(Role.PURCHASING)
def bids():
    form = _bid_form()
    status = 200
    if request.method == "POST":
        if form.validate():
            product = db.session.get(Product, form.product_id.data)
            if product is None:
                form.product_id.errors = [f"There is no product #{form.product_id.data}."]
            else:
                try:
                    own_stock.add_bid_price(
                        supplier=db.session.get(Supplier, form.supplier_id.data) or abort(400),
                        product=product,
                        organization=db.session.get(Organization, form.organization_id.data)
                        or abort(400),
                        unit_cost=form.unit_cost.data,
                        valid_from=form.valid_from.data,
                        valid_until=form.valid_until.data,
                        reference=form.reference.data or "",
                        actor=_actor(),
                    )
                except errors.PurchasingError as error:
                    db.session.rollback()
                    form.unit_cost.errors = [str(error)]
                else:
                    db.session.commit()
                    flash("Bid price saved.", "success")
                    return redirect(url_for(".bids"), 303)
        status = 422
    rows = db.session.scalars(
        select(BidPrice)
        .options(
            selectinload(BidPrice.supplier),
            selectinload(BidPrice.product),
            selectinload(BidPrice.organization),
        )
        .order_by(BidPrice.id.desc())
    ).all()
    return render_template("purchasing_admin/bids.html", rows=rows, form=form), status


@bp.post("/bids/<int:bid_id>/delete")
@staff_required(Role.PURCHASING)
def delete_bid(bid_id: int):
    bid = _get(BidPrice, bid_id)
    db.session.delete(bid)
    db.session.commit()
    flash("Bid price removed.", "success")
    return redirect(url_for(".bids"), 303)


# --- settings ---------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def settings():
    if request.method == "GET":
        form = SettingsForm(formdata=None, data={key: get_setting(key) for key in SETTING_KEYS})
        return render_template("purchasing_admin/settings.html", form=form)
    form = SettingsForm()
    if form.validate():
        try:
            for key in SETTING_KEYS:
                value = getattr(form, key).data
                set_setting(
                    key, "on" if value is True else "off" if value is False else value, _actor()
                )
        except InvalidSetting as error:
            db.session.rollback()
            getattr(form, key).errors = [str(error)]
        else:
            db.session.commit()
            flash("Purchasing settings saved.", "success")
            return redirect(url_for(".settings"), 303)
    return render_template("purchasing_admin/settings.html", form=form), 422
