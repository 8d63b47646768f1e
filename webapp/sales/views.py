"""A customer's own organization's orders and invoices."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from webapp.auth.access import customer_required
from webapp.parsing import page_arg
from webapp.sales import queries

bp = Blueprint("sales", __name__, template_folder="templates")


@bp.get("/orders")
@customer_required
def my_orders():
    page = page_arg()
    rows, has_next = queries.organization_documents(current_user.organization_id, page=page)
    return render_template("sales/my_orders.html", documents=rows, page=page, has_next=has_next)


@bp.get("/orders/<number>")
@customer_required
def order_detail(number: str):
    document = queries.organization_document(current_user.organization_id, number)
    if document is None:
        abort(404)  # another organization's number looks exactly like a missing one
    return render_template("sales/order_detail.html", document=document)
