"""The session's CSRF token for forms, signed once per process instead of on every page.

Flask-WTF signs the session's random token afresh (an HMAC with a timestamp) the first time a
request asks for it. With no time limit on tokens (`WTF_CSRF_TIME_LIMIT = None`, the tokens
live as long as the session) every signature of the same random token is equally valid, so
the first one is kept per process, keyed by that token. With a time limit, each request signs
its own as before.
"""

from __future__ import annotations

from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

from webapp.local_cache import local_cache, peek


def csrf_token() -> str:
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    reusable = current_app.config["WTF_CSRF_TIME_LIMIT"] is None
    if reusable and field not in g:
        raw = session.get(field)
        signed = local_cache("signed_csrf_tokens", 4096).get(raw) if raw else None
        if signed is not None:
            setattr(g, field, signed)  # where Flask-WTF keeps the request's token
            return signed
    token = generate_csrf()
    if reusable:
        local_cache("signed_csrf_tokens", 4096).put(session[field], token)
    return token


def init_app(app: Flask) -> None:
    """Serve `csrf_token()` in templates from here (after CSRFProtect registered its own)."""
    app.jinja_env.globals["csrf_token"] = csrf_token


def signed_token_for(app: Flask, raw: str) -> str | None:
    """The signed form of a session's raw token, if this process has signed it (no app
    context; None also when tokens have a time limit)."""
    if app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return None
    return peek(app, "signed_csrf_tokens", raw)
