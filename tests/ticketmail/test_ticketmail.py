"""Ticket by email: a sales order's events reach the PSA's mailbox through the outbox, over the
local SMTP server, threaded onto one ticket; templates are sandboxed; failures are retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.conftest import free_port
from tests.factories import issue_order, login
from webapp.extensions import db
from webapp.integrations.models import (
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationStatus,
)
from webapp.mail.models import EmailStatus, OutboundEmail
from webapp.models_base import utcnow
from webapp.sales import operations as sales
from webapp.sales.models import DocumentStatus
from webapp.ticketmail import operations, render
from webapp.ticketmail.models import TicketMailConnection, TicketMailMessage

PSA = "tickets@psa.example"


def connect(events=("issued", "changed", "cancelled"), attach_pdf=True, **changes):
    values = {
        "mailbox": PSA,
        "subject_template": render.DEFAULT_SUBJECT,
        "body_template": render.DEFAULT_BODY,
        "events": events,
        "attach_pdf": attach_pdf,
        "actor": "Admin",
    }
    values.update(changes)
    found = operations.save_settings(**values)
    db.session.commit()
    return found


def deliveries() -> list[Delivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(Delivery).filter_by(kind=operations.KIND).order_by(Delivery.id)
        )
    )


def due_now_and_sync(run_jobs) -> None:
    """Let every backoff end (the clock, not a sleep) and run the sync job as the worker would."""
    from webapp.integrations.outbox import schedule_sync

    for delivery in deliveries():
        if delivery.next_attempt_at is not None:
            delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
    schedule_sync(operations.connection())
    db.session.commit()
    run_jobs(allow_failures=True)


@pytest.fixture
def refusing_smtp(app) -> Iterator[int]:
    """A second local SMTP server that refuses every recipient with 550 (a wrong mailbox)."""
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            return "550 5.1.1 No such mailbox"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def test_an_issued_order_emails_the_psa_mailbox_with_its_reference_and_pdf(
    app, store, run_jobs, mailbox
):
    connect()
    document = issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)

    [email] = mailbox.to(PSA)
    assert email["Subject"].endswith(f"[{document.number}]")
    assert "New order" in email["Subject"] and store.org.name in email["Subject"]
    body = mailbox.text(email)
    assert "3 × ThinkPad (MPN)" in body and store.customer.email in body
    [pdf] = [part for part in email.iter_attachments()]
    assert pdf.get_filename() == f"{document.number}.pdf"
    assert pdf.get_content()[:5] == b"%PDF-"
    [message] = db.session.scalars(db.select(TicketMailMessage)).all()
    assert email["Message-ID"] == message.message_id
    assert email["In-Reply-To"] is None  # the first email of the order starts the thread
    # In Sent mail, and the delivery is confirmed with the Message-ID the PSA holds.
    sent = db.session.get(OutboundEmail, message.email_id)
    assert sent.status is EmailStatus.SENT and sent.to_address == PSA
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.CONFIRMED
    assert delivery.remote_id == message.message_id


def test_a_cancellation_follows_up_on_the_same_thread(app, store, run_jobs, mailbox):
    connect(attach_pdf=False)
    document = issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)
    sales.transition(document, DocumentStatus.CANCELLED, store.admin, "customer changed mind")
    db.session.commit()
    run_jobs(allow_failures=True)

    first, cancelled = mailbox.to(PSA)
    assert "cancelled" in cancelled["Subject"].lower()
    assert cancelled["Subject"].endswith(f"[{document.number}]")
    assert cancelled["In-Reply-To"] == first["Message-ID"]
    assert cancelled["References"] == first["Message-ID"]
    assert cancelled["Message-ID"] != first["Message-ID"]
    assert "customer changed mind" in mailbox.text(cancelled)
    assert list(cancelled.iter_attachments()) == []  # the PDF was switched off


def test_a_third_email_references_the_whole_thread(app, store, run_jobs, mailbox):
    connect(attach_pdf=False)
    document = issue_order(store)
    operations.queue(document, "changed", "Released from hold")
    operations.queue(document, "cancelled", "Cancelled.")
    db.session.commit()
    run_jobs(allow_failures=True)
    first, second, third = mailbox.to(PSA)
    assert third["In-Reply-To"] == second["Message-ID"]
    assert third["References"].split() == [first["Message-ID"], second["Message-ID"]]


def test_only_the_chosen_events_send(app, store, run_jobs, mailbox):
    connect(events=["cancelled"])
    issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)
    assert mailbox.to(PSA) == []
    assert db.session.scalar(db.select(db.func.count(TicketMailMessage.id))) == 0


def test_nothing_is_sent_while_switched_off(app, store, run_jobs, mailbox):
    found = connect()
    operations.set_enabled(found, False, "Admin")
    db.session.commit()
    issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)
    assert mailbox.to(PSA) == [] and deliveries() == []


def test_an_smtp_outage_is_retried_and_the_email_goes_once(app, store, run_jobs, mailbox):
    connect(attach_pdf=False)
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at is not None
    assert "could not be reached" in delivery.last_error
    [message] = db.session.scalars(db.select(TicketMailMessage)).all()
    assert db.session.get(OutboundEmail, message.email_id).status is EmailStatus.FAILED

    app.config["MAIL_PORT"] = port
    due_now_and_sync(run_jobs)
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.CONFIRMED and delivery.attempts == 2
    assert len(mailbox.to(PSA)) == 1
    # One email in Sent mail for the event, now sent: the retry sent the same message.
    assert (
        db.session.scalar(db.select(db.func.count(OutboundEmail.id)).filter_by(to_address=PSA)) == 1
    )
    assert mailbox.to(PSA)[0]["Message-ID"] == message.message_id


def test_a_refused_mailbox_fails_with_a_notice_and_retry_after_the_fix_sends(
    app, store, run_jobs, mailbox, refusing_smtp
):
    connect(attach_pdf=False, mailbox="wrong@psa.example")
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = refusing_smtp
    issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error_field == "PSA mailbox" and "wrong@psa.example" in delivery.last_error
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert note.status == NotificationStatus.OPEN

    app.config["MAIL_PORT"] = port
    connect(attach_pdf=False)  # the admin corrects the address
    client = app.test_client()
    login(client, store.admin)
    response = client.post(f"/admin/ticket-email/deliveries/{delivery.id}/retry")
    assert response.status_code == 303
    run_jobs(allow_failures=True)
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.CONFIRMED
    [email] = mailbox.to(PSA)
    assert mailbox.to("wrong@psa.example") == []
    assert email["Message-ID"] == db.session.scalar(db.select(TicketMailMessage.message_id))


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("{{ ''.__class__.__mro__ }}", "x", "Subject template"),
        ("Order", "{{ order.__class__.__init__.__globals__ }}", "Body template"),
        ("Order", "{% for x in %}", "Body template"),
        ("Order {{ order.missing_value }}", "x", "Subject template"),
        ("Order", "{{ order.lines.append(1) }}", "Body template"),
    ],
)
def test_a_template_escaping_the_sandbox_or_broken_is_refused_and_nothing_is_stored(
    app, store, subject, body, field
):
    from webapp.integrations.operations import IntegrationRuleError

    with pytest.raises(IntegrationRuleError, match=field):
        operations.save_settings(
            mailbox=PSA,
            subject_template=subject,
            body_template=body,
            events=["issued"],
            attach_pdf=False,
            actor="Admin",
        )
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(TicketMailConnection.id))) == 0


def test_the_subject_always_carries_the_reference_tag(app):
    context = operations.sample_context()
    subject, _body = render.render("Hello\n{{ organization.name }}", "x", context)
    assert subject == "Hello Northwind Dental [SO-000042]"
    subject, _body = render.render("{{ reference }} New", "x", context)
    assert subject == "[SO-000042] New"  # not twice


def test_settings_page_saves_and_previews_with_the_latest_order(app, store):
    client = app.test_client()
    login(client, store.admin)
    page = client.get("/admin/ticket-email/")
    assert page.status_code == 200 and "Ticket by email" in page.get_data(as_text=True)
    document = issue_order(store)
    db.session.commit()
    form = {
        "mailbox": PSA,
        "subject_template": "Ticket {{ order.number }} for {{ organization.name }}",
        "body_template": "{{ order.lines | length }} line(s), total {{ order.total }}",
        "events": ["issued", "cancelled"],
        "attach_pdf": "y",
    }
    preview = client.post("/admin/ticket-email/preview", data=form)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert f"Ticket {document.number} for {store.org.name} [{document.number}]" in text
    assert "1 line(s), total $" in text
    assert db.session.scalar(db.select(db.func.count(TicketMailConnection.id))) == 0  # not saved

    saved = client.post("/admin/ticket-email/", data=form)
    assert saved.status_code == 303
    found = operations.connection()
    assert found.mailbox == PSA and found.events == ["cancelled", "issued"] and found.attach_pdf


def test_settings_refuse_a_bad_mailbox_or_template_with_the_reason(app, store):
    client = app.test_client()
    login(client, store.admin)
    form = {
        "mailbox": "tickets@psa.example, other@x.example",
        "subject_template": "S",
        "body_template": "B",
        "events": ["issued"],
    }
    response = client.post("/admin/ticket-email/", data=form)
    assert response.status_code == 400
    assert "is not one email address" in response.get_data(as_text=True)
    form["mailbox"] = PSA
    form["body_template"] = "{{ ''.__class__ }}"
    response = client.post("/admin/ticket-email/", data=form)
    assert response.status_code == 400
    assert "Body template" in response.get_data(as_text=True)
    preview = client.post("/admin/ticket-email/preview", data=form)
    assert preview.status_code == 422
    assert "Body template" in preview.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(TicketMailConnection.id))) == 0


def test_only_admins_open_the_settings(app, store):
    client = app.test_client()
    login(client, store.sales)
    assert client.get("/admin/ticket-email/").status_code == 403
    assert client.post("/admin/ticket-email/", data={"mailbox": PSA}).status_code == 403


def test_sent_mail_shows_the_ticket_email_with_its_threading_headers(app, store, run_jobs, mailbox):
    connect()
    document = issue_order(store)
    operations.queue(document, "cancelled", "Cancelled.")
    db.session.commit()
    run_jobs(allow_failures=True)
    first, second = db.session.scalars(
        db.select(TicketMailMessage).order_by(TicketMailMessage.id)
    ).all()
    client = app.test_client()
    login(client, store.admin)
    page = client.get(f"/admin/mail/{second.email_id}").get_data(as_text=True)
    headers = page.split('id="email-headers"')[1].split("</dl>")[0]
    assert "In-Reply-To" in headers and first.message_id.strip("<>") in headers
    assert f"{document.number}.pdf" in page
    assert "Order cancelled: Sales Order" in page.split('id="email-text"')[1]


def test_a_held_order_released_by_staff_sends_a_changed_email(app, store, run_jobs, mailbox):
    connect(attach_pdf=False)
    document = issue_order(
        store,
        "held",
        quantity=1,
        unit_price=Decimal("10"),
        unit_cost=Decimal("5"),
        shipping_charge=Decimal("0"),
        hold_reason="margin below the floor",
    )
    db.session.commit()
    run_jobs(allow_failures=True)
    assert [m["Subject"].split(":")[0] for m in mailbox.to(PSA)] == ["New order"]
    sales.release_document(document, store.admin, "checked by phone")
    db.session.commit()
    run_jobs(allow_failures=True)
    issued, changed = mailbox.to(PSA)
    assert changed["Subject"].startswith("Order updated:")
    assert "Released from hold" in mailbox.text(changed)
    assert changed["In-Reply-To"] == issued["Message-ID"]


def test_order_events_in_one_transaction_read_the_mailbox_once(app, store, run_jobs, mailbox):
    from sqlalchemy import event as sa_event

    connect(events=["issued"])
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith("SELECT") and "JOIN ticket_mail_connections" in statement:
            reads.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        orders = [issue_order(store, f"k{n}") for n in range(3)]
        assert len(reads) == 1  # the first order read it; the others used that copy
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()
    queued = set(db.session.scalars(db.select(TicketMailMessage.sales_document_id)))
    assert queued == {order.id for order in orders}
    # Switched off in a later transaction: the copy is gone with the first one, nothing is queued.
    operations.set_enabled(operations.connection(), False, "Admin")
    db.session.commit()
    issue_order(store, "k9")
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(TicketMailMessage.id))) == 3
