"""Staff screens for purchase orders (with decision records) and a sales document's procurement."""

from __future__ import annotations

from flask import Response, abort, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp import htmx_responses
from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role
from webapp.catalog.models import Product, Supplier, SupplierOffer
from webapp.extensions import db
from webapp.parsing import id_arg, page_arg
from webapp.purchasing import errors, ordering, planning, queries
from webapp.purchasing.admin_common import (
    bp,
    done,
    form_errors,
    get_line,
    get_or_404,
    get_po,
    refused,
)
from webapp.purchasing.forms import CancelForm, LineForm, ManualLineForm, OverrideForm
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderStatus
from webapp.sales.models import SalesDocument
from webapp.settings.operations import get_setting

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
        supplier_id=id_arg("supplier"),
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
    po = get_po(po_id)
    return render_template("purchasing_admin/purchase_order.html", **_po_context(po))


@bp.post("/orders/<int:po_id>/issue")
@staff_required(Role.PURCHASING)
def issue(po_id: int):
    po = get_po(po_id)
    target = url_for(".purchase_order", po_id=po.id)
    try:
        ordering.issue_purchase_order(po, current_actor())
    except errors.PurchasingError as error:
        return refused(f"Not issued: {error}", target)
    db.session.commit()
    return done(f"{po.number} issued and emailed to {po.issued_to}.", target)


@bp.post("/orders/<int:po_id>/cancel")
@staff_required(Role.PURCHASING)
def cancel(po_id: int):
    po = get_po(po_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = CancelForm()
    if not form.validate():
        return refused(f"Not cancelled: {form_errors(form)}", target, 422)
    try:
        ordering.cancel_purchase_order(po, current_actor(), form.reason.data)
    except errors.PurchasingError as error:
        return refused(f"Not cancelled: {error}", target)
    db.session.commit()
    return done(f"{po.number} cancelled.", target)


@bp.post("/orders/<int:po_id>/lines/<int:line_id>")
@staff_required(Role.PURCHASING)
def update_line(po_id: int, line_id: int):
    po = get_po(po_id)
    line = get_line(po, line_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = LineForm()
    if not form.validate():
        return refused(f"Line {line.position} not changed: {form_errors(form)}", target, 422)
    try:
        ordering.update_line(
            line,
            quantity=form.quantity.data,
            unit_cost=form.unit_cost.data,
            actor=current_actor(),
            zero_cost_confirmed=form.confirm_zero_cost.data,
        )
    except errors.PurchasingError as error:
        return refused(f"Line {line.position} not changed: {error}", target)
    db.session.commit()
    return done(f"Line {line.position} saved.", target)


@bp.post("/orders/<int:po_id>/lines/<int:line_id>/delete")
@staff_required(Role.PURCHASING)
def delete_line(po_id: int, line_id: int):
    po = get_po(po_id)
    line = get_line(po, line_id)
    target = url_for(".purchase_order", po_id=po.id)
    position = line.position
    try:
        ordering.remove_line(line, current_actor())
    except errors.PurchasingError as error:
        return refused(f"Line {position} not removed: {error}", target)
    db.session.commit()
    return done(f"Line {position} removed.", target)


@bp.post("/orders/<int:po_id>/lines")
@staff_required(Role.PURCHASING)
def add_line(po_id: int):
    po = get_po(po_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = ManualLineForm()
    if not form.validate():
        return refused(f"Line not added: {form_errors(form)}", target, 422)
    product = db.session.get(Product, form.product_id.data)
    if product is None:
        return refused(f"Line not added: there is no product #{form.product_id.data}.", target, 422)
    try:
        ordering.add_manual_line(
            po,
            product=product,
            quantity=form.quantity.data,
            unit_cost=form.unit_cost.data,
            actor=current_actor(),
            zero_cost_confirmed=form.confirm_zero_cost.data,
        )
    except errors.PurchasingError as error:
        return refused(f"Line not added: {error}", target)
    db.session.commit()
    return done(f"{product.name} added.", target)


@bp.post("/orders/<int:po_id>/lines/<int:line_id>/override")
@staff_required(Role.PURCHASING)
def override_line(po_id: int, line_id: int):
    po = get_po(po_id)
    line = get_line(po, line_id)
    target = url_for(".purchase_order", po_id=po.id)
    form = OverrideForm()
    form.supplier_id.choices = [(s.id, s.name) for s in db.session.scalars(select(Supplier))]
    if not form.validate():
        return refused(f"Supplier not changed: {form_errors(form)}", target, 422)
    supplier = db.session.get(Supplier, form.supplier_id.data) or abort(404)
    try:
        new_po = ordering.override_line_supplier(
            line, supplier, current_actor(), (form.reason.data or "").strip()
        )
    except errors.PurchasingError as error:
        return refused(f"Supplier not changed: {error}", target)
    db.session.commit()
    destination = url_for(".purchase_order", po_id=new_po.id)
    return done(f"Line moved to {supplier.name} on {new_po.number}.", destination)


@bp.get("/orders/<int:po_id>/pdf")
@staff_required(Role.PURCHASING)
def po_pdf(po_id: int):
    po = get_po(po_id)
    return Response(
        ordering.purchase_order_pdf(po),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{po.number}.pdf"'},
    )


@bp.get("/orders/<int:po_id>/csv")
@staff_required(Role.PURCHASING)
def po_csv(po_id: int):
    po = get_po(po_id)
    return Response(
        ordering.purchase_order_csv(po),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{po.number}.csv"'},
    )


# --- sales documents --------------------------------------------------------------------------


@bp.get("/documents/<int:document_id>/procurement")
@staff_required()
def document_procurement(document_id: int):
    # The order page's panel polls this while planning is pending; a plain GET shows it alone.
    document = get_or_404(SalesDocument, document_id)
    return htmx_responses.render(
        "purchasing_admin/document_procurement.html", block="panel", document=document
    )


@bp.post("/documents/<int:document_id>/replan")
@staff_required(Role.PURCHASING)
def replan(document_id: int):
    document = get_or_404(SalesDocument, document_id)
    target = url_for("sales_admin.order_detail", document_id=document.id)
    try:
        released = planning.replan_document(document, current_actor())
    except errors.PurchasingError as error:
        return refused(f"Not re-planned: {error}", target)
    db.session.commit()
    return done(
        f"{document.number} is being re-planned ({released} draft line"
        f"{'s' if released != 1 else ''} released).",
        target,
    )
