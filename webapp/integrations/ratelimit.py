"""Per-connection rate limiter in Redis: calls per minute (and per hour, per day), batch calls
per minute, concurrent calls, and a pause set by a vendor's 429 Retry-After.

Every worker process shares the counters, so a month-end run on many workers stays under the
vendor's published per-tenant limits (API-NOTES 0: Xero 60/min, 5 concurrent; QuickBooks
500/min, 10 concurrent, 40 batch requests/min).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis import Redis

from webapp.integrations.interfaces import (
    RateLimit,
    RateLimited,
)

# KEYS: one sorted set per window, then the concurrency set, then the pause key.
# ARGV: now, member, lease, concurrent limit, then (limit, seconds) per window.
# Returns 0 when a slot is taken, else the seconds to wait (float as string).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local lease = tonumber(ARGV[3])
local climit = tonumber(ARGV[4])
local nwin = #KEYS - 2
local ckey = KEYS[nwin + 1]
local pkey = KEYS[nwin + 2]
local pause = redis.call('PTTL', pkey)
if pause and pause > 0 then return tostring(pause / 1000.0) end
local wait = 0
for i = 1, nwin do
  local limit = tonumber(ARGV[3 + 2 * i])
  local seconds = tonumber(ARGV[4 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - seconds)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + seconds - now
    if w > wait then wait = w end
  end
end
redis.call('ZREMRANGEBYSCORE', ckey, '-inf', now)
if redis.call('ZCARD', ckey) >= climit then
  local first = redis.call('ZRANGE', ckey, 0, 0, 'WITHSCORES')
  local w = math.min(0.05, tonumber(first[2]) - now)
  if w > wait then wait = w end
  if wait < 0.01 then wait = 0.01 end
end
if wait > 0 then return tostring(wait) end
for i = 1, nwin do
  local seconds = tonumber(ARGV[4 + 2 * i])
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('EXPIRE', KEYS[i], math.ceil(seconds) + 1)
end
redis.call('ZADD', ckey, now + lease, member)
redis.call('EXPIRE', ckey, math.ceil(lease) + 1)
return '0'
"""


class ConnectionLimiter:
    """The ``Gate`` of ``IntegrationHttp`` for one connection."""

    def __init__(
        self,
        redis: Redis,
        connection_key: str,
        limit: RateLimit,
        *,
        max_wait: float = 120.0,
        lease: float = 120.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.redis = redis
        self.prefix = f"integrations:ratelimit:{connection_key}"
        self.limit = limit
        self.max_wait = max_wait
        self.lease = lease  # a killed worker's slot frees itself after this long
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        self._script = redis.register_script(_ACQUIRE)

    def _windows(self, batch: bool) -> list[tuple[str, int, int]]:
        # A second more than the vendor's minute: we count a call when it leaves, the vendor
        # when it arrives, so a window of exactly 60 s lets the 41st batch in a hair early.
        windows = [(f"{self.prefix}:minute", self.limit.per_minute, 61)]
        if self.limit.per_hour:
            windows.append((f"{self.prefix}:hour", self.limit.per_hour, 3600))
        if self.limit.per_day:
            windows.append((f"{self.prefix}:day", self.limit.per_day, 86400))
        if batch and self.limit.batch_per_minute:
            windows.append((f"{self.prefix}:batch", self.limit.batch_per_minute, 61))
        return windows

    def _concurrent_key(self, endpoint: str) -> str:
        """The concurrency set: one per connection, or one per endpoint when the vendor counts
        its concurrent requests per endpoint (Autotask, PSA-NOTES 1.9)."""
        return f"{self.prefix}:concurrent" + (f":{endpoint.lower()}" if endpoint else "")

    def try_acquire(self, batch: bool = False, endpoint: str = "") -> tuple[str | None, float]:
        """Take a slot now if one is free: return ``(member, 0)`` or ``(None, wait)``."""
        windows = self._windows(batch)
        member = uuid.uuid4().hex
        keys = [w[0] for w in windows] + [
            self._concurrent_key(endpoint),
            f"{self.prefix}:pause",
        ]
        args: list = [self.clock(), member, self.lease, self.limit.concurrent]
        for _key, limit, seconds in windows:
            args += [limit, seconds]
        wait = float(self._script(keys=keys, args=args))
        return (member, 0.0) if wait <= 0 else (None, wait)

    def budget(self) -> dict[str, int]:
        """Calls left in each window now (for the Integrations page; reads, never takes)."""
        now = self.clock()
        left = {}
        for key, limit, seconds in self._windows(batch=True):
            used = self.redis.zcount(key, now - seconds, "+inf")
            left[key.rsplit(":", 1)[1]] = max(0, limit - int(used))
        return left

    def release(self, member: str, endpoint: str = "") -> None:
        self.redis.zrem(self._concurrent_key(endpoint), member)

    @contextmanager
    def slot(self, batch: bool = False, endpoint: str = "") -> Iterator[None]:
        """Wait for a slot (at most ``max_wait`` seconds in all), hold it for one call.

        ``endpoint``: count the concurrent calls of that endpoint apart (the per-minute and
        hourly windows stay the connection's)."""
        started = self.clock()
        while True:
            member, wait = self.try_acquire(batch, endpoint)
            if member is not None:
                break
            spent = self.clock() - started
            if spent + wait > self.max_wait:
                raise RateLimited(
                    "Our rate limiter for this connection is full; the work waits.",
                    retry_after=wait,
                )
            self.waited += wait
            self.sleep(wait)
        try:
            yield
        finally:
            self.release(member, endpoint)

    def pause(self, seconds: float) -> None:
        """Hold every caller of this connection back for ``seconds`` (vendor Retry-After)."""
        if seconds > 0:
            self.redis.set(f"{self.prefix}:pause", "1", px=max(1, int(seconds * 1000)))

    def reset(self) -> None:
        """Forget every counter (tests, disconnect)."""
        for suffix in ("minute", "day", "batch", "concurrent", "pause"):
            self.redis.delete(f"{self.prefix}:{suffix}")
