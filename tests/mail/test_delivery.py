from webapp.extensions import db
from webapp.mail.models import EmailStatus, OutboundEmail
from webapp.mail.operations import queue_email


def queue_invitation(store) -> OutboundEmail:
    return queue_email(
        to="a@example.com",
        subject="Hi",
        template="invitation",
        topic="t",
        user=store.customer,
        inviter=store.admin,
        link="http://x/1",
        days=7,
    )


def test_queued_email_is_sent_only_after_commit(app, store, run_jobs, mailbox):
    queue_invitation(store)
    db.session.rollback()
    assert run_jobs() == 0
    assert mailbox.messages == []


def test_email_is_delivered_over_smtp_and_marked_sent(app, store, run_jobs, mailbox):
    email = queue_invitation(store)
    db.session.commit()
    run_jobs()
    [message] = mailbox.to("a@example.com")
    assert message["Subject"] == "Hi"
    assert "http://x/1" in mailbox.text(message)
    assert db.session.get(OutboundEmail, email.id).status is EmailStatus.SENT


def test_smtp_outage_marks_the_email_failed_and_staff_can_retry(app, store, run_jobs, mailbox):
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    email = queue_invitation(store)
    db.session.commit()
    run_jobs(allow_failures=True)
    failed = db.session.get(OutboundEmail, email.id)
    assert failed.status is EmailStatus.FAILED
    assert "ConnectionRefusedError" in failed.last_error
    assert failed.attempts == 1

    app.config["MAIL_PORT"] = port
    from tests.factories import login

    client = app.test_client()
    login(client, store.admin)
    page = client.get(f"/admin/mail/{email.id}").get_data(as_text=True)
    assert "ConnectionRefusedError" in page
    client.post(f"/admin/mail/{email.id}/retry")
    run_jobs()
    assert db.session.get(OutboundEmail, email.id).status is EmailStatus.SENT
    assert len(mailbox.to("a@example.com")) == 1
