"""Autotask's limits and lost answers, against the sandbox: the thread-limit error with a
non-429 status and the hourly 429 wait and retry (nothing fails, nothing twice); the shared
hour half spent stops sending; our limiter slows down before half; a create whose answer was
lost after Autotask committed it is found, not repeated; the remaining budget on the page."""

from __future__ import annotations

import contextlib

import pytest
from redis import Redis

from tests.conftest import free_port
from tests.factories import login
from tests.psa.test_autotask_tickets import order
from tests.quotes.conftest import build_quote
from webapp.extensions import db
from webapp.integrations.interfaces import RateLimited, TransientError
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.integrations.outbox import run_sync
from webapp.psa import operations, sync
from webapp.psa.autotask import budget


def open_deliveries():
    return db.session.scalars(
        db.select(Delivery).where(Delivery.status != DeliveryStatus.CONFIRMED)
    ).all()


def due_now(connection=None):
    """As when the backoff (and Autotask's Retry-After pause) has ended."""
    for delivery in open_deliveries():
        delivery.next_attempt_at = None
    db.session.commit()
    if connection is not None:
        gate = operations.limiter(connection)
        gate.redis.delete(f"{gate.prefix}:pause")


def sync_again(connection, times=3):
    for _ in range(times):
        due_now(connection)
        with contextlib.suppress(TransientError):  # recorded; the next round retries it
            run_sync(connection)


def test_the_thread_limit_error_with_a_500_waits_and_retries_without_failing(
    app, store, quoting, run_jobs
):
    assert quoting.thread_limit_status == 500  # Itgenatr005 arrives as a 500 (PN 1.9)
    quoting.thread_limit = 0  # another tool holds every thread of the endpoint
    build_quote(store)
    run_jobs(allow_failures=True)  # the sync job raises the transient fault so RQ retries it
    waiting = open_deliveries()
    assert waiting and all(d.status != DeliveryStatus.FAILED for d in waiting)
    assert any("concurrent" in d.last_error for d in waiting)
    assert db.session.scalar(db.select(Notification)) is None
    quoting.thread_limit = 3
    sync_again(quoting.connection, times=1)
    run_jobs()
    assert open_deliveries() == []
    assert len(quoting.records("Opportunities")) == len(quoting.records("Quotes")) == 1


def test_the_hourly_429_waits_for_retry_after_and_sends_once(app, store, quoting, run_jobs):
    quoting.faults.throttle_next(1, retry_after=600, path="/V1.0/Opportunities")
    build_quote(store)
    run_jobs(allow_failures=True)  # the 429 is raised so RQ retries the job
    [opportunity] = [d for d in open_deliveries() if d.kind == sync.OPPORTUNITY]
    assert opportunity.status == DeliveryStatus.PENDING
    assert (opportunity.next_attempt_at - opportunity.updated_at).total_seconds() >= 590
    sync_again(quoting.connection)
    run_jobs()
    assert open_deliveries() == []
    assert len(quoting.records("Opportunities")) == 1


def test_a_shared_hour_half_spent_stops_sending_until_it_drops(app, store, quoting, run_jobs):
    # Every tool of the MSP together: the database's hour is past half.
    quoting.hour_window.limit = quoting.used_this_hour() * 2 - 2
    build_quote(store)
    run_jobs()
    assert quoting.records("Opportunities") == []
    assert {d.status for d in open_deliveries()} <= {DeliveryStatus.PENDING, DeliveryStatus.WAITING}
    page = operations.budget(quoting.connection)
    assert "half spent" in page["blocked"]
    quoting.hour_window.limit = 10_000
    operations.limiter(quoting.connection).remember_shared(100, 10_000)
    run_sync(quoting.connection)
    run_jobs()
    assert len(quoting.records("Opportunities")) == 1


def test_our_limiter_slows_down_before_half_the_hour(app, store, quoting):
    gate = operations.limiter(quoting.connection)
    key = f"{gate.prefix}:hour"
    now = gate.clock()
    before = gate.used_this_hour()
    minute = dict((k.rsplit(":", 1)[1], limit) for k, limit, _ in gate._windows(False))
    assert minute == {"minute": 300, "hour": budget.OURS}
    gate.redis.zadd(key, {f"m{i}": now - 10 for i in range(budget.SLOW_FROM)})
    slowed = dict((k.rsplit(":", 1)[1], limit) for k, limit, _ in gate._windows(False))
    assert slowed == {"minute": budget.SLOW_PER_MINUTE, "hour": budget.OURS}
    left = operations.budget(quoting.connection)["ours_left"]
    assert left == budget.OURS - budget.SLOW_FROM - before


