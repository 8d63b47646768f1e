"""Staff screens for suppliers: their offers, feed format, category maps, uploads and imports."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from webapp import htmx_responses, jobs
from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role, User
from webapp.catalog import feed_setup, feeds, queries
from webapp.catalog.admin_common import PER_PAGE, bp, choices_of, get_or_404, role_in
from webapp.catalog.admin_forms import CategoryMapForm, FeedFormatForm, FeedUploadForm
from webapp.catalog.errors import CatalogError
from webapp.catalog.models import (
    FeedImport,
    ImportStatus,
    Product,
    Supplier,
    SupplierCategoryMap,
    SupplierOffer,
)
from webapp.extensions import db, htmx
from webapp.organizations.queries import like_pattern
from webapp.pagination import page_of
from webapp.parsing import page_arg

IMPORTS_PER_PAGE = 20

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
    supplier = get_or_404(Supplier, supplier_id)
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
    form.category_id.choices = choices_of(queries.categories(), "Choose our category")
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
            can_edit=role_in(Role.PURCHASING),
            upload_limit=feed_setup.size_label(_upload_limit()),
            tab="feed",
        ),
        status,
    )


@bp.get("/suppliers/<int:supplier_id>/feed")
@staff_required()
def supplier_feed(supplier_id: int):
    return _feed_page(get_or_404(Supplier, supplier_id))


@bp.post("/suppliers/<int:supplier_id>/feed-format")
@staff_required(Role.PURCHASING)
def feed_format(supplier_id: int):
    supplier = get_or_404(Supplier, supplier_id)
    form = FeedFormatForm()
    if form.validate_on_submit():
        try:
            feed_setup.save_feed_format(supplier, form.settings(), current_actor())
        except CatalogError as error:
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
    supplier = get_or_404(Supplier, supplier_id)
    form = _map_form(CategoryMapForm())
    if form.validate_on_submit():
        try:
            mapping = feed_setup.map_supplier_category(
                supplier, form.supplier_category.data, form.category_id.data, current_actor()
            )
        except CatalogError as error:
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
    supplier = get_or_404(Supplier, supplier_id)
    mapping = db.session.get(SupplierCategoryMap, map_id)
    if mapping is None or mapping.supplier_id != supplier.id:
        abort(404)
    name = mapping.supplier_category
    feed_setup.unmap_supplier_category(mapping, current_actor())
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
        f"The file is larger than the {feed_setup.size_label(_upload_limit())} upload limit: "
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
    supplier = get_or_404(Supplier, supplier_id)
    form = FeedUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            if not upload or not upload.filename:
                raise CatalogError("Choose a feed file to upload.", "file")
            run = feed_setup.upload_feed(
                supplier,
                upload.stream,
                upload.filename,
                current_actor(),
                upload_dir=current_app.config["IMPORT_UPLOAD_DIR"],
                max_bytes=_upload_limit(),
            )
        except CatalogError as error:
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
    run = get_or_404(FeedImport, import_id)
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
    run = get_or_404(FeedImport, import_id)
    try:
        feeds.confirm(run, current_actor().id)
    except feeds.FeedError as error:
        db.session.rollback()
        flash(f"{error}.", "danger")
        return redirect(url_for(".import_detail", import_id=run.id), 303)
    db.session.commit()
    flash(f"{run.filename}: the import is queued again, past its limits.", "success")
    return redirect(url_for(".import_detail", import_id=run.id), 303)
