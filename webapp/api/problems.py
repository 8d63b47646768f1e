"""Every API error as RFC 9457 `application/problem+json`, with a pointer to the bad field."""

from __future__ import annotations

import json

from flask import Response, request
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/"


class ApiProblem(HTTPException):
    """An error an API view raises: status, a sentence, and optional per-field errors."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict] | None = None,
        headers: dict | None = None,
    ):
        super().__init__(description=detail)
        self.code = status
        self.detail = detail
        self.errors = errors or []
        self.extra_headers = headers or {}


def problem(status: int, detail: str, *, pointer: str | None = None, **kwargs) -> ApiProblem:
    """Build an ApiProblem; `pointer` names the JSON field (RFC 6901) the error is about."""
    errors = kwargs.pop("errors", None)
    if pointer is not None:
        errors = [{"pointer": pointer, "detail": detail}]
    return ApiProblem(status, detail, errors=errors, **kwargs)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def _field_errors(messages: dict) -> list[dict]:
    """Flatten webargs' {"json": {"lines": {"0": {"quantity": [...]}}}} into pointers."""
    errors: list[dict] = []

    def walk(node, path: list[str], location: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)], location)
            return
        texts = node if isinstance(node, list) else [node]
        for text in texts:
            if isinstance(text, dict | list):
                walk(text, path, location)
                continue
            if location == "json":
                pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)
                errors.append({"pointer": pointer if path else "", "detail": str(text)})
            else:
                errors.append({location_key(location): ".".join(path), "detail": str(text)})

    for location, node in (messages or {}).items():
        walk(node, [], location)
    return errors


def location_key(location: str) -> str:
    return "header" if location == "headers" else "parameter"


def response_for(error: HTTPException) -> Response:
    """Render an HTTP error as problem+json."""
    status = error.code or 500
    headers = {}
    errors: list[dict] = []
    if isinstance(error, ApiProblem):
        detail = error.detail
        errors = error.errors
        headers.update(error.extra_headers)
    else:
        detail = error.description or error.name
        data = getattr(error, "data", None) or {}
        if "messages" in data:  # webargs validation of the query, body or headers
            errors = _field_errors(data["messages"])
            detail = "The request is not valid: " + "; ".join(
                f"{e.get('pointer') or e.get('parameter') or e.get('header') or 'body'}: "
                f"{e['detail']}"
                for e in errors
            )
        headers.update(data.get("headers") or {})
        if status >= 500:
            detail = "Something went wrong on our side; nothing was changed. Try again later."
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    body = {"type": "about:blank", "title": _title(status), "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
