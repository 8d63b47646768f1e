"""A quote attached to an EXISTING Autotask opportunity of its company (the quote page).

Staff pick one of the open opportunities of the quote's linked Autotask company; the pick is
read again from Autotask by its id (its company and status checked there, never a title
matched). The rule:

- our opportunity create is still queued (or failed): it confirms with the picked one and
  creates nothing (``AutotaskSender``);
- we already created one: the quote is re-pointed to the picked opportunity; the one we made
  is left alone in Autotask and the quote's timeline says so. An Autotask quote already made
  on it stays there too; the next quote sync makes the quote and its items on the picked one.

Later won/lost results and quote syncs go to the picked opportunity (they follow the link).
An opportunity may carry several quotes, ours among them (an alternative offer): the quote we
send last is its primary quote (``webapp.psa.autotask.quotes``); a lost quote does not close
an opportunity another of our open quotes is on (``sync.queue_result``); an opportunity won in
Autotask wins its primary quote and loses our others (``webapp.psa.inbound.reconcile``).
Refused (400, with the reason): an opportunity of another company, a closed one, a quote
won/lost/cancelled/expired, an organisation with no Autotask company yet, and a create being
sent right now.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.models import DeliveryStatus, ExternalLink, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.integrations.outbox import find_delivery, schedule_sync
from webapp.psa import operations, sync
from webapp.psa.autotask.quotes import AT_QUOTE
from webapp.psa.models import PsaConnection

# Autotask's system opportunity statuses that are not open: Inactive, Lost, Closed, Implemented.
CLOSED_STATUSES = {0, 2, 3, 4}
FOUND_MAX = 50


@dataclass(frozen=True)
class FoundOpportunity:
    remote_id: str
    title: str
    status: str
    attached_to: str  # the numbers of our other quotes already on it, or ""
    this_quote: bool = False  # the quote's own opportunity already


def panel(quote) -> list[dict]:
    """Each active Autotask connection with the quote's company and opportunity links."""
    return [
        {
            "connection": c,
            "company": core.link_for(c.id, sync.ORGANIZATION, quote.organization_id),
            "opportunity": core.link_for(c.id, sync.QUOTE, quote.id),
        }
        for c in sync._connections()
    ]


def _closed(connection: PsaConnection) -> set[int]:
    closed = set(CLOSED_STATUSES)
    for key in ("won_status", "lost_status"):
        value = connection.option(key)
        if str(value or "").isdigit():
            closed.add(int(value))
    return closed


def _attached(connection: PsaConnection, remote_ids: list[str], leave: str = "") -> dict[str, str]:
    """Opportunity id -> the numbers of our quotes on it ("Q-000002, Q-000005"), but ``leave``."""
    from webapp.quotes.models import Quote

    rows = db.session.execute(
        db.select(ExternalLink.remote_id, Quote.number)
        .join(Quote, Quote.id == ExternalLink.subject_id)
        .where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.subject_type == sync.QUOTE,
            ExternalLink.remote_id.in_(remote_ids),
        )
        .order_by(Quote.id)
    ).all()
    out: dict[str, list[str]] = {}
    for remote, number in rows:
        if number != leave:
            out.setdefault(remote, []).append(number)
    return {remote: ", ".join(numbers) for remote, numbers in out.items()}


def _company(connection: PsaConnection, quote) -> ExternalLink:
    company = core.link_for(connection.id, sync.ORGANIZATION, quote.organization_id)
    if company is None:
        raise IntegrationRuleError(
            f"{quote.organization.name} has no Autotask company yet: link it on the "
            "organisation page first."
        )
    return company


def _status_name(connection: PsaConnection, value) -> str:
    for row in connection.picklists.get("Opportunities.status", []):
        if str(row.get("value")) == str(value):
            return str(row.get("label") or value)
    return str(value)


def open_opportunities(connection: PsaConnection, quote) -> list[FoundOpportunity]:
    """The open opportunities of the quote's Autotask company (at most 50, by title)."""
    company = _company(connection, quote)
    rows = operations.client_for(connection).query(
        "Opportunities",
        [{"op": "eq", "field": "companyID", "value": int(company.remote_id)}],
        limit=FOUND_MAX,
    )
    closed = _closed(connection)
    rows = [r for r in rows if int(r.get("status") or 0) not in closed]
    attached = _attached(connection, [str(r["id"]) for r in rows], leave=quote.number)
    own = core.link_for(connection.id, sync.QUOTE, quote.id)
    found = [
        FoundOpportunity(
            str(r["id"]),
            str(r.get("title") or r["id"]),
            _status_name(connection, r.get("status")),
            attached.get(str(r["id"]), ""),
            own is not None and own.remote_id == str(r["id"]),
        )
        for r in rows
    ]
    return sorted(found, key=lambda o: (o.title.lower(), int(o.remote_id)))


