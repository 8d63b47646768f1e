"""Staff screens for quotes: list, builder, internal approval, sending; templates and rules."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from webapp import htmx_responses
from webapp.auth.access import staff_required
from webapp.auth.models import Role, User
from webapp.catalog.models import Product, ProductType
from webapp.catalog.queries import price_book, staff_matches
from webapp.extensions import db, htmx
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
from webapp.quotes.forms import (
    CUSTOM_TYPES,
    CustomLineForm,
    HeaderForm,
    LineForm,
    NewQuoteForm,
    ProductLineForm,
    ReasonForm,
    ReminderForm,
    RuleForm,
    SaveTemplateForm,
    SectionForm,
    TemplateForm,
    TemplateLineForm,
)
from webapp.quotes.models import (
    ApprovalRuleKind,
    Quote,
    QuoteApprovalRule,
    QuoteStatus,
    QuoteTemplate,
)
from webapp.quotes.selection import Chosen, default_selection, largest_selection, priced, totals_of
from webapp.quotes.snapshot import all_lines
from webapp.quotes.totals import PricedLine, line_figures
from webapp.sales.models import DocumentStatus, PaymentMethod, Recurrence, SalesDocument
from webapp.sales.operations import IllegalTransition as DocumentIllegalTransition
from webapp.sales.operations import release_document
from webapp.sales.totals import ZERO
from webapp.settings.operations import get_setting, set_setting, setting_row
from webapp.settings.registry import SETTINGS, InvalidSetting

bp = Blueprint("quotes_admin", __name__, url_prefix="/admin/quotes", template_folder="templates")


def _actor() -> User:
    return current_user._get_current_object()


def _quote(quote_id: int) -> Quote:
    return db.session.get(Quote, quote_id) or abort(404)


def _form_errors(form) -> str:
    return "; ".join(
        f"{getattr(form, name).label.text}: {', '.join(errors)}"
        for name, errors in form.errors.items()
    )


@bp.app_template_global()
def quote_for_document(document: SalesDocument) -> Quote | None:
    """The quote a sales document was accepted from (the order detail panel uses it)."""
    return queries.quote_for_document(document)


@bp.app_template_global()
def margin_guard_lines(data: dict) -> list[dict]:
    """A margin-guard event's lines as amounts: sell, cost and margin when quoted and now."""
    rows = []
    for line in data.get("lines", []):
        quantity = int(line["quantity"])
        price = Decimal(line["unit_price"])
        before = line_figures(PricedLine("", quantity, price, Decimal(line["old_cost"]), ZERO))
        after = line_figures(PricedLine("", quantity, price, Decimal(line["new_cost"]), ZERO))
        rows.append(
            {
                "sku": line.get("sku", ""),
                "description": line["description"],
                "quantity": quantity,
                "unit_price": price,
                "old_cost": Decimal(line["old_cost"]),
                "new_cost": Decimal(line["new_cost"]),
                "old_margin": before.margin,
                "new_margin": after.margin,
                "old_margin_pct": before.margin_pct,
                "new_margin_pct": after.margin_pct,
            }
        )
    return rows


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
            owner=_actor(),
            actor=_actor(),
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


# --- the builder --------------------------------------------------------------------------------


def _header_form(quote: Quote, *, data=None) -> HeaderForm:
    form = HeaderForm(formdata=data, obj=None if data else quote)
    if data is None:
        form.owner_id.data = quote.owner_id
        form.payment_method.data = quote.payment_method.value
    form.owner_id.choices = [(u.id, f"{u.name} ({u.role.label})") for u in queries.staff()]
    return form


