"""Bearer API keys on every API route: scope check, organization limit, per-key rate limit."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps

from flask import g, request

from webapp.api import operations
from webapp.api.models import ApiKey
from webapp.api.problems import problem
from webapp.auth import throttle
from webapp.auth.models import User
from webapp.extensions import db
from webapp.security import log_event

RATE_LIMIT_KEY = "API_RATE_LIMIT"


def current_key() -> ApiKey:
    return g.api_key


def acting_user() -> User:
    """The admin whose key this is: domain operations record them as the actor."""
    return g.api_key.created_by


def organization_limit() -> int | None:
    """The one organization the key may see, or None for an MSP-wide key."""
    return g.api_key.organization_id


def _authenticate() -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
    if scheme.lower() != "bearer" or not secret.strip():
        raise problem(401, "Send an API key as `Authorization: Bearer <key>`.", headers=challenge)
    key = operations.find_key(secret.strip())
    if key is None:
        # Only our displayed prefix ("msp_" + 8 hex): the rest, or a foreign token, may be a
        # real secret.
        sent = secret.strip()[: operations.PREFIX_LENGTH]
        shown = sent if re.fullmatch(r"msp_[0-9a-f]{8}", sent) else "(not one of ours)"
        log_event("api.key.refused", level=logging.WARNING, key_prefix=shown)
        raise problem(401, "The API key is unknown, revoked or expired.", headers=challenge)
    return key


def _rate_limit(key: ApiKey) -> None:
    budget = throttle.take(RATE_LIMIT_KEY, f"key:{key.id}")
    g.rate_limit_headers = {
        "RateLimit-Limit": str(budget.limit),
        "RateLimit-Remaining": str(budget.remaining),
        "RateLimit-Reset": str(budget.reset_in),
    }
    if not budget.allowed:
        raise problem(
            429,
            f"This key has used its {budget.limit} requests; retry in {budget.reset_in} s.",
            headers={**g.rate_limit_headers, "Retry-After": str(budget.reset_in)},
        )


def requires(scope: str) -> Callable:
    """Allow the view only to a live key that holds `scope`."""
    if scope not in operations.SCOPES:
        raise ValueError(f"unknown scope {scope}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            key = _authenticate()
            _rate_limit(key)
            if scope not in key.scopes:
                raise problem(403, f"This key does not have the `{scope}` scope.")
            g.api_key = key
            if operations.note_use(key):
                db.session.commit()
            return view(*args, **kwargs)

        guarded._api_scope = scope
        return guarded

    return decorate


def add_rate_limit_headers(response):
    for name, value in (getattr(g, "rate_limit_headers", None) or {}).items():
        response.headers.setdefault(name, value)
    return response
