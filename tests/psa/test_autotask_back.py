"""Back from Autotask, against the sandbox: the ticket webhook registered on connect and kept
registered; signatures checked over the raw body first (valid, invalid, the .NET-escaped body,
an unsigned Deactivated); our own changes ignored; the reconciliation poll moves our quotes
when their opportunity is won or lost in Autotask and catches ticket changes webhooks missed."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.psa.test_autotask_tickets import order
from tests.quotes.conftest import build_quote, send
from tests.sandboxes.autotask import API_RESOURCE_ID, sign
from webapp.extensions import db
from webapp.integrations.models import InboundEvent
from webapp.psa import inbound
from webapp.quotes.models import QuoteStatus
from webapp.sales.models import SalesDocumentEvent


@pytest.fixture
def deliver(client):
    """Post the sandbox's webhook calls to our app through the test client."""
    return deliver_to(client)


def deliver_to(client):
    answers = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        response = client.post(urlsplit(url).path, data=body, headers=headers)
        answers.append(response.status_code)
        return response.status_code

    post.answers = answers
    return post


def our_order_ticket(client, store, sandbox, run_jobs):
    document = order(client, store)
    run_jobs()
    [ticket] = sandbox.records("Tickets")
    return document, ticket


def ticket_notes(document) -> list[str]:
    return list(
        db.session.scalars(
            db.select(SalesDocumentEvent.message).filter_by(
                document_id=document.id, type="psa.ticket"
            )
        )
    )


def test_connecting_registers_the_ticket_webhook_with_a_secret_kept_encrypted(
    app,
    store,
    ticketing,
):
    [hook] = ticketing.records("TicketWebhooks")
    connection = ticketing.connection
    db.session.refresh(connection)
    assert hook["IsActive"] and hook["WebhookUrl"].endswith(f"/webhooks/autotask/{connection.id}")
    assert hook["DeactivationUrl"].endswith("/deactivated")
    assert inbound.webhook_secret(connection) == hook["SecretKey"]
    assert hook["SecretKey"] not in connection.token_ciphertext


def test_a_signed_ticket_change_is_noted_on_our_order(
    app,
    store,
    client,
    ticketing,
    run_jobs,
    deliver,
):
    document, ticket = our_order_ticket(client, store, ticketing, run_jobs)
    ticketing.db.table("Tickets")[ticket["Id"]]["Status"] = 5  # completed in the UI
    sent = ticketing.fire("Update", ticket["Id"], {"Status": 5}, deliver=deliver)
    assert [s.status for s in sent] == [200]
    run_jobs()
    assert ticket_notes(document) == [f"Autotask ticket {ticket['Id']} is Complete."]


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    app,
    store,
    client,
    ticketing,
    run_jobs,
):
    document, ticket = our_order_ticket(client, store, ticketing, run_jobs)
    body = json.dumps({"Action": "Update", "Id": ticket["Id"], "Fields": {}}).encode()
    url = f"/webhooks/autotask/{ticketing.connection.id}"
    for header in ("", "sha1=AAAA", sign("another secret", body)):
        response = client.post(url, data=body, headers={"X-Hook-Signature": header})
        assert response.status_code == 401
    assert db.session.scalar(db.select(db.func.count(InboundEvent.id))) == 0
    run_jobs()
    assert ticket_notes(document) == []


def test_a_body_unescaped_on_the_way_still_verifies_as_autotask_escaped_it(
    app,
    store,
    client,
    ticketing,
    run_jobs,
):
    document, ticket = our_order_ticket(client, store, ticketing, run_jobs)
    captured = []
    ticketing.fire(
        "Update",
        ticket["Id"],
        {"Title": "Tom & Jérôme's <laptops> + `dock` 🚚"},
        deliver=lambda url, body, headers: captured.append((url, body, headers)) or 200,
    )
    [(url, body, headers)] = captured
    assert b"\\u0026" in body and b"\\u00e9" in body  # .NET escapes, as Autotask signs them
    plain = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    assert plain != body
    response = client.post(urlsplit(url).path, data=plain, headers=headers)
    assert response.status_code == 200
    run_jobs()
    assert len(ticket_notes(document)) == 1


def test_an_unsigned_deactivated_changes_nothing_a_signed_one_registers_again(
    app,
    store,
    client,
    ticketing,
    run_jobs,
    deliver,
):
    [hook] = ticketing.records("TicketWebhooks")
    url = f"/webhooks/autotask/{ticketing.connection.id}/deactivated"
    forged = json.dumps({"Action": "Deactivated", "Guid": hook["WebhookGUID"]}).encode()
    assert client.post(url, data=forged).status_code == 401
    run_jobs()
    db.session.refresh(ticketing.connection)
    assert ticketing.connection.option("webhook_active") is True
    assert [h["Id"] for h in ticketing.records("TicketWebhooks")] == [hook["Id"]]
    # Autotask's own (signed) notice: the webhook is set up again with a new secret.
    assert [s.status for s in ticketing.fire("Deactivated", 0, deliver=deliver)] == [200]
    run_jobs()
    [again] = ticketing.records("TicketWebhooks")
    assert again["Id"] != hook["Id"] and again["SecretKey"] != hook["SecretKey"]
    db.session.refresh(ticketing.connection)
    assert ticketing.connection.option("webhook_active") is True


def test_our_own_changes_coming_back_are_ignored(
    app,
    store,
    client,
    ticketing,
    run_jobs,
    deliver,
):
    document, ticket = our_order_ticket(client, store, ticketing, run_jobs)
    ticketing.fire("Update", ticket["Id"], {"Status": 8}, person_id=API_RESOURCE_ID,
                   deliver=deliver)  # fmt: skip
    run_jobs()
    assert deliver.answers == [200]
    assert ticket_notes(document) == []


