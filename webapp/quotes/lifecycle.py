"""The quote's state machine, its events, numbering, and the status changes staff make.

Status changes go through `transition()`, which is also a compare-and-swap on the quote's
(status, version): of two concurrent changes (two approvers accepting, an approver accepting
while staff edit), the second matches no row and is told what happened instead.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from webapp import signals
from webapp.auth.models import User
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.quotes.errors import IllegalTransition, QuoteChanged, QuoteError
from webapp.quotes.models import Quote, QuoteEvent, QuoteStatus
from webapp.sales.operations import take_number
from webapp.statemachine import StateMachine, status_note

# --- the state machine -----------------------------------------------------------------------

TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    QuoteStatus.DRAFT: frozenset(
        {QuoteStatus.PENDING_APPROVAL, QuoteStatus.SENT, QuoteStatus.CANCELLED}
    ),
    QuoteStatus.PENDING_APPROVAL: frozenset(
        {QuoteStatus.APPROVED, QuoteStatus.DRAFT, QuoteStatus.CANCELLED}
    ),
    QuoteStatus.APPROVED: frozenset({QuoteStatus.SENT, QuoteStatus.DRAFT, QuoteStatus.CANCELLED}),
    QuoteStatus.SENT: frozenset(
        {
            QuoteStatus.WON,
            QuoteStatus.LOST,
            QuoteStatus.EXPIRED,
            QuoteStatus.DRAFT,
            QuoteStatus.CANCELLED,
        }
    ),
    QuoteStatus.EXPIRED: frozenset({QuoteStatus.DRAFT, QuoteStatus.CANCELLED}),
    QuoteStatus.WON: frozenset(),
    QuoteStatus.LOST: frozenset(),
    QuoteStatus.CANCELLED: frozenset(),
}
MACHINE = StateMachine.from_targets(
    "quote",
    QuoteStatus,
    TRANSITIONS,
    error=lambda quote, wanted: IllegalTransition(quote.status, wanted),
)


def transition(
    quote: Quote,
    status: QuoteStatus,
    actor: User | None,
    reason: str = "",
    *,
    new_version: bool = False,
) -> None:
    """Move the quote to `status`, or raise IllegalTransition (or QuoteChanged on a race)."""
    # Checked here, written below as a compare-and-swap rather than by MACHINE.move.
    current = MACHINE.require(quote, status)
    values: dict = {"status": status, "updated_at": utcnow(), "revision": Quote.revision + 1}
    if new_version:
        values["version"] = Quote.version + 1
    claimed = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.status == current, Quote.version == quote.version)
        .values(**values),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.expire(quote, ["status", "version", "updated_at", "revision"])
    if not claimed:
        raise QuoteChanged("The quote changed meanwhile. Reload it and try again.")
    type_, message, data = status_note(current, status, reason)
    record_quote_event(quote, type_, message, actor, **data)
    signals.quote_status_changed.send(quote, status=status, previous=current)


def record_quote_event(
    quote: Quote, type_: str, message: str, actor: User | None = None, **data
) -> QuoteEvent:
    event = QuoteEvent(type=type_, message=message, actor=actor, data=data)
    quote.events.append(event)
    return event


# --- numbering and creation -------------------------------------------------------------------

QUOTE_PREFIX = "Q"


def next_quote_number() -> str:
    """Take the next quote number (Q-000123) from the shared gap-free sequences."""
    return take_number(QUOTE_PREFIX)


def today() -> date:
    return utcnow().date()


def cancel(quote: Quote, actor: User, reason: str) -> None:
    if not reason.strip():
        raise QuoteError("Give a reason for cancelling.")
    transition(quote, QuoteStatus.CANCELLED, actor, reason.strip())
    db.session.flush()


def mark_lost(quote: Quote, actor: User, reason: str) -> None:
    """Staff record that the customer said no another way (phone, email)."""
    if not reason.strip():
        raise QuoteError("Give the reason the quote was lost.")
    transition(quote, QuoteStatus.LOST, actor, reason.strip())
    quote.lost_reason = reason.strip()
    quote.decided_at = utcnow()
    db.session.flush()


def expire_due(on: date | None = None) -> list[int]:
    """Expire sent quotes whose date has passed; return their ids."""
    on = on or today()
    expired = []
    for quote in db.session.scalars(
        select(Quote).where(Quote.status == QuoteStatus.SENT, Quote.expires_on < on)
    ).all():
        try:
            with db.session.begin_nested():
                transition(quote, QuoteStatus.EXPIRED, None, f"expired on {quote.expires_on}")
        except QuoteChanged:
            continue  # decided a moment ago: that decision stands
        expired.append(quote.id)
    db.session.flush()
    return expired
