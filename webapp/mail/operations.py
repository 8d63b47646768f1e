"""Write emails in the business transaction; a worker delivers them after commit."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template
from markupsafe import escape

from webapp import jobs
from webapp.extensions import db
from webapp.mail.links import REDACTED, LinkUnavailable, OneTimeLink, issue
from webapp.mail.models import EmailStatus, OutboundEmail, OutboundEmailAttachment
from webapp.models_base import utcnow
from webapp.statemachine import StateMachine, Transition


def public_url(endpoint: str, **values) -> str:
    """Build an absolute link for an email from PUBLIC_BASE_URL, never the request's host:
    a worker has no request, and behind a proxy the request's host is an internal one."""
    parts = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


class EmailNotBuildable(ValueError):
    """An email no message can carry (its address is empty or holds a line break): refused
    when it is queued, so the action sending it fails and says why, instead of the worker
    failing later while the sender was told it went."""


def _one_line(subject: str) -> str:
    # A line break in a subject is never meant (a pasted title, a name): one line, not a
    # header the worker cannot write.
    return " ".join(subject.split())


def _check_address(to: str) -> None:
    if not to.strip():
        raise EmailNotBuildable("the email cannot be built: it has no recipient address")
    try:
        EmailMessage()["To"] = to
    except ValueError:
        raise EmailNotBuildable(
            f"the email to {' '.join(to.split())} cannot be built: the address holds a line break"
        ) from None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "application/pdf", "text/csv"
    data: bytes


def queue_email(
    *,
    to: str,
    subject: str,
    template: str,
    topic: str,
    attachments: Sequence[Attachment] = (),
    one_time_link: OneTimeLink | None = None,
    **context,
) -> OutboundEmail:
    """Render `mail/<template>.txt` and `.html` and queue the email for delivery.

    With `one_time_link`, the templates' `{{ link }}` is stored as links.REDACTED and each
    delivery puts a freshly issued link in its place. Raise EmailNotBuildable for an address
    no message can carry: found now, not by the worker after the caller said "sent".
    """
    _check_address(to)
    subject = _one_line(subject)
    if one_time_link is not None:
        if "link" in context:
            raise TypeError("pass a one-time link as one_time_link, never as link")
        context["link"] = REDACTED
    email = OutboundEmail(
        to_address=to,
        subject=subject,
        text_body=render_template(f"mail/{template}.txt", **context),
        html_body=render_template(f"mail/{template}.html", **context),
        topic=topic,
        link_kind=one_time_link.kind if one_time_link else "",
        link_ref=one_time_link.ref if one_time_link else "",
        attachments=[
            OutboundEmailAttachment(
                filename=item.filename, content_type=item.content_type, data=item.data
            )
            for item in attachments
        ],
    )
    db.session.add(email)
    db.session.flush()
    jobs.enqueue_after_commit("workers.jobs.send_email", email.id, job_id=f"email-{email.id}")
    return email


# Headers a sender may set on its own emails (threading); every other header is ours.
_Q, _F = EmailStatus.QUEUED, EmailStatus.FAILED
# Every status change of an outbound email is one of these steps (``EMAIL.fire``). A failed
# email stays sendable: RQ's retry of the job sends it again, and so does an admin's retry.
EMAIL = StateMachine(
    "email",
    EmailStatus,
    [
        Transition("send", frozenset({_Q, _F}), EmailStatus.SENT),
        Transition("fail", frozenset({_Q, _F}), EmailStatus.FAILED),
        Transition("retry", frozenset({_Q, _F}), EmailStatus.QUEUED),
    ],
    initial=_Q,
)

THREAD_HEADERS = ("Message-ID", "In-Reply-To", "References")


