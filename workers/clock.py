"""Enqueue the periodic jobs in `workers.schedule` on time: `python -m workers.clock`."""

from __future__ import annotations

import logging
from importlib import import_module

from rq.cron import CronScheduler

from webapp.jobs import queue_name, redis_conn
from workers.app import get_app
from workers.schedule import SCHEDULE


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def build_scheduler() -> CronScheduler:
    """Return a CronScheduler with every periodic job registered on this app's queues."""
    app = get_app()
    with app.app_context():
        scheduler = CronScheduler(connection=redis_conn(), name="")
        for job in SCHEDULE:
            scheduler.register(
                _resolve(job.func),
                queue_name(job.queue),
                interval=job.interval,
                cron=job.cron,
                name=job.func,
            )
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    build_scheduler().start()


if __name__ == "__main__":
    main()
