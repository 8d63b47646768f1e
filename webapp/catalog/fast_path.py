"""Category and brand pages served straight from this process's caches, in front of Flask.

A signed-in customer's listing page is made of pieces the ordinary view caches anyway: the
results for (category or brand, price group, query string) at the catalog version, the page
frame for what the navbar shows of the customer, the session's signed CSRF token, and the
customer's identity snapshot, cart count and catalog version, which Redis keeps current in
this process (webapp.redis_tracking). When every piece is already here, this middleware
assembles the page itself: the same bytes and headers the view would answer with, for about a
quarter of the work (no request context, session object, Flask-Login, SQLAlchemy session or
response object).

It answers only when it can be sure of giving the view's answer. It checks what the ordinary
path checks — the session cookie's signature and age (with Flask's own serializer), the
user's identity and that the account is active and its snapshot current, Flask-Login's
"strong" session binding to the address and browser — and declines, leaving the request to
Flask, on anything else: another method or path, an HTMX request, a query string other than
`page` and `in_stock`, a session that the ordinary path would change or that carries a
flashed message, or any piece missing from the caches. The view then fills the caches.
`tests/catalog/test_fast_path.py` holds the two paths to the same output.
"""

from __future__ import annotations

import re
from hashlib import sha512

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_login.utils import _create_identifier
from itsdangerous import BadSignature
from werkzeug.http import parse_cookie

from webapp import request_cache
from webapp.auth import cache as identity_cache
from webapp.auth.models import STAFF_ROLES
from webapp.catalog import cache as catalog_cache
from webapp.catalog import views
from webapp.csrf_tokens import signed_token_for
from webapp.store.queries import count_in

_PATHS = {"c": "cat", "b": "brand"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")
# `page` and `in_stock`, each at most once, in plain digits: parsed here exactly as Werkzeug
# parses them. Anything else (and a page the view would refuse) goes to the view.
_QUERY = re.compile(r"(?:(?:page=[1-9][0-9]{0,3}|in_stock=[01])(?:&(?!$)|$))*")
# Session keys that make the ordinary path change the session or the response: a message to
# show once, a permanent session (refreshed on every request), a remember-me cookie to set or
# clear.
_DECLINE_KEYS = ("_flashes", "_permanent", "_remember")


class CachedListings:
    """WSGI middleware: answer from the caches when they hold everything, else call Flask."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._session = app.session_interface
        self._cookie = app.config["SESSION_COOKIE_NAME"]
        self._max_age = int(app.permanent_session_lifetime.total_seconds())
        self._csrf_field = app.config["WTF_CSRF_FIELD_NAME"]
        login_manager = app.login_manager
        self._enabled = (
            type(self._session) is SecureCookieSessionInterface
            and login_manager._session_identifier_generator is _create_identifier
            and app.config.get("SESSION_PROTECTION", login_manager.session_protection) == "strong"
        )

    def __call__(self, environ, start_response):
        page = self.page_for(environ) if self._enabled else None
        if page is None:
            return self.wsgi_app(environ, start_response)
        body = page.encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Vary", "HX-Request, Cookie"),
            ],
        )
        return [body]

    def page_for(self, environ) -> str | None:
        """The page the view would answer this request with, or None to let the view answer."""
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_HX_REQUEST" in environ:
            return None
        path = environ.get("PATH_INFO", "")
        kind = _PATHS.get(path[1:2]) if path[2:3] == "/" else None
        slug = path[3:]
        if kind is None or not _SLUG.fullmatch(slug):
            return None
        query_string = environ.get("QUERY_STRING", "")
        if not _QUERY.fullmatch(query_string):
            return None
        args = dict(pair.split("=") for pair in query_string.split("&")) if query_string else {}
        if len(args) != query_string.count("&") + bool(query_string):
            return None  # a repeated argument

        session = self._open_session(environ)
        if session is None:
            return None
        user_id = int(session["_user_id"])
        tracked = request_cache.tracked_for(self.app)
        if tracked is None or not tracked.ready:
            return None
        keys = request_cache.keys_for(user_id)
        values = dict(zip(keys, tracked.mget(keys), strict=True))
        snapshot = identity_cache.snapshot_in(self.app, values, user_id)
        version = catalog_cache.version_in(values)
        if snapshot is None or version is None or not snapshot["user"]["active"]:
            return None
        user, organization = snapshot["user"], snapshot["organization"]
        cart_count = count_in(values, user_id, user["organization_id"])
        if cart_count is None:
            return None
        token = signed_token_for(self.app, session[self._csrf_field])
        group_id = organization["price_group_id"] if organization else None
        query = "&".join(f"{key}={args[key]}" for key in sorted(args))
        cached = catalog_cache.peek_fragment(
            self.app, version, views.listing_key(kind, slug, group_id, query)
        )
        frame = views.peek_frame(
            self.app,
            views.frame_key(
                args.get("in_stock") == "1",
                None,
                user_id=user_id,
                name=user["name"],
                is_staff=user["role"] in STAFF_ROLES,
                organization_name=organization["name"] if organization else None,
                cart_count=cart_count,
            ),
        )
        if token is None or cached is None or frame is None:
            return None
        return views.assemble_listing(frame, path, cached, token)

    def _open_session(self, environ) -> dict | None:
        """The signed-in session the ordinary path would accept and leave unchanged."""
        cookie = parse_cookie(environ.get("HTTP_COOKIE", "")).get(self._cookie)
        if not cookie:
            return None
        try:
            session = self._session.get_signing_serializer(self.app).loads(
                cookie, max_age=self._max_age
            )
        except BadSignature:  # also an expired one
            return None
        if not isinstance(session, dict) or any(key in session for key in _DECLINE_KEYS):
            return None
        user_id = session.get("_user_id")
        if not isinstance(user_id, str) or not user_id.isdigit():
            return None
        if self._csrf_field not in session:
            return None  # the view would add one, and set a new cookie
        if session.get("_id") != _identifier(environ):
            return None  # the view signs the session out
        return session


def _identifier(environ) -> str:
    """Flask-Login's session identifier (`_create_identifier`) from the WSGI environ."""
    address = environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR"))
    if address is not None:
        address = address.encode("utf-8").split(b",")[0].strip()
    user_agent = environ.get("HTTP_USER_AGENT")
    if user_agent is not None:
        user_agent = user_agent.encode("utf-8")
    return sha512(f"{address}|{user_agent}".encode()).hexdigest()


def init_app(app: Flask) -> None:
    if app.config["CATALOG_FAST_PATH"]:
        app.wsgi_app = CachedListings(app, app.wsgi_app)
