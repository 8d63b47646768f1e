"""Send a quote: freeze a version, email its approvers a signed link and a PDF, remind them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update

from webapp.auth.models import User
from webapp.extensions import db
from webapp.mail import links
from webapp.mail.links import LinkUnavailable, OneTimeLink
from webapp.mail.operations import Attachment, EmailNotBuildable, public_url, queue_email
from webapp.models_base import utcnow
from webapp.pdf import render_pdf
from webapp.quotes import snapshot as snapshots
from webapp.quotes.approval import reasons_for_approval, require_sendable, working_snapshot
from webapp.quotes.errors import IllegalTransition, NeedsApproval, QuoteError, QuoteLocked
from webapp.quotes.lifecycle import record_quote_event, today, transition
from webapp.quotes.models import (
    DecisionOutcome,
    Quote,
    QuoteDecision,
    QuoteReminder,
    QuoteStatus,
    QuoteVersion,
)
from webapp.quotes.selection import (
    Chosen,
    choices,
    default_selection,
    from_record,
    priced,
    totals_of,
)
from webapp.quotes.tokens import make_token
from webapp.quotes.totals import line_figures


def send_quote(quote: Quote, actor: User) -> QuoteVersion:
    """Freeze the quote as a new version and email each recipient a signed link and a PDF."""
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED):
        raise IllegalTransition(quote.status, QuoteStatus.SENT)
    require_sendable(quote)
    snap = working_snapshot(quote)
    digest = snapshots.content_hash(snap)
    if quote.status is QuoteStatus.DRAFT:
        reasons = reasons_for_approval(quote, snap)
        if reasons:
            raise NeedsApproval(reasons)
    elif digest != quote.approved_hash:
        raise QuoteError("The quote changed since it was approved: edit it and ask again.")
    transition(quote, QuoteStatus.SENT, actor, f"version {quote.version} sent")
    version = QuoteVersion(number=quote.version, snapshot=snap, content_hash=digest, sent_by=actor)
    quote.versions.append(version)
    quote.sent_at = utcnow()
    db.session.flush()
    pdf = quote_pdf(snap)
    for recipient in quote.recipients:
        _email_link(quote, version, recipient.user, "quote_sent", pdf=pdf)
    record_quote_event(
        quote,
        "sent",
        f"Version {version.number} sent to "
        + ", ".join(r.user.email for r in quote.recipients)
        + f" (sha256 {digest[:12]}…)",
        actor,
        version=version.number,
        content_hash=digest,
    )
    return version


def quote_pdf(snap: dict, accepted: QuoteDecision | None = None) -> bytes:
    """The PDF of a version; of an accepted one (`accepted`, its acceptance), with the totals
    of the items the approver chose and the signature with its name, time and address."""
    return render_pdf("quotes/pdf.html", **quote_pdf_context(snap, accepted))


def quote_pdf_context(snap: dict, accepted: QuoteDecision | None = None) -> dict:
    chosen = from_record(snap, accepted.selection) if accepted else default_selection(snap)
    # An accepted PDF shows each line at the quantity taken and marks what was left out.
    quantities = {c.key: c.quantity for c in chosen} if accepted else {}
    every = [
        Chosen(line, quantities.get(line["key"], line["quantity"]))
        for line in snapshots.all_lines(snap)
    ]
    return {
        "quote": snap,
        "totals": totals_of(snap, chosen),
        "amounts": {p.key: line_figures(p).subtotal for p in priced(every)},
        "quantities": quantities,
        "choices": choices(snap, chosen) if accepted else {},
        "accepted": accepted,
    }


def acceptance_of(version: QuoteVersion) -> QuoteDecision | None:
    """The acceptance of this version, if it was accepted (one decision per version)."""
    return db.session.scalar(
        select(QuoteDecision).where(
            QuoteDecision.version_id == version.id,
            QuoteDecision.outcome == DecisionOutcome.ACCEPTED,
        )
    )


def pdf_filename(snap: dict) -> str:
    return f"{snap['number']}-v{snap['version']}.pdf"


def approval_token(quote: Quote, version: QuoteVersion, user: User) -> str:
    expires_on = date.fromisoformat(version.snapshot["expires_on"])
    return make_token(quote.id, version.number, user.id, expires_on)


def approval_url(quote: Quote, version: QuoteVersion, user: User) -> str:
    return public_url("quotes.view", token=approval_token(quote, version, user))


def _issue_approval_link(ref: str, to_address: str) -> str:
    """Issue a fresh approval link for an emailed `quote_id:version:recipient_id` (mail.links)."""
    quote_id, number, user_id = (int(part) for part in ref.split(":"))
    quote = db.session.get(Quote, quote_id)
    user = db.session.get(User, user_id)
    version = db.session.scalar(
        select(QuoteVersion).where(QuoteVersion.quote_id == quote_id, QuoteVersion.number == number)
    )
    if (
        quote is None
        or version is None
        or user is None
        or user.email.lower() != to_address.lower()
        or user.id not in {r["id"] for r in version.snapshot.get("recipients", [])}
    ):
        raise LinkUnavailable("That quote version was not sent to this address.")
    if not user.active or not user.is_approver:
        raise LinkUnavailable(f"{user.name} can no longer decide on quotes.")
    return approval_url(quote, version, user)


links.register("quote-approval", _issue_approval_link)


def _email_link(
    quote: Quote, version: QuoteVersion, user: User, template: str, *, pdf: bytes | None
) -> None:
    snap = version.snapshot
    site = current_app.config["SITE_NAME"]
    subject = {
        # A title saved before titles were one line must not stop the email.
        "quote_sent": f"Quote {quote.number} from {site}: {' '.join(snap['title'].split())}",
        "quote_reminder": f"Reminder: quote {quote.number} from {site} expires "
        f"{date.fromisoformat(snap['expires_on']).strftime('%d %B %Y')}",
    }[template]
    try:
        queue_email(
            to=user.email,
            subject=subject,
            template=template,
            topic=f"quote:{quote.id}",
            attachments=[Attachment(pdf_filename(snap), "application/pdf", pdf)] if pdf else [],
            recipient=user,
            quote=snap,
            expires_on=date.fromisoformat(snap["expires_on"]),
            one_time_link=OneTimeLink("quote-approval", f"{quote.id}:{version.number}:{user.id}"),
            totals={key: Decimal(value) for key, value in snap["totals"].items()},
        )
    except EmailNotBuildable as error:
        # The caller rolls back: the quote stays unsent, no other recipient's email either.
        raise QuoteError(f"Not sent: {error}.") from None


def schedule_reminder(quote: Quote, due_at: datetime, note: str, actor: User) -> QuoteReminder:
    if quote.status.is_final:
        raise QuoteLocked(f"Quote {quote.number} is {quote.status.label.lower()}.")
    if due_at <= utcnow():
        raise QuoteError("A reminder must be due in the future.")
    if due_at.date() > quote.expires_on:
        raise QuoteError("A reminder must be due before the quote expires.")
    reminder = QuoteReminder(due_at=due_at, note=note.strip()[:500], created_by_id=actor.id)
    quote.reminders.append(reminder)
    record_quote_event(
        quote,
        "reminder.scheduled",
        f"Reminder scheduled for {due_at.strftime('%d %b %Y %H:%M')} UTC",
        actor,
    )
    db.session.flush()
    return reminder


def cancel_reminder(quote: Quote, reminder_id: int, actor: User) -> None:
    """Call off a reminder that has not gone out yet."""
    reminder = db.session.get(QuoteReminder, reminder_id)
    if reminder is None or reminder.quote_id != quote.id:
        raise QuoteError("That reminder is not part of this quote.")
    claimed = db.session.execute(
        update(QuoteReminder)
        .where(QuoteReminder.id == reminder.id, QuoteReminder.done_at.is_(None))
        .values(done_at=utcnow(), outcome=f"cancelled by {actor.name}"[:200]),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.expire(reminder, ["done_at", "outcome"])
    if not claimed:
        raise QuoteError(f"That reminder already {reminder.outcome or 'went out'}.")
    record_quote_event(
        quote,
        "reminder.cancelled",
        f"Reminder for {reminder.due_at.strftime('%d %b %Y %H:%M')} UTC cancelled",
        actor,
    )
    db.session.flush()


def send_due_reminders(now: datetime | None = None) -> list[int]:
    """Email the approvers of each sent quote whose reminder is due; return reminder ids."""
    now = now or utcnow()
    done = []
    for reminder in db.session.scalars(
        select(QuoteReminder)
        .where(QuoteReminder.done_at.is_(None), QuoteReminder.due_at <= now)
        .order_by(QuoteReminder.due_at)
    ).all():
        # Claim it: of two overlapping runs, only one sends each reminder.
        claimed = db.session.execute(
            update(QuoteReminder)
            .where(QuoteReminder.id == reminder.id, QuoteReminder.done_at.is_(None))
            .values(done_at=now),
            execution_options={"synchronize_session": False},
        ).rowcount
        db.session.expire(reminder, ["done_at"])
        if not claimed:
            continue
        quote = reminder.quote
        version = quote.current_version
        # The version's own recipients, while they may still decide (see open_link).
        sent_to = {r["id"] for r in version.snapshot.get("recipients", [])} if version else set()
        users = [
            r.user
            for r in quote.recipients
            if r.user_id in sent_to and r.user.active and r.user.is_approver
        ]
        if quote.status is not QuoteStatus.SENT or version is None:
            reminder.outcome = f"skipped: the quote is {quote.status.label.lower()}"
        elif today() > quote.expires_on:
            reminder.outcome = "skipped: the quote has expired"
        elif not users:
            reminder.outcome = "skipped: none of its approvers may still accept it"
        else:
            for user in users:
                _email_link(quote, version, user, "quote_reminder", pdf=None)
            reminder.outcome = f"sent to {len(users)} approver(s)"
            record_quote_event(quote, "reminder.sent", f"Reminder {reminder.outcome}")
        done.append(reminder.id)
    db.session.flush()
    return done
