"""Redis values kept in this process and dropped the moment Redis reports them changed.

This is Redis's server-assisted client-side caching in broadcast mode
(https://redis.io/docs/latest/develop/reference/client-side-caching/): a listener connection
subscribes to `__redis__:invalidate`, a second connection turns on `CLIENT TRACKING ... BCAST`
for a few key prefixes, redirected to the listener, and from then on Redis sends the names of
keys under those prefixes whenever anyone changes them (or they expire, or the database is
flushed). The hot keys every signed-in page reads (the identity epoch and snapshot, the catalog
version, the cart count) then cost a dictionary look-up instead of a network round trip.

redis-py has this built in only against Redis 7.4 and later; the server supports it from 6.0,
which is what the embedded Redis and the Debian one are.

Correctness rules:
- nothing is kept until tracking is confirmed on, and everything is dropped the moment the
  listener or the tracking connection fails; until they are back, reads go to Redis;
- a read that overlaps an invalidation is not kept (a generation counter), so a value read
  before a change can never outlive the change's notice;
- this process's own writes drop the key at once (`drop`), so a request reads its own writes
  without waiting for the notice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_CHANNEL = "__redis__:invalidate"
_MISSING = object()
_MAX_KEYS = 50_000  # beyond this the store starts over (one per user and a few shared)
_HEARTBEAT_SECONDS = 1.0
_RETRY_SECONDS = (0.1, 0.5, 1, 2, 5)


class TrackedValues:
    """Values of the keys under `prefixes`, read through this process's store."""

    def __init__(self, redis: Redis, prefixes: Sequence[str]):
        self._redis = redis
        self._prefixes = tuple(prefixes)
        self._values: dict[str, bytes | None] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._ready = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-tracking", daemon=True)
        self._thread.start()

    @property
    def ready(self) -> bool:
        return self._ready

    def tracks(self, key: str) -> bool:
        return key.startswith(self._prefixes)

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of `keys`, from this process where it holds them, else from Redis."""
        with self._lock:
            ready, generation = self._ready, self._generation
            found = [self._values.get(key, _MISSING) if ready else _MISSING for key in keys]
        missing = [key for key, value in zip(keys, found, strict=True) if value is _MISSING]
        if not missing:
            return found
        fetched = dict(zip(missing, self._redis.mget(missing), strict=True))
        with self._lock:
            if self._ready and self._generation == generation:
                if len(self._values) + len(fetched) > _MAX_KEYS:
                    self._values.clear()
                self._values.update((k, v) for k, v in fetched.items() if self.tracks(k))
        pairs = zip(keys, found, strict=True)
        return [fetched[key] if value is _MISSING else value for key, value in pairs]

    def drop(self, keys: Iterable[str]) -> None:
        """Forget keys this process has just written (their notice may come a moment later)."""
        with self._lock:
            self._generation += 1
            for key in keys:
                self._values.pop(key, None)

    def drop_all(self) -> None:
        """Forget every key (after this process flushed the database)."""
        with self._lock:
            self._generation += 1
            self._values.clear()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    # -- the listener ------------------------------------------------------------------------

    def _reset(self) -> None:
        with self._lock:
            self._ready = False
            self._generation += 1
            self._values.clear()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            listener = tracker = None
            try:
                listener, tracker = self._connect()
                failures = 0
                self._listen(listener, tracker)
            except (RedisError, OSError) as error:
                delay = _RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)]
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    log.warning("Redis tracking interrupted (%s); reading from Redis", error)
                self._stopping.wait(delay)
            finally:
                self._reset()
                for connection in (listener, tracker):
                    if connection is not None:
                        connection.disconnect()

    def _connect(self):
        pool = self._redis.connection_pool
        # RESP2 on both: the listener then receives plain pub/sub messages.
        kwargs = {**pool.connection_kwargs, "protocol": 2}
        listener = pool.connection_class(**kwargs)
        tracker = pool.connection_class(**kwargs)
        listener.send_command("CLIENT", "ID")
        client_id = listener.read_response()
        listener.send_command("SUBSCRIBE", _CHANNEL)
        listener.read_response()
        prefixes = [part for prefix in self._prefixes for part in ("PREFIX", prefix)]
        tracker.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", *prefixes)
        if tracker.read_response() not in (b"OK", "OK"):
            raise RedisError("CLIENT TRACKING was refused")
        with self._lock:
            self._generation += 1
            self._values.clear()
            self._ready = True
        return listener, tracker

    def _listen(self, listener, tracker) -> None:
        next_beat = time.monotonic() + _HEARTBEAT_SECONDS
        while not self._stopping.is_set():
            if listener.can_read(timeout=_HEARTBEAT_SECONDS):
                message = listener.read_response()
                if isinstance(message, list) and len(message) == 3 and message[0] == b"message":
                    self._invalidate(message[2])
            if time.monotonic() >= next_beat:
                # The tracking lives as long as the tracker's connection: if that one went,
                # notices stop without the listener hearing of it.
                tracker.send_command("PING")
                tracker.read_response()
                next_beat = time.monotonic() + _HEARTBEAT_SECONDS

    def _invalidate(self, keys: list[bytes] | None) -> None:
        with self._lock:
            self._generation += 1
            if keys is None:  # FLUSHDB / FLUSHALL
                self._values.clear()
                return
            for key in keys:
                self._values.pop(key.decode(), None)


_stores: dict[tuple[int, str], TrackedValues] = {}


def existing_store(url: str) -> TrackedValues | None:
    """This process's store for `url` if it has started one (writers need not start one)."""
    return _stores.get((os.getpid(), url))


_stores_lock = threading.Lock()


def store_for(redis: Redis, url: str, prefixes: Sequence[str]) -> TrackedValues:
    """This process's store for the Redis at `url` (one listener per process and server)."""
    key = (os.getpid(), url)
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = TrackedValues(redis, prefixes)
    return store
