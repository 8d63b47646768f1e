"""Throttling of the views that take a secret (sign-in), with the `limits` library in Redis.

Only the throttled views pay for it: a global limiter extension would check every request of
every page for limits that apply to one form. The window is a moving one per key, so a burst
at the edge of a fixed window cannot double the allowance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

_EXTENSION = "throttle"


def init_app(app: Flask) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"]
    app.extensions[_EXTENSION] = MovingWindowRateLimiter(storage_from_string(uri))


def throttled(
    config_key: str, *, key: Callable[[], str], methods: tuple[str, ...] = ("POST",)
) -> Callable:
    """Refuse a view with 429 once `key()` has used the limit named by `config_key` (in the
    `limits` notation, e.g. "10 per 5 minutes"). Requests of other methods are not counted."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def throttled_view(*args, **kwargs):
            if request.method in methods:
                _hit(config_key, key())
            return view(*args, **kwargs)

        return throttled_view

    return decorate


def _hit(config_key: str, identifier: str) -> None:
    limit = parse(current_app.config[config_key])
    limiter: MovingWindowRateLimiter = current_app.extensions[_EXTENSION]
    if limiter.hit(limit, config_key, identifier):
        return
    reset_at = limiter.get_window_stats(limit, config_key, identifier).reset_time
    raise TooManyRequests(retry_after=max(1, math.ceil(reset_at - time.time())))
