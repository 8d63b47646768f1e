"""Staff screens for products, suppliers and their feeds, pricing rules and tax codes."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from webapp import htmx_responses, jobs
from webapp.auth.access import staff_required
from webapp.auth.models import Role, User
from webapp.catalog import feeds, operations, queries
from webapp.catalog.admin_forms import (
    CategoryMapForm,
    FeedFormatForm,
    FeedUploadForm,
    FixedPriceForm,
    PricingRuleForm,
    TaxCodeForm,
)
from webapp.catalog.models import (
    FeedImport,
    ImportStatus,
    PricingRule,
    Product,
    Supplier,
    SupplierCategoryMap,
    SupplierOffer,
    TaxCode,
)
from webapp.extensions import db, htmx
from webapp.organizations.models import PriceGroup
from webapp.organizations.queries import like_pattern
from webapp.pagination import page_of
from webapp.parsing import page_arg, whole_number

bp = Blueprint("catalog_admin", __name__, url_prefix="/admin/catalog", template_folder="templates")

PER_PAGE = 50
IMPORTS_PER_PAGE = 20


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


def _flag(name: str) -> bool:
    raw = request.form.get(name, "")
    if raw not in ("0", "1"):
        abort(400, description=f"{name} must be 0 or 1")
    return raw == "1"


def _get(model, object_id: int):
    return db.session.get(model, object_id) or abort(404)


def _role_in(*roles: Role) -> bool:
    return current_user.role is Role.ADMIN or current_user.role in roles


def _toast_refusal(message: str, status: int = 422):
    db.session.rollback()
    return render_template("errors/toast.html", message=message), status


def _choices(rows, empty_label: str) -> list[tuple]:
    return [("", empty_label)] + [(row.id, row.name) for row in rows]


# --- products --------------------------------------------------------------------------------


@bp.get("/products")
@staff_required()
def products():
    search = request.args.get("q", "").strip()[:100]
    category_id = _id_arg("category")
    brand_id = _id_arg("brand")
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
        "can_price": _role_in(Role.SALES),
        "can_retire": _role_in(Role.SALES, Role.PURCHASING),
    }


@bp.get("/products/<int:product_id>")
@staff_required()
def product_detail(product_id: int):
    product = _get(Product, product_id)
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
    product = _get(Product, product_id)
    form = FixedPriceForm()
    if form.validate_on_submit():
        try:
            operations.set_fixed_price(product, form.fixed_price.data, _actor())
        except operations.CatalogError as error:
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
        return _toast_refusal(f"Fixed price: {errors}")
    return (
        render_template("catalog_admin/product.html", **_product_context(product, form)),
        422,
    )


@bp.post("/products/<int:product_id>/obsolete")
@staff_required(Role.SALES, Role.PURCHASING)
def obsolete(product_id: int):
    product = _get(Product, product_id)
    operations.set_obsolete(product, _flag("obsolete"), _actor())
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
    product = _get(Product, product_id)
    removing = request.form.get("action") == "remove"
    upload = request.files.get("image")
    try:
        if removing:
            operations.set_product_image(product, None, _actor())
        else:
            data = upload.read(operations.MAX_IMAGE_BYTES + 1) if upload else b""
            operations.set_product_image(product, data, _actor())
    except operations.CatalogError as error:
        db.session.rollback()
        context = _product_context(product)
        return render_template("catalog_admin/product.html", **context, image_error=str(error)), 422
    db.session.commit()
    flash("Picture removed." if removing else "Picture uploaded.", "success")
    return redirect(url_for(".product_detail", product_id=product.id), 303)


# --- suppliers -------------------------------------------------------------------------------


@bp.get("/suppliers")
@staff_required()
def suppliers():
    rows = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    latest_ids = select(func.max(FeedImport.id)).group_by(FeedImport.supplier_id)
    latest = {
        run.supplier_id: run
        for run in db.session.scalars(select(FeedImport).where(FeedImport.id.in_(latest_ids)))
    }
    return render_template("catalog_admin/suppliers.html", suppliers=rows, latest=latest)


@bp.get("/suppliers/<int:supplier_id>")
@staff_required()
def supplier_detail(supplier_id: int):
    supplier = _get(Supplier, supplier_id)
    search = request.args.get("q", "").strip()[:100]
    page = page_arg()
    query = (
        select(SupplierOffer)
        .options(joinedload(SupplierOffer.product))
        .where(SupplierOffer.supplier_id == supplier.id)
        .order_by(SupplierOffer.supplier_sku)
    )
    if search:
        like = like_pattern(search)
        query = query.join(Product, Product.id == SupplierOffer.product_id).where(
            or_(
                SupplierOffer.supplier_sku.ilike(like, escape="\\"),
                Product.mpn.ilike(like, escape="\\"),
                Product.name.ilike(like, escape="\\"),
            )
        )
    offers, has_next = page_of(query, page, PER_PAGE)
    return htmx_responses.render(
        "catalog_admin/supplier.html",
        "offers",
        supplier=supplier,
        offers=offers,
        page=page,
        has_next=has_next,
        tab="offers",
    )


def _feed_format_form(supplier: Supplier) -> FeedFormatForm:
    try:
        current = feeds.FeedFormat.from_json(supplier.feed_format)
    except feeds.FeedError:
        current = feeds.FeedFormat.from_json({})
    form = FeedFormatForm(
        formdata=None,
        delimiter=current.delimiter,
        decimal_separator=current.decimal_separator,
        thousands_separator=current.thousands_separator,
        encoding=current.encoding,
        full_feed=current.full_feed,
        max_withdrawn_percent=current.max_withdrawn_percent,
        max_bad_rows_percent=current.max_bad_rows_percent,
    )
    for name in FeedFormatForm.COLUMN_FIELDS:
        form[f"col_{name}"].data = current.columns.get(name, "")
    return form


def _map_form(form: CategoryMapForm | None = None) -> CategoryMapForm:
    form = form or CategoryMapForm(formdata=None)
    form.category_id.choices = _choices(queries.categories(), "Choose our category")
    return form


def _feed_page(
    supplier: Supplier,
    *,
    status: int = 200,
    format_form: FeedFormatForm | None = None,
    map_form: CategoryMapForm | None = None,
    upload_form: FeedUploadForm | None = None,
):
    page = page_arg()
    imports, has_next = page_of(
        select(FeedImport)
        .where(FeedImport.supplier_id == supplier.id)
        .order_by(FeedImport.id.desc()),
        page,
        IMPORTS_PER_PAGE,
    )
    maps = db.session.scalars(
        select(SupplierCategoryMap)
        .options(joinedload(SupplierCategoryMap.category))
        .where(SupplierCategoryMap.supplier_id == supplier.id)
        .order_by(SupplierCategoryMap.supplier_category)
    ).all()
    try:
        feeds.FeedFormat.from_json(supplier.feed_format)
        format_problem = None
    except feeds.FeedError as error:
        format_problem = str(error)
    return (
        render_template(
            "catalog_admin/supplier_feed.html",
            supplier=supplier,
            imports=imports,
            page=page,
            has_next=has_next,
            maps=maps,
            format_form=format_form or _feed_format_form(supplier),
            format_problem=format_problem,
            map_form=_map_form(map_form),
            upload_form=upload_form or FeedUploadForm(formdata=None),
            can_edit=_role_in(Role.PURCHASING),
            upload_limit=operations.size_label(_upload_limit()),
            tab="feed",
        ),
        status,
    )


@bp.get("/suppliers/<int:supplier_id>/feed")
@staff_required()
def supplier_feed(supplier_id: int):
    return _feed_page(_get(Supplier, supplier_id))


@bp.post("/suppliers/<int:supplier_id>/feed-format")
@staff_required(Role.PURCHASING)
def feed_format(supplier_id: int):
    supplier = _get(Supplier, supplier_id)
    form = FeedFormatForm()
    if form.validate_on_submit():
        try:
            operations.save_feed_format(supplier, form.settings(), _actor())
        except operations.CatalogError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Feed format of {supplier.name} saved.", "success")
            return redirect(url_for(".supplier_feed", supplier_id=supplier.id), 303)
    return _feed_page(supplier, status=422, format_form=form)


@bp.post("/suppliers/<int:supplier_id>/category-maps")
@staff_required(Role.PURCHASING)
def map_category(supplier_id: int):
    supplier = _get(Supplier, supplier_id)
    form = _map_form(CategoryMapForm())
    if form.validate_on_submit():
        try:
            mapping = operations.map_supplier_category(
                supplier, form.supplier_category.data, form.category_id.data, _actor()
            )
        except operations.CatalogError as error:
            db.session.rollback()
            form[error.field or "supplier_category"].errors.append(str(error))
        else:
            db.session.commit()
            flash(
                f"{supplier.name}'s {mapping.supplier_category!r} now maps to "
                f"{mapping.category.name}.",
                "success",
            )
            return redirect(url_for(".supplier_feed", supplier_id=supplier.id), 303)
    return _feed_page(supplier, status=422, map_form=form)


@bp.post("/suppliers/<int:supplier_id>/category-maps/<int:map_id>/delete")
@staff_required(Role.PURCHASING)
def unmap_category(supplier_id: int, map_id: int):
    supplier = _get(Supplier, supplier_id)
    mapping = db.session.get(SupplierCategoryMap, map_id)
    if mapping is None or mapping.supplier_id != supplier.id:
        abort(404)
    name = mapping.supplier_category
    operations.unmap_supplier_category(mapping, _actor())
    db.session.commit()
    message = f"{name!r} is no longer mapped."
    if htmx:
        return htmx_responses.trigger("", toast=message)
    flash(message, "success")
    return redirect(url_for(".supplier_feed", supplier_id=supplier.id), 303)


def _upload_limit() -> int:
    return current_app.config["FEED_UPLOAD_MAX_BYTES"]


@bp.url_value_preprocessor
def _limit_upload_size(endpoint: str | None, values: dict | None) -> None:
    # URL value preprocessors run before the app's before_request hooks, so the limit is in
    # place before CSRF protection reads (and spools) the request body.
    if endpoint == "catalog_admin.upload_feed":
        request.max_content_length = _upload_limit()


@bp.errorhandler(413)
def upload_too_large(error):
    message = (
        f"The file is larger than the {operations.size_label(_upload_limit())} upload limit: "
        "split the feed or ask the supplier for a smaller file."
    )
    db.session.rollback()
    supplier_id = (request.view_args or {}).get("supplier_id")
    supplier = db.session.get(Supplier, supplier_id) if supplier_id else None
    if htmx or supplier is None:
        return render_template("errors/toast.html", message=message), 413
    upload_form = FeedUploadForm(formdata=None)
    upload_form.file.errors = [message]
    return _feed_page(supplier, status=413, upload_form=upload_form)


@bp.post("/suppliers/<int:supplier_id>/imports")
@staff_required(Role.PURCHASING)
def upload_feed(supplier_id: int):
    supplier = _get(Supplier, supplier_id)
    form = FeedUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            if not upload or not upload.filename:
                raise operations.CatalogError("Choose a feed file to upload.", "file")
            run = operations.upload_feed(
                supplier,
                upload.stream,
                upload.filename,
                _actor(),
                upload_dir=current_app.config["IMPORT_UPLOAD_DIR"],
                max_bytes=_upload_limit(),
            )
        except operations.CatalogError as error:
            db.session.rollback()
            form.file.errors = [str(error)]
        else:
            db.session.commit()
            flash(f"{run.filename} uploaded: the import is queued.", "success")
            return redirect(url_for(".import_detail", import_id=run.id), 303)
    return _feed_page(supplier, status=422, upload_form=form)


def _import_progress(run: FeedImport) -> dict:
    if run.status is not ImportStatus.RUNNING:
        return {"done": 0, "total": 0, "percent": None, "step": ""}
    raw = jobs.redis_conn().hgetall(feeds.progress_key(run.id))
    done = int(raw.get(b"done", 0))
    total = int(raw.get(b"total", 0))
    percent = min(100, done * 100 // total) if total else None
    step = raw.get(b"step", b"").decode()
    return {"done": done, "total": total, "percent": percent, "step": step}


@bp.get("/imports/<int:import_id>")
@staff_required()
def import_detail(import_id: int):
    run = _get(FeedImport, import_id)
    return htmx_responses.render(
        "catalog_admin/import.html",
        "status",
        run=run,
        progress=_import_progress(run),
        finished=run.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.HELD),
        created_by=db.session.get(User, run.created_by_id) if run.created_by_id else None,
    )


@bp.post("/imports/<int:import_id>/confirm")
@staff_required(Role.PURCHASING)
def confirm_import(import_id: int):
    run = _get(FeedImport, import_id)
    try:
        feeds.confirm(run, _actor().id)
    except feeds.FeedError as error:
        db.session.rollback()
        flash(f"{error}.", "danger")
        return redirect(url_for(".import_detail", import_id=run.id), 303)
    db.session.commit()
    flash(f"{run.filename}: the import is queued again, past its limits.", "success")
    return redirect(url_for(".import_detail", import_id=run.id), 303)


# --- pricing rules ---------------------------------------------------------------------------


def _rule_form(form: PricingRuleForm) -> PricingRuleForm:
    groups = db.session.scalars(select(PriceGroup).order_by(PriceGroup.name)).all()
    form.price_group_id.choices = _choices(groups, "Every customer")
    form.category_id.choices = _choices(queries.categories(), "Any category")
    form.brand_id.choices = _choices(queries.brands(), "Any brand")
    return form


@bp.get("/pricing")
@staff_required(Role.ADMIN)
def pricing():
    from webapp.settings.operations import get_setting

    rules = db.session.scalars(
        select(PricingRule).options(
            joinedload(PricingRule.price_group),
            joinedload(PricingRule.category),
            joinedload(PricingRule.brand),
        )
    ).all()
    # Most general first, as the rules are read: group, then category, then brand.
    rules = sorted(
        rules,
        key=lambda r: (
            r.price_group.name.lower() if r.price_group else "",
            r.category.name.lower() if r.category else "",
            r.brand.name.lower() if r.brand else "",
        ),
    )
    return htmx_responses.render(
        "catalog_admin/pricing.html",
        "rules",
        rules=rules,
        default_markup=get_setting("default_markup_pct"),
    )


def _save_rule(rule: PricingRule | None):
    form = _rule_form(PricingRuleForm(obj=rule))
    if form.validate_on_submit():
        try:
            operations.save_pricing_rule(
                rule,
                price_group_id=form.price_group_id.data,
                category_id=form.category_id.data,
                brand_id=form.brand_id.data,
                markup_pct=form.markup_pct.data,
                actor=_actor(),
            )
        except operations.CatalogError as error:
            db.session.rollback()
            form[error.field or "markup_pct"].errors.append(str(error))
        else:
            db.session.commit()
            flash("Pricing rule saved: store prices follow straight away.", "success")
            return redirect(url_for(".pricing"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("catalog_admin/pricing_rule.html", form=form, rule=rule), status


@bp.route("/pricing/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def new_pricing_rule():
    return _save_rule(None)


@bp.route("/pricing/<int:rule_id>/edit", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def edit_pricing_rule(rule_id: int):
    return _save_rule(_get(PricingRule, rule_id))


@bp.post("/pricing/<int:rule_id>/delete")
@staff_required(Role.ADMIN)
def delete_pricing_rule(rule_id: int):
    rule = _get(PricingRule, rule_id)
    operations.delete_pricing_rule(rule, _actor())
    db.session.commit()
    message = "Pricing rule deleted."
    if htmx:
        return htmx_responses.trigger("", toast=message)
    flash(message, "success")
    return redirect(url_for(".pricing"), 303)


# --- tax codes -------------------------------------------------------------------------------


@bp.get("/tax-codes")
@staff_required(Role.ADMIN)
def tax_codes():
    return htmx_responses.render(
        "catalog_admin/tax_codes.html",
        "table",
        tax_codes=db.session.scalars(select(TaxCode).order_by(TaxCode.code)).all(),
    )


def _save_tax_code(tax_code: TaxCode | None):
    form = TaxCodeForm(obj=tax_code)
    if form.validate_on_submit():
        try:
            saved = operations.save_tax_code(
                tax_code,
                code=form.code.data,
                name=form.name.data,
                rate=form.rate.data,
                is_default=form.is_default.data,
                actor=_actor(),
            )
        except operations.CatalogError as error:
            db.session.rollback()
            form[error.field or "code"].errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Tax code {saved.code} saved.", "success")
            return redirect(url_for(".tax_codes"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("catalog_admin/tax_code.html", form=form, tax_code=tax_code), status


@bp.route("/tax-codes/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def new_tax_code():
    return _save_tax_code(None)


@bp.route("/tax-codes/<int:tax_code_id>/edit", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def edit_tax_code(tax_code_id: int):
    return _save_tax_code(_get(TaxCode, tax_code_id))


@bp.post("/tax-codes/<int:tax_code_id>/default")
@staff_required(Role.ADMIN)
def default_tax_code(tax_code_id: int):
    tax_code = _get(TaxCode, tax_code_id)
    operations.make_default_tax_code(tax_code, _actor())
    db.session.commit()
    message = f"{tax_code.code} is now the default tax code."
    if htmx:
        return htmx_responses.trigger(
            htmx_responses.render(
                "catalog_admin/tax_codes.html",
                "table",
                tax_codes=db.session.scalars(select(TaxCode).order_by(TaxCode.code)).all(),
            ),
            toast=message,
        )
    flash(message, "success")
    return redirect(url_for(".tax_codes"), 303)
