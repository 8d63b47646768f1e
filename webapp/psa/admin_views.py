"""Settings › PSA: connect Autotask, see what the API user may do, read the picklists (admins)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.htmx_responses import render
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.operations import IntegrationRuleError
from webapp.psa import companies, contacts, operations, opportunities, queries, settings_views
from webapp.psa.autotask import services
from webapp.psa.forms import AutotaskConnectForm
from webapp.psa.models import PsaConnection

bp = Blueprint("psa_admin", __name__, url_prefix="/admin/psa", template_folder="templates")


@bp.app_context_processor
def _quote_panel_helpers() -> dict:
    # The admin quote page includes psa_admin/_quote_panel.html.
    return {
        "psa_quote_states": queries.quote_states,
        "psa_company_panel": companies.panel,
        "psa_top_categories": queries.top_categories,  # the category mapping rows
        "psa_opportunity_panel": opportunities.panel,
        "psa_contact_panel": contacts.panel,
    }


def _connections() -> list[PsaConnection]:
    return list(
        db.session.scalars(
            db.select(PsaConnection)
            .where(PsaConnection.provider == operations.AUTOTASK)
            .order_by(PsaConnection.id)
        )
    )


def _page(form: AutotaskConnectForm, status: int = 200):
    return (
        render(
            "psa_admin/index.html",
            connections=_connections(),
            form=form,
            opportunity_choices=operations.OPPORTUNITY_CHOICES,
            item_choices=operations.ITEM_CHOICES,
            budget=operations.budget,
            service_choices=_service_choices(),
        ),
        status,
    )


def _service_choices() -> dict:
    """Our brands and categories, for the brand and Services category of imported Services."""
    from webapp.catalog.models import Brand, Category

    return {
        "brands": db.session.scalars(db.select(Brand).order_by(Brand.name)).all(),
        "categories": db.session.scalars(db.select(Category).order_by(Category.name)).all(),
    }


def _connection(connection_id: int) -> PsaConnection:
    return settings_views.connection_of(operations.AUTOTASK, connection_id)


@bp.get("/")
@staff_required(Role.ADMIN)
def index():
    return _page(AutotaskConnectForm(formdata=None))


@bp.post("/autotask")
@staff_required(Role.ADMIN)
def connect():
    form = AutotaskConnectForm()
    if not form.validate():
        return _page(form, 400)
    try:
        connection = operations.connect_autotask(
            form.username.data, form.secret.data, form.integration_code.data, current_user.name
        )
    except (IntegrationRuleError, IntegrationError) as exc:
        db.session.rollback()
        form.secret.errors = [exc.message]
        return _page(form, 400)
    db.session.commit()
    flash(f"Connected {connection.label}.", "success")
    return redirect(url_for(".index"), 303)


def _picklists_block(connection: PsaConnection) -> str:
    """The picklists block alone (the page polls it while a read is running)."""
    return render(
        "psa_admin/index.html",
        "picklists",
        connection=connection,
        connections=_connections(),
        form=AutotaskConnectForm(formdata=None),
        opportunity_choices=operations.OPPORTUNITY_CHOICES,
        item_choices=operations.ITEM_CHOICES,
        budget=operations.budget,
    )


settings_views.connection_routes(
    bp,
    provider=operations.AUTOTASK,
    vendor="Autotask",
    prefix="/connections",
    noun="picklists",
    run_check=operations.run_check,
    request_lookups=operations.request_picklists,
    disconnect=operations.disconnect,
    lookups_block=_picklists_block,
    forgotten="its secret is forgotten.",
)


@bp.post("/connections/<int:connection_id>/opportunities")
@staff_required(Role.ADMIN)
def save_opportunities(connection_id: int):
    from webapp.parsing import whole_number

    connection = _connection(connection_id)
    probability = whole_number(request.form.get("probability", ""), minimum=0, maximum=100)
    if probability is None:
        abort(400, description="Probability: enter a whole percentage from 0 to 100.")
    warnings = _commit_or_400(
        operations.save_opportunity_options,
        connection,
        enabled=request.form.get("opportunities_enabled") == "1",
        probability=probability,
        choices={key: request.form.get(key, "") for key in operations.OPPORTUNITY_CHOICES},
        unquoted_sales_won=request.form.get("unquoted_sales_won") == "1",
    )
    flash("Opportunity settings saved.", "success")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for(".index"), 303)


@bp.post("/connections/<int:connection_id>/items")
@staff_required(Role.ADMIN)
def save_items(connection_id: int):
    connection = _connection(connection_id)
    _commit_or_400(
        operations.save_item_options,
        connection,
        choices={key: request.form.get(key, "") for key in operations.ITEM_CHOICES},
        title=request.form.get("ticket_title", ""),
        tickets=request.form.get("tickets_enabled") == "1",
        categories={
            key.removeprefix("category_"): value
            for key, value in request.form.items()
            if key.startswith("category_")
        },
    )
    flash("Quote item and ticket settings saved.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/connections/<int:connection_id>/services")
@staff_required(Role.ADMIN)
def save_services(connection_id: int):
    connection = _connection(connection_id)
    _commit_or_400(
        services.save_service_options, connection,
        brand=request.form.get("service_brand", ""),
        category=request.form.get("service_category", ""),
    )  # fmt: skip
    flash("Service import settings saved.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/connections/<int:connection_id>/services/import")
@staff_required(Role.ADMIN)
def import_services(connection_id: int):
    connection = _connection(connection_id)
    try:
        done = _commit_or_400(
            services.import_services, connection, operations.client_for(connection), current_user
        )
    except IntegrationError as exc:
        db.session.rollback()
        flash(f"Autotask could not be asked ({exc.message}); nothing was imported.", "danger")
        return redirect(url_for(".index"), 303)
    flash(f"Autotask services imported: {done}", "success")
    return redirect(url_for(".index"), 303)


# -- an organisation linked to an existing Autotask company (the organisation page) -------------


def _organization_and_connection(connection_id: int, organization_id: int):
    from webapp.organizations.models import Organization

    connection = _connection(connection_id)
    organization = db.session.get(Organization, organization_id)
    if organization is None or connection not in companies.connections():
        abort(404)
    return connection, organization


def _commit_or_400(write, *args, **kwargs):
    """A settings or picker POST: run the operation and commit; a refusal by our rules rolls
    back and is a 400 naming the reason (nothing written)."""
    try:
        result = write(*args, **kwargs)
    except IntegrationRuleError as exc:
        db.session.rollback()
        abort(400, description=exc.message)
    db.session.commit()
    return result


def _asked(read, *args) -> tuple[list, str, int]:
    """A live Autotask read for a picker: (what it found, why not, the status to answer with).
    A refusal by our rules is a 400; Autotask out of reach is said in the panel with a 200."""
    try:
        return read(*args), "", 200
    except IntegrationRuleError as exc:
        return [], exc.message, 400
    except IntegrationError as exc:
        return [], f"Autotask could not be asked ({exc.message}).", 200


@bp.get("/connections/<int:connection_id>/organizations/<int:organization_id>/companies")
@staff_required(Role.SALES)
def search_companies(connection_id: int, organization_id: int):
    connection, organization = _organization_and_connection(connection_id, organization_id)
    text = request.args.get("q", "")
    found, problem, status = _asked(companies.search, connection, text)
    return render(
        "psa_admin/_company_results.html",
        connection=connection,
        organization=organization,
        found=found,
        problem=problem,
        query=text,
    ), status


@bp.post("/connections/<int:connection_id>/organizations/<int:organization_id>/company")
@staff_required(Role.SALES)
def link_company(connection_id: int, organization_id: int):
    connection, organization = _organization_and_connection(connection_id, organization_id)
    link = _commit_or_400(
        companies.link, connection, organization, request.form.get("company_id", ""),
        current_user.name,
    )  # fmt: skip
    flash(f"{organization.name} is linked to the Autotask company {link.remote_number}.", "success")
    return redirect(url_for("organizations_admin.detail", organization_id=organization.id), 303)


# -- a quote attached to an existing Autotask opportunity (the quote page) -----------------------


def _quote_and_connection(connection_id: int, quote_id: int):
    from webapp.quotes.models import Quote

    connection = _connection(connection_id)
    quote = db.session.get(Quote, quote_id)
    if quote is None or connection not in companies.connections():
        abort(404)
    return connection, quote


@bp.get("/connections/<int:connection_id>/quotes/<int:quote_id>/opportunities")
@staff_required(Role.SALES)
def list_opportunities(connection_id: int, quote_id: int):
    connection, quote = _quote_and_connection(connection_id, quote_id)
    found, problem, status = _asked(opportunities.open_opportunities, connection, quote)
    return render(
        "psa_admin/_opportunity_results.html",
        connection=connection,
        quote=quote,
        found=found,
        problem=problem,
    ), status


@bp.post("/connections/<int:connection_id>/quotes/<int:quote_id>/opportunity")
@staff_required(Role.SALES)
def attach_opportunity(connection_id: int, quote_id: int):
    connection, quote = _quote_and_connection(connection_id, quote_id)
    link = _commit_or_400(
        opportunities.attach, connection, quote, request.form.get("opportunity_id", ""),
        current_user,
    )  # fmt: skip
    flash(
        f"{quote.number} is attached to the Autotask opportunity {link.remote_number}.", "success"
    )
    return redirect(url_for("quotes_admin.detail", quote_id=quote.id), 303)


# -- our contacts linked to Autotask contacts (the organisation page) ---------------------------


@bp.get("/connections/<int:connection_id>/organizations/<int:organization_id>/contacts")
@staff_required(Role.SALES)
def list_contacts(connection_id: int, organization_id: int):
    connection, organization = _organization_and_connection(connection_id, organization_id)
    found, problem, status = _asked(contacts.company_contacts, connection, organization)
    return render(
        "psa_admin/_contact_results.html",
        connection=connection,
        organization=organization,
        rows=contacts.panel(organization, connection),
        found=found,
        problem=problem,
    ), status


@bp.post("/connections/<int:connection_id>/organizations/<int:organization_id>/contacts")
@staff_required(Role.SALES)
def link_contact(connection_id: int, organization_id: int):
    connection, organization = _organization_and_connection(connection_id, organization_id)
    user_id, remote_id = request.form.get("user_id", ""), request.form.get("contact_id", "")
    if remote_id == "new":
        link = _commit_or_400(contacts.create, connection, organization, user_id,
                              current_user.name)  # fmt: skip
    else:
        link = _commit_or_400(contacts.link, connection, organization, user_id, remote_id,
                              current_user.name)  # fmt: skip
    flash(f"Linked to the Autotask contact {link.remote_number}.", "success")
    return redirect(url_for("organizations_admin.detail", organization_id=organization.id), 303)
