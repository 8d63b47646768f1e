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
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request
from flask_login import current_user

NONCE_BYTES = 16


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
    app.jinja_env.globals["csp_nonce"] = csp_nonce
