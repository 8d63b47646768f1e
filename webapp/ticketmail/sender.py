"""The outbox's Sender for the ticket mailbox: one email per delivery, over our own SMTP.

The email is written once (shown in Sent mail, with its threading headers) and each try sends
that same message, so the PSA never gets two tickets for one event. A refused recipient is
permanent (an admin fixes the address); any other SMTP or network fault is retried with the
outbox's backoff, and after ``MAX_ATTEMPTS`` the delivery fails and an admin is notified.
"""

from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass, field

from flask import current_app

from webapp.extensions import db
from webapp.integrations.http import CallRecord
from webapp.integrations.interfaces import PermanentError, PushResult, TransientError
from webapp.integrations.models import Delivery
from webapp.integrations.outbox import Sender
from webapp.mail.models import EmailStatus, OutboundEmail
from webapp.mail.operations import Attachment, compose_email, public_url, transmit
from webapp.pdf import render_pdf
from webapp.sales.models import SalesDocument
from webapp.ticketmail import operations, render
from webapp.ticketmail.models import TicketMailConnection, TicketMailMessage

MAX_ATTEMPTS = 8


class TicketMailProvider:
    """The registry's view of the ticket mailbox (a name and a label, no vendor API)."""

    name = operations.PROVIDER
    label = "Ticket by email"


@dataclass
class SmtpChannel:
    """What the outbox reads of a sender's channel (calls, 429s), for SMTP sends."""

    calls: list[CallRecord] = field(default_factory=list)
    throttled: int = 0

    @property
    def call_count(self) -> int:
        return len(self.calls)


@dataclass(frozen=True)
class Prepared:
    key: str
    email_id: int


class TicketMailSender(Sender):
    kind_order = (operations.KIND,)
    max_batch = 1
    max_attempts = MAX_ATTEMPTS

    def __init__(self, connection: TicketMailConnection) -> None:
        self.connection = connection
        self.http = SmtpChannel()

    def _message(self, delivery: Delivery) -> TicketMailMessage:
        message = db.session.get(TicketMailMessage, delivery.subject_id)
        if message is None:
            raise PermanentError("The ticket email's record was deleted.", field="Event")
        return message

    def payload(self, delivery: Delivery) -> Prepared:
        """Write the email once (a retry sends the same one); refuse a template that fails."""
        message = self._message(delivery)
        written = db.session.get(OutboundEmail, message.email_id) if message.email_id else None
        # The same email each try; one never sent is written afresh once the admin changed
        # the mailbox (the address it was refused at), keeping its Message-ID.
        if written is not None and (
            written.status is EmailStatus.SENT or written.to_address == self.connection.mailbox
        ):
            return Prepared(delivery.request_key, written.id)
        document = db.session.get(SalesDocument, message.sales_document_id)
        if document is None:
            raise PermanentError("The sales order was deleted.", field="Sales order")
        context = render.context(
            document,
            message.event,
            operations.EVENT_LABELS.get(message.event, message.event),
            message.detail,
            public_url("sales_admin.order_detail", document_id=document.id),
        )
        try:
            subject, body = render.render(
                self.connection.subject_template, self.connection.body_template, context
            )
        except render.TemplateRefused as exc:
            raise PermanentError(
                exc.message,
                field=exc.field,
                fix="Correct the template in Settings › Ticket by email, then press Retry.",
            ) from None
        attachments = []
        if self.connection.attach_pdf:
            pdf = render_pdf("sales/pdf.html", document=document)
            attachments.append(Attachment(f"{document.number}.pdf", "application/pdf", pdf))
        email = compose_email(
            to=self.connection.mailbox,
            subject=subject,
            text_body=body,
            topic=f"sales_document:{document.id}",
            attachments=attachments,
            headers=operations.thread_headers(message),
        )
        message.email_id = email.id
        return Prepared(delivery.request_key, email.id)

    def push(self, kind: str, items: list[Prepared]) -> list[PushResult]:
        return [self._send(item) for item in items]

    def _send(self, item: Prepared) -> PushResult:
        email = db.session.get(OutboundEmail, item.email_id)
        if email is None:
            return PushResult(
                item.key, error=PermanentError("The email was deleted.", field="Email")
            )
        if email.status is EmailStatus.SENT:
            # Sent already (by a try whose outcome was lost, or Sent mail's Retry): never twice.
            return PushResult(item.key, remote_id=email.headers.get("Message-ID", ""))
        config = current_app.config
        started = time.monotonic()
        status: int | None = 250
        try:
            transmit(email)
        except smtplib.SMTPRecipientsRefused as exc:
            status = _first_code(exc.recipients)
            return _refused(item, f"The mail server refused {email.to_address}.")
        except smtplib.SMTPResponseException as exc:
            status = exc.smtp_code
            if 500 <= exc.smtp_code < 600:
                return _refused(item, f"The mail server refused it: {exc}")
            raise TransientError(f"The mail server answered {exc.smtp_code}: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            status = None
            raise TransientError(
                f"The mail server {config['MAIL_SERVER']}:{config['MAIL_PORT']} could not be "
                f"reached: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            self.http.calls.append(
                CallRecord(
                    "SMTP",
                    f"smtp://{config['MAIL_SERVER']}:{config['MAIL_PORT']}",
                    status,
                    int((time.monotonic() - started) * 1000),
                    f"To: {email.to_address}\nSubject: {email.subject}",
                    email.last_error or "250 accepted",
                )
            )
        return PushResult(item.key, remote_id=email.headers["Message-ID"])

    def describe(self, delivery: Delivery) -> str:
        message = db.session.get(TicketMailMessage, delivery.subject_id)
        if message is None:
            return f"ticket email #{delivery.subject_id}"
        document = db.session.get(SalesDocument, message.sales_document_id)
        number = document.number if document else f"#{message.sales_document_id}"
        return f"for {number} ({message.event})"

    def confirmed(self, delivery: Delivery, result: PushResult) -> str:
        return f"emailed to {self.connection.mailbox} ({result.remote_id})"


def _refused(item: Prepared, message: str) -> PushResult:
    """A permanent refusal (5xx): the admin fixes the mailbox address, then retries."""
    return PushResult(
        item.key,
        error=PermanentError(
            message,
            field="PSA mailbox",
            fix="Check the mailbox address in Settings › Ticket by email, then press Retry.",
        ),
    )


def _first_code(recipients: dict) -> int | None:
    for code, _text in recipients.values():
        return code
    return None
