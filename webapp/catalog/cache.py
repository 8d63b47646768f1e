"""Rendered catalog HTML, cached: fragments keyed on a catalog version that every catalog change
bumps, and each customer's page frame keyed on what it shows of them.

Fragments live in Redis (shared by every process) and, for the hot ones, in a small LRU in
each process, so that a page hit moves no HTML out of Redis. The catalog version is read with
the request's other Redis keys in one round trip (see webapp.request_cache).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp import jobs, request_cache
from webapp.catalog.models import Brand, Category, PricingRule, Product
from webapp.extensions import db
from webapp.local_cache import local_cache, peek
from webapp.settings.models import Setting

_VERSION_KEY = "catalog:version"
# Committed ORM changes to these bump the version too, whoever makes them (feed imports and
# admin operations also bump it explicitly).
_CATALOG_ROWS = (Brand, Category, PricingRule, Product, Setting)
_CHANGED_KEY = "catalog_changed"  # session.info: catalog rows flushed, not yet committed


@request_cache.provides(_VERSION_KEY)
def _keys(_user_id: int | None) -> list[str]:
    return [_VERSION_KEY]


def _start_version(redis) -> None:
    # A fresh Redis starts from a random version, so that HTML a process cached before a
    # Redis restart is never taken for the current version's.
    redis.set(_VERSION_KEY, secrets.randbelow(2**48), nx=True)


def catalog_version() -> int:
    raw = request_cache.get(_VERSION_KEY)
    if raw is None:
        redis = jobs.redis_conn()
        _start_version(redis)
        raw = redis.get(_VERSION_KEY)
        request_cache.remember(_VERSION_KEY, raw)
    return int(raw)


def version_in(values: Mapping[str, bytes | None]) -> int | None:
    """The catalog version among values read for a request (None: not started yet)."""
    raw = values.get(_VERSION_KEY)
    return int(raw) if raw is not None else None


def peek_fragment(app: Flask, version: int, key: str) -> str | None:
    """The fragment cached in this process for `key` at `version`, without rendering."""
    return peek(app, "catalog_fragments", _fragment_key(version, key))


def _fragment_key(version: int, key: str) -> str:
    return f"frag:{version}:{key}"


def bump_catalog_version() -> None:
    """Invalidate every cached listing: call after a commit that changed products or prices."""
    redis = jobs.redis_conn()
    _start_version(redis)
    redis.incr(_VERSION_KEY)
    request_cache.forget(_VERSION_KEY)


def cached_fragment(key: str, render: Callable[[], str]) -> str:
    """Return the cached HTML for `key` at the current catalog version, rendering on a miss."""
    full_key = _fragment_key(catalog_version(), key)
    # Entries of an old catalog version are never read again and age out.
    fragments = local_cache("catalog_fragments", 256)
    html = fragments.get(full_key)
    if html is not None:
        return html
    redis = jobs.redis_conn()
    raw = redis.get(full_key)
    if raw is not None:
        html = raw.decode()
    else:
        html = render()
        redis.set(full_key, html.encode(), ex=current_app.config["FRAGMENT_CACHE_SECONDS"])
    fragments.put(full_key, html)
    return html


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
