"""Throttling of the views that take a secret (sign-in, password reset), with the `limits`
library in Redis.

Only the throttled views pay for it: a global limiter extension would check every request of
every page for limits that apply to one form. The window is a moving one per key, so a burst
at the edge of a fixed window cannot double the allowance.

Two ways to count: `throttled` counts every request of a view (sending reset emails);
`refuse_if_exhausted` + `count_failure` count only failures (sign-in), so people who type
their password right never use up anything, and an attacker's guesses do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
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


def _limiter() -> MovingWindowRateLimiter:
    return current_app.extensions[_EXTENSION]


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
    if _limiter().hit(limit, config_key, identifier):
        return
    raise TooManyRequests(retry_after=_retry_after(config_key, identifier))


def _retry_after(config_key: str, identifier: str) -> int:
    limit = parse(current_app.config[config_key])
    reset_at = _limiter().get_window_stats(limit, config_key, identifier).reset_time
    return max(1, math.ceil(reset_at - time.time()))


def refuse_if_exhausted(*budgets: tuple[str, str]) -> None:
    """Raise 429 (with Retry-After) if any `(config_key, identifier)` has no failures left;
    counts nothing."""
    waits = [
        _retry_after(config_key, identifier)
        for config_key, identifier in budgets
        if not _limiter().test(parse(current_app.config[config_key]), config_key, identifier)
    ]
    if waits:
        raise TooManyRequests(retry_after=max(waits))


def count_failure(*budgets: tuple[str, str]) -> None:
    """Use one attempt of each `(config_key, identifier)`."""
    for config_key, identifier in budgets:
        _limiter().hit(parse(current_app.config[config_key]), config_key, identifier)


def forget_failures(config_key: str, identifier: str) -> None:
    """Give `identifier` its whole budget back (a correct password for that account)."""
    _limiter().clear(parse(current_app.config[config_key]), config_key, identifier)


@dataclass(frozen=True)
class Budget:
    """What is left of a limit after a hit (for RateLimit-* response headers)."""

    allowed: bool
    limit: int
    remaining: int
    reset_in: int  # seconds until the window frees a request


def take(config_key: str, identifier: str) -> Budget:
    """Use one request of `identifier`'s budget and say what is left; counts nothing if none."""
    limit = parse(current_app.config[config_key])
    allowed = _limiter().hit(limit, config_key, identifier)
    stats = _limiter().get_window_stats(limit, config_key, identifier)
    return Budget(
        allowed=allowed,
        limit=limit.amount,
        remaining=max(0, stats.remaining),
        reset_in=max(1, math.ceil(stats.reset_time - time.time())),
    )
