"""A customer's own organization's orders and invoices."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user

from webapp.auth.access import customer_required
from webapp.parsing import page_arg
from webapp.pdf import render_pdf
from webapp.sales import queries
from webapp.sales.progress import progress_of, shipments_of
from webapp.settings.operations import get_setting

bp = Blueprint("sales", __name__, template_folder="templates")


@bp.app_template_global()
def seller_details() -> dict:
    """Who sells, as a tax invoice names them (Settings › Sales): the PDF and the order page."""
    return {
        key: get_setting(key)
        for key in ("seller_legal_name", "seller_tax_number", "seller_address", "payment_details")
    }


@bp.get("/orders")
@customer_required
def my_orders():
    page = page_arg()
    rows, has_next = queries.organization_documents(current_user.organization_id, page=page)
    return render_template(
        "sales/my_orders.html",
        documents=rows,
        progress=progress_of(rows),
        shipments=shipments_of([d.id for d in rows]),
        page=page,
        has_next=has_next,
    )


def _own_document(number: str):
    document = queries.organization_document(current_user.organization_id, number[:20])
    if document is None:
        abort(404)  # another organization's number looks exactly like a missing one
    return document


@bp.get("/orders/<number>")
@customer_required
def order_detail(number: str):
    document = _own_document(number)
    return render_template(
        "sales/order_detail.html",
        document=document,
        progress=progress_of([document])[document.id],
        shipments=shipments_of([document.id])[document.id],
    )


@bp.get("/orders/<number>/pdf")
@customer_required
def order_pdf(number: str):
    document = _own_document(number)
    response = Response(render_pdf("sales/pdf.html", document=document), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response
