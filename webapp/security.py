"""Security headers on every response, set in one after_request hook (issue 13).

- Content-Security-Policy: scripts and styles only from our own origin (htmx, Bootstrap and
  Chart.js are served from /static), an inline <script> only with this request's nonce
  (`csp_nonce()` in templates), no inline event handlers or style attributes, no eval: htmx
  runs without it (its indicator styles are off, see base.html, and no page uses hx-on or
  `js:` values; nor does it settle `style` attributes, which would re-apply as an inline style
  what a script such as SortableJS left through the CSSOM). `form-action` is left out on
  purpose: Chrome applies it to the redirect after a form post, and *Connect* to a ledger
  posts to us and is redirected to the vendor.
- `frame-ancestors 'none'` and `X-Frame-Options: DENY`: no page can be framed (clickjacking
  of the admin and of the approval page). A view that sets its own policy keeps it.
- `X-Content-Type-Options: nosniff`.
- `Referrer-Policy`: `no-referrer` on pages reached by a token in the URL (approval links,
  invitations), so the token never leaves in a Referer; `same-origin` elsewhere.
- `Cache-Control: no-store` on every page for a signed-in user and on token pages, so a
  shared computer's back button or a proxy keeps nothing; static files stay cacheable.

Security events (sign-ins, lockouts, password changes, ended sessions, role changes, API keys,
webhook secrets...) go to one dedicated logger, ``webapp.security``, through `log_event`: one
line of JSON per event, also attached to the record as ``record.security`` for handlers that
ship structured logs. A field whose name says it holds a secret is refused, so a password,
token or key can never be logged by a careless call.

Each event is also kept as a `SecurityEvent` row, which admins read under Security events. A
refused sign-in or CSRF check never commits the request's transaction, so a request's rows are
written when it ends, in a transaction of their own: the events that matter most are those of
requests that changed nothing. Outside a request (a job, a command) the row joins the work's
own transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
)
from flask_login import current_user
from sqlalchemy import JSON, Index, Integer, String, delete, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models_base import UTCDateTime, utcnow

NONCE_BYTES = 16

security_log = logging.getLogger("webapp.security")
_app_log = logging.getLogger("webapp")

# Words in a field name that say it holds (or may hold) a secret: such fields are refused.
_SECRET_WORDS = {"password", "secret", "token", "cookie", "credential", "key", "hash", "link"}
# ...except the displayed, non-secret parts of an API key.
_ALLOWED_FIELDS = {"key_id", "key_name", "key_prefix"}
_MAX_VALUE_CHARS = 200


def log_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one security event as a JSON line on the ``webapp.security`` logger."""
    for name in fields:
        if name not in _ALLOWED_FIELDS and _SECRET_WORDS & set(re.split(r"[_\W]+", name.lower())):
            raise ValueError(f"security event field {name!r} may hold a secret: never log it")
    record: dict[str, Any] = {"event": event}
    if has_request_context():
        record["ip"] = request.remote_addr or ""
        # The route, not the path: a path may carry a token (/password/reset/<token>).
        record["route"] = request.url_rule.rule if request.url_rule else None
    for name, value in fields.items():
        if value is None or isinstance(value, bool | int):
            record[name] = value
        else:  # typed text is cut: a 5 MB "email" must not flood the log
            record[name] = str(value)[:_MAX_VALUE_CHARS]
    # JSON escapes line breaks and control characters: typed text cannot forge a log line.
    security_log.log(
        level, json.dumps(record, sort_keys=True, default=str), extra={"security": record}
    )
    row = _row(record, level)
    if has_request_context():
        g.setdefault("security_events", []).append(row)
    elif has_app_context():  # a job or a command: kept with its work, in its transaction
        db.session.add(SecurityEvent(**row))


class SecurityEvent(db.Model):
    """One security event as `log_event` logged it, for the admins' Security events page.

    `user_id` is whom the event is about or who acted (an actor first); it is no foreign key:
    the history outlives the account, and the row is written beside, not inside, the request's
    transaction (a user created in it is not visible yet)."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed for the nightly prune (`prune_security_events`).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(100), index=True)
    level: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(_MAX_VALUE_CHARS), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    route: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)


def prune_security_events(now: datetime | None = None) -> int:
    """Delete the events older than SECURITY_EVENTS_RETENTION_DAYS (0: keep them forever)."""
    days = current_app.config["SECURITY_EVENTS_RETENTION_DAYS"]
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = db.session.execute(delete(SecurityEvent).where(SecurityEvent.created_at < cutoff))
    return deleted.rowcount or 0


_ROW_FIELDS = {"event", "ip", "route", "email"}


def _row(record: dict[str, Any], level: int) -> dict[str, Any]:
    who = record.get("actor_id", record.get("user_id"))
    return {
        "created_at": utcnow(),
        "event": record["event"][:100],
        "level": logging.getLevelName(level)[:10],
        "user_id": who if isinstance(who, int) and not isinstance(who, bool) else None,
        "email": str(record.get("email") or "")[:_MAX_VALUE_CHARS],
        "ip": str(record.get("ip") or "")[:64],
        "route": str(record.get("route") or "")[:200],
        "details": {k: v for k, v in record.items() if k not in _ROW_FIELDS},
    }


# SQLite has one writer: if the request left a write open, wait briefly rather than the
# connection's usual 30 s, and lose the rows (logged above) instead of stalling the answer.
_SQLITE_WAIT_MS = 2000


def _store(rows: list[dict[str, Any]]) -> None:
    """Write the rows in a transaction of their own; a failure is logged, never raised (a
    security event must not turn the answer it accompanies into a 500)."""
    try:
        with db.engine.begin() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                connection.exec_driver_sql(f"PRAGMA busy_timeout={_SQLITE_WAIT_MS}")
            try:
                connection.execute(insert(SecurityEvent), rows)
            finally:
                if sqlite:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waited)}")
    except SQLAlchemyError as error:
        _app_log.error("%d security events not stored: %s", len(rows), type(error).__name__)


def _store_request_events(exc: BaseException | None) -> None:
    rows = g.pop("security_events", None)
    if not rows:
        return
    if exc is not None:
        # The request failed: end its transaction first, as the app context's teardown would,
        # so its locks cannot hold up these rows.
        db.session.rollback()
    _store(rows)


def typed_identity(text: str) -> str:
    """Return a short digest of a typed sign-in name that matches no account.

    A mistyped email is often the user's password typed in the wrong box, so it is never
    logged as typed; the digest still lets one address spraying many names be seen.
    """
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:12]


def csp_nonce() -> str:
    """Return this request's nonce for inline scripts (the same for the whole response)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            # Bootstrap draws its select arrows and close buttons as data: SVG images.
            # Feed pictures are served by the distributors' CDNs (https only).
            "img-src 'self' data: https:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _is_static() -> bool:
    return request.endpoint is not None and (
        request.endpoint == "static" or request.endpoint.endswith(".static")
    )


def _is_token_page() -> bool:
    # Every route whose URL carries a secret names it <token> (/q/<token>, /invite/<token>).
    return "token" in (request.view_args or {})


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    token_page = _is_token_page()
    headers["Referrer-Policy"] = "no-referrer" if token_page else "same-origin"
    if not _is_static() and (token_page or current_user.is_authenticated):
        response.cache_control.no_store = True
    return response


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
    app.teardown_request(_store_request_events)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
