"""Sent mail is for admins, and it never holds a usable single-use link (issue 13)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.factories import login
from tests.quotes.conftest import build_quote, link_in, send
from webapp.auth.models import Role
from webapp.auth.operations import invite_user
from webapp.extensions import db
from webapp.mail.links import REDACTED
from webapp.mail.models import EmailStatus, OutboundEmail

INVITE = re.compile(r"http://localhost(/invite/([\w.\-]+))")


def invite(store) -> OutboundEmail:
    user = invite_user(
        email="new.admin@msp.example", name="New Admin", role=Role.ADMIN, organization=None,
        actor=store.admin,
    )  # fmt: skip
    db.session.commit()
    return db.session.query(OutboundEmail).filter_by(to_address=user.email).one()


def stored_mail() -> str:
    """Every column of every stored email and attachment, as one string."""
    rows = db.session.execute(text("SELECT * FROM outbound_emails")).all()
    rows += db.session.execute(text("SELECT * FROM outbound_email_attachments")).all()
    return "\n".join(repr(tuple(row)) for row in rows)


def delivered_invitation(mailbox, number: int = -1) -> tuple[str, str]:
    """The path and the token of the invitation link in a delivered message."""
    message = mailbox.to("new.admin@msp.example")[number]
    path, token = INVITE.search(mailbox.text(message)).groups()
    return path, token


@pytest.mark.parametrize("role", ["sales", "purchasing"])
def test_only_admins_open_sent_mail(client, store, mailbox, role):
    email = invite(store)
    login(client, getattr(store, role))
    assert client.get("/admin/mail/").status_code == 403
    assert client.get(f"/admin/mail/{email.id}").status_code == 403
    assert client.get(f"/admin/mail/{email.id}/body").status_code == 403
    assert client.post(f"/admin/mail/{email.id}/resend").status_code == 403
    assert client.post(f"/admin/mail/{email.id}/retry").status_code == 403
    assert "/admin/mail/" not in client.get("/admin/").get_data(as_text=True)
    assert db.session.query(OutboundEmail).count() == 1  # nothing re-sent


def test_an_invitation_link_is_delivered_but_never_stored(client, store, run_jobs, mailbox):
    email = invite(store)
    run_jobs()
    path, token = delivered_invitation(mailbox)
    assert token not in stored_mail()
    assert REDACTED in email.text_body and REDACTED in email.html_body
    login(client, store.admin)
    page = client.get(f"/admin/mail/{email.id}").get_data(as_text=True)
    body = client.get(f"/admin/mail/{email.id}/body")  # the HTML part, framed by the page
    assert "link removed" in body.get_data(as_text=True) and token not in page + body.get_data(
        as_text=True
    )
    assert "script-src" not in body.headers["Content-Security-Policy"]  # it runs nothing
    assert client.get(path).status_code == 200  # the delivered link works


def test_resend_issues_a_new_working_link_and_an_accepted_invitation_is_not_resent(
    client, store, run_jobs, mailbox
):
    email = invite(store)
    run_jobs()
    login(client, store.admin)
    assert client.post(f"/admin/mail/{email.id}/resend").status_code == 303
    run_jobs()
    path, token = delivered_invitation(mailbox)
    # Issued at delivery (a token signed now; within one second it may equal the first one).
    assert len(mailbox.to("new.admin@msp.example")) == 2 and token not in stored_mail()

    newcomer = client.application.test_client()
    response = newcomer.post(
        path, data={"password": "a-long-new-password", "confirm": "a-long-new-password"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    # Once accepted, no link is issued again: the resend fails and says why.
    client.post(f"/admin/mail/{email.id}/resend")
    run_jobs()
    assert len(mailbox.to("new.admin@msp.example")) == 2
    last = db.session.query(OutboundEmail).order_by(OutboundEmail.id.desc()).first()
    assert last.status is EmailStatus.FAILED
    assert "already accepted" in last.last_error


def test_retry_after_an_outage_delivers_a_fresh_working_link(app, client, store, run_jobs, mailbox):
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    email = invite(store)
    run_jobs(allow_failures=True)
    assert db.session.get(OutboundEmail, email.id).status is EmailStatus.FAILED
    app.config["MAIL_PORT"] = port
    login(client, store.admin)
    client.post(f"/admin/mail/{email.id}/retry")
    run_jobs()
    path, token = delivered_invitation(mailbox)
    assert token not in stored_mail()
    assert client.application.test_client().get(path).status_code == 200


def test_a_quote_approval_link_is_never_stored_and_resend_reissues_it(
    client, store, run_jobs, mailbox
):
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    run_jobs()
    [message] = mailbox.to(store.customer.email)
    path = link_in(mailbox.text(message))
    token = path.removeprefix("/q/")
    assert token not in stored_mail()
    email = db.session.query(OutboundEmail).filter_by(to_address=store.customer.email).one()
    assert REDACTED in email.text_body

    login(client, store.admin)
    client.post(f"/admin/mail/{email.id}/resend")
    run_jobs()
    second = link_in(mailbox.text(mailbox.to(store.customer.email)[-1]))
    assert second.removeprefix("/q/") not in stored_mail()
    approver = client.application.test_client()
    page = approver.get(second)
    assert page.status_code == 200 and quote.number in page.get_data(as_text=True)


RESET = re.compile(r"http://localhost(/password/reset/([\w.\-]+))")


def test_a_password_reset_link_is_never_stored_and_resend_reissues_it(
    client, store, run_jobs, mailbox
):
    anonymous = client.application.test_client()
    anonymous.post("/password/forgot", data={"email": store.customer.email})
    run_jobs()
    [message] = mailbox.to(store.customer.email)
    path, token = RESET.search(mailbox.text(message)).groups()
    assert token not in stored_mail()
    email = db.session.query(OutboundEmail).filter_by(to_address=store.customer.email).one()
    assert REDACTED in email.text_body and REDACTED in email.html_body

    login(client, store.admin)
    assert client.post(f"/admin/mail/{email.id}/resend").status_code == 303
    run_jobs()
    second_path, second = RESET.search(mailbox.text(mailbox.to(store.customer.email)[-1])).groups()
    assert second not in stored_mail()
    assert anonymous.get(second_path).status_code == 200  # the re-issued link works
    response = anonymous.post(
        second_path,
        data={"password": "tangerine vortex piano", "confirm": "tangerine vortex piano"},
    )
    assert response.status_code == 302
    # Once used, no link is issued again from the stored email: the resend fails and says why.
    client.post(f"/admin/mail/{email.id}/resend")
    run_jobs()
    assert len(mailbox.to(store.customer.email)) == 2
    last = db.session.query(OutboundEmail).order_by(OutboundEmail.id.desc()).first()
    assert last.status is EmailStatus.FAILED and last.last_error.startswith("Not sent:")
