"""Periodic jobs, enqueued by the `clock` process (RQ's CronScheduler): one list, one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    func: str  # dotted path of a job function in workers/
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab expression (UTC)
    queue: str = "default"


SCHEDULE: list[Periodic] = [
    # Each domain adds its periodic jobs here, e.g.
    # Periodic("workers.quotes.expire_quotes", cron="*/15 * * * *"),
]
