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
from webapp.psa import settings_views
from webapp.psa.connectwise import matching, operations, sync
from webapp.psa.forms import ConnectWiseConnectForm
from webapp.psa.models import PsaConnection

bp = Blueprint(
    "psa_connectwise",
    __name__,
    url_prefix="/admin/psa/connectwise",
    template_folder="templates",
)
TEMPLATE = "psa_connectwise/index.html"


@bp.app_context_processor
def _panel_helpers() -> dict:
    # The organisation, quote and order pages include psa_connectwise/_*_panel.html.
    return {"connectwise_matches": _matches}


def _matches(subject_type: str, subject) -> list[dict]:
    """For the pages' panels: each enabled ConnectWise connection, the organisation's company
    and the subject's opportunity (links only: nothing is asked of ConnectWise here)."""
    from webapp.integrations import operations as core

    rows = []
    for connection in sync.enabled_connections():
        organization_id = (
            subject.id if subject_type == sync.ORGANIZATION else subject.organization_id
        )
        company = core.link_for(connection.id, sync.ORGANIZATION, organization_id)
        row = {"connection": connection, "company": company, "opportunity": None, "sent": False}
        if subject_type != sync.ORGANIZATION:
            row["opportunity"] = core.link_for(connection.id, subject_type, subject.id)
            delivery = sync.find_delivery(connection.id, sync.OPPORTUNITY, subject_type, subject.id)
            row["sent"] = delivery is not None and bool(delivery.attempts or row["opportunity"])
        rows.append(row)
    return rows


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
    return settings_views.connection_of(operations.CONNECTWISE, connection_id)


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


def _lookups_block(connection: PsaConnection) -> str:
    """The lookups block alone (the page polls it while a read is running)."""
    return render(
        TEMPLATE,
        "lookups",
        connection=connection,
        **_context(ConnectWiseConnectForm(formdata=None)),
    )


settings_views.connection_routes(
    bp,
    provider=operations.CONNECTWISE,
    vendor="ConnectWise",
    prefix="",
    noun="lookups",
    run_check=operations.run_check,
    request_lookups=operations.request_lookups,
    disconnect=operations.disconnect,
    lookups_block=_lookups_block,
    forgotten="its keys are forgotten.",
)


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


# -- pickers on the organisation, quote and order pages (sales staff) ----------------------------


def _enabled(connection_id: int) -> PsaConnection:
    connection = _connection(connection_id)
    if connection not in sync.enabled_connections():
        abort(404)
    return connection


def _picked_id(name: str) -> int:
    value = request.form.get(name, "").strip()
    if not value.isdigit() or len(value) > 12:
        abort(400, description=f"{name.replace('_', ' ').capitalize()}: pick one from the list.")
    return int(value)


def _refused(exc: Exception):
    db.session.rollback()
    message = getattr(exc, "message", str(exc))
    abort(400 if isinstance(exc, IntegrationRuleError) else 502, description=message)


@bp.get("/<int:connection_id>/companies")
@staff_required(Role.SALES)
def pick_company(connection_id: int):
    """Companies matching the search (the organisation page's picker)."""
    connection = _enabled(connection_id)
    query = request.args.get("q", "").strip()[:100]
    try:
        found = matching.companies_offered(connection, query) if query else []
    except IntegrationError as exc:
        abort(502, description=f"ConnectWise could not be searched: {exc.message}")
    options = [
        (c["id"], c.get("name") or f"#{c['id']}", " · ".join(
            part for part in (c.get("identifier"), (c.get("status") or {}).get("name")) if part
        ))
        for c in found
    ]  # fmt: skip
    return render("_picker_results.html", options=options, query=query)


@bp.post("/<int:connection_id>/organizations/<int:organization_id>/company")
@staff_required(Role.SALES)
def link_company(connection_id: int, organization_id: int):
    from webapp.organizations.models import Organization

    connection = _enabled(connection_id)
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        abort(404)
    try:
        company = matching.link_organization(connection, organization, _picked_id("company_id"))
    except (IntegrationRuleError, IntegrationError) as exc:
        _refused(exc)
    db.session.commit()
    flash(f"{organization.name} is now ConnectWise company {company.get('name')}.", "success")
    if company.get("moved_quotes"):
        flash(
            f"The opportunities of {', '.join(company['moved_quotes'])} move to it; accepted "
            "and lost quotes stay with the company they were decided in.",
            "info",
        )
    if company.get("detached_quotes"):
        flash(
            f"{', '.join(company['detached_quotes'])} no longer go on the previous company's "
            "opportunity (picked, not sent yet): pick one of this company, or a new one is "
            "created when sent.",
            "info",
        )
    return redirect(url_for("organizations_admin.detail", organization_id=organization.id), 303)


def _subject(kind: str, subject_id: int):
    if kind == "quotes":
        from webapp.quotes.models import Quote

        found, subject_type = db.session.get(Quote, subject_id), sync.QUOTE
    else:
        from webapp.sales.models import DocumentSource, SalesDocument

        found, subject_type = db.session.get(SalesDocument, subject_id), sync.WON_SALE
        if found is not None and found.source == DocumentSource.QUOTE:
            abort(404)  # an order from a quote goes on the quote's opportunity
    if found is None:
        abort(404)
    return found, subject_type


@bp.get("/<int:connection_id>/<any(quotes, orders):kind>/<int:subject_id>/opportunities")
@staff_required(Role.SALES)
def pick_opportunity(connection_id: int, kind: str, subject_id: int):
    """Open opportunities of the subject's company whose name matches the search."""
    connection = _enabled(connection_id)
    subject, _ = _subject(kind, subject_id)
    query = request.args.get("q", "").strip()[:100]
    try:
        found = matching.opportunities_offered(connection, subject.organization_id)
    except IntegrationError as exc:
        abort(502, description=f"ConnectWise could not be searched: {exc.message}")
    options = [
        (o["id"], o.get("name") or f"#{o['id']}", (o.get("stage") or {}).get("name") or "")
        for o in found
        if query.lower() in (o.get("name") or "").lower()
    ]
    return render("_picker_results.html", options=options, query=query)


@bp.post("/<int:connection_id>/<any(quotes, orders):kind>/<int:subject_id>/opportunity")
@staff_required(Role.SALES)
def attach_opportunity(connection_id: int, kind: str, subject_id: int):
    connection = _enabled(connection_id)
    subject, subject_type = _subject(kind, subject_id)
    try:
        opportunity = matching.pick_opportunity(
            connection, subject_type, subject, _picked_id("opportunity_id")
        )
    except (IntegrationRuleError, IntegrationError) as exc:
        _refused(exc)
    db.session.commit()
    flash(f"{subject.number} goes on opportunity {opportunity.get('name')}.", "success")
    if kind == "quotes":
        return redirect(url_for("quotes_admin.detail", quote_id=subject.id), 303)
    return redirect(url_for("sales_admin.order_detail", document_id=subject.id), 303)
