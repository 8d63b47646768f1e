"""Rendered-fragment cache keyed on a catalog version that every catalog change bumps."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from webapp import jobs

_VERSION_KEY = "catalog:version"


def catalog_version() -> int:
    return int(jobs.redis_conn().get(_VERSION_KEY) or 0)


def bump_catalog_version() -> None:
    """Invalidate every cached listing: call after a commit that changed products or prices."""
    jobs.redis_conn().incr(_VERSION_KEY)


def cached_fragment(key: str, render: Callable[[], str]) -> str:
    """Return the cached HTML for `key` at the current catalog version, rendering on a miss."""
    redis = jobs.redis_conn()
    full_key = f"frag:{catalog_version()}:{key}"
    html = redis.get(full_key)
    if html is not None:
        return html.decode()
    html = render()
    redis.set(full_key, html.encode(), ex=current_app.config["FRAGMENT_CACHE_SECONDS"])
    return html
