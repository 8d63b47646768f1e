"""Staff screens for sales documents: list with filters, detail with timeline."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import htmx_responses
from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.parsing import page_arg
from webapp.sales import operations, queries
from webapp.sales.models import (
    DocumentKind,
    DocumentStatus,
    FulfilmentStatus,
    ProcurementStatus,
    SalesDocument,
)

bp = Blueprint("sales_admin", __name__, url_prefix="/admin/orders", template_folder="templates")


def _enum_arg(enum_cls, name: str):
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        return enum_cls(raw)
    except ValueError:
        abort(400, description=f"unknown {name} {raw!r}")


@bp.get("/")
@staff_required()
def orders():
    page = page_arg()
    rows, has_next = queries.documents(
        status=_enum_arg(DocumentStatus, "status"),
        kind=_enum_arg(DocumentKind, "kind"),
        procurement=_enum_arg(ProcurementStatus, "procurement"),
        fulfilment=_enum_arg(FulfilmentStatus, "fulfilment"),
        search=request.args.get("q", "")[:100],
        page=page,
    )
    return htmx_responses.render(
        "sales/admin_orders.html",
        "table",
        documents=rows,
        page=page,
        has_next=has_next,
        statuses=list(DocumentStatus),
        kinds=list(DocumentKind),
        procurement_statuses=list(ProcurementStatus),
        fulfilment_statuses=list(FulfilmentStatus),
    )


@bp.get("/<int:document_id>")
@staff_required()
def order_detail(document_id: int):
    document = db.session.get(SalesDocument, document_id) or abort(404)
    return render_template("sales/admin_order_detail.html", document=document)


@bp.post("/<int:document_id>/status")
@staff_required(Role.SALES)
def change_status(document_id: int):
    document = db.session.get(SalesDocument, document_id) or abort(404)
    try:
        wanted = DocumentStatus(request.form.get("status", ""))
    except ValueError:
        abort(400, description="unknown status")
    reason = request.form.get("reason", "").strip()[:500]
    try:
        operations.transition(document, wanted, current_user, reason)
    except operations.IllegalTransition as error:
        db.session.rollback()
        flash(f"Not changed: {error}.", "danger")
        return redirect(url_for(".order_detail", document_id=document.id), 303)
    db.session.commit()
    flash(f"{document.number} is now {wanted.label.lower()}.", "success")
    return redirect(url_for(".order_detail", document_id=document.id), 303)


@bp.post("/<int:document_id>/resend")
@staff_required(Role.SALES)
def resend(document_id: int):
    document = db.session.get(SalesDocument, document_id) or abort(404)
    operations.email_document(document, current_user)
    db.session.commit()
    flash(f"{document.title} {document.number} queued to {document.contact.email}.", "success")
    return redirect(url_for(".order_detail", document_id=document.id), 303)
