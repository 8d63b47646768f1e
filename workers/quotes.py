"""Quote jobs: expire quotes past their date, and send the reminders staff scheduled."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def expire_quotes() -> int:
    """Expire every sent quote whose expiry date has passed (idempotent: sent ones only)."""
    from webapp.quotes.lifecycle import expire_due

    with job_context():
        expired = expire_due()
        db.session.commit()
        return len(expired)


def send_quote_reminders() -> int:
    """Email the approvers of quotes whose scheduled reminder is due (each reminder once)."""
    from webapp.quotes.sending import send_due_reminders

    with job_context():
        sent = send_due_reminders()
        db.session.commit()
        return len(sent)
