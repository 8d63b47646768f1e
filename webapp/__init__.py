"""The MSP commerce application: storefront, staff admin and their shared domains."""

from __future__ import annotations

import logging
import os
from functools import wraps
from pathlib import Path

from flask import Flask, abort, current_app, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from webapp import config, jobs, security
from webapp.auth import throttle
from webapp.extensions import cache, csrf, db, htmx, login_manager, migrate
from webapp.money import format_money
from webapp.parsing import DB_INT_MAX, has_nul

_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; nothing is created at import time."""
    instance_path = os.environ.get("INSTANCE_PATH") or str(
        Path(__file__).parent.parent / "instance"
    )
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(config.from_environment(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy only knows postgresql://.
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgres://", "postgresql+psycopg://", 1
        )
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )

    _init_extensions(app)
    security.init_app(app)
    # Before any route exists: every <int:id> in a URL is bounded by the database's integer.
    app.url_map.converters["int"] = _DatabaseIntConverter
    _register_providers()
    _register_blueprints(app)
    _connect_subscribers()
    _register_template_helpers(app)
    _register_error_handlers(app)
    _register_cli(app)

    @app.before_request
    def refuse_nul_bytes():
        # No page has a use for NUL, and PostgreSQL refuses it in text ("A string literal
        # cannot contain NUL"): refuse it once here rather than as a 500 in some query.
        form = request.form if request.mimetype in _FORM_TYPES else MultiDict()
        pairs = [*request.args.items(multi=True), *form.items(multi=True)]
        if has_nul([request.path, *(text for pair in pairs for text in pair)]):
            abort(400, description="The request holds a NUL character; remove it and retry.")

    @app.after_request
    def vary_on_htmx(response):
        # The same URL answers with a page or a fragment: caches must key on HX-Request.
        response.vary.add("HX-Request")
        return response

    logging.getLogger("webapp").setLevel(app.config.get("LOG_LEVEL", "INFO"))
    return app


def _init_extensions(app: Flask) -> None:
    from webapp.models_registry import import_all_models

    import_all_models()
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _tune_sqlite(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    jobs.init_app(app)
    app.config.setdefault("CACHE_REDIS_URL", app.config["REDIS_URL"])
    cache.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limits_storage_uri(app.config["REDIS_URL"]))
    throttle.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from webapp.auth import views as auth_views

    login_manager.user_loader(auth_views.load_user)
    login_manager.unauthorized_handler(auth_views.unauthorized)


def _tune_sqlite(app: Flask) -> None:
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets the web server read while a worker writes a feed import.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLite's lower()/upper() (and so its ILIKE, which SQLAlchemy writes as
            # lower() LIKE lower()) fold ASCII only: "É" stayed "É", so a name or email that
            # differs from a stored one only by the case of an accented letter was a duplicate
            # on PostgreSQL and a new one here. Python's folding is PostgreSQL's (UTF-8 ctype).
            # Deterministic, so the unique index on lower(name) can use it.
            dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
            dbapi_connection.create_function("upper", 1, _unicode_upper, deterministic=True)

        @event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(connection, _name):
            # pysqlite opens its transaction only at the first INSERT/UPDATE/DELETE. A SAVEPOINT
            # taken before any write was therefore the outermost transaction, and releasing it
            # COMMITted: a later rollback (a refused keyed order, a refused checkout) kept what
            # the savepoint wrote. An explicit BEGIN first makes it the nested savepoint it is
            # on PostgreSQL, committed or rolled back with the session.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN")


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _unicode_upper(value):
    return value.upper() if isinstance(value, str) else value


def _limits_storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def _register_providers() -> None:
    """Each domain registers its outside systems with the integrations core on import."""
    import webapp.accounting.providers  # noqa: F401 - QuickBooks Online, Xero
    import webapp.psa.providers  # noqa: F401 - Autotask
    import webapp.ticketmail.providers  # noqa: F401 - a PSA's ticket mailbox
    import webapp.webhooks.providers  # noqa: F401 - outbound webhook endpoints


def _register_blueprints(app: Flask) -> None:
    from webapp.accounting.admin_views import bp as accounting_admin_bp
    from webapp.admin.views import bp as admin_bp
    from webapp.api import app as api_app
    from webapp.api.admin_views import bp as api_admin_bp
    from webapp.auth.admin_views import bp as auth_admin_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.catalog import admin_pricing_views as _catalog_pricing  # noqa: F401
    from webapp.catalog import admin_supplier_views as _catalog_suppliers  # noqa: F401
    from webapp.catalog import admin_views as _catalog_products  # noqa: F401 - on catalog_admin
    from webapp.catalog.admin_common import bp as catalog_admin_bp
    from webapp.catalog.views import bp as catalog_bp
    from webapp.desk.admin_views import bp as desk_bp
    from webapp.integrations.inbound import bp as inbound_bp
    from webapp.mail.admin_views import bp as mail_admin_bp
    from webapp.organizations.admin_views import bp as organizations_admin_bp
    from webapp.psa.admin_views import bp as psa_admin_bp
    from webapp.psa.connectwise.admin_views import bp as psa_connectwise_bp
    from webapp.psa.connectwise.callbacks import bp as psa_connectwise_callbacks_bp
    from webapp.psa.views import bp as psa_webhooks_bp
    from webapp.purchasing import admin_receipt_views as _purchasing_receipts  # noqa: F401
    from webapp.purchasing import admin_stock_views as _purchasing_stock  # noqa: F401
    from webapp.purchasing import admin_views as _purchasing_orders  # noqa: F401
    from webapp.purchasing.admin_common import bp as purchasing_admin_bp
    from webapp.quotes import (  # noqa: F401 - their routes are on quotes_admin
        admin_rule_views,
        admin_template_views,
        admin_views,
    )
    from webapp.quotes.admin_common import bp as quotes_admin_bp
    from webapp.quotes.views import bp as quotes_bp
    from webapp.reports.admin_views import bp as reports_admin_bp
    from webapp.sales.admin_views import bp as sales_admin_bp
    from webapp.sales.views import bp as sales_bp
    from webapp.settings.admin_views import bp as settings_admin_bp
    from webapp.store.views import bp as store_bp
    from webapp.ticketmail.admin_views import bp as ticketmail_admin_bp
    from webapp.webhooks.admin_views import bp as webhooks_admin_bp

    api_app.init_app(app)
    for blueprint in (
        api_admin_bp,
        accounting_admin_bp,
        inbound_bp,
        auth_bp,
        catalog_bp,
        store_bp,
        sales_bp,
        admin_bp,
        auth_admin_bp,
        catalog_admin_bp,
        desk_bp,
        mail_admin_bp,
        organizations_admin_bp,
        quotes_admin_bp,
        quotes_bp,
        purchasing_admin_bp,
        reports_admin_bp,
        sales_admin_bp,
        settings_admin_bp,
        webhooks_admin_bp,
        psa_admin_bp,
        ticketmail_admin_bp,
        psa_webhooks_bp,
        psa_connectwise_bp,
        psa_connectwise_callbacks_bp,
    ):
        app.register_blueprint(blueprint)


class _DatabaseIntConverter(IntegerConverter):
    """`<int:…>` that matches only ids a 32-bit INTEGER column can hold: a larger one is a
    404 like any unknown id, not a PostgreSQL "integer out of range" error (a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=DB_INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def _connect_subscribers() -> None:
    """Connect each domain's receivers to the domain events in `webapp.signals`."""
    # One import per domain that reacts to another's events (blinker ignores re-connects).
    # e.g. from webapp.purchasing import subscribers as _purchasing  # noqa: F401
    from webapp.accounting import subscribers as _accounting  # noqa: F401
    from webapp.psa import subscribers as _psa  # noqa: F401
    from webapp.purchasing import subscribers as _purchasing  # noqa: F401
    from webapp.ticketmail import subscribers as _ticketmail  # noqa: F401
    from webapp.webhooks import subscribers as _webhooks  # noqa: F401


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = lambda amount, currency=None: format_money(
        amount, currency or app.config["CURRENCY"]
    )
    app.jinja_env.globals["site_name"] = app.config["SITE_NAME"]
    app.jinja_env.globals["url_with"] = _url_with

    from webapp.admin.navigation import admin_nav

    app.jinja_env.globals["admin_nav"] = admin_nav


def _url_with(_endpoint: str | None = None, **changes) -> str:
    """Return the current URL with some query arguments changed (None removes one); with
    `_endpoint`, that page's URL with the current arguments so changed."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    if _endpoint is not None:
        return url_for(_endpoint, **args)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _has_csrf_session() -> bool:
    """Whether the session holds a CSRF secret (Flask-WTF keeps it under the field's name)."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in session


def _register_error_handlers(app: Flask) -> None:
    from webapp.api.problems import is_api_request, response_for

    def for_pages(handler):
        """Under /api/ every error is problem+json; these handlers draw pages."""

        @wraps(handler)
        def handle(error):
            return response_for(error) if is_api_request() else handler(error)

        return handle

    def error_page(status: int, title: str, message: str):
        if htmx:
            # HTMX swaps nothing on 4xx by default; the toast area shows the message.
            return render_template("errors/toast.html", message=message), status
        signed_in = status != 500 and current_user.is_authenticated
        return render_template(
            "errors/error.html",
            title=title,
            message=message,
            status=status,
            signed_in=signed_in and not current_user.is_staff,
            show_search=signed_in,
        ), status

    @app.errorhandler(CSRFError)
    @for_pages
    def csrf_error(error):
        security.log_event("csrf.refused", level=logging.WARNING, reason=error.description)
        if htmx and not current_user.is_authenticated and not _has_csrf_session():
            # The session cookie itself is gone (it expired): sign in, then back to the page.
            return login_manager.unauthorized()
        return error_page(
            400,
            "Your form expired",
            "This page was open too long or your session ended. Nothing was changed: "
            "reload the page and try again.",
        )

    @app.errorhandler(400)
    @for_pages
    def bad_request(error):
        return error_page(400, "Bad request", getattr(error, "description", "Bad request"))

    @app.errorhandler(403)
    @for_pages
    def forbidden(error):
        return error_page(403, "Not allowed", "You do not have access to this page.")

    @app.errorhandler(404)
    @for_pages
    def not_found(error):
        return error_page(404, "Not found", "There is nothing here. Check the address.")

    @app.errorhandler(409)
    @for_pages
    def conflict(error):
        return error_page(409, "Changed meanwhile", getattr(error, "description", "Conflict"))

    @app.errorhandler(500)
    def server_error(error):
        # The transaction may be what failed: nothing of it is kept, and the page reads
        # nothing from the database.
        db.session.rollback()
        return error_page(
            500,
            "Something went wrong on our side",
            "Nothing was changed. Try again in a minute; if it keeps happening, call us.",
        )

    @app.errorhandler(429)
    @for_pages
    def too_many(error):
        body, status = error_page(
            429, "Too many attempts", "Too many attempts. Wait a few minutes and try again."
        )
        retry_after = getattr(error, "retry_after", None)
        return body, status, {"Retry-After": str(retry_after)} if retry_after else {}


def _register_cli(app: Flask) -> None:
    from webapp.accounting.cli import accounting_cli
    from webapp.api.cli import api_cli
    from webapp.auth.cli import users_cli
    from webapp.catalog.cli import catalog_cli
    from webapp.demo.cli import demo_cli
    from webapp.integrations.cli import integrations_cli
    from webapp.reports.cli import reports_cli

    app.cli.add_command(accounting_cli)
    app.cli.add_command(api_cli)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(integrations_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(users_cli)