def _builder_context(quote: Quote) -> dict:
    snap = approval.working_snapshot(quote)
    every = [Chosen(line, line["quantity"]) for line in all_lines(snap)]
    figures = {p.key: line_figures(p) for p in priced(every)}
    editable = not quote.status.is_final
    return {
        "quote": quote,
        "snap": snap,
        "figures": figures,
        "default_totals": totals_of(snap, default_selection(snap)),
        "largest_totals": totals_of(snap, largest_selection(snap)),
        "reasons": approval.reasons_for_approval(quote, snap) if editable else [],
        "problems": approval.sending_problems(quote) if editable else [],
        "approvers": building.organization_approvers(quote.organization),
        "recipient_ids": {r.user_id for r in quote.recipients},
        "header_form": _header_form(quote),
        "recurrences": list(Recurrence),
        "custom_types": [t for t in ProductType if t is not ProductType.PHYSICAL],
        "editable": editable,
        "is_admin": current_user.role is Role.ADMIN,
        "views": queries.views_of(quote),
        "statuses": QuoteStatus,
    }


@bp.get("/<int:quote_id>")
@staff_required(Role.SALES)
def detail(quote_id: int):
    quote = _quote(quote_id)
    return htmx_responses.render("quotes_admin/detail.html", "builder", **_builder_context(quote))


def _changed(quote: Quote, message: str | None = None) -> Response | str:
    """Answer an edit: the refreshed builder for HTMX, a redirect for a plain form post."""
    return _answer_change(
        lambda: htmx_responses.render(
            "quotes_admin/detail.html", "builder", **_builder_context(quote)
        ),
        url_for(".detail", quote_id=quote.id),
        message,
    )


def _refused(quote: Quote, message: str, status: int = 422):
    return _answer_refusal(url_for(".detail", quote_id=quote.id), message, status)


def _answer_change(render: Callable[[], str], page_url: str, message: str | None):
    """Commit, then answer with the refreshed part of the page (HTMX, with the message as a
    toast) or a redirect to the page (a plain post, with the message flashed)."""
    db.session.commit()
    if htmx:
        return htmx_responses.trigger(render(), **({"toast": message} if message else {}))
    if message:
        flash(message, "success")
    return redirect(page_url, 303)


