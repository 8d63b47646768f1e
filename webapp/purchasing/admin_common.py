"""The staff purchasing screens' blueprint and what they share: loading a PO and its lines, and
how an action is answered (a toast or a redirect).

The screens are in admin_views (purchase orders and their sales documents),
admin_receipt_views (receipting) and admin_stock_views (own stock, bid prices, settings).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template

from webapp import htmx_responses
from webapp.extensions import db, htmx
from webapp.purchasing import queries
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderLine

bp = Blueprint(
    "purchasing_admin", __name__, url_prefix="/admin/purchasing", template_folder="templates"
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


def get_or_404(model, row_id: int):
    """Return the row with this id from the URL, or answer 404."""
    return db.session.get(model, row_id) or abort(404)


def get_po(po_id: int) -> PurchaseOrder:
    return get_or_404(PurchaseOrder, po_id)


def get_line(po: PurchaseOrder, line_id: int) -> PurchaseOrderLine:
    line = get_or_404(PurchaseOrderLine, line_id)
    if line.purchase_order_id != po.id:
        abort(404)
    return line


def refused(message: str, target: str, status: int = 409):
    """Roll back and say why: a toast for HTMX, a flash and redirect for plain posts."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=message), status
    flash(message, "danger")
    return redirect(target, 303)


def done(message: str, target: str):
    if htmx:
        return htmx_responses.redirect(target)
    flash(message, "success")
    return redirect(target, 303)


def form_errors(form) -> str:
    return "; ".join(
        f"{getattr(form, name).label.text}: {' '.join(errors)}"
        for name, errors in form.errors.items()
        if name != "csrf_token"
    )