def test_a_webhook_autotask_dropped_is_registered_again_by_the_health_job(
    app,
    store,
    ticketing,
    run_jobs,
):
    [hook] = ticketing.records("TicketWebhooks")
    ticketing.db.table("TicketWebhooks")[hook["Id"]]["IsActive"] = False  # 25 failures
    from workers.psa import keep_webhook

    assert keep_webhook() == 1
    assert [h["IsActive"] for h in ticketing.records("TicketWebhooks")] == [True]
    assert keep_webhook() == 0


def test_the_poll_moves_our_quotes_won_or_lost_in_autotask(
    app,
    store,
    ticketing,
    run_jobs,
):
    won, lost, untouched = build_quote(store), build_quote(store), build_quote(store)
    run_jobs()
    for quote in (won, lost, untouched):
        send(quote)
    run_jobs()
    by_title = {o["Title"].split(" ")[0]: o for o in ticketing.records("Opportunities")}
    ticketing.change("Opportunities", by_title[won.number]["Id"], Status=3)  # won status
    ticketing.change("Opportunities", by_title[lost.number]["Id"], Status=2)  # lost status
    from workers.psa import reconcile

    [done] = reconcile().values()
    assert (done["won"], done["lost"]) == (1, 1)
    for quote in (won, lost, untouched):
        db.session.refresh(quote)
    assert (won.status, lost.status, untouched.status) == (
        QuoteStatus.WON,
        QuoteStatus.LOST,
        QuoteStatus.SENT,
    )
    assert lost.lost_reason == "lost in Autotask"
    assert reconcile()[ticketing.connection.id]["won"] == 0  # nothing twice


def test_the_poll_catches_a_ticket_change_the_webhook_missed(
    app,
    store,
    client,
    ticketing,
    run_jobs,
):
    document, ticket = our_order_ticket(client, store, ticketing, run_jobs)
    from workers.psa import reconcile

    reconcile()
    before = len(ticket_notes(document))
    ticketing.clock.advance(120)
    ticketing.db.table("Tickets")[ticket["Id"]].update(
        Status=8, LastActivityDate=ticketing._stamp()
    )  # changed while our endpoint was down: no call arrives
    assert reconcile()[ticketing.connection.id]["tickets"] == 1
    assert ticket_notes(document)[before:] == [f"Autotask ticket {ticket['Id']} is In Progress."]


def test_the_poll_reads_the_charges_back_and_names_those_changed_or_deleted_in_autotask(
    app,
    store,
    client,
    ticketing,
    run_jobs,
):
    from webapp.integrations.models import Notification, NotificationStatus
    from workers.psa import reconcile

    document, ticket = our_order_ticket(client, store, ticketing, run_jobs)
    assert reconcile()[ticketing.connection.id]["charges"] == 0  # all as we sent them
    charges = {
        c["InternalPurchaseOrderNumber"]: c
        for c in ticketing.records("TicketCharges")
        if c["TicketID"] == ticket["Id"]
    }
    line = document.lines[0]
    changed = charges[f"{document.number}-{line.position}"]
    table = ticketing.db.table("TicketCharges")
    table[changed["Id"]]["UnitQuantity"] = float(line.quantity) + 1  # in the Autotask UI
    table.pop(charges[f"{document.number}-shipping"]["Id"])  # deleted there
    assert reconcile()[ticketing.connection.id]["charges"] == 1
    [note] = db.session.scalars(db.select(Notification)).all()
    assert note.status == NotificationStatus.OPEN
    assert f"“{line.description}” was changed in Autotask (quantity " in note.message
    assert f"“{document.shipping_method_name}” was deleted in Autotask" in note.message
    assert line.description in note.field
    events = db.session.scalars(
        db.select(SalesDocumentEvent.message).filter_by(document_id=document.id, type="psa.charges")
    ).all()
    assert events == [note.message]
    reconcile()  # the same difference again: not noted twice
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 1
    assert (
        db.session.scalar(
            db.select(db.func.count(SalesDocumentEvent.id)).filter_by(type="psa.charges")
        )
        == 1
    )
    # Put back in Autotask: the notice closes by itself.
    table[changed["Id"]]["UnitQuantity"] = float(line.quantity)
    ticketing.add("Tickets", Title="unrelated")  # noise: another ticket of nobody's
    shipping = charges[f"{document.number}-shipping"]
    table[shipping["Id"]] = shipping
    assert reconcile()[ticketing.connection.id]["charges"] == 0
    db.session.refresh(note)
    assert note.status == NotificationStatus.RESOLVED


def test_charges_of_another_order_on_the_same_ticket_are_not_taken_for_ours(
    app, store, client, ticketing, run_jobs
):
    from tests.psa.test_autotask_tickets import order as place_order
    from webapp.psa import tickets
    from workers.psa import reconcile

    first, ticket = our_order_ticket(client, store, ticketing, run_jobs)
    [offered] = tickets.open_tickets(store.org, fresh=True)
    second = place_order(client, store, psa_ticket=tickets.choice_value(offered))
    run_jobs()
    table = ticketing.db.table("TicketCharges")
    [gone] = [
        c["Id"]
        for c in ticketing.records("TicketCharges")
        if c["InternalPurchaseOrderNumber"] == f"{second.number}-shipping"
    ]
    table.pop(gone)
    assert reconcile()[ticketing.connection.id]["charges"] == 1
    notes = db.session.scalars(db.select(SalesDocumentEvent).filter_by(type="psa.charges")).all()
    assert [n.document_id for n in notes] == [second.id]
