"""The dashboard's integration health: each connection's status, last delivery, last error and
outbox counts, linked to its settings page; deleted webhook endpoints are not listed."""

from __future__ import annotations

import re

from tests.conftest import free_port
from tests.factories import issue_order, login
from webapp.extensions import db
from webapp.ticketmail import operations as ticketmail
from webapp.ticketmail.render import DEFAULT_BODY, DEFAULT_SUBJECT
from webapp.webhooks import operations as webhooks


def _row(page: str, connection_id: int) -> str:
    return page.split(f'data-connection="{connection_id}"')[1].split("</tr>")[0]


def _mailbox():
    found = ticketmail.save_settings(
        mailbox="tickets@psa.example",
        subject_template=DEFAULT_SUBJECT,
        body_template=DEFAULT_BODY,
        events=["issued", "cancelled"],
        attach_pdf=False,
        actor="Admin",
    )
    db.session.commit()
    return found


def test_each_connection_shows_its_status_counts_and_last_error(
    app, client, store, run_jobs, mailbox
):
    psa = _mailbox()
    endpoint, _secret = webhooks.create_endpoint("http://127.0.0.1:9/hooks", "ERP", [], "Admin")
    gone, _secret = webhooks.create_endpoint("http://127.0.0.1:9/old", "Old ERP", [], "Admin")
    webhooks.delete_endpoint(gone, "Admin")
    db.session.commit()
    issue_order(store, "a")  # delivered to the mailbox
    db.session.commit()
    run_jobs(allow_failures=True)
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # the mail server goes away: the next one waits
    issue_order(store, "b")
    db.session.commit()
    run_jobs(allow_failures=True)
    app.config["MAIL_PORT"] = port

    login(client, store.admin)
    page = client.get("/admin/").get_data(as_text=True)
    row = _row(page, psa.id)
    assert 'href="/admin/ticket-email/"' in row and "Ticket by email" in row
    assert re.search(r'health-pending">1<', row) and re.search(r'health-failed ">0<', row)
    assert "could not be reached" in row  # the last error, as the outbox recorded it
    assert re.search(r"\d\d \w{3} \d{4} \d\d:\d\d", row)  # the first email was delivered
    assert "text-bg-warning" in row
    hook = _row(page, endpoint.id)
    assert f'href="/admin/webhooks/{endpoint.id}"' in hook and "Connected" in hook
    assert f'data-connection="{gone.id}"' not in page


def test_staff_who_are_not_admins_see_health_without_the_settings_links(client, store):
    psa = _mailbox()
    login(client, store.sales)
    row = _row(client.get("/admin/").get_data(as_text=True), psa.id)
    assert "Ticket by email" in row and "href=" not in row


def test_no_connection_no_panel(client, store):
    login(client, store.admin)
    assert 'id="integration-health"' not in client.get("/admin/").get_data(as_text=True)


def test_the_panel_reads_the_connections_and_their_counts_in_two_queries(app, client, store):
    from sqlalchemy import event

    _mailbox()
    for number in range(3):
        webhooks.create_endpoint(f"http://127.0.0.1:9/h{number}", f"ERP {number}", [], "Admin")
    db.session.commit()
    login(client, store.admin)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        tables = ("integration_", "webhook_endpoints", "ticket_mail_connections")
        if (
            any(table in statement for table in tables)
            and "integration_notifications" not in statement
        ):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = client.get("/admin/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert page.count("data-connection=") == 4
    # One for the connections, one for every connection's delivery counts (none per row).
    # (The accounting panel's notices are its own question, left out here.)
    assert len(statements) == 2, statements
