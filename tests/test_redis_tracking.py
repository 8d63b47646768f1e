"""The per-process copy of hot Redis keys, against a real Redis: kept until Redis reports a
change, and never trusted while the link that carries those reports is down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from redis import ConnectionPool, Redis
from sqlalchemy import text

from tests.factories import login
from webapp import redis_tracking
from webapp.extensions import db
from webapp.jobs import redis_conn

PREFIX = "trk-test:"


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.02)


def _mget_calls(redis: Redis) -> int:
    return int(redis.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))


@pytest.fixture
def redis(app) -> Redis:
    return redis_conn()


@pytest.fixture
def tracked(redis) -> Iterator[redis_tracking.TrackedValues]:
    tracked = redis_tracking.TrackedValues(redis, [PREFIX])
    _eventually(lambda: tracked.ready)
    yield tracked
    tracked.stop()


@pytest.fixture
def other(redis) -> Redis:
    """Another client, as another process would be."""
    pool = redis.connection_pool
    return Redis(
        connection_pool=ConnectionPool(
            connection_class=pool.connection_class, **pool.connection_kwargs
        )
    )


def test_a_key_is_read_from_redis_once_then_from_the_process(tracked, redis, other):
    other.set(f"{PREFIX}a", "1")
    keys = [f"{PREFIX}a", f"{PREFIX}missing"]

    def served_locally() -> bool:
        # The notice of the SET may arrive after the first read and drop what it kept.
        assert tracked.mget(keys) == [b"1", None]
        calls = _mget_calls(redis)
        assert tracked.mget(keys) == [b"1", None]
        return _mget_calls(redis) == calls  # INFO itself is no MGET

    _eventually(served_locally)
    calls = _mget_calls(redis)
    for _ in range(10):
        assert tracked.mget(keys) == [b"1", None]
    assert _mget_calls(redis) == calls


def test_a_change_by_another_client_reaches_the_process(tracked, other):
    other.set(f"{PREFIX}a", "1")
    other.set(f"{PREFIX}b", "1")
    tracked.mget([f"{PREFIX}a", f"{PREFIX}b"])
    other.incr(f"{PREFIX}a")
    _eventually(lambda: tracked.mget([f"{PREFIX}a"]) == [b"2"])
    other.delete(f"{PREFIX}b")
    _eventually(lambda: tracked.mget([f"{PREFIX}b"]) == [None])
    # A key that did not exist when read is reported when it is created.
    other.set(f"{PREFIX}b", "back")
    _eventually(lambda: tracked.mget([f"{PREFIX}b"]) == [b"back"])


def test_an_expired_key_is_dropped(tracked, other):
    other.set(f"{PREFIX}a", "soon gone", px=150)
    assert tracked.mget([f"{PREFIX}a"]) == [b"soon gone"]
    _eventually(lambda: tracked.mget([f"{PREFIX}a"]) == [None])


def test_a_flush_drops_everything(tracked, other):
    other.set(f"{PREFIX}a", "1")
    tracked.mget([f"{PREFIX}a"])
    other.flushdb()
    _eventually(lambda: tracked.mget([f"{PREFIX}a"]) == [None])


def test_keys_outside_the_prefixes_are_always_read_from_redis(tracked, redis, other):
    other.set("untracked:a", "1")
    tracked.mget(["untracked:a"])
    calls = _mget_calls(redis)
    other.set("untracked:a", "2")
    assert tracked.mget(["untracked:a"]) == [b"2"]
    assert _mget_calls(redis) == calls + 1


def test_own_writes_are_dropped_at_once(tracked, other):
    other.set(f"{PREFIX}a", "1")
    tracked.mget([f"{PREFIX}a"])
    other.set(f"{PREFIX}a", "2")
    tracked.drop([f"{PREFIX}a"])  # what a writer in this process does
    assert tracked.mget([f"{PREFIX}a"]) == [b"2"]


def test_a_lost_listener_empties_the_store_until_it_is_back(tracked, redis, other):
    other.set(f"{PREFIX}a", "1")
    tracked.mget([f"{PREFIX}a"])
    redis.client_kill_filter(_type="pubsub")
    other.set(f"{PREFIX}a", "2")  # its notice has nowhere to go
    _eventually(lambda: tracked.mget([f"{PREFIX}a"]) == [b"2"])
    _eventually(lambda: tracked.ready)
    other.set(f"{PREFIX}a", "3")
    _eventually(lambda: tracked.mget([f"{PREFIX}a"]) == [b"3"])


def test_a_lost_tracking_connection_is_noticed(tracked, redis, other):
    other.set(f"{PREFIX}a", "1")
    tracked.mget([f"{PREFIX}a"])
    tracking = [c for c in redis.client_list() if "t" in c["flags"]]
    assert tracking, "a connection with CLIENT TRACKING on"
    for client in tracking:
        redis.client_kill_filter(_id=client["id"])
    other.set(f"{PREFIX}a", "2")  # no notice is sent: tracking ended with the connection
    _eventually(lambda: tracked.mget([f"{PREFIX}a"]) == [b"2"])  # within the heartbeat
    _eventually(lambda: tracked.ready)


def test_an_account_deactivated_by_another_process_is_signed_out(client, store, other):
    login(client, store.customer)
    assert client.get("/").status_code == 200  # signed in; the copy is warm
    # Another process: a raw UPDATE (no events here) and its epoch bump, on its own connection.
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET active = :no WHERE id = :id"),
            {"no": False, "id": store.customer.id},
        )
    other.incr("identity:epoch")
    _eventually(lambda: client.get("/").status_code == 302)
    assert "/login" in client.get("/").headers["Location"]
