"""Settings › Webhooks: endpoints, their secrets, test events and the delivery log (admins)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.integrations.models import Delivery
from webapp.integrations.operations import IntegrationRuleError
from webapp.parsing import page_arg
from webapp.webhooks import operations, queries
from webapp.webhooks.forms import EndpointForm
from webapp.webhooks.models import EVENT_TYPES

bp = Blueprint(
    "webhooks_admin", __name__, url_prefix="/admin/webhooks", template_folder="templates"
)


def _endpoint(endpoint_id: int):
    endpoint = queries.endpoint_or_none(endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _index(form: EndpointForm, status: int = 200):
    return (
        render_template(
            "webhooks_admin/index.html",
            endpoints=queries.endpoints(),
            form=form,
            event_types=EVENT_TYPES,
        ),
        status,
    )


@bp.get("/")
@staff_required(Role.ADMIN)
def index():
    return _index(EndpointForm(formdata=None))


@bp.post("/")
@staff_required(Role.ADMIN)
def create():
    form = EndpointForm()
    if not form.validate():
        return _index(form, 400)
    try:
        endpoint, secret = operations.create_endpoint(
            form.url.data, form.description.data or "", form.events.data or [], current_user.name
        )
    except IntegrationRuleError as exc:
        form.url.errors = [exc.message]
        return _index(form, 400)
    db.session.commit()
    # The secret is shown on this page only: it is never stored in clear or put in a cookie.
    return render_template("webhooks_admin/secret.html", endpoint=endpoint, secret=secret)


@bp.get("/<int:endpoint_id>")
@staff_required(Role.ADMIN)
def endpoint(endpoint_id: int):
    found = _endpoint(endpoint_id)
    return _detail(found, EndpointForm(formdata=None, obj=found, events=found.event_types))


def _detail(found, form: EndpointForm, status: int = 200):
    if not form.description.data:
        form.description.data = found.tenant_name
    page = page_arg()
    rows, has_next = queries.delivery_log(found, page)
    return (
        render_template(
            "webhooks_admin/endpoint.html",
            endpoint=found,
            form=form,
            rows=rows,
            page=page,
            has_next=has_next,
        ),
        status,
    )


@bp.post("/<int:endpoint_id>")
@staff_required(Role.ADMIN)
def update(endpoint_id: int):
    found = _endpoint(endpoint_id)
    form = EndpointForm()
    if not form.validate():
        return _detail(found, form, 400)
    try:
        operations.update_endpoint(
            found, form.url.data, form.description.data or "", form.events.data or []
        )
    except IntegrationRuleError as exc:
        db.session.rollback()
        form.url.errors = [exc.message]
        return _detail(found, form, 400)
    db.session.commit()
    flash("Endpoint saved.", "success")
    return redirect(url_for(".endpoint", endpoint_id=found.id), 303)


@bp.post("/<int:endpoint_id>/rotate")
@staff_required(Role.ADMIN)
def rotate(endpoint_id: int):
    found = _endpoint(endpoint_id)
    secret = operations.rotate_secret(found, current_user.name)
    db.session.commit()
    return render_template(
        "webhooks_admin/secret.html", endpoint=found, secret=secret, rotated=True
    )


@bp.post("/<int:endpoint_id>/disable")
@staff_required(Role.ADMIN)
def disable(endpoint_id: int):
    found = _endpoint(endpoint_id)
    operations.disable(found, f"Disabled by {current_user.name}.")
    db.session.commit()
    flash("Endpoint disabled: new events are not sent to it until you enable it.", "success")
    return redirect(url_for(".endpoint", endpoint_id=found.id), 303)


@bp.post("/<int:endpoint_id>/enable")
@staff_required(Role.ADMIN)
def enable(endpoint_id: int):
    found = _endpoint(endpoint_id)
    operations.enable(found, current_user.name)
    db.session.commit()
    flash("Endpoint enabled; queued events are being sent.", "success")
    return redirect(url_for(".endpoint", endpoint_id=found.id), 303)


@bp.post("/<int:endpoint_id>/delete")
@staff_required(Role.ADMIN)
def delete(endpoint_id: int):
    found = _endpoint(endpoint_id)
    operations.delete_endpoint(found, current_user.name)
    db.session.commit()
    flash("Endpoint deleted.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:endpoint_id>/test")
@staff_required(Role.ADMIN)
def send_test(endpoint_id: int):
    found = _endpoint(endpoint_id)
    try:
        operations.send_test(found, current_user.name)
    except IntegrationRuleError as exc:
        abort(409, description=exc.message)
    db.session.commit()
    flash("Test event queued; it appears in the log below.", "success")
    return redirect(url_for(".endpoint", endpoint_id=found.id), 303)


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@staff_required(Role.ADMIN)
def resend(endpoint_id: int, delivery_id: int):
    found = _endpoint(endpoint_id)
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.connection_id != found.id:
        abort(404)
    try:
        operations.resend(delivery, current_user.name)
    except IntegrationRuleError as exc:
        abort(409, description=exc.message)
    db.session.commit()
    flash("Queued to be sent again.", "success")
    return redirect(url_for(".endpoint", endpoint_id=found.id), 303)
