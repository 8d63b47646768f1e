"""Staff screens for receipting: receive a PO's lines (with serials), list and show receipts."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from webapp import htmx_responses
from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.parsing import COST_MAX, InputRefused, bounded_decimal, id_arg, page_arg, whole_number
from webapp.purchasing import errors, queries, receipting, tracking
from webapp.purchasing.admin_common import bp, get_or_404, get_po
from webapp.purchasing.forms import ReceiptForm
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderStatus, Receipt

MAX_SERIALS_TEXT = 20_000


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
    po = get_po(po_id)
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
        receipt = receipting.record_receipt(po, data, current_actor())
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
        supplier_id=id_arg("supplier"), search=request.args.get("q", "")[:100], page=page
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
    row = get_or_404(Receipt, receipt_id)
    return render_template(
        "purchasing_admin/receipt.html",
        receipt=row,
        track_url=tracking.tracking_url(row.tracking_number, row.carrier),
        carrier=tracking.carrier_name(row.carrier),
    )
