"""Settings › PSA › ConnectWise: connect, check, read lookups, choose the configuration (admins)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.htmx_responses import render
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.operations import IntegrationRuleError
from webapp.psa.connectwise import operations
from webapp.psa.forms import ConnectWiseConnectForm
from webapp.psa.models import PsaConnection

bp = Blueprint(
    "psa_connectwise",
    __name__,
    url_prefix="/admin/psa/connectwise",
    template_folder="templates",
)
TEMPLATE = "psa_connectwise/index.html"


def _connections() -> list[PsaConnection]:
    return list(
        db.session.scalars(
            db.select(PsaConnection)
            .where(PsaConnection.provider == operations.CONNECTWISE)
            .order_by(PsaConnection.id)
        )
    )


def _context(form: ConnectWiseConnectForm) -> dict:
    return {
        "connections": _connections(),
        "form": form,
        "configurations": operations.CONFIGURATIONS,
        "invoice_from": operations.INVOICE_FROM,
        "choices": operations.CHOICES,
    }


def _page(form: ConnectWiseConnectForm, status: int = 200):
    return render(TEMPLATE, **_context(form)), status


def _connection(connection_id: int) -> PsaConnection:
    found = db.session.get(PsaConnection, connection_id)
    if found is None or found.provider != operations.CONNECTWISE:
        abort(404)
    return found


@bp.get("/")
@staff_required(Role.ADMIN)
def index():
    return _page(ConnectWiseConnectForm(formdata=None))


@bp.post("/")
@staff_required(Role.ADMIN)
def connect():
    form = ConnectWiseConnectForm()
    if not form.validate():
        return _page(form, 400)
    try:
        connection = operations.connect_connectwise(
            form.site.data,
            form.company_id.data,
            form.public_key.data,
            form.private_key.data,
            form.client_id.data,
            current_user.name,
        )
    except (IntegrationRuleError, IntegrationError) as exc:
        db.session.rollback()
        form.private_key.errors = [exc.message]
        return _page(form, 400)
    db.session.commit()
    flash(f"Connected {connection.label}.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:connection_id>/check")
@staff_required(Role.ADMIN)
def check(connection_id: int):
    connection = _connection(connection_id)
    try:
        operations.run_check(connection)
    except IntegrationError as exc:
        db.session.rollback()
        abort(502, description=f"ConnectWise could not be checked: {exc.message}")
    db.session.commit()
    flash("Connection checked.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:connection_id>/lookups")
@staff_required(Role.ADMIN)
def refresh_lookups(connection_id: int):
    operations.request_lookups(_connection(connection_id))
    db.session.commit()
    return redirect(url_for(".index"), 303)


@bp.get("/<int:connection_id>/lookups")
@staff_required(Role.ADMIN)
def lookups(connection_id: int):
    """The lookups block alone (the page polls it while a read is running)."""
    return render(
        TEMPLATE,
        "lookups",
        connection=_connection(connection_id),
        **_context(ConnectWiseConnectForm(formdata=None)),
    )


@bp.post("/<int:connection_id>/disconnect")
@staff_required(Role.ADMIN)
def disconnect(connection_id: int):
    connection = _connection(connection_id)
    try:
        operations.disconnect(connection, current_user.name)
    except IntegrationRuleError as exc:
        abort(409, description=exc.message)
    db.session.commit()
    flash(f"Disconnected {connection.label}; its keys are forgotten.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:connection_id>/settings")
@staff_required(Role.ADMIN)
def save_settings(connection_id: int):
    connection = _connection(connection_id)
    form = request.form
    try:
        operations.save_settings(
            connection,
            configuration=form.get("configuration", ""),
            invoice_from=form.get("invoice_from", ""),
            procurement=form.get("procurement") == "1",
            opportunities=form.get("opportunities") == "1",
            sync_types=form.getlist("sync_types"),
            sync_statuses=form.getlist("sync_statuses"),
            choices={key: form.get(key, "") for key in operations.CHOICES},
            actor=current_user,
        )
    except IntegrationRuleError as exc:
        db.session.rollback()
        abort(400, description=exc.message)
    db.session.commit()
    flash("ConnectWise settings saved.", "success")
    return redirect(url_for(".index"), 303)
