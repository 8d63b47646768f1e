"""The Redis values a request needs to check its caches, fetched in one round trip.

A Redis call costs about as much as a small SQL query here, so the keys every page reads (cache
versions, the signed-in user's snapshot, their cart count) are gathered from the modules that
own them and read with a single MGET when the user is loaded; later reads in the request are
answered from that batch. A module that changes a key drops it from the batch (`forget`), so a
request that commits and then renders sees its own change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import g, has_app_context

from webapp import jobs

KeyProvider = Callable[[int | None], Iterable[str]]
_providers: list[KeyProvider] = []


def provides(provider: KeyProvider) -> KeyProvider:
    """Register a function giving the keys to fetch for a user id (None when signed out)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def prefetch(user_id: int | None) -> None:
    """Read every registered key for this request in one MGET."""
    keys = [key for provider in _providers for key in provider(user_id)]
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
    batch = g.get("_redis_batch") if has_app_context() else None
    if batch is not None:
        batch[key] = value.encode() if isinstance(value, str) else value


def forget(*keys: str) -> None:
    """Drop keys that were just changed from this request's batch."""
    batch = g.get("_redis_batch") if has_app_context() else None
    if batch is not None:
        for key in keys:
            batch.pop(key, None)