def test_creates_whose_answer_was_lost_after_autotask_committed_are_not_repeated(
    app, store, client, ticketing, run_jobs
):
    ticketing.faults.drop_next(1, mode="reset", path="/V1.0/Opportunities")
    ticketing.faults.drop_next(1, mode="reset", path="/V1.0/Quotes")
    quote = build_quote(store)
    run_jobs(allow_failures=True)  # a lost answer is a transient fault: RQ retries
    sync_again(ticketing.connection)
    ticketing.faults.drop_next(1, mode="reset", path="/V1.0/Tickets")
    order(client, store)
    run_jobs(allow_failures=True)
    sync_again(ticketing.connection)
    assert open_deliveries() == []
    assert len(ticketing.records("Opportunities")) == 1
    [at_quote] = ticketing.records("Quotes")
    assert at_quote["ExternalQuoteNumber"] == quote.number
    assert len(ticketing.records("Tickets")) == 1
    assert len(ticketing.records("TicketCharges")) == 3


def test_the_psa_page_shows_the_remaining_budget(app, store, client, quoting, run_jobs):
    build_quote(store)
    run_jobs()
    login(client, store.admin)
    page = client.get("/admin/psa/").get_data(as_text=True)
    left = operations.budget(quoting.connection)["ours_left"]
    assert f"{left:,} of {budget.OURS:,}" in page
    assert "requests used this hour by every tool" in page


def test_the_psa_page_shows_the_core_limiters_calls_left_this_hour_and_minute(
    app, store, client, quoting, run_jobs
):
    build_quote(store)
    run_jobs()
    gate = operations.limiter(quoting.connection)
    left = gate.budget()  # the core's count, which web and workers share
    assert 0 < left["minute"] < 300 and left["hour"] == budget.OURS - gate.used_this_hour()
    login(client, store.admin)
    page = client.get("/admin/psa/").get_data(as_text=True)
    assert f"<strong>{left['hour']:,} of {budget.OURS:,}</strong>" in page
    assert f"<strong>{left['minute']:,}</strong> this minute" in page and "slowed" not in page
    now = gate.clock()
    gate.redis.zadd(f"{gate.prefix}:hour", {f"m{i}": now - 10 for i in range(budget.SLOW_FROM)})
    page = client.get("/admin/psa/").get_data(as_text=True)
    assert "this minute (slowed down)" in page


def test_the_psa_page_says_the_budget_is_unavailable_when_redis_is_down(
    app, store, client, quoting
):
    login(client, store.admin)
    alive = app.extensions["redis"]
    app.extensions["redis"] = Redis(port=free_port(), socket_connect_timeout=1)  # refused
    try:
        response = client.get("/admin/psa/")
    finally:
        app.extensions["redis"] = alive
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Request budget unavailable right now" in page
    assert "this minute" not in page


def test_the_endpoint_of_each_call_is_the_entity_autotask_counts_it_against():
    from webapp.psa.autotask.client import endpoint_of

    base = "https://webservices5.autotask.net/atservicesrest/V1.0"
    assert endpoint_of(f"{base}/Tickets/query") == "Tickets"
    assert endpoint_of(f"{base}/Tickets/query/next?paging=abc") == "Tickets"
    assert endpoint_of(f"{base}/Tickets/812/Charges") == "TicketCharges"
    assert endpoint_of(f"{base}/Quotes/4/Items/9") == "QuoteItems"
    assert endpoint_of(f"{base}/Opportunities/entityInformation/fields") == "Opportunities"
    assert endpoint_of(f"{base}/ThresholdInformation") == "ThresholdInformation"


def test_three_calls_in_flight_on_one_endpoint_hold_back_that_endpoint_only(app, quoting):
    # Autotask counts concurrent requests per (tracking identifier, endpoint) (PN 1.9): three
    # quote-item calls in flight (another worker) must not stop a ticket query.
    app.config["ACCOUNTING_LIMITER_MAX_WAIT"] = 0  # refuse at once instead of waiting
    gate = operations.limiter(quoting.connection)
    held = [gate.try_acquire(endpoint="QuoteItems")[0] for _ in range(3)]
    assert all(held)
    member, wait = gate.try_acquire(endpoint="QuoteItems")
    assert member is None and wait > 0
    client = operations.client_for(quoting.connection)
    assert client.query("Tickets", [{"op": "gt", "field": "id", "value": 0}]) == []
    with pytest.raises(RateLimited, match="limiter"):
        client.query("QuoteItems", [{"op": "gt", "field": "id", "value": 0}])
    assert quoting.records("QuoteItems") == []
    for member in held:
        gate.release(member, "QuoteItems")
    assert client.query("QuoteItems", [{"op": "gt", "field": "id", "value": 0}]) == []
