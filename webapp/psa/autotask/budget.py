"""Autotask's request budget, enforced across web and workers (Redis; PSA-NOTES 1.9).

An Autotask database allows 10,000 requests per rolling hour, shared by every tool the MSP
runs, and three concurrent requests per (tracking identifier, endpoint). We keep to half the
hour (5,000) and three concurrent requests per endpoint (the client names the endpoint of each
call: ``client.endpoint_of``; a child such as ``/Tickets/{id}/Charges`` is ``TicketCharges``),
so a slow quote push does not hold back ticket calls; from 80 % of our half we slow to a
trickle instead of running into the wall.
The database-wide count (every tool's) is read from ``ThresholdInformation`` at most every five
minutes; once it passes half, nothing is sent until it drops (the work waits, it is not lost).
"""

from __future__ import annotations

import json
import time

from webapp.integrations.ratelimit import ConnectionLimiter

HOURLY = 10_000  # per database, every integration together
OURS = HOURLY // 2
SLOW_FROM = int(OURS * 0.8)  # 4,000 of our 5,000: slow down before the half is reached
SLOW_PER_MINUTE = 20
THRESHOLD_EVERY = 300  # seconds between ThresholdInformation reads (it costs a request)


class AutotaskLimiter(ConnectionLimiter):
    """The core limiter, slowing to ``SLOW_PER_MINUTE`` once ``SLOW_FROM`` calls were made."""

    def _windows(self, batch: bool) -> list[tuple[str, int, int]]:
        windows = super()._windows(batch)
        used = self.redis.zcount(f"{self.prefix}:hour", self.clock() - 3600, "+inf")
        if used < SLOW_FROM:
            return windows
        return [
            (key, min(limit, SLOW_PER_MINUTE) if key.endswith(":minute") else limit, seconds)
            for key, limit, seconds in windows
        ]

    def used_this_hour(self) -> int:
        return int(self.redis.zcount(f"{self.prefix}:hour", self.clock() - 3600, "+inf"))

    # -- the database-wide count, as Autotask reports it -------------------------------------

    @property
    def _shared_key(self) -> str:
        return f"{self.prefix}:threshold"

    def shared(self) -> dict | None:
        """The last ThresholdInformation reading: {"used", "limit", "read_at"}, or None."""
        raw = self.redis.get(self._shared_key)
        return json.loads(raw) if raw else None

    def shared_due(self) -> bool:
        reading = self.shared()
        return reading is None or time.time() - reading["read_at"] >= THRESHOLD_EVERY

    def remember_shared(self, used: int, limit: int) -> None:
        reading = {"used": int(used), "limit": int(limit), "read_at": time.time()}
        self.redis.set(self._shared_key, json.dumps(reading), ex=3600)

    def shared_blocked(self) -> str:
        """Why nothing may be sent now ('' when the database's hour is below half)."""
        reading = self.shared()
        if reading is None or reading["used"] < reading["limit"] // 2:
            return ""
        return (
            f"Autotask's hourly budget is half spent ({reading['used']:,} of "
            f"{reading['limit']:,} requests by every tool): syncing waits until it drops."
        )