def attach(connection: PsaConnection, quote, remote_id: str, actor) -> ExternalLink:
    """Attach the quote to the Autotask opportunity with that id (read from Autotask)."""
    from webapp.quotes.lifecycle import record_quote_event
    from webapp.quotes.models import QuoteStatus

    if not str(remote_id or "").strip().isdigit():
        raise IntegrationRuleError("Opportunity: pick an opportunity from the list.")
    opportunity_id = int(str(remote_id).strip())
    if quote.status in (QuoteStatus.WON, QuoteStatus.LOST, QuoteStatus.CANCELLED,
                        QuoteStatus.EXPIRED):  # fmt: skip
        raise IntegrationRuleError(
            f"The quote is {quote.status.label.lower()}: only an open quote can be attached."
        )
    company = _company(connection, quote)
    current = core.link_for(connection.id, sync.QUOTE, quote.id)
    if current is not None and current.remote_id == str(opportunity_id):
        raise IntegrationRuleError("The quote is already attached to that opportunity.")
    others = _attached(connection, [str(opportunity_id)], leave=quote.number).get(
        str(opportunity_id), ""
    )
    queued = find_delivery(connection.id, sync.OPPORTUNITY, sync.QUOTE, quote.id)
    if queued is not None and queued.status == DeliveryStatus.SENT:
        raise IntegrationRuleError(
            "The quote's Autotask opportunity is being created right now; wait for it "
            "(Settings › PSA shows the outcome)."
        )
    try:
        found = operations.client_for(connection).get("Opportunities", opportunity_id)
    except IntegrationError as exc:
        raise IntegrationRuleError(f"Autotask could not be asked ({exc.message}).") from None
    if not found:
        raise IntegrationRuleError(f"Autotask has no opportunity with id {opportunity_id}.")
    if str(found.get("companyID")) != company.remote_id:
        raise IntegrationRuleError(
            f"The Autotask opportunity {opportunity_id} belongs to another company, not "
            f"{company.remote_number or company.remote_id} (the company of "
            f"{quote.organization.name})."
        )
    if int(found.get("status") or 0) in _closed(connection):
        raise IntegrationRuleError(
            f"The Autotask opportunity {opportunity_id} is "
            f"{_status_name(connection, found.get('status')).lower()}, not open."
        )
    title = str(found.get("title") or opportunity_id)[:100]
    name = actor.name if actor is not None else "staff"
    also = (
        f" It also carries {others}; this quote becomes its primary quote when it is sent."
        if others
        else ""
    )
    if current is not None:  # we created one: re-point, leave ours alone in Autotask
        old = current.remote_number or current.remote_id
        made = core.link_for(connection.id, AT_QUOTE, quote.id)
        message = (
            f"Attached to the Autotask opportunity {title} (id {opportunity_id}) by {name}. "
            f"The opportunity {old} (id {current.remote_id}) we created is left as it is in "
            "Autotask"
        )
        if made is not None:
            message += f", with the Autotask quote {made.remote_number or made.remote_id} on it"
            db.session.delete(made)  # the next quote sync makes it on the picked one
        record_quote_event(quote, "psa_opportunity", message + "." + also, actor,
                           connection_id=connection.id, previous=current.remote_id,
                           opportunity=str(opportunity_id))  # fmt: skip
    else:
        record_quote_event(
            quote,
            "psa_opportunity",
            f"Attached to the Autotask opportunity {title} (id {opportunity_id}) by {name}; "
            f"none is created.{also}",
            actor,
            connection_id=connection.id,
            opportunity=str(opportunity_id),
        )
    saved = core.save_link(connection, sync.QUOTE, quote.id, remote_id=str(opportunity_id),
                           remote_number=title)  # fmt: skip
    core.log_sync(connection, SyncDirection.PULL, "opportunity", remote_id=str(opportunity_id),
                  message=f"{quote.number} attached to {title} by {name}.")  # fmt: skip
    db.session.flush()
    if current is not None:
        sync.queue_quote_sync(quote, f"attached_{opportunity_id}")
    elif queued is not None and queued.status == DeliveryStatus.PENDING:
        schedule_sync(connection)  # the queued create now confirms with the picked one
    return saved
