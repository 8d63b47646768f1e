"""The Redis values a request needs to check its caches, read once per request and mostly
without a round trip.

A Redis call costs about as much as a small SQL query here, so the keys every page reads (cache
versions, the signed-in user's snapshot, their cart count) are gathered from the modules that
own them and read together when the user is loaded; later reads in the request are answered
from that batch. The batch comes from this process's copy of those keys, which Redis keeps
current by telling the process whenever one changes (webapp.redis_tracking); keys it does not
hold yet, or all of them while that link is down, come in one MGET. A module that changes a
key drops it (`forget`), so a request that commits and then renders sees its own change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, current_app, g, has_app_context

from webapp import jobs, redis_tracking

KeyProvider = Callable[[int | None], Iterable[str]]
_providers: list[KeyProvider] = []
_prefixes: list[str] = []


def provides(prefix: str) -> Callable[[KeyProvider], KeyProvider]:
    """Register a function giving the keys to fetch for a user id (None when signed out); every
    key it gives starts with `prefix`, which this process keeps a tracked copy of."""

    def register(provider: KeyProvider) -> KeyProvider:
        if provider not in _providers:
            _providers.append(provider)
        if prefix not in _prefixes:
            _prefixes.append(prefix)
        return provider

    return register


def tracked_for(app: Flask) -> redis_tracking.TrackedValues | None:
    """This process's tracked copy of the keys, for `app`'s Redis (None: switched off)."""
    if not app.config["REDIS_TRACKING"]:
        return None
    return redis_tracking.store_for(app.extensions["redis"], app.config["REDIS_URL"], _prefixes)


def _tracked() -> redis_tracking.TrackedValues | None:
    return tracked_for(current_app)


def keys_for(user_id: int | None) -> list[str]:
    """Every registered key a page of this user reads."""
    return [key for provider in _providers for key in provider(user_id)]


def prefetch(user_id: int | None) -> None:
    """Read every registered key for this request: from this process's tracked copy, the rest
    (or all, while tracking is not on) in one MGET."""
    keys = keys_for(user_id)
    tracked = _tracked()
    if tracked is not None:
        values = tracked.mget(keys)
    else:
        values = jobs.redis_conn().mget(keys) if keys else []
    g._redis_batch = dict(zip(keys, values, strict=True))


def get(key: str) -> bytes | None:
    """Return the value of `key`: from this request's batch, else straight from Redis."""
    batch = g.get("_redis_batch") if has_app_context() else None
    if batch is not None and key in batch:
        return batch[key]
    return jobs.redis_conn().get(key)


def remember(key: str, value: bytes | str | None) -> None:
    """Note a value this request has just written, so that later reads see it."""
    _drop_tracked((key,))
    batch = g.get("_redis_batch") if has_app_context() else None
    if batch is not None:
        batch[key] = value.encode() if isinstance(value, str) else value


def forget(*keys: str) -> None:
    """Drop keys that were just changed from this request's batch and this process's copy."""
    _drop_tracked(keys)
    batch = g.get("_redis_batch") if has_app_context() else None
    if batch is not None:
        for key in keys:
            batch.pop(key, None)


def forget_all() -> None:
    """Drop this process's copy of every tracked key: after flushing the Redis database."""
    g.pop("_redis_batch", None)
    tracked = redis_tracking.existing_store(current_app.config["REDIS_URL"])
    if tracked is not None:
        tracked.drop_all()


def _drop_tracked(keys: Iterable[str]) -> None:
    # Redis sends the change's notice too, but a moment later: this process must not wait.
    # A process that has not read through a store (a worker) has nothing to drop.
    if has_app_context():
        tracked = redis_tracking.existing_store(current_app.config["REDIS_URL"])
        if tracked is not None:
            tracked.drop(keys)
