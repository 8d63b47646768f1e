"""Settings > Integrations (connect, map, options, health), the sync log and notifications."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from webapp.accounting import operations, queries
from webapp.accounting.forms import OptionsForm
from webapp.accounting.interfaces import (
    AccountPurpose,
    DeliveryKind,
    LedgerTenant,
)
from webapp.accounting.models import LedgerConnection
from webapp.accounting.providers import UnknownProvider, available_providers, provider_class
from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.htmx_responses import render
from webapp.integrations import operations as core
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import (
    ConnectionContext,
    IntegrationError,
)
from webapp.integrations.models import ConnectionStatus, Notification, NotificationStatus
from webapp.integrations.oauth import (
    ConnectFailed,
    StaticTokens,
    authorization_url,
    exchange_code,
)
from webapp.integrations.outbox import schedule_sync
from webapp.integrations.secrets import seal, token_payload, tokens_from_payload, unseal
from webapp.parsing import page_arg

bp = Blueprint(
    "accounting_admin", __name__, url_prefix="/admin/accounting", template_folder="templates"
)

_OAUTH_KEY = "accounting_oauth"


@bp.app_context_processor
def _document_panel_helpers() -> dict:
    # The admin order page includes accounting_admin/_document_panel.html.
    # The PO and receipt pages include _record_panel.html, the dashboard _attention.html.
    return {
        "accounting_states": queries.document_states,
        "accounting_record_states": queries.record_states,
        "accounting_busy": queries.document_busy,
        "accounting_attention": queries.attention,
        "accounting_subject_url": queries.subject_url,
    }


_PENDING_KEY = "accounting_pending_grant"


def _connection(connection_id: int) -> LedgerConnection:
    return db.session.get(LedgerConnection, connection_id) or abort(404)


def _provider_or_404(name: str):
    try:
        return provider_class(name)
    except UnknownProvider:
        abort(404)


# -- Settings > Integrations -----------------------------------------------------------------


@bp.get("/integrations")
@staff_required(Role.ADMIN)
def integrations():
    connections = queries.connections()
    selected = None
    ledger_lists = None
    if request.args.get("connection"):
        selected = _connection(request.args.get("connection", type=int) or 0)
    elif connections:
        selected = next((c for c in connections if c.status != ConnectionStatus.DISCONNECTED), None)
    if selected is not None and selected.is_connected:
        # The stored copy: this page never calls the vendor (a job refreshes it).
        ledger_lists = queries.ledger_lists(selected)
    form = OptionsForm(obj=selected) if selected is not None else None
    return render(
        "accounting_admin/integrations.html",
        block=request.args.get("block"),
        connections=connections,
        selected=selected,
        providers=available_providers(),
        configured={
            p.name: bool(current_app.config.get(p.oauth.client_id_key))
            for p in available_providers()
        },
        form=form,
        lists=ledger_lists,
        purposes=list(AccountPurpose),
        tax_codes=queries.our_tax_codes(),
        missing=queries.missing_mappings(selected) if selected is not None else [],
        notifications=queries.open_notifications(),
        statuses=queries.sync_status(),
        budgets={c.id: queries.rate_budget(c) for c in connections if c.is_active},
        myob_export=queries.myob_export_endpoint(),
        DeliveryKind=DeliveryKind,
    )


@bp.post("/connect/<provider>")
@staff_required(Role.ADMIN)
def connect(provider: str):
    cls = _provider_or_404(provider)
    redirect_uri = url_for(".callback", provider=cls.name, _external=True)
    try:
        url, remember = authorization_url(cls, current_app.config, redirect_uri)
    except ConnectFailed as exc:
        flash(exc.message, "danger")
        return redirect(url_for(".integrations"), 303)
    session[_OAUTH_KEY] = remember
    return redirect(url, 303)


@bp.get("/callback/<provider>")
@staff_required(Role.ADMIN)
def callback(provider: str):
    cls = _provider_or_404(provider)
    # Pop: the remembered state answers one callback only (a replayed callback is refused).
    remembered = session.pop(_OAUTH_KEY, None)
    try:
        tokens = exchange_code(cls, current_app.config, remembered, request.args)
    except ConnectFailed as exc:
        return render_template(
            "accounting_admin/connect_failed.html", provider=cls, message=exc.message
        ), exc.status
    ctx = ConnectionContext(
        connection_id=None,
        tenant_id="",
        tenant_name="",
        api_base=current_app.config[cls.oauth.api_base_key],
        http=IntegrationHttp(
            StaticTokens(tokens),
            timeout=current_app.config["ACCOUNTING_HTTP_TIMEOUT"],
            vendor=cls.label,
            allow_http=bool(current_app.config.get("INTEGRATIONS_ALLOW_HTTP")),
        ),
        config=current_app.config,
    )
    try:
        tenants = cls.list_tenants(ctx, request.args)
    except IntegrationError as exc:
        return render_template(
            "accounting_admin/connect_failed.html", provider=cls, message=exc.message
        ), 502
    if not tenants:
        return render_template(
            "accounting_admin/connect_failed.html",
            provider=cls,
            message=f"The {cls.label} sign-in reached no organisation.",
        ), 400
    if len(tenants) == 1:
        connection = operations.save_connection(cls.name, tenants[0], tokens, current_user)
        db.session.commit()
        flash(f"Connected {connection.label}.", "success")
        return redirect(url_for(".integrations", connection=connection.id), 303)
    session[_PENDING_KEY] = seal(
        {
            "provider": cls.name,
            "tokens": token_payload(tokens),
            "tenants": [[t.id, t.name, t.connection_id] for t in tenants],
        }
    )
    return render_template("accounting_admin/choose_tenant.html", provider=cls, tenants=tenants)


@bp.post("/callback/<provider>/choose")
@staff_required(Role.ADMIN)
def choose_tenant(provider: str):
    cls = _provider_or_404(provider)
    pending = unseal(session.pop(_PENDING_KEY, "") or "")
    if not pending or pending.get("provider") != cls.name:
        abort(400, description="This choice expired: connect again.")
    tenants = {t[0]: LedgerTenant(*t) for t in pending["tenants"]}
    tenant = tenants.get(request.form.get("tenant_id", ""))
    if tenant is None:
        abort(400, description="Choose one of the organisations offered.")
    connection = operations.save_connection(
        cls.name, tenant, tokens_from_payload(pending["tokens"]), current_user
    )
    db.session.commit()
    flash(f"Connected {connection.label}.", "success")
    return redirect(url_for(".integrations", connection=connection.id), 303)


@bp.post("/connections/<int:connection_id>/disconnect")
@staff_required(Role.ADMIN)
def disconnect(connection_id: int):
    connection = _connection(connection_id)
    try:
        core.disconnect(connection, current_user.name)
    except core.IntegrationRuleError as exc:
        abort(409, description=exc.message)
    db.session.commit()
    flash(f"Disconnected {connection.label}; its tokens are forgotten.", "success")
    return redirect(url_for(".integrations"), 303)


@bp.post("/connections/<int:connection_id>/options")
@staff_required(Role.ADMIN)
def save_options(connection_id: int):
    connection = _connection(connection_id)
    form = OptionsForm()
    if not form.validate():
        errors = "; ".join(f"{form[k].label.text}: {v[0]}" for k, v in form.errors.items())
        abort(400, description=errors)
    try:
        operations.update_options(connection, **form.values())
    except core.IntegrationRuleError as exc:
        abort(400, description=exc.message)
    db.session.commit()
    flash("Options saved.", "success")
    return redirect(url_for(".integrations", connection=connection.id), 303)


@bp.post("/connections/<int:connection_id>/mappings")
@staff_required(Role.ADMIN)
def save_mappings(connection_id: int):
    connection = _connection(connection_id)
    if not connection.is_connected:
        abort(409, description="Reconnect this ledger before changing its mappings.")
    lists = queries.ledger_lists(connection)
    if lists.read_at is None or not (lists.accounts or lists.tax_rates):
        abort(409, description=f"{connection.provider_label}'s accounts and tax rates have not "
              "been read yet: press Refresh lists and try again.")  # fmt: skip
    accounts = {a.id: a for a in lists.accounts}
    rates = {r.id: r for r in lists.tax_rates}
    changes = []
    for purpose in AccountPurpose:
        chosen = request.form.get(f"account_{purpose.value}", "")
        if chosen and chosen not in accounts:
            abort(400, description=f"Unknown {connection.provider_label} account for "
                  f"{purpose.label}: {chosen!r}.")  # fmt: skip
        changes.append(("account", purpose, chosen, accounts[chosen].label if chosen else ""))
    for code in queries.our_tax_codes():
        for field, kind, what in (
            (f"tax_{code.code}", "tax", ""),
            (f"purchase_tax_{code.code}", "purchase_tax", " on purchases"),
        ):
            chosen = request.form.get(field, "")
            if chosen and chosen not in rates:
                abort(400, description=f"Unknown tax rate{what} for {code.code}: {chosen!r}.")
            changes.append((kind, code.code, chosen, rates[chosen].name if chosen else ""))
    # Validated everything first: no partial writes.
    for kind, key, chosen, name in changes:
        if kind == "account":
            operations.set_account_mapping(connection, key, chosen, name)
        else:
            purchases = kind == "purchase_tax"
            operations.set_tax_mapping(connection, key, chosen, name, purchases=purchases)
    operations.note_mappings(connection)
    db.session.commit()
    flash("Mappings saved.", "success")
    return redirect(url_for(".integrations", connection=connection.id), 303)


@bp.post("/connections/<int:connection_id>/lists")
@staff_required(Role.ADMIN)
def refresh_lists(connection_id: int):
    connection = _connection(connection_id)
    if not connection.is_connected:
        abort(409, description="Reconnect this ledger before reading its lists.")
    operations.request_lists_refresh(connection)
    db.session.commit()
    flash(f"Reading {connection.provider_label}'s accounts and tax rates…", "info")
    return redirect(url_for(".integrations", connection=connection.id), 303)


@bp.post("/connections/<int:connection_id>/sync")
@staff_required(Role.ADMIN)
def sync_now(connection_id: int):
    connection = _connection(connection_id)
    schedule_sync(connection)
    db.session.commit()
    flash(f"Sync of {connection.label} queued.", "success")
    return redirect(url_for(".integrations", connection=connection.id), 303)


@bp.post("/connections/<int:connection_id>/payments")
@staff_required(Role.ADMIN)
def import_payments(connection_id: int):
    from webapp.jobs import enqueue_after_commit

    connection = _connection(connection_id)
    enqueue_after_commit("workers.accounting.import_payments", connection.id)
    db.session.commit()
    flash(f"Payments import from {connection.label} queued (last month).", "success")
    return redirect(url_for(".integrations", connection=connection.id), 303)


# -- live status (polls itself while work is moving) -------------------------------------------


@bp.get("/sync-status")
@staff_required()
def sync_status():
    return render(
        "accounting_admin/sync_status.html",
        block="live_status",
        statuses=queries.sync_status(),
    )


@bp.get("/documents/<int:document_id>/ledgers")
@staff_required()
def document_ledgers(document_id: int):
    from webapp.sales.models import SalesDocument

    document = db.session.get(SalesDocument, document_id) or abort(404)
    return render("accounting_admin/document_ledgers.html", block="panel", document=document)


# -- sync log and notifications ----------------------------------------------------------------


@bp.get("/sync-log")
@staff_required()
def sync_log():
    connection_id = request.args.get("connection", type=int)
    only_errors = request.args.get("errors") == "1"
    subject = _log_subject()
    page = page_arg()
    entries, has_next = queries.sync_log(connection_id, only_errors, page, subject)
    return render(
        "accounting_admin/sync_log.html",
        block="log" if request.args.get("page") else None,
        entries=entries,
        has_next=has_next,
        page=page,
        connections=queries.connections(),
        connection_id=connection_id,
        only_errors=only_errors,
        subject=subject,
    )


def _log_subject() -> tuple[str, int] | None:
    """The document the log is filtered to (``?subject=sales_document&subject_id=12``)."""
    subject_type = request.args.get("subject", "")
    raw_id = request.args.get("subject_id", "")
    if not subject_type and not raw_id:
        return None
    if subject_type not in queries.SUBJECT_TYPES or not raw_id.isdigit():
        abort(
            400,
            "subject must be one of " + ", ".join(sorted(queries.SUBJECT_TYPES)) + ", "
            "with a numeric subject_id",
        )
    return subject_type, int(raw_id)


@bp.get("/notifications/<int:notification_id>")
@staff_required(Role.ADMIN)
def notification(notification_id: int):
    note = db.session.get(Notification, notification_id) or abort(404)
    return render_template(
        "accounting_admin/notification.html",
        note=note,
        delivery=note.delivery,
        subject_url=queries.subject_url(note.delivery) if note.delivery else None,
    )


@bp.post("/notifications/<int:notification_id>/retry")
@staff_required(Role.ADMIN)
def retry(notification_id: int):
    note = db.session.get(Notification, notification_id) or abort(404)
    if note.delivery is None:
        abort(409, description="This notification has nothing to retry.")
    try:
        core.retry_delivery(note.delivery, current_user.name)
    except core.IntegrationRuleError as exc:
        abort(409, description=exc.message)
    db.session.commit()
    flash("Queued again.", "success")
    return redirect(url_for(".notification", notification_id=note.id), 303)


@bp.post("/notifications/<int:notification_id>/dismiss")
@staff_required(Role.ADMIN)
def dismiss(notification_id: int):
    note = db.session.get(Notification, notification_id) or abort(404)
    if note.status == NotificationStatus.OPEN:
        core.dismiss_notification(note)
        db.session.commit()
    return redirect(url_for(".integrations"), 303)
