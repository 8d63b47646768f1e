"""Keep this node's search index current from the database, so every node finds the same.

The search index is a tantivy directory on each node's disk (`catalog.search`): answering
from it takes a few milliseconds at a million products, where a ranked PostgreSQL full-text
or SQLite FTS5 query took 40-140 ms. What is shared is the database: every catalog change
writes a `SearchIndexChange` row in its own transaction (`operations.catalog_changed`), and
each node applies the rows its index has not taken in yet — the worker after each change
(its reindex job), a web node from its requests (`keep_current`, at most once a second, in a
background thread). A node without an index, or one that has been away longer than the rows
are kept, rebuilds its index from the catalog.

Row ids come from a sequence, and a transaction that took an id may commit after one that
took a later id: ids below the highest applied one are therefore looked at again until they
are older than `_COMMIT_GRACE`. What the node has applied is kept in a small JSON file beside
the index; processes of one node share it under a file lock.
"""

from __future__ import annotations

import fcntl
import json
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, select

from webapp.catalog import search
from webapp.catalog.cache import bump_catalog_version
from webapp.catalog.models import SearchIndexChange
from webapp.catalog.operations import reindex
from webapp.extensions import db
from webapp.models_base import utcnow

# A transaction commits within this long of writing its change row (an import writes it at
# the end of its run, just before committing).
_COMMIT_GRACE = timedelta(minutes=10)
# Rows older than this are deleted; a node whose last sync is older rebuilds its index.
_KEEP = timedelta(days=2)
_CHECK_EVERY_SECONDS = 1.0
# Per index directory (one process may serve several apps, as the tests do): when this
# process last looked at the log, and the highest change id it has seen applied.
_checked: dict[str, dict] = {}
_thread_lock = threading.Lock()


def _paths() -> tuple[Path, Path]:
    base = search.index_dir()
    return Path(f"{base}.sync.json"), Path(f"{base}.sync.lock")


def _load_state() -> dict | None:
    state_file, _ = _paths()
    try:
        state = json.loads(state_file.read_text())
    except (FileNotFoundError, ValueError):
        return None
    synced = time.time() - state.get("synced_at", 0)
    if synced > _KEEP.total_seconds():
        return None  # rows it has not seen may have been deleted since
    return state


def _save_state(state: dict) -> None:
    state_file, _ = _paths()
    state_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(state))
    temporary.replace(state_file)


@contextmanager
def _node_lock(*, wait: bool):
    """One sync at a time on this node (across its processes); yields False when busy."""
    _, lock_file = _paths()
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sync(*, wait: bool = True) -> int | None:
    """Apply the catalog changes this node's index has not taken in; return the products
    written (None when another process of the node is already syncing and `wait` is False)."""
    with _node_lock(wait=wait) as locked:
        if not locked:
            return None
        return _sync()


def _sync(progress=None) -> int:
    state = _load_state()
    watermark = state["watermark"] if state else 0
    seen = set(state["seen"]) if state else set()
    rows = db.session.execute(
        select(SearchIndexChange.id, SearchIndexChange.product_ids, SearchIndexChange.created_at)
        .where(SearchIndexChange.id > watermark)
        .order_by(SearchIndexChange.id)
    ).all()
    new = [row for row in rows if row.id not in seen]
    written = 0
    if state is None or new:
        if state is None or any(row.product_ids is None for row in new):
            product_ids = None  # a new node, or a change to everything: the whole catalog
        else:
            product_ids = sorted({i for row in new for i in row.product_ids})
        written = reindex(product_ids, progress=progress)
        # Cached search pages of this version may have come from the index before the change.
        bump_catalog_version()
    settled = utcnow() - _COMMIT_GRACE
    watermark = max([watermark, *(row.id for row in rows if row.created_at < settled)])
    _save_state(
        {
            "watermark": watermark,
            "seen": sorted(row.id for row in rows if row.id > watermark),
            "synced_at": time.time(),
        }
    )
    checked = _checked_for_node()
    checked["latest"] = max([checked["latest"], *(row.id for row in rows)])
    return written


def rebuild(progress=None) -> int:
    """Rebuild this node's index from the catalog (`flask catalog reindex`)."""
    with _node_lock(wait=True):
        _paths()[0].unlink(missing_ok=True)
        return _sync(progress)


def _checked_for_node() -> dict:
    return _checked.setdefault(search.index_dir(), {"at": 0.0, "latest": -1})


def prune() -> int:
    """Delete change rows older than every node keeps track of; the caller commits."""
    result = db.session.execute(
        delete(SearchIndexChange).where(SearchIndexChange.created_at < utcnow() - _KEEP)
    )
    return result.rowcount


def keep_current() -> None:
    """From a web request: at most once a second, look for catalog changes this node has not
    applied, and apply them — in a background thread unless `SEARCH_SYNC_IN_BACKGROUND` is
    off (tests), so no request waits for a reindex."""
    checked = _checked_for_node()
    now = time.monotonic()
    if now - checked["at"] < _CHECK_EVERY_SECONDS:
        return
    checked["at"] = now
    latest = db.session.scalar(select(func.max(SearchIndexChange.id))) or 0
    state_file, _ = _paths()
    if latest <= checked["latest"] and state_file.exists():
        return
    if not current_app.config["SEARCH_SYNC_IN_BACKGROUND"]:
        sync()
        return
    app = current_app._get_current_object()
    if not _thread_lock.acquire(blocking=False):
        return  # this process is already syncing

    def run() -> None:
        try:
            with app.app_context():
                sync(wait=False)
        except Exception:
            app.logger.exception("search index sync failed; the next request tries again")
        finally:
            _thread_lock.release()

    threading.Thread(target=run, name="search-index-sync", daemon=True).start()