def _answer_refusal(page_url: str, message: str, status: int):
    """Roll back, then say why: a toast for HTMX, a flashed message on the page otherwise."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=message), status
    flash(message, "danger")
    return redirect(page_url, 303)


def _stale(quote: Quote, error: revisions.StaleEdit):
    """Refuse an edit drawn from an older page (409) and offer to reload the quote."""
    db.session.rollback()
    page_url = url_for(".detail", quote_id=quote.id)
    if htmx:
        return render_template("quotes_admin/_stale.html", message=error.message, url=page_url), 409
    flash(error.message, "danger")
    page = render_template("quotes_admin/detail.html", **_builder_context(quote))
    return page, 409


def _run(quote: Quote, action, *, done: str | None = None, versioned: bool = True):
    """Run an operation on the quote and answer with the builder or the refusal.

    A `versioned` action (anything that changes what the builder shows) first checks that the
    form was drawn from the quote's current revision.
    """
    try:
        if versioned:
            revisions.check(quote, revisions.parse(request.form.get(revisions.FIELD)))
        action()
    except revisions.StaleEdit as error:
        return _stale(quote, error)
    except errors.NeedsApproval as error:
        return _refused(quote, f"{error.message} {' '.join(error.reasons)}", error.status)
    except errors.QuoteError as error:
        return _refused(quote, error.message, error.status)
    return _changed(quote, done)


def _invalid(quote: Quote, form):
    return _refused(quote, _form_errors(form) or "Check the form and try again.", 422)


@bp.post("/<int:quote_id>/header")
@staff_required(Role.SALES)
def update_header(quote_id: int):
    quote = _quote(quote_id)
    form = _header_form(quote, data=request.form)
    if not form.validate():
        return _invalid(quote, form)
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
    return _run(
        quote, lambda: building.update_header(quote, changes, _actor()), done="Quote saved."
    )


@bp.post("/<int:quote_id>/recipients")
@staff_required(Role.SALES)
def recipients(quote_id: int):
    quote = _quote(quote_id)
    raw = request.form.getlist("recipient")
    ids = [whole_number(value, minimum=1) for value in raw]
    if None in ids:
        abort(400, description="recipient must be an id")
    return _run(quote, lambda: building.set_recipients(quote, ids, _actor()))


@bp.post("/<int:quote_id>/sections")
@staff_required(Role.SALES)
def add_section(quote_id: int):
    quote = _quote(quote_id)
    form = SectionForm()
    if not form.validate():
        return _invalid(quote, form)
    return _run(
        quote,
        lambda: building.add_section(quote, form.title.data, form.choose_one.data, _actor()),
    )


@bp.post("/<int:quote_id>/sections/<int:section_id>")
@staff_required(Role.SALES)
def update_section(quote_id: int, section_id: int):
    quote = _quote(quote_id)
    form = SectionForm()
    if not form.validate():
        return _invalid(quote, form)

    def action():
        section = building.owned_section(quote, section_id)
        building.update_section(quote, section, form.title.data, form.choose_one.data, _actor())

    return _run(quote, action)


@bp.post("/<int:quote_id>/sections/<int:section_id>/delete")
@staff_required(Role.SALES)
def delete_section(quote_id: int, section_id: int):
    quote = _quote(quote_id)

    def action():
        building.remove_section(quote, building.owned_section(quote, section_id), _actor())

    return _run(quote, action)


@bp.get("/<int:quote_id>/catalog")
@staff_required(Role.SALES)
def catalog(quote_id: int):
    quote = _quote(quote_id)
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
    quote = _quote(quote_id)
    if request.form.get("product_id"):
        form = ProductLineForm()
        if not form.validate():
            return _invalid(quote, form)

        def action():
            section = building.owned_section(quote, form.section_id.data)
            product = db.session.get(Product, form.product_id.data)
            if product is None:
                raise errors.QuoteError("That product does not exist.")
            building.add_product_line(quote, section, product, form.quantity.data, _actor())

        return _run(quote, action, done="Line added.")
    form = CustomLineForm()
    if not form.validate():
        return _invalid(quote, form)

    def add_custom():
        section = building.owned_section(quote, form.section_id.data)
        building.add_custom_line(
            quote,
            section,
            description=form.description.data,
            product_type=ProductType(form.product_type.data),
            quantity=form.quantity.data,
            unit_price=form.unit_price.data,
            unit_cost=form.unit_cost.data or Decimal(0),
            sku=form.sku.data or "",
            actor=_actor(),
        )

    return _run(quote, add_custom, done="Line added.")


@bp.post("/<int:quote_id>/lines/<int:line_id>")
@staff_required(Role.SALES)
def update_line(quote_id: int, line_id: int):
    quote = _quote(quote_id)
    form = LineForm()
    if not form.validate():
        return _invalid(quote, form)
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
        building.update_line(quote, line, changes, _actor())

    return _run(quote, action)


@bp.post("/<int:quote_id>/lines/<int:line_id>/delete")
@staff_required(Role.SALES)
def delete_line(quote_id: int, line_id: int):
    quote = _quote(quote_id)

    def action():
        building.remove_line(quote, building.owned_line(quote, line_id), _actor())

    return _run(quote, action, done="Line removed.")


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
    quote = _quote(quote_id)
    step, position = _move_target()
    section_id = None
    if step is None:
        section_id = whole_number(request.form.get("section_id", ""), minimum=1)
        if section_id is None:
            abort(400, description="section_id must be an id")

    def action():
        line = building.owned_line(quote, line_id)
        if step is not None:
            arrangement.step_line(quote, line, step, _actor())
        else:
            section = building.owned_section(quote, section_id)
            arrangement.move_line(quote, line, section, position, _actor())

    return _run(quote, action)


@bp.post("/<int:quote_id>/sections/<int:section_id>/move")
@staff_required(Role.SALES)
def move_section(quote_id: int, section_id: int):
    quote = _quote(quote_id)
    step, position = _move_target()

    def action():
        section = building.owned_section(quote, section_id)
        if step is not None:
            arrangement.step_section(quote, section, step, _actor())
        else:
            arrangement.move_section(quote, section, position, _actor())

    return _run(quote, action)


@bp.post("/<int:quote_id>/lines/<int:line_id>/duplicate")
@staff_required(Role.SALES)
def duplicate_line(quote_id: int, line_id: int):
    quote = _quote(quote_id)

    def action():
        arrangement.duplicate_line(quote, building.owned_line(quote, line_id), _actor())

    return _run(quote, action, done="Line duplicated.")


# --- approval, sending and decisions ------------------------------------------------------------


@bp.post("/<int:quote_id>/request-approval")
@staff_required(Role.SALES)
def request_approval(quote_id: int):
    quote = _quote(quote_id)
    return _run(
        quote,
        lambda: approval.request_approval(quote, _actor()),
        done="Approval requested from a manager.",
    )


@bp.post("/<int:quote_id>/approve")
@staff_required(Role.ADMIN)
def approve(quote_id: int):
    quote = _quote(quote_id)
    note = request.form.get("note", "").strip()[:500]
    return _run(quote, lambda: approval.approve(quote, _actor(), note), done="Approved to send.")


@bp.post("/<int:quote_id>/reject")
@staff_required(Role.ADMIN)
def reject(quote_id: int):
    quote = _quote(quote_id)
    note = request.form.get("note", "")[:500]
    return _run(quote, lambda: approval.reject(quote, _actor(), note), done="Sent back to draft.")


@bp.post("/<int:quote_id>/send")
@staff_required(Role.SALES)
def send(quote_id: int):
    quote = _quote(quote_id)
    return _run(
        quote,
        lambda: sending.send_quote(quote, _actor()),
        done=f"Quote {quote.number} sent.",
    )


@bp.post("/<int:quote_id>/cancel")
@staff_required(Role.SALES)
def cancel(quote_id: int):
    quote = _quote(quote_id)
    form = ReasonForm()
    if not form.validate():
        return _invalid(quote, form)
    return _run(
        quote,
        lambda: lifecycle.cancel(quote, _actor(), form.reason.data),
        done="Quote cancelled.",
    )


@bp.post("/<int:quote_id>/lost")
@staff_required(Role.SALES)
def lost(quote_id: int):
    quote = _quote(quote_id)
    form = ReasonForm()
    if not form.validate():
        return _invalid(quote, form)
    return _run(
        quote,
        lambda: lifecycle.mark_lost(quote, _actor(), form.reason.data),
        done="Marked as lost.",
    )


@bp.post("/<int:quote_id>/reminders")
@staff_required(Role.SALES)
def reminders(quote_id: int):
    quote = _quote(quote_id)
    form = ReminderForm()
    if not form.validate():
        return _invalid(quote, form)
    due_at = form.due_at.data.replace(tzinfo=utcnow().tzinfo)
    return _run(
        quote,
        lambda: sending.schedule_reminder(quote, due_at, form.note.data or "", _actor()),
        done="Reminder scheduled.",
        versioned=False,
    )


@bp.post("/<int:quote_id>/reminders/<int:reminder_id>/cancel")
@staff_required(Role.SALES)
def cancel_reminder(quote_id: int, reminder_id: int):
    quote = _quote(quote_id)
    return _run(
        quote,
        lambda: sending.cancel_reminder(quote, reminder_id, _actor()),
        done="Reminder cancelled.",
        versioned=False,
    )


@bp.post("/<int:quote_id>/save-as-template")
@staff_required(Role.ADMIN)
def save_as_template(quote_id: int):
    quote = _quote(quote_id)
    form = SaveTemplateForm()
    if not form.validate():
        return _invalid(quote, form)
    return _run(
        quote,
        lambda: templating.save_as_template(quote, form.name.data, _actor()),
        done=f"Saved as the template “{form.name.data.strip()}”.",
        versioned=False,
    )


@bp.get("/<int:quote_id>/pdf")
@staff_required(Role.SALES)
def pdf(quote_id: int):
    """The PDF of the last version sent, or a preview of the quote as it stands."""
    quote = _quote(quote_id)
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
        release_document(document, _actor(), note or "released after the margin review")
    except DocumentIllegalTransition as error:
        db.session.rollback()
        flash(f"Not released: {error}.", "danger")
        return redirect(url_for("sales_admin.order_detail", document_id=document.id), 303)
    db.session.commit()
    flash(f"{document.number} released.", "success")
    return redirect(url_for("sales_admin.order_detail", document_id=document.id), 303)


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
    return _answer_change(
        lambda: _template_page(template)[0],
        url_for(".template_detail", template_id=template.id),
        message,
    )


def _template_refused(template: QuoteTemplate, message: str, status: int = 422):
    return _answer_refusal(url_for(".template_detail", template_id=template.id), message, status)


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
        return _template_refused(template, _form_errors(form))
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
        return _template_refused(template, _form_errors(form))

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
            return _template_refused(template, _form_errors(form))

        def add_product():
            section = templating.owned_template_section(template, form.section_id.data)
            product = db.session.get(Product, form.product_id.data)
            if product is None:
                raise errors.QuoteError("That product does not exist.")
            templating.add_template_product_line(section, product, form.quantity.data)

        return _run_template(template, add_product, done="Line added.")
    form = CustomLineForm()
    if not form.validate():
        return _template_refused(template, _form_errors(form))

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
        return _template_refused(template, _form_errors(form))
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


# --- approval rules and the margin floor ---------------------------------------------------------


def _rule_form() -> RuleForm:
    form = RuleForm()
    form.user_id.choices = [("", "—")] + [(u.id, u.name) for u in queries.staff()]
    return form


def _rules_page(form: RuleForm, status: int = 200):
    return render_template(
        "quotes_admin/approval_rules.html",
        rules=queries.approval_rules(),
        form=form,
        floor=get_setting("quote_margin_floor_pct"),
        floor_row=setting_row("quote_margin_floor_pct"),
        floor_label=SETTINGS["quote_margin_floor_pct"].label,
    ), status


@bp.get("/approval-rules")
@staff_required(Role.ADMIN)
def approval_rules():
    return _rules_page(_rule_form())


@bp.post("/approval-rules")
@staff_required(Role.ADMIN)
def add_rule():
    form = _rule_form()
    if not form.validate():
        return _rules_page(form, 422)
    kind = ApprovalRuleKind(form.kind.data)
    if kind is ApprovalRuleKind.USER_ALWAYS:
        if form.user_id.data is None:
            form.user_id.errors.append("Choose the user whose quotes always need approval.")
            return _rules_page(form, 422)
        rule = QuoteApprovalRule(kind=kind, user_id=form.user_id.data)
    else:
        if form.threshold.data is None:
            form.threshold.errors.append("Give the rule's threshold.")
            return _rules_page(form, 422)
        rule = QuoteApprovalRule(kind=kind, threshold=form.threshold.data)
    db.session.add(rule)
    db.session.commit()
    flash("Rule added.", "success")
    return redirect(url_for(".approval_rules"), 303)


@bp.post("/approval-rules/<int:rule_id>/delete")
@staff_required(Role.ADMIN)
def delete_rule(rule_id: int):
    rule = db.session.get(QuoteApprovalRule, rule_id) or abort(404)
    db.session.delete(rule)
    db.session.commit()
    flash("Rule removed.", "success")
    return redirect(url_for(".approval_rules"), 303)


@bp.post("/margin-floor")
@staff_required(Role.ADMIN)
def margin_floor():
    try:
        set_setting("quote_margin_floor_pct", request.form.get("value", ""), _actor())
    except InvalidSetting as error:
        db.session.rollback()
        flash(f"{SETTINGS['quote_margin_floor_pct'].label} {error}.", "danger")
        return _rules_page(_rule_form(), 422)
    db.session.commit()
    flash("Margin floor saved.", "success")
    return redirect(url_for(".approval_rules"), 303)
