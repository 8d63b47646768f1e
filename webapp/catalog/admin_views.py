"""Staff screens for products, suppliers and their feeds, pricing rules and tax codes."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp.auth.access import staff_required

bp = Blueprint("catalog_admin", __name__, url_prefix="/admin/catalog", template_folder="templates")


@bp.get("/products")
@staff_required()
def products():
    return render_template("catalog_admin/placeholder.html", title="Products")


@bp.get("/suppliers")
@staff_required()
def suppliers():
    return render_template("catalog_admin/placeholder.html", title="Suppliers")


@bp.get("/pricing")
@staff_required()
def pricing():
    return render_template("catalog_admin/placeholder.html", title="Pricing")


@bp.get("/tax-codes")
@staff_required()
def tax_codes():
    return render_template("catalog_admin/placeholder.html", title="Tax codes")
