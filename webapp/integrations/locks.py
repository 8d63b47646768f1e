"""Cross-process locks in Redis, shared by web processes, workers and the CLI."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from webapp.integrations.interfaces import IntegrationError

log = logging.getLogger(__name__)


class SyncBusy(Exception):
    """Another worker is syncing this connection; RQ retries this job later."""


@contextmanager
def sync_lock(connection_id: int) -> Iterator[None]:
    """Hold the connection's sync lock (raise SyncBusy when another process holds it)."""
    from flask import current_app

    from webapp.jobs import redis_conn

    # One sync per connection at a time: two workers (or a worker and `flask accounting
    # sync`) must not both send the same SENT delivery. The lock expires on its own if the
    # holder is killed.
    ttl = int(current_app.config.get("ACCOUNTING_LOCK_TTL", 600))
    lock = redis_conn().lock(f"integrations:sync:{connection_id}", timeout=ttl)
    if not lock.acquire(blocking=False):
        raise SyncBusy(f"connection {connection_id} is being synced by another worker")
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired meanwhile: nothing to release
            log.warning("sync lock of connection %s expired", connection_id)


@contextmanager
def redis_lock(name: str, timeout: float = 30.0) -> Iterator[None]:
    """Wait up to ``timeout`` seconds for the named lock, hold it, release it."""
    from webapp.jobs import redis_conn

    lock = redis_conn().lock(f"integrations:lock:{name}", timeout=timeout, blocking_timeout=timeout)
    if not lock.acquire():
        raise IntegrationError(f"Timed out waiting for {name}.")
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - the lock expired meanwhile: nothing to release
            log.warning("lock %s expired before release", name)
