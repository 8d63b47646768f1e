"""Cached catalog reads: listing results kept in Flask-Caching (Redis), keyed on a catalog
version that every committed catalog change bumps, and on the customer's price group."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp import jobs
from webapp.catalog.models import Brand, Category, PricingRule, Product
from webapp.extensions import cache, db
from webapp.settings.models import Setting

_VERSION_KEY = "catalog:version"
# Committed ORM changes to these bump the version too, whoever makes them (feed imports and
# admin operations also bump it explicitly).
_CATALOG_ROWS = (Brand, Category, PricingRule, Product, Setting)
_CHANGED_KEY = "catalog_changed"  # session.info: catalog rows flushed, not yet committed


def _start_version(redis) -> None:
    # A fresh Redis starts from a random version, so that entries cached before a Redis
    # restart are never taken for the current version's.
    redis.set(_VERSION_KEY, secrets.randbelow(2**48), nx=True)


def catalog_version() -> int:
    """The current catalog version: read from Redis once per request (each time in a job,
    whose app context may outlive other processes' changes)."""
    if has_request_context() and "catalog_version" in g:
        return g.catalog_version
    redis = jobs.redis_conn()
    raw = redis.get(_VERSION_KEY)
    if raw is None:
        _start_version(redis)
        raw = redis.get(_VERSION_KEY)
    if has_request_context():
        g.catalog_version = int(raw)
    return int(raw)


def bump_catalog_version() -> None:
    """Invalidate every cached listing: call after a commit that changed products or prices."""
    redis = jobs.redis_conn()
    _start_version(redis)
    redis.incr(_VERSION_KEY)
    g.pop("catalog_version", None)


def prefetch(*keys: str) -> None:
    """Read these keys at the current catalog version in one round trip (MGET): the
    request's `cached` and `peek` of them then answer from it, misses included."""
    if changed_in_this_transaction() or not has_request_context():
        return
    full_keys = [f"catalog:{catalog_version()}:{key}" for key in keys]
    g.catalog_prefetched = dict(zip(full_keys, cache.get_many(*full_keys), strict=True))


def _get(full_key: str):
    prefetched = g.get("catalog_prefetched") if has_request_context() else None
    if prefetched is not None and full_key in prefetched:
        return prefetched.pop(full_key)  # read once: a later call sees what was set since
    return cache.get(full_key)


def cached(key: str, compute: Callable[[], object], timeout: int | None = None):
    """Return the value cached for `key` at the current catalog version, computing it on a
    miss; values of an older version are never read again and expire."""
    if changed_in_this_transaction():
        return compute()  # our own uncommitted changes are in no cached version
    full_key = f"catalog:{catalog_version()}:{key}"
    value = _get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, timeout=timeout)
    return value


def peek(key: str):
    """What `cached(key, ...)` holds at the current catalog version, or None: computes
    nothing."""
    if changed_in_this_transaction():
        return None
    return _get(f"catalog:{catalog_version()}:{key}")


def changed_in_this_transaction() -> bool:
    """Whether the current session holds catalog changes not committed yet (which cached
    data of the current version does not show)."""
    session = db.session()
    return bool(session.info.get(_CHANGED_KEY)) or any(
        _is_change(session, row) for row in (*session.new, *session.dirty, *session.deleted)
    )


def _is_change(session: Session, row) -> bool:
    return isinstance(row, _CATALOG_ROWS) and (row not in session.dirty or session.is_modified(row))


@event.listens_for(Session, "after_flush")
def _catalog_rows_flushed(session: Session, _context) -> None:
    if any(_is_change(session, row) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED_KEY] = True
        jobs.call_after_commit(bump_catalog_version)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    session.info.pop(_CHANGED_KEY, None)