def compose_email(
    *,
    to: str,
    subject: str,
    text_body: str,
    topic: str,
    attachments: Sequence[Attachment] = (),
    headers: dict[str, str] | None = None,
) -> OutboundEmail:
    """Write an email already rendered (for an outbox sender that sends it with ``transmit``).

    Shown in Sent mail like every other; no job is queued: its sender retries it.
    """
    _check_address(to)
    unknown = sorted(set(headers or {}) - set(THREAD_HEADERS))
    if unknown:
        raise ValueError(f"headers other than {', '.join(THREAD_HEADERS)}: {', '.join(unknown)}")
    for value in (headers or {}).values():
        if "\n" in value or "\r" in value:
            raise EmailNotBuildable("the email cannot be built: a header holds a line break")
    email = OutboundEmail(
        to_address=to,
        subject=_one_line(subject),
        text_body=text_body,
        html_body="",
        topic=topic,
        headers=dict(headers) if headers else None,
        attachments=[
            OutboundEmailAttachment(
                filename=item.filename, content_type=item.content_type, data=item.data
            )
            for item in attachments
        ],
    )
    db.session.add(email)
    db.session.flush()
    return email


def retry(email: OutboundEmail) -> None:
    """Queue a failed or queued email again (a one-time link in it is issued afresh).

    Raise IllegalTransition for an email already sent (``resend`` makes a copy of one).
    """
    EMAIL.fire(email, "retry")
    db.session.flush()
    jobs.enqueue_after_commit("workers.jobs.send_email", email.id)


def resend(email: OutboundEmail) -> OutboundEmail:
    """Send a copy of an email as a new one; a one-time link in it is issued afresh by its
    owning domain at delivery, never replayed from the stored body (which has none)."""
    copy = OutboundEmail(
        to_address=email.to_address,
        subject=email.subject,
        text_body=email.text_body,
        html_body=email.html_body,
        topic=email.topic,
        link_kind=email.link_kind,
        link_ref=email.link_ref,
        # A copy is a new message: the same thread, but never the original's Message-ID.
        headers={k: v for k, v in (email.headers or {}).items() if k != "Message-ID"} or None,
        attachments=[
            OutboundEmailAttachment(
                filename=item.filename, content_type=item.content_type, data=item.data
            )
            for item in email.attachments
        ],
    )
    db.session.add(copy)
    db.session.flush()
    jobs.enqueue_after_commit("workers.jobs.send_email", copy.id, job_id=f"email-{copy.id}")
    return copy


def _bodies(email: OutboundEmail) -> tuple[str, str]:
    """The text and HTML to send: with the one-time link issued now, if the email has one."""
    if not email.link_kind:
        return email.text_body, email.html_body
    link = issue(OneTimeLink(email.link_kind, email.link_ref), email.to_address)
    return (
        email.text_body.replace(REDACTED, link),
        email.html_body.replace(str(escape(REDACTED)), str(escape(link))),
    )


def deliver(email_id: int) -> None:
    """Send one queued email over SMTP; raise on failure so the job is retried."""
    email = db.session.get(OutboundEmail, email_id)
    if email is None or email.status is EmailStatus.SENT:
        return
    try:
        transmit(email)
    except (OSError, smtplib.SMTPException):
        db.session.commit()  # keep the attempt on record even though the job fails
        raise


def transmit(email: OutboundEmail) -> None:
    """Send the email over SMTP now and record the outcome on it (flush, never commit).

    Raise the SMTP error after recording it, so the caller's retry applies.
    """
    config = current_app.config
    try:
        text_body, html_body = _bodies(email)
    except LinkUnavailable as refused:
        # Permanent (the invitation was accepted, the approver removed): a retry cannot help,
        # so the email fails with the reason on record instead of raising for RQ to retry.
        EMAIL.fire(email, "fail")
        email.last_error = f"Not sent: {refused}"
        email.attempts += 1
        return
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = email.to_address
    message["Subject"] = email.subject
    headers = email.headers or {}
    message["Message-ID"] = headers.get("Message-ID") or make_msgid(idstring=f"outbound-{email.id}")
    for name in ("In-Reply-To", "References"):
        if headers.get(name):
            message[name] = headers[name]
    message.set_content(text_body)
    if html_body:
        message.add_alternative(html_body, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    email.attempts += 1
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        EMAIL.fire(email, "fail")
        email.last_error = f"{type(error).__name__}: {error}"
        raise
    EMAIL.fire(email, "send")
    email.sent_at = utcnow()
    email.last_error = ""
