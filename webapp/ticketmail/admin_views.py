"""Settings › Ticket by email: the PSA mailbox, its templates with a preview, and what was sent."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from webapp import htmx_responses
from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.integrations.models import ConnectionStatus, Delivery
from webapp.integrations.operations import IntegrationRuleError, retry_delivery
from webapp.mail.operations import public_url
from webapp.parsing import page_arg
from webapp.ticketmail import operations, queries, render
from webapp.ticketmail.forms import TicketMailForm
from webapp.ticketmail.models import EVENTS

bp = Blueprint(
    "ticketmail_admin", __name__, url_prefix="/admin/ticket-email", template_folder="templates"
)
TEMPLATE = "ticketmail_admin/index.html"


def _preview(subject_template: str, body_template: str) -> dict:
    """Render the templates against the newest order (or a sample): subject, body or error."""
    document = queries.latest_document()
    if document is not None:
        context = render.context(
            document,
            "issued",
            operations.EVENT_LABELS["issued"],
            "",
            public_url("sales_admin.order_detail", document_id=document.id),
        )
        source = f"{document.title} {document.number}"
    else:
        context, source = operations.sample_context(), "a sample order"
    try:
        subject, body = render.render(subject_template, body_template, context)
    except render.TemplateRefused as exc:
        return {"error": f"{exc.field}: {exc.message}", "source": source}
    return {"subject": subject, "body": body, "source": source}


def _page(form: TicketMailForm, status: int = 200, preview: dict | None = None):
    found = operations.connection()
    page = page_arg()
    rows, has_next = queries.deliveries(found, page) if found else ([], False)
    return (
        htmx_responses.render(
            TEMPLATE,
            "preview" if preview is not None else None,
            connection=found,
            form=form,
            events=EVENTS,
            preview=preview,
            rows=rows,
            page=page,
            has_next=has_next,
        ),
        status,
    )


@bp.get("/")
@staff_required(Role.ADMIN)
def index():
    found = operations.connection()
    if found is None:
        form = TicketMailForm(
            formdata=None,
            subject_template=render.DEFAULT_SUBJECT,
            body_template=render.DEFAULT_BODY,
            events=list(EVENTS),
            attach_pdf=True,
        )
    else:
        form = TicketMailForm(formdata=None, obj=found)
    return _page(form)


@bp.post("/")
@staff_required(Role.ADMIN)
def save():
    form = TicketMailForm()
    if not form.validate():
        return _page(form, 400)
    try:
        operations.save_settings(
            mailbox=form.mailbox.data,
            subject_template=form.subject_template.data,
            body_template=form.body_template.data,
            events=form.events.data or [],
            attach_pdf=form.attach_pdf.data,
            actor=current_user.name,
        )
    except IntegrationRuleError as exc:
        db.session.rollback()
        target = form.mailbox
        if exc.message.startswith("Subject template"):
            target = form.subject_template
        elif exc.message.startswith("Body template"):
            target = form.body_template
        elif exc.message.startswith("Unknown event"):
            target = form.events
        target.errors = [exc.message]
        return _page(form, 400)
    db.session.commit()
    flash("Ticket by email saved.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/preview")
@staff_required(Role.ADMIN)
def preview():
    """Render the posted templates without saving them (the page's Preview button)."""
    form = TicketMailForm()
    subject = request.form.get("subject_template", "")
    body = request.form.get("body_template", "")
    result = _preview(subject, body)
    return _page(form, 422 if "error" in result else 200, preview=result)


@bp.post("/enabled")
@staff_required(Role.ADMIN)
def set_enabled():
    found = operations.connection()
    if found is None:
        flash("Save the ticket mailbox first.", "warning")
        return redirect(url_for(".index"), 303)
    enabled = request.form.get("enabled") == "1"
    operations.set_enabled(found, enabled, current_user.name)
    db.session.commit()
    flash(
        "Ticket emails are sent again."
        if found.status == ConnectionStatus.CONNECTED
        else "Ticket emails are off: new order events send nothing.",
        "success",
    )
    return redirect(url_for(".index"), 303)


@bp.post("/deliveries/<int:delivery_id>/retry")
@staff_required(Role.ADMIN)
def retry(delivery_id: int):
    found = operations.connection()
    delivery = db.session.get(Delivery, delivery_id)
    if found is None or delivery is None or delivery.connection_id != found.id:
        abort(404)
    try:
        retry_delivery(delivery, current_user.name)
    except IntegrationRuleError as exc:
        abort(409, description=exc.message)
    db.session.commit()
    flash("Queued to be sent again.", "success")
    return redirect(url_for(".index"), 303)
