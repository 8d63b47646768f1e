"""Staff screens for quotes: list, create, build, arrange, approve, send, decide."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for

from webapp import htmx_responses
from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role, User
from webapp.catalog.models import Product, ProductType
from webapp.catalog.queries import price_book, staff_matches
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization
from webapp.parsing import page_arg, whole_number
from webapp.quotes import (
    approval,
    arrangement,
    building,
    errors,
    lifecycle,
    queries,
    revisions,
    sending,
    templating,
)
from webapp.quotes.admin_common import (
    bp,
    builder_context,
    get_quote,
    header_form,
    refuse_invalid,
    run_action,
)
from webapp.quotes.forms import (
    CustomLineForm,
    LineForm,
    NewQuoteForm,
    ProductLineForm,
    ReasonForm,
    ReminderForm,
    SaveTemplateForm,
    SectionForm,
)
from webapp.quotes.models import QuoteStatus, QuoteTemplate
from webapp.sales.models import DocumentStatus, PaymentMethod, Recurrence, SalesDocument
from webapp.sales.operations import IllegalTransition as DocumentIllegalTransition
from webapp.sales.operations import release_document

# --- list and creation ------------------------------------------------------------------------


@bp.get("/")
@staff_required(Role.SALES)
def index():
    raw_status = request.args.get("status", "")
    status = None
    if raw_status:
        try:
            status = QuoteStatus(raw_status)
        except ValueError:
            abort(400, description=f"unknown status {raw_status!r}")
    page = page_arg(maximum=10_000)
    rows, has_next = queries.quotes(
        status=status,
        requested=request.args.get("requested") == "1",
        search=request.args.get("q", "")[:100],
        page=page,
    )
    return htmx_responses.render(
        "quotes_admin/index.html",
        "table",
        quotes=rows,
        page=page,
        has_next=has_next,
        statuses=list(QuoteStatus),
        status=status,
    )


def _new_quote_form() -> NewQuoteForm:
    form = NewQuoteForm()
    form.organization_id.choices = [(o.id, o.name) for o in queries.organizations()]
    form.template_id.choices = [("", "From scratch")] + [
        (t.id, t.name) for t in queries.templates(active_only=True)
    ]
    return form


def _new_quote_page(form: NewQuoteForm):
    """The new-quote form, its pickers showing the names of what is chosen."""
    organization_id = whole_number(form.organization_id.data, minimum=1)
    template_id = whole_number(form.template_id.data, minimum=1)
    organization = db.session.get(Organization, organization_id) if organization_id else None
    template = db.session.get(QuoteTemplate, template_id) if template_id else None
    return render_template(
        "quotes_admin/new.html",
        form=form,
        organization_name=organization.name if organization else "",
        template_name=template.name if template else "",
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(Role.SALES)
def new():
    form = _new_quote_form()
    if request.method == "GET":
        raw = request.args.get("organization", "")
        form.organization_id.data = whole_number(raw, minimum=1)
        return _new_quote_page(form)
    if not form.validate():
        return _new_quote_page(form), 422
    organization = db.session.get(Organization, form.organization_id.data) or abort(404)
    template = None
    if form.template_id.data is not None:
        template = db.session.get(QuoteTemplate, form.template_id.data) or abort(404)
    try:
        quote = building.create_quote(
            organization=organization,
            owner=current_actor(),
            actor=current_actor(),
            template=template,
            title=form.title.data or "",
        )
    except errors.QuoteError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _new_quote_page(form), error.status
    db.session.commit()
    flash(f"Quote {quote.number} started.", "success")
    return redirect(url_for(".detail", quote_id=quote.id), 303)


@bp.get("/<int:quote_id>")
@staff_required(Role.SALES)
def detail(quote_id: int):
    quote = get_quote(quote_id)
    return htmx_responses.render("quotes_admin/detail.html", "builder", **builder_context(quote))


@bp.post("/<int:quote_id>/header")
@staff_required(Role.SALES)
def update_header(quote_id: int):
    quote = get_quote(quote_id)
    form = header_form(quote, data=request.form)
    if not form.validate():
        return refuse_invalid(quote, form)
    owner = db.session.get(User, form.owner_id.data) or abort(404)
    changes = building.HeaderChanges(
        title=form.title.data.strip(),
        owner=owner,
        expires_on=form.expires_on.data,
        payment_method=PaymentMethod(form.payment_method.data),
        shipping_label=(form.shipping_label.data or "").strip(),
        shipping_charge=form.shipping_charge.data,
        intro=form.intro.data or "",
        terms=form.terms.data or "",
    )
    return run_action(
        quote, lambda: building.update_header(quote, changes, current_actor()), done="Quote saved."
    )


@bp.post("/<int:quote_id>/recipients")
@staff_required(Role.SALES)
def recipients(quote_id: int):
    quote = get_quote(quote_id)
    raw = request.form.getlist("recipient")
    ids = [whole_number(value, minimum=1) for value in raw]
    if None in ids:
        abort(400, description="recipient must be an id")
    return run_action(quote, lambda: building.set_recipients(quote, ids, current_actor()))


@bp.post("/<int:quote_id>/sections")
@staff_required(Role.SALES)
def add_section(quote_id: int):
    quote = get_quote(quote_id)
    form = SectionForm()
    if not form.validate():
        return refuse_invalid(quote, form)
    return run_action(
        quote,
        lambda: building.add_section(quote, form.title.data, form.choose_one.data, current_actor()),
    )


@bp.post("/<int:quote_id>/sections/<int:section_id>")
@staff_required(Role.SALES)
def update_section(quote_id: int, section_id: int):
    quote = get_quote(quote_id)
    form = SectionForm()
    if not form.validate():
        return refuse_invalid(quote, form)

    def action():
        section = building.owned_section(quote, section_id)
        building.update_section(
            quote, section, form.title.data, form.choose_one.data, current_actor()
        )

    return run_action(quote, action)


@bp.post("/<int:quote_id>/sections/<int:section_id>/delete")
@staff_required(Role.SALES)
def delete_section(quote_id: int, section_id: int):
    quote = get_quote(quote_id)

    def action():
        building.remove_section(quote, building.owned_section(quote, section_id), current_actor())

    return run_action(quote, action)


@bp.get("/<int:quote_id>/catalog")
@staff_required(Role.SALES)
def catalog(quote_id: int):
    quote = get_quote(quote_id)
    raw_section = request.args.get("section_id", "")
    section_id = whole_number(raw_section, minimum=1) or quote.sections[0].id
    products = staff_matches(request.args.get("q", ""))
    book = price_book()
    group = quote.organization.price_group_id
    return render_template(
        "quotes_admin/_catalog_results.html",
        add_url=url_for(".add_line", quote_id=quote.id),
        target="#quote-builder",
        currency=quote.currency,
        section_id=section_id,
        revision=whole_number(request.args.get(revisions.FIELD, ""), minimum=1),
        rows=[(p, book.price_of(p, group)) for p in products],
        query=request.args.get("q", "").strip(),
    )


@bp.post("/<int:quote_id>/lines")
@staff_required(Role.SALES)
def add_line(quote_id: int):
    quote = get_quote(quote_id)
    if request.form.get("product_id"):
        form = ProductLineForm()
        if not form.validate():
            return refuse_invalid(quote, form)

        def action():
            section = building.owned_section(quote, form.section_id.data)
            product = db.session.get(Product, form.product_id.data)
            if product is None:
                raise errors.QuoteError("That product does not exist.")
            building.add_product_line(quote, section, product, form.quantity.data, current_actor())

        return run_action(quote, action, done="Line added.")
    form = CustomLineForm()
    if not form.validate():
        return refuse_invalid(quote, form)

    def add_custom():
        section = building.owned_section(quote, form.section_id.data)
        building.add_custom_line(
            quote,
            section,
            description=form.description.data,
            product_type=ProductType(form.product_type.data),
            quantity=form.quantity.data,
            unit_price=form.unit_price.data,
            unit_cost=form.unit_cost.data,
            sku=form.sku.data or "",
            actor=current_actor(),
            cost_confirmed=form.confirm_cost.data,
        )

    return run_action(quote, add_custom, done="Line added.")


@bp.post("/<int:quote_id>/lines/<int:line_id>")
@staff_required(Role.SALES)
def update_line(quote_id: int, line_id: int):
    quote = get_quote(quote_id)
    form = LineForm()
    if not form.validate():
        return refuse_invalid(quote, form)
    changes = building.LineChanges(
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
        line = building.owned_line(quote, line_id)
        building.update_line(
            quote, line, changes, current_actor(), cost_confirmed=form.confirm_cost.data
        )

    return run_action(quote, action)


@bp.post("/<int:quote_id>/lines/<int:line_id>/delete")
@staff_required(Role.SALES)
def delete_line(quote_id: int, line_id: int):
    quote = get_quote(quote_id)

    def action():
        building.remove_line(quote, building.owned_line(quote, line_id), current_actor())

    return run_action(quote, action, done="Line removed.")


# --- arranging: move by drag and drop or by the up/down buttons, duplicate ----------------------


def _move_target() -> tuple[int | None, int | None]:
    """Read a move: `direction` (up/down, the buttons) or `position` (a drop), 400 otherwise."""
    direction = request.form.get("direction", "")
    if direction:
        if direction not in ("up", "down"):
            abort(400, description="direction must be up or down")
        return (-1 if direction == "up" else 1), None
    position = whole_number(request.form.get("position", ""), maximum=10_000)
    if position is None:
        abort(400, description="position must be a whole number from 0")
    return None, position


@bp.post("/<int:quote_id>/lines/<int:line_id>/move")
@staff_required(Role.SALES)
def move_line(quote_id: int, line_id: int):
    quote = get_quote(quote_id)
    step, position = _move_target()
    section_id = None
    if step is None:
        section_id = whole_number(request.form.get("section_id", ""), minimum=1)
        if section_id is None:
            abort(400, description="section_id must be an id")

    def action():
        line = building.owned_line(quote, line_id)
        if step is not None:
            arrangement.step_line(quote, line, step, current_actor())
        else:
            section = building.owned_section(quote, section_id)
            arrangement.move_line(quote, line, section, position, current_actor())

    return run_action(quote, action)


@bp.post("/<int:quote_id>/sections/<int:section_id>/move")
@staff_required(Role.SALES)
def move_section(quote_id: int, section_id: int):
    quote = get_quote(quote_id)
    step, position = _move_target()

    def action():
        section = building.owned_section(quote, section_id)
        if step is not None:
            arrangement.step_section(quote, section, step, current_actor())
        else:
            arrangement.move_section(quote, section, position, current_actor())

    return run_action(quote, action)


@bp.post("/<int:quote_id>/lines/<int:line_id>/duplicate")
@staff_required(Role.SALES)
def duplicate_line(quote_id: int, line_id: int):
    quote = get_quote(quote_id)

    def action():
        arrangement.duplicate_line(quote, building.owned_line(quote, line_id), current_actor())

    return run_action(quote, action, done="Line duplicated.")


# --- approval, sending and decisions ------------------------------------------------------------


@bp.post("/<int:quote_id>/request-approval")
@staff_required(Role.SALES)
def request_approval(quote_id: int):
    quote = get_quote(quote_id)
    return run_action(
        quote,
        lambda: approval.request_approval(quote, current_actor()),
        done="Approval requested from a manager.",
    )


@bp.post("/<int:quote_id>/approve")
@staff_required(Role.ADMIN)
def approve(quote_id: int):
    quote = get_quote(quote_id)
    note = request.form.get("note", "").strip()[:500]
    return run_action(
        quote, lambda: approval.approve(quote, current_actor(), note), done="Approved to send."
    )


@bp.post("/<int:quote_id>/reject")
@staff_required(Role.ADMIN)
def reject(quote_id: int):
    quote = get_quote(quote_id)
    note = request.form.get("note", "")[:500]
    return run_action(
        quote, lambda: approval.reject(quote, current_actor(), note), done="Sent back to draft."
    )


@bp.post("/<int:quote_id>/send")
@staff_required(Role.SALES)
def send(quote_id: int):
    quote = get_quote(quote_id)
    return run_action(
        quote,
        lambda: sending.send_quote(quote, current_actor()),
        done=f"Quote {quote.number} sent.",
    )


@bp.post("/<int:quote_id>/cancel")
@staff_required(Role.SALES)
def cancel(quote_id: int):
    quote = get_quote(quote_id)
    form = ReasonForm()
    if not form.validate():
        return refuse_invalid(quote, form)
    return run_action(
        quote,
        lambda: lifecycle.cancel(quote, current_actor(), form.reason.data),
        done="Quote cancelled.",
    )


@bp.post("/<int:quote_id>/lost")
@staff_required(Role.SALES)
def lost(quote_id: int):
    quote = get_quote(quote_id)
    form = ReasonForm()
    if not form.validate():
        return refuse_invalid(quote, form)
    return run_action(
        quote,
        lambda: lifecycle.mark_lost(quote, current_actor(), form.reason.data),
        done="Marked as lost.",
    )


@bp.post("/<int:quote_id>/reminders")
@staff_required(Role.SALES)
def reminders(quote_id: int):
    quote = get_quote(quote_id)
    form = ReminderForm()
    if not form.validate():
        return refuse_invalid(quote, form)
    due_at = form.due_at.data.replace(tzinfo=utcnow().tzinfo)
    return run_action(
        quote,
        lambda: sending.schedule_reminder(quote, due_at, form.note.data or "", current_actor()),
        done="Reminder scheduled.",
        versioned=False,
    )


@bp.post("/<int:quote_id>/reminders/<int:reminder_id>/cancel")
@staff_required(Role.SALES)
def cancel_reminder(quote_id: int, reminder_id: int):
    quote = get_quote(quote_id)
    return run_action(
        quote,
        lambda: sending.cancel_reminder(quote, reminder_id, current_actor()),
        done="Reminder cancelled.",
        versioned=False,
    )


@bp.post("/<int:quote_id>/save-as-template")
@staff_required(Role.ADMIN)
def save_as_template(quote_id: int):
    quote = get_quote(quote_id)
    form = SaveTemplateForm()
    if not form.validate():
        return refuse_invalid(quote, form)
    return run_action(
        quote,
        lambda: templating.save_as_template(quote, form.name.data, current_actor()),
        done=f"Saved as the template “{form.name.data.strip()}”.",
        versioned=False,
    )


@bp.get("/<int:quote_id>/pdf")
@staff_required(Role.SALES)
def pdf(quote_id: int):
    """The PDF of the last version sent, or a preview of the quote as it stands."""
    quote = get_quote(quote_id)
    version = quote.current_version
    snap = version.snapshot if version is not None else approval.working_snapshot(quote)
    response = Response(sending.quote_pdf(snap), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{sending.pdf_filename(snap)}"'
    return response


@bp.post("/documents/<int:document_id>/release")
@staff_required(Role.SALES)
def release(document_id: int):
    """Release a sales document the margin guard held: it flows on to procurement."""
    document = db.session.get(SalesDocument, document_id) or abort(404)
    if document.status is not DocumentStatus.ON_HOLD:
        flash(f"{document.number} is not on hold.", "info")
        return redirect(url_for("sales_admin.order_detail", document_id=document.id), 303)
    note = request.form.get("note", "").strip()[:500]
    try:
        release_document(document, current_actor(), note or "released after the margin review")
    except DocumentIllegalTransition as error:
        db.session.rollback()
        flash(f"Not released: {error}.", "danger")
        return redirect(url_for("sales_admin.order_detail", document_id=document.id), 303)
    db.session.commit()
    flash(f"{document.number} released.", "success")
    return redirect(url_for("sales_admin.order_detail", document_id=document.id), 303)
