"""A ConnectWise callback is a hint, acted on: a ticket drops the checkout's cached open tickets,
an opportunity won or lost there moves our sent quote, a purchase order whose receipts differ
from ours opens a notice (closed when back in step). Against the sandbox."""

from __future__ import annotations

import pytest

from tests.api.conftest import issue_order
from tests.psa.conftest import configure, rows
from tests.psa.test_connectwise_callbacks import deliver_to
from tests.psa.test_connectwise_procurement import accepted_order, purchase_orders_of, receive
from tests.quotes.conftest import build_quote, send
from webapp.extensions import db
from webapp.integrations.models import Notification, NotificationStatus
from webapp.psa import tickets
from webapp.psa.connectwise import callbacks, operations
from webapp.quotes.models import Quote, QuoteStatus


@pytest.fixture
def registered(cw):
    callbacks.ensure_callbacks(cw.connection)
    db.session.commit()
    return cw


def ticket_ids(store) -> list[str]:
    return [choice.remote_id for choice in tickets.open_tickets(store.org)]


def test_a_ticket_callback_drops_the_cached_open_tickets_at_once(
    app,
    store,
    client,
    registered,
    run_jobs,
):
    cw = registered
    configure(cw.connection, operations.OUR_INVOICING, opportunities=False)
    issue_order(store, store.org, store.customer, "c1")
    db.session.commit()
    run_jobs()
    [ticket] = rows(cw, "service/tickets")
    assert ticket_ids(store) == [str(ticket["id"])]  # now cached
    cw.change("service/tickets", ticket["id"], closedFlag=True)
    assert ticket_ids(store) == [str(ticket["id"])]  # the cache does not know yet
    [sent] = cw.fire("ticket", ticket["id"], deliver=deliver_to(client))
    assert sent.status == 204
    assert ticket_ids(store) == []  # before the job even ran
    run_jobs()
    assert ticket_ids(store) == []


def test_a_ticket_we_create_is_offered_at_checkout_without_waiting_for_the_cache(
    app, store, cw, run_jobs
):
    configure(cw.connection, operations.OUR_INVOICING, opportunities=False)
    assert ticket_ids(store) == []  # cached: none
    issue_order(store, store.org, store.customer, "c1")
    db.session.commit()
    run_jobs()
    [ticket] = rows(cw, "service/tickets")
    assert ticket_ids(store) == [str(ticket["id"])]


def sent_quote(store, run_jobs) -> Quote:
    quote = build_quote(store)
    send(quote)
    run_jobs()
    return quote


def test_an_opportunity_won_in_connectwise_wins_the_sent_quote(
    app,
    store,
    client,
    registered,
    run_jobs,
):
    cw = registered
    quote = sent_quote(store, run_jobs)
    [opportunity] = rows(cw, "sales/opportunities")
    cw.change("sales/opportunities", opportunity["id"], status={"id": 2, "name": "Won"})
    cw.fire("opportunity", opportunity["id"], deliver=deliver_to(client))
    run_jobs()
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    assert quote.status == QuoteStatus.WON and quote.decided_at is not None
    assert any("won in ConnectWise" in e.message for e in quote.events)
    # Our result echo keeps it won there; nothing else is created.
    assert rows(cw, "sales/opportunities")[0]["status"]["id"] == 2
    assert len(rows(cw, "sales/opportunities")) == 1


def test_the_poll_finds_an_opportunity_lost_in_connectwise(app, store, cw, run_jobs):
    quote = sent_quote(store, run_jobs)
    [opportunity] = rows(cw, "sales/opportunities")
    cw.change("sales/opportunities", opportunity["id"], status={"id": 3, "name": "Lost"})
    callbacks.reconcile(cw.connection)
    db.session.commit()
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    assert quote.status == QuoteStatus.LOST
    assert "lost in ConnectWise" in quote.lost_reason


def test_an_open_opportunity_changing_leaves_the_quote_sent(app, store, client, cw, run_jobs):
    quote = sent_quote(store, run_jobs)
    [opportunity] = rows(cw, "sales/opportunities")
    cw.change("sales/opportunities", opportunity["id"], name="Renamed in ConnectWise")
    callbacks.reconcile(cw.connection)
    db.session.commit()
    assert db.session.get(Quote, quote.id).status == QuoteStatus.SENT


def test_a_deleted_opportunity_of_a_sent_quote_is_a_notice(
    app,
    store,
    client,
    registered,
    run_jobs,
):
    cw = registered
    quote = sent_quote(store, run_jobs)
    [opportunity] = rows(cw, "sales/opportunities")
    del cw.table("sales/opportunities")[opportunity["id"]]
    cw.fire("opportunity", opportunity["id"], action="deleted", deliver=deliver_to(client))
    run_jobs()
    [note] = db.session.scalars(
        db.select(Notification).filter_by(cause=f"cw_opportunity_gone:{quote.id}")
    ).all()
    assert quote.number in note.title and note.field == "Opportunity"


def test_a_po_unreceived_in_connectwise_is_a_notice_until_back_in_step(
    app,
    store,
    client,
    registered,
    run_jobs,
):
    cw = registered
    configure(cw.connection, procurement=True)
    document = accepted_order(store, client, run_jobs)
    run_jobs()
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    run_jobs()
    [remote] = [p for p in rows(cw, "procurement/purchaseorders") if p["poNumber"] == po.number]
    line = next(
        i for i in rows(cw, "procurement/purchaseorders/lineitems")
        if i["purchaseOrderId"] == remote["id"]
    )  # fmt: skip
    received = line["receivedQuantity"]
    cw.change("procurement/purchaseorders/lineitems", line["id"], receivedStatus="Waiting",
              receivedQuantity=0)  # fmt: skip
    cw.change("procurement/purchaseorders", remote["id"])
    cw.fire("purchaseorder", remote["id"], deliver=deliver_to(client))
    run_jobs()
    cause = f"cw_po_receipts:{po.id}"
    [note] = db.session.scalars(db.select(Notification).filter_by(cause=cause)).all()
    assert note.status == NotificationStatus.OPEN
    assert f"received {received} here, 0 in ConnectWise" in note.message
    cw.change("procurement/purchaseorders/lineitems", line["id"], receivedStatus="FullyReceived",
              receivedQuantity=received)  # fmt: skip
    callbacks.reconcile(cw.connection)  # the poll reads it again (the same body is not re-sent)
    db.session.commit()
    db.session.refresh(note)
    assert note.status != NotificationStatus.OPEN
