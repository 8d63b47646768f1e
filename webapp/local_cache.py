"""Small per-process caches: an LRU mapping per app, for values that are costly to rebuild
and cheap to hold (rendered fragments, price books, signed tokens)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import Flask, current_app


class RecentlyUsed:
    """A small thread-safe LRU mapping, one per process."""

    def __init__(self, size: int):
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def local_cache(name: str, size: int) -> RecentlyUsed:
    """This process's LRU called `name` for the current app (tests build many apps)."""
    cache = current_app.extensions.get(name)
    if cache is None:
        cache = current_app.extensions.setdefault(name, RecentlyUsed(size))
    return cache


def peek(app: Flask, name: str, key: Hashable):
    """The value under `key` in `app`'s LRU called `name`, if it has one (no app context)."""
    cache = app.extensions.get(name)
    return cache.get(key) if cache is not None else None
