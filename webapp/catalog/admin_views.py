"""Staff screens for products: the list, the picker, a product's prices, offers and picture."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from webapp import htmx_responses
from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role
from webapp.catalog import product_editing, queries
from webapp.catalog.admin_common import PER_PAGE, bp, flag_arg, get_or_404, role_in, toast_refusal
from webapp.catalog.admin_forms import FixedPriceForm
from webapp.catalog.errors import CatalogError
from webapp.catalog.models import Product, SupplierOffer
from webapp.extensions import db, htmx
from webapp.organizations.models import PriceGroup
from webapp.organizations.queries import like_pattern
from webapp.pagination import page_of
from webapp.parsing import id_arg, page_arg

# --- products --------------------------------------------------------------------------------


@bp.get("/products")
@staff_required()
def products():
    search = request.args.get("q", "").strip()[:100]
    category_id = id_arg("category")
    brand_id = id_arg("brand")
    obsolete = request.args.get("obsolete", "")
    if obsolete not in ("", "yes", "no"):
        abort(400, description="obsolete must be yes or no")
    page = page_arg()
    query = (
        select(Product).options(selectinload(Product.category)).order_by(Product.name, Product.id)
    )
    if search:
        like = like_pattern(search)
        query = query.where(
            or_(Product.name.ilike(like, escape="\\"), Product.mpn.ilike(like, escape="\\"))
        )
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    if brand_id is not None:
        query = query.where(Product.brand_id == brand_id)
    if obsolete:
        query = query.where(Product.obsolete.is_(obsolete == "yes"))
    rows, has_next = page_of(query, page, PER_PAGE)
    book = queries.price_book()
    return htmx_responses.render(
        "catalog_admin/products.html",
        "table",
        rows=[(product, book.price_of(product, None)) for product in rows],
        page=page,
        has_next=has_next,
        categories=queries.categories(),
        brands=queries.brands(),
        filters={"category": category_id, "brand": brand_id, "obsolete": obsolete},
    )


@bp.get("/products/pick")
@staff_required()
def pick_product():
    """Matches for a product picker (macros.html `picker`): name, part number, stock."""
    query = request.args.get("q", "").strip()[:200]
    options = [
        (
            product.id,
            product.name,
            " · ".join(
                part
                for part in (
                    product.mpn,
                    f"{product.total_stock} in stock" if product.product_type.is_stocked else "",
                )
                if part
            ),
        )
        for product in queries.staff_matches(query)
    ]
    return render_template("_picker_results.html", options=options, query=query)


def _product_context(product: Product, price_form: FixedPriceForm | None = None) -> dict:
    book = queries.price_book()
    groups = list(db.session.scalars(select(PriceGroup).order_by(PriceGroup.name)))
    prices = [
        (
            group.name if group else "Standard (no price group)",
            book.markup_pct(group.id if group else None, product.category_id, product.brand_id),
            book.price_of(product, group.id if group else None),
        )
        for group in [None, *groups]
    ]
    offers = db.session.scalars(
        select(SupplierOffer)
        .options(joinedload(SupplierOffer.supplier))
        .where(SupplierOffer.product_id == product.id)
        .order_by(SupplierOffer.available.desc(), SupplierOffer.cost, SupplierOffer.id)
    ).all()
    if price_form is None:
        price_form = FixedPriceForm(formdata=None, fixed_price=product.fixed_price)
    return {
        "product": product,
        "image_version": queries.uploaded_images([product.id]).get(product.id, 0),
        "offers": offers,
        "prices": prices,
        "price_form": price_form,
        "can_price": role_in(Role.SALES),
        "can_retire": role_in(Role.SALES, Role.PURCHASING),
    }


@bp.get("/products/<int:product_id>")
@staff_required()
def product_detail(product_id: int):
    product = get_or_404(Product, product_id)
    return render_template("catalog_admin/product.html", **_product_context(product))


def _product_changed(product: Product, message: str, block: str):
    if htmx:
        return htmx_responses.trigger(
            htmx_responses.render("catalog_admin/product.html", block, **_product_context(product)),
            toast=message,
        )
    flash(message, "success")
    return redirect(url_for(".product_detail", product_id=product.id), 303)


@bp.post("/products/<int:product_id>/fixed-price")
@staff_required(Role.SALES)
def fixed_price(product_id: int):
    product = get_or_404(Product, product_id)
    form = FixedPriceForm()
    if form.validate_on_submit():
        try:
            product_editing.set_fixed_price(product, form.fixed_price.data, current_actor())
        except CatalogError as error:
            db.session.rollback()
            form.fixed_price.errors.append(str(error))
        else:
            db.session.commit()
            message = (
                f"{product.name} now sells at a fixed price."
                if product.fixed_price is not None
                else f"{product.name} is priced by the pricing rules again."
            )
            return _product_changed(product, message, "pricing")
    errors = "; ".join(form.fixed_price.errors) or "The form expired: reload the page."
    if htmx:
        return toast_refusal(f"Fixed price: {errors}")
    return (
        render_template("catalog_admin/product.html", **_product_context(product, form)),
        422,
    )


@bp.post("/products/<int:product_id>/obsolete")
@staff_required(Role.SALES, Role.PURCHASING)
def obsolete(product_id: int):
    product = get_or_404(Product, product_id)
    product_editing.set_obsolete(product, flag_arg("obsolete"), current_actor())
    db.session.commit()
    message = (
        f"{product.name} is obsolete: it is no longer shown in the store."
        if product.obsolete
        else f"{product.name} is back in the store."
    )
    return _product_changed(product, message, "status")


@bp.post("/products/<int:product_id>/image")
@staff_required(Role.SALES, Role.PURCHASING)
def product_image(product_id: int):
    product = get_or_404(Product, product_id)
    removing = request.form.get("action") == "remove"
    upload = request.files.get("image")
    try:
        if removing:
            product_editing.set_product_image(product, None, current_actor())
        else:
            data = upload.read(product_editing.MAX_IMAGE_BYTES + 1) if upload else b""
            product_editing.set_product_image(product, data, current_actor())
    except CatalogError as error:
        db.session.rollback()
        context = _product_context(product)
        return render_template("catalog_admin/product.html", **context, image_error=str(error)), 422
    db.session.commit()
    flash("Picture removed." if removing else "Picture uploaded.", "success")
    return redirect(url_for(".product_detail", product_id=product.id), 303)
