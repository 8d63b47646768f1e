"""Staff screens for our own stock, suppliers' bid prices, and the purchasing settings."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role
from webapp.catalog.models import Product, Supplier
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.purchasing import errors, own_stock
from webapp.purchasing.admin_common import bp, get_or_404
from webapp.purchasing.forms import BidForm, SettingsForm, StockForm
from webapp.purchasing.models import BidPrice, StockItem
from webapp.settings.operations import get_setting, set_setting
from webapp.settings.registry import InvalidSetting

SETTING_KEYS = (
    "purchasing_issue_mode",
    "purchasing_merge_drafts",
    "purchasing_allow_split",
    "purchasing_officer_email",
    "supplier_payment_terms_days",
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
                        actor=current_actor(),
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
                        actor=current_actor(),
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
    bid = get_or_404(BidPrice, bid_id)
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
                    key,
                    "on" if value is True else "off" if value is False else value,
                    current_actor(),
                )
        except InvalidSetting as error:
            db.session.rollback()
            getattr(form, key).errors = [str(error)]
        else:
            db.session.commit()
            flash("Purchasing settings saved.", "success")
            return redirect(url_for(".settings"), 303)
    return render_template("purchasing_admin/settings.html", form=form), 422
