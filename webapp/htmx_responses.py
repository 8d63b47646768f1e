"""The one place HTMX response headers and page-or-fragment rendering are decided."""

from __future__ import annotations

import json

from flask import Response, make_response, render_template
from jinja2_fragments.flask import render_block

from webapp.extensions import htmx


def render(template: str, block: str | None = None, **context) -> str:
    """Render the whole page, or just `block` when HTMX asked for a fragment."""
    if block and htmx and not htmx.boosted:
        return render_block(template, block, **context)
    return render_template(template, **context)


def trigger(response: Response | str, *events: str, **detailed: object) -> Response:
    """Attach HX-Trigger events (e.g. "cart-changed") to a response."""
    response = make_response(response)
    payload: dict[str, object] = {name: True for name in events}
    payload.update(detailed)
    response.headers["HX-Trigger"] = json.dumps(payload)
    return response


def redirect(location: str) -> Response:
    """Redirect: a full-page navigation for HTMX requests, a 303 for plain posts."""
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    response = make_response("", 303)
    response.headers["Location"] = location
    return response
