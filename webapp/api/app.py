"""Mount the API: flask-smorest's Api (OpenAPI 3.1 at /api/v1/openapi.json) and its pages."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask_smorest import Api

from webapp.api.problems import PROBLEM_TYPE, is_api_request, problem, response_for
from webapp.api.schemas.common import ProblemSchema
from webapp.api.security import add_rate_limit_headers
from webapp.extensions import csrf

DESCRIPTION = """The MSP commerce API: read the catalog, customers, staff, quotes, orders,
payments and purchasing (costs, accounts payable); create, edit and send quotes; key in and
cancel orders; issue and receipt purchase orders; upsert supplier offers in bulk; manage
webhook endpoints.

Authenticate with `Authorization: Bearer <key>` (Settings › API). Lists take `limit`,
`cursor`, `modified_after` and `expand`, and answer `{data, total, next_cursor}`. Every
POST and PATCH needs an `Idempotency-Key`. Errors are `application/problem+json`.
"""


class ProblemApi(Api):
    """flask-smorest's Api with RFC 9457 problems as its error format."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        # flask-smorest documents its error responses as application/json; ours are problems.
        import http

        from flask_smorest.utils import prepare_response

        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (RFC 9457 problem)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error):
        # flask-smorest registers this for every HTTPException of the app: answer for the
        # API's paths only and leave the pages' errors as they were.
        if is_api_request():
            return response_for(error)
        return error


docs = Blueprint("api_docs", __name__, url_prefix="/api/v1", template_folder="templates")


@docs.get("/docs")
def reference():
    """The browsable reference (Swagger UI, shipped from npm like htmx)."""
    return render_template("api/reference.html")


def init_app(app: Flask) -> Api:
    app.config.setdefault("API_TITLE", "MSP commerce API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {"description": DESCRIPTION},
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    api = ProblemApi(app)
    from webapp.api import (
        catalog,
        organizations,
        purchasing,
        quote_acceptance,
        quotes,
        sales,
        webhooks,
    )

    for module in (catalog, organizations, quotes, quote_acceptance, sales, purchasing, webhooks):
        csrf.exempt(module.blp)  # a bearer key, not a cookie: no cross-site forgery
        api.register_blueprint(module.blp)
    app.register_blueprint(docs)
    app.before_request(_refuse_nul_in_json)
    app.after_request(_api_headers)
    return api


def _refuse_nul_in_json():
    # The app refuses NUL in forms and query strings; JSON bodies are the API's own: PostgreSQL
    # refuses NUL in text, so "\u0000" in a string would be a 500 there, not a 400.
    if is_api_request() and request.content_length:
        raw = request.get_data(cache=True)
        if b"\x00" in raw or b"\\u0000" in raw:
            raise problem(400, "The request body holds a NUL character; remove it and retry.")


def _api_headers(response):
    if is_api_request():
        add_rate_limit_headers(response)
        response.headers.setdefault("Cache-Control", "no-store")
    return response
