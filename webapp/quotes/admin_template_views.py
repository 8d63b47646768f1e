"""Staff screens for quote templates: list, create, edit their sections and lines."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from webapp import htmx_responses
from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.catalog.models import Product, ProductType
from webapp.catalog.queries import price_book, staff_matches
from webapp.extensions import db
from webapp.parsing import whole_number
from webapp.quotes import building, errors, queries, templating
from webapp.quotes.admin_common import answer_change, answer_refusal, bp, form_errors
from webapp.quotes.forms import (
    CUSTOM_TYPES,
    CustomLineForm,
    ProductLineForm,
    SectionForm,
    TemplateForm,
    TemplateLineForm,
)
from webapp.quotes.models import QuoteTemplate
from webapp.sales.models import Recurrence

# --- templates ----------------------------------------------------------------------------------


def _template(template_id: int) -> QuoteTemplate:
    return db.session.get(QuoteTemplate, template_id) or abort(404)


def _template_changes(form: TemplateForm) -> templating.TemplateChanges:
    return templating.TemplateChanges(
        name=form.name.data,
        description=form.description.data or "",
        intro=form.intro.data or "",
        terms=form.terms.data or "",
        expiry_days=form.expiry_days.data,
        active=form.active.data,
    )


def _template_page(template: QuoteTemplate, form: TemplateForm | None = None, status: int = 200):
    return htmx_responses.render(
        "quotes_admin/template.html",
        "editor",
        tpl=template,
        form=form or TemplateForm(obj=template),
        recurrences=list(Recurrence),
        custom_types=CUSTOM_TYPES,
        currency=current_app.config["CURRENCY"],
    ), status


def _template_changed(template: QuoteTemplate, message: str | None = None):
    """Answer a template edit: the refreshed editor for HTMX, a redirect for a plain post."""
    return answer_change(
        lambda: _template_page(template)[0],
        url_for(".template_detail", template_id=template.id),
        message,
    )


def _template_refused(template: QuoteTemplate, message: str, status: int = 422):
    return answer_refusal(url_for(".template_detail", template_id=template.id), message, status)


def _run_template(template: QuoteTemplate, action, *, done: str | None = None):
    try:
        action()
    except errors.QuoteError as error:
        return _template_refused(template, error.message, error.status)
    return _template_changed(template, done)


@bp.get("/templates")
@staff_required(Role.ADMIN)
def templates():
    return render_template("quotes_admin/templates.html", templates=queries.templates())


@bp.get("/templates/pick")
@staff_required(Role.SALES)
def pick_template():
    """Matches for a quote template picker (macros.html `picker`): active templates by name."""
    query = request.args.get("q", "").strip()[:100]
    needle = query.casefold()
    options = [
        (t.id, t.name, t.description[:80])
        for t in queries.templates(active_only=True)
        if needle and needle in t.name.casefold()
    ][:10]
    return render_template("_picker_results.html", options=options, query=query)


@bp.route("/templates/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def new_template():
    form = TemplateForm()
    if request.method == "GET":
        form.expiry_days.data = building.DEFAULT_EXPIRY_DAYS
        form.active.data = True
        return render_template("quotes_admin/new_template.html", form=form)
    if not form.validate():
        return render_template("quotes_admin/new_template.html", form=form), 422
    try:
        template = templating.create_template(_template_changes(form))
    except errors.QuoteError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return render_template("quotes_admin/new_template.html", form=form), error.status
    db.session.commit()
    flash(f"Template “{template.name}” created: add its sections and lines.", "success")
    return redirect(url_for(".template_detail", template_id=template.id), 303)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def template_detail(template_id: int):
    template = _template(template_id)
    if request.method == "GET":
        return _template_page(template)
    form = TemplateForm()
    if not form.validate():
        return _template_page(template, form, 422)
    try:
        templating.update_template(template, _template_changes(form))
    except errors.QuoteError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _template_page(_template(template_id), form, error.status)
    db.session.commit()
    flash("Template saved.", "success")
    return redirect(url_for(".template_detail", template_id=template.id), 303)


@bp.post("/templates/<int:template_id>/delete")
@staff_required(Role.ADMIN)
def delete_template(template_id: int):
    template = _template(template_id)
    name = template.name
    try:
        templating.delete_template(template)
    except errors.QuoteError as error:
        return _template_refused(template, error.message, error.status)
    db.session.commit()
    flash(f"Template “{name}” deleted.", "success")
    return htmx_responses.redirect(url_for(".templates"))


@bp.post("/templates/<int:template_id>/sections")
@staff_required(Role.ADMIN)
def template_add_section(template_id: int):
    template = _template(template_id)
    form = SectionForm()
    if not form.validate():
        return _template_refused(template, form_errors(form))
    return _run_template(
        template,
        lambda: templating.add_template_section(template, form.title.data, form.choose_one.data),
        done="Section added.",
    )


@bp.post("/templates/<int:template_id>/sections/<int:section_id>")
@staff_required(Role.ADMIN)
def template_update_section(template_id: int, section_id: int):
    template = _template(template_id)
    form = SectionForm()
    if not form.validate():
        return _template_refused(template, form_errors(form))

    def action():
        section = templating.owned_template_section(template, section_id)
        templating.update_template_section(section, form.title.data, form.choose_one.data)

    return _run_template(template, action)


@bp.post("/templates/<int:template_id>/sections/<int:section_id>/delete")
@staff_required(Role.ADMIN)
def template_delete_section(template_id: int, section_id: int):
    template = _template(template_id)

    def action():
        section = templating.owned_template_section(template, section_id)
        templating.remove_template_section(template, section)

    return _run_template(template, action, done="Section removed.")


@bp.get("/templates/<int:template_id>/catalog")
@staff_required(Role.ADMIN)
def template_catalog(template_id: int):
    """In-place catalog search for a template: products are priced when a quote is made."""
    template = _template(template_id)
    raw_section = request.args.get("section_id", "")
    section_id = whole_number(raw_section, minimum=1) or template.sections[0].id
    query = request.args.get("q", "")
    book = price_book()
    return render_template(
        "quotes_admin/_catalog_results.html",
        add_url=url_for(".template_add_line", template_id=template.id),
        target="#template-editor",
        section_id=section_id,
        currency=current_app.config["CURRENCY"],
        rows=[(p, book.price_of(p, None)) for p in staff_matches(query)],
        query=query.strip(),
    )


@bp.post("/templates/<int:template_id>/lines")
@staff_required(Role.ADMIN)
def template_add_line(template_id: int):
    template = _template(template_id)
    if request.form.get("product_id"):
        form = ProductLineForm()
        if not form.validate():
            return _template_refused(template, form_errors(form))

        def add_product():
            section = templating.owned_template_section(template, form.section_id.data)
            product = db.session.get(Product, form.product_id.data)
            if product is None:
                raise errors.QuoteError("That product does not exist.")
            templating.add_template_product_line(section, product, form.quantity.data)

        return _run_template(template, add_product, done="Line added.")
    form = CustomLineForm()
    if not form.validate():
        return _template_refused(template, form_errors(form))

    def add_custom():
        section = templating.owned_template_section(template, form.section_id.data)
        templating.add_template_custom_line(
            section,
            description=form.description.data,
            product_type=ProductType(form.product_type.data),
            quantity=form.quantity.data,
            unit_price=form.unit_price.data,
            unit_cost=form.unit_cost.data or Decimal(0),
            sku=form.sku.data or "",
        )

    return _run_template(template, add_custom, done="Line added.")


@bp.post("/templates/<int:template_id>/lines/<int:line_id>")
@staff_required(Role.ADMIN)
def template_update_line(template_id: int, line_id: int):
    template = _template(template_id)
    form = TemplateLineForm()
    if not form.validate():
        return _template_refused(template, form_errors(form))
    changes = templating.TemplateLineChanges(
        description=form.description.data,
        quantity=form.quantity.data,
        unit_price=form.unit_price.data,
        unit_cost=form.unit_cost.data,
        optional=form.optional.data,
        qty_editable=form.qty_editable.data,
        min_qty=form.min_qty.data,
        max_qty=form.max_qty.data,
        recurrence=Recurrence(form.recurrence.data),
        term_months=form.term_months.data,
    )

    def action():
        templating.update_template_line(templating.owned_template_line(template, line_id), changes)

    return _run_template(template, action)


@bp.post("/templates/<int:template_id>/lines/<int:line_id>/delete")
@staff_required(Role.ADMIN)
def template_delete_line(template_id: int, line_id: int):
    template = _template(template_id)
    return _run_template(
        template,
        lambda: templating.remove_template_line(template, line_id),
        done="Line removed from the template.",
    )
