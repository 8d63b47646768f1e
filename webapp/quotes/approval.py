"""Internal approval: the rules a quote meets, asking a manager, approving, refusing."""

from __future__ import annotations

from sqlalchemy import select

from webapp.auth.models import Role, User
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.quotes import snapshot as snapshots
from webapp.quotes.building import CONFIRM_COST
from webapp.quotes.errors import QuoteError
from webapp.quotes.lifecycle import today, transition
from webapp.quotes.models import Quote, QuoteApprovalRule, QuoteStatus
from webapp.quotes.rules import Rule, approval_reasons


def active_rules() -> list[Rule]:
    rows = db.session.scalars(
        select(QuoteApprovalRule)
        .where(QuoteApprovalRule.active.is_(True))
        .order_by(QuoteApprovalRule.id)
    )
    return [
        Rule(row.kind, row.threshold, row.user_id, row.user.name if row.user else "")
        for row in rows
    ]


def working_snapshot(quote: Quote) -> dict:
    """The snapshot the quote would freeze if it were sent now."""
    snap = snapshots.build(quote)
    snap["recipients"] = [
        {"id": r.user.id, "name": r.user.name, "email": r.user.email} for r in quote.recipients
    ]
    return snap


def reasons_for_approval(quote: Quote, snap: dict | None = None) -> list[str]:
    return approval_reasons(active_rules(), snap or working_snapshot(quote), quote.owner_id)


def sending_problems(quote: Quote) -> list[str]:
    """What stops the quote from being sent, in words (empty: nothing)."""
    problems = []
    if not quote.lines:
        problems.append("Add at least one line.")
    for section in quote.sections:
        if section.choose_one and len(section.lines) < 2:
            problems.append(f"The “choose one” section “{section.title}” needs two or more lines.")
    if not quote.recipients:
        problems.append("Choose who receives the quote (an approver of the organization).")
    inactive = [r.user.name for r in quote.recipients if not r.user.active]
    if inactive:
        problems.append(f"No longer active: {', '.join(inactive)}.")
    unflagged = [r.user.name for r in quote.recipients if r.user.active and not r.user.is_approver]
    if unflagged:
        problems.append(f"No longer approvers: {', '.join(unflagged)}.")
    if quote.expires_on <= today():
        problems.append("The expiry date must be after today.")
    problems += cost_problems(quote)
    return problems


def cost_problems(quote: Quote) -> list[str]:
    """Name the lines whose cost of zero or less was never confirmed (they stop sending)."""
    unconfirmed = [
        f"“{line.description}” ({line.unit_cost.normalize():f})"
        for section in quote.sections
        for line in section.lines
        if line.cost_unconfirmed
    ]
    if not unconfirmed:
        return []
    return [
        f"Unit cost of zero or less not confirmed: {', '.join(unconfirmed)}. Enter the real "
        f"cost or, if the line really costs nothing or is a rebate, tick {CONFIRM_COST} on it."
    ]


def require_sendable(quote: Quote) -> None:
    problems = sending_problems(quote)
    if problems:
        raise QuoteError(" ".join(problems))


def request_approval(quote: Quote, actor: User) -> list[str]:
    require_sendable(quote)
    reasons = reasons_for_approval(quote)
    if not reasons:
        raise QuoteError("No approval rule applies to this quote: send it.")
    transition(quote, QuoteStatus.PENDING_APPROVAL, actor, "; ".join(reasons))
    quote.approval_reasons = reasons
    db.session.flush()
    return reasons


def approve(quote: Quote, actor: User, note: str = "") -> None:
    """A manager approves the quote as it stands; any later edit voids the approval."""
    if actor.role is not Role.ADMIN:
        raise QuoteError("Only a manager (admin) can approve quotes.")
    transition(quote, QuoteStatus.APPROVED, actor, note or "approved to send")
    quote.approved_by = actor
    quote.approved_at = utcnow()
    quote.approved_hash = snapshots.content_hash(working_snapshot(quote))
    db.session.flush()


def reject(quote: Quote, actor: User, note: str) -> None:
    if actor.role is not Role.ADMIN:
        raise QuoteError("Only a manager (admin) can turn down an approval request.")
    if not note.strip():
        raise QuoteError("Say why, so the owner knows what to change.")
    transition(quote, QuoteStatus.DRAFT, actor, f"approval refused: {note.strip()}")
    db.session.flush()
