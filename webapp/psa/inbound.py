"""Back from Autotask: the ticket webhook (registered and kept registered by us), the events it
brings, and the reconciliation poll for what webhooks do not cover (flush, never commit).

Autotask has no webhooks for opportunities, quotes or ticket charges, and drops a webhook call
after five failed tries (PSA-NOTES 1.10): the poll reads the opportunities of our open quotes
(won or lost there moves our quote, through the quotes domain's operations) and the tickets
of our orders changed since the last poll (a missed event is caught there), and reads the
ticket charges of our orders back (deleted or changed there: a notice naming the charge).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.inbound import INBOUND
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.models import ExternalLink, InboundEvent, SyncDirection
from webapp.jobs import enqueue_after_commit
from webapp.models_base import utcnow
from webapp.psa import operations
from webapp.psa.autotask import services, webhooks
from webapp.psa.autotask.contact_sync import pull_contacts
from webapp.psa.models import PsaConnection
from webapp.psa.tickets import forget_open_tickets

TICKET_LINK = "sales_document"  # our order -> its ticket (webapp.psa.autotask.tickets)


# -- the webhook's secret (encrypted with the API secret) --------------------------------------


def webhook_secret(connection: PsaConnection) -> str:
    from webapp.integrations.secrets import decrypt

    if not connection.token_ciphertext:
        return ""
    return json.loads(decrypt(connection.token_ciphertext)).get("webhook_secret", "")


def _store_secret(connection: PsaConnection, secret: str) -> None:
    from webapp.integrations.secrets import decrypt, encrypt

    stored = json.loads(decrypt(connection.token_ciphertext))
    stored["webhook_secret"] = secret
    connection.token_ciphertext = encrypt(json.dumps(stored).encode())


# -- registering -----------------------------------------------------------------------------


def register_webhook(connection: PsaConnection) -> int:
    """Create our ticket webhook in Autotask with a new secret (the old one is deleted)."""
    from webapp.mail.operations import public_url

    client = operations.client_for(connection)
    old = connection.option("webhook_id")
    secret = secrets.token_urlsafe(48)[:64]  # Autotask allows 64 characters
    record = {
        "name": f"MSP quoting ({connection.id})"[:50],
        "webhookUrl": public_url("psa_webhooks.ticket_event", connection_id=connection.id),
        "deactivationUrl": public_url("psa_webhooks.deactivated", connection_id=connection.id),
        "secretKey": secret,
        "isActive": True,
        "isSubscribedToCreateEvents": True,
        "isSubscribedToUpdateEvents": True,
        "isSubscribedToDeleteEvents": True,
        "sendThresholdExceededNotification": True,
    }
    webhook_id = client.create("TicketWebhooks", record)
    stored = client.get("TicketWebhooks", webhook_id)
    if not stored.get("isActive") or stored.get("webhookUrl") != record["webhookUrl"]:
        raise IntegrationError("Autotask did not keep the ticket webhook as sent.")
    _store_secret(connection, secret)
    connection.options = {**(connection.options or {}), "webhook_id": webhook_id,
                          "webhook_active": True}  # fmt: skip
    if old:
        with contextlib.suppress(IntegrationError):  # already gone: nothing to clean up
            client.request("DELETE", f"TicketWebhooks/{old}")
    core.log_sync(
        connection, SyncDirection.PULL, "webhook", message=f"Webhook {webhook_id} set up."
    )
    db.session.flush()
    return webhook_id


def keep_webhook(connection: PsaConnection) -> bool:
    """Re-register the webhook when Autotask dropped or deactivated it; True when it did."""
    webhook_id = connection.option("webhook_id")
    if webhook_id and connection.option("webhook_active"):
        found = operations.client_for(connection).get("TicketWebhooks", int(webhook_id))
        if found and found.get("isActive"):
            return False
    register_webhook(connection)
    return True


# -- receiving -------------------------------------------------------------------------------


def receive(connection: PsaConnection, body: bytes, header: str, *, deactivated: bool) -> bool:
    """Store a verified event and queue its handling; False (nothing stored) when the
    signature does not match."""
    if not webhooks.verify(body, header, webhook_secret(connection)):
        return False
    event = InboundEvent(
        provider=operations.AUTOTASK,
        body=body.decode("utf-8", "replace"),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    db.session.add(event)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        return True  # Autotask's retry of a body we hold: handled once
    # A ticket was created, changed or deleted: the checkout's cached open tickets are stale.
    forget_open_tickets(connection.id)
    if deactivated:
        # Signed by our secret, so it is Autotask telling us: register again.
        connection.options = {**(connection.options or {}), "webhook_active": False}
        enqueue_after_commit("workers.psa.keep_webhook", connection.id)
    enqueue_after_commit("workers.psa.handle_ticket_event", connection.id, event.id)
    return True


def _our_resource(connection: PsaConnection) -> int | None:
    for resource in connection.picklists.get("Resources", []):
        if resource.get("email") == connection.username.lower():
            return int(resource["value"])
    return None


def handle_ticket_event(connection: PsaConnection, event: InboundEvent) -> str:
    """Act on one event: re-read the ticket (events are hints) and note it on our order."""
    data = webhooks.parse(event.body.encode())
    event.processed_at = utcnow()
    INBOUND.fire(event, "process")
    if data.get("PersonID") is not None and data.get("PersonID") == _our_resource(connection):
        return "our own change (echo)"
    if data["Action"] == "Deactivated":
        return "webhook deactivated: registering again"
    return note_ticket(connection, int(data["Id"]), data["Action"])


def note_ticket(connection: PsaConnection, ticket_id: int, action: str) -> str:
    """Record a ticket change on the orders it carries (the sales order's timeline)."""
    from webapp.sales.models import SalesDocument
    from webapp.sales.operations import record_event

    links = db.session.scalars(
        db.select(ExternalLink).filter_by(
            connection_id=connection.id, subject_type=TICKET_LINK, remote_id=str(ticket_id)
        )
    ).all()
    if not links:
        return f"ticket {ticket_id}: none of our orders"
    ticket = (
        {} if action == "Delete" else operations.client_for(connection).get("Tickets", ticket_id)
    )
    status = _label(connection, "Tickets.status", ticket.get("status"))
    text = (
        f"Autotask ticket {links[0].remote_number} was deleted."
        if not ticket
        else f"Autotask ticket {ticket.get('ticketNumber') or ticket_id} is {status}."
    )
    for link in links:
        document = db.session.get(SalesDocument, link.subject_id)
        if document is not None:
            record_event(document, "psa.ticket", text, ticket=ticket_id, status=status)
    core.log_sync(connection, SyncDirection.PULL, "ticket", message=text, remote_id=str(ticket_id))
    db.session.flush()
    return text


def _label(connection: PsaConnection, picklist: str, value) -> str:
    for v, label in connection.choices(picklist):
        if v == str(value):
            return label
    return str(value)


# -- the reconciliation poll -----------------------------------------------------------------


def reconcile(connection: PsaConnection) -> dict[str, int]:
    """Opportunities of our open quotes (won / lost there), tickets changed since the last
    poll, and the charges of our orders (``check_charges``);
    and the linked contacts (``contact_sync.pull_contacts``);
    ``{"won": n, "lost": n, "tickets": n, "charges": n, "contacts": n}``."""
    from webapp.quotes import lifecycle as quotes
    from webapp.quotes.models import Quote, QuoteStatus

    client = operations.client_for(connection)
    done = {"won": 0, "lost": 0, "tickets": 0, "charges": 0, "contacts": 0}
    open_quotes = db.session.execute(
        db.select(Quote, ExternalLink.remote_id)
        .join(ExternalLink, ExternalLink.subject_id == Quote.id)
        .where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.subject_type == "quote",
            Quote.status == QuoteStatus.SENT,
        )
    ).all()
    by_opportunity: dict[int, list] = {}
    for quote, remote in open_quotes:  # an opportunity may carry several of our quotes
        by_opportunity.setdefault(int(remote), []).append(quote)
    ids = list(by_opportunity)
    for start in range(0, len(ids), 500):  # at most 500 OR conditions (PSA-NOTES 1.6)
        chunk = ids[start : start + 500]
        for row in client.query(
            "Opportunities", [{"op": "in", "field": "id", "value": chunk}], limit=len(chunk)
        ):
            group = by_opportunity[int(row["id"])]
            status = str(row.get("status"))
            if status == str(connection.option("won_status")):
                winner = _primary(connection, client, int(row["id"]), group)
                for quote in group:
                    if quote is winner:
                        quotes.transition(quote, QuoteStatus.WON, None, "won in Autotask")
                        quote.decided_at = utcnow()
                        done["won"] += 1
                    else:
                        quotes.mark_lost(quote, None, "another quote of its opportunity won "
                                         "in Autotask (its primary quote)")  # fmt: skip
                        done["lost"] += 1
            elif status == str(connection.option("lost_status")):
                for quote in group:
                    quotes.mark_lost(quote, None, "lost in Autotask")
                    done["lost"] += 1
    since = connection.option("polled_at")
    ticket_ids = sorted(
        {
            int(remote)
            for remote in db.session.scalars(
                db.select(ExternalLink.remote_id).filter_by(
                    connection_id=connection.id, subject_type=TICKET_LINK
                )
            )
        }
    )
    started = utcnow()
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start : start + 500]
        filters = [{"op": "in", "field": "id", "value": chunk}]
        if since:
            filters.append({"op": "gt", "field": "lastActivityDate", "value": since})
        for row in client.query("Tickets", filters, limit=len(chunk)):
            note_ticket(connection, int(row["id"]), "Update")
            done["tickets"] += 1
    done["charges"] = check_charges(connection, client)
    done["contacts"] = pull_contacts(connection, client)
    if services.configured(connection):  # Services created in Autotask (seed 002)
        done["services"] = services.import_services(connection, client).created
    # A little overlap: an activity in the second the poll ran is read again, not missed.
    stamp = (started - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    connection.options = {**(connection.options or {}), "polled_at": stamp}
    core.log_sync(connection, SyncDirection.PULL, "reconcile",
                  message=", ".join(f"{k}: {v}" for k, v in done.items()))  # fmt: skip
    db.session.flush()
    return done


def _primary(connection: PsaConnection, client, opportunity_id: int, group: list):
    """The quote of ours an opportunity won in Autotask stands for: the only one, else the one
    whose Autotask quote is the opportunity's primary quote (none: a quote made in Autotask)."""
    from webapp.psa.autotask.quotes import AT_QUOTE

    if len(group) == 1:
        return group[0]
    primary = client.query(
        "Quotes",
        [
            {"op": "eq", "field": "opportunityID", "value": opportunity_id},
            {"op": "eq", "field": "primaryQuote", "value": True},
        ],
        limit=1,
    )
    for quote in group:
        link = core.link_for(connection.id, AT_QUOTE, quote.id)
        if primary and link is not None and link.remote_id == str(primary[0]["id"]):
            return quote
    return None


def _charge_problems(document, held: list[dict]) -> list[tuple[str, str]]:
    """(charge name, what differs) for each charge of the order Autotask no longer holds as
    we put it there: deleted, or its quantity or unit price changed."""
    from decimal import Decimal

    from webapp.psa.autotask.tickets import expected_charges

    by_ref = {str(c.get("internalPurchaseOrderNumber") or ""): c for c in held}
    problems = []
    for ref, (name, quantity, price) in expected_charges(document).items():
        charge = by_ref.get(ref)
        if charge is None:
            problems.append((name, "was deleted in Autotask"))
            continue
        changes = []
        for label, ours, field in (("quantity", quantity, "unitQuantity"),
                                   ("unit price", price, "unitPrice")):  # fmt: skip
            ours = Decimal(str(ours))
            theirs = Decimal(str(charge.get(field) or 0))
            if theirs != ours:
                changes.append(f"{label} {ours.normalize():f} → {theirs.normalize():f}")
        if changes:
            problems.append((name, "was changed in Autotask (" + ", ".join(changes) + ")"))
    return problems


def check_charges(connection: PsaConnection, client=None) -> int:
    """Read the ticket charges of our orders back (Autotask has no webhook for charges): a
    charge deleted or changed there is noted on the order's timeline and in a notice naming
    the charge; the notice closes when the charges are back in step. Returns how many orders
    differ now. A difference is reported once (its digest is kept on the order's link)."""
    from webapp.sales.models import SalesDocument
    from webapp.sales.operations import record_event

    client = client or operations.client_for(connection)
    links = db.session.scalars(
        db.select(ExternalLink).filter_by(connection_id=connection.id, subject_type=TICKET_LINK)
    ).all()
    by_ticket: dict[int, list[ExternalLink]] = {}
    for link in links:
        by_ticket.setdefault(int(link.remote_id), []).append(link)
    ticket_ids = sorted(by_ticket)
    differing = 0
    for start in range(0, len(ticket_ids), 500):  # at most 500 OR conditions (PSA-NOTES 1.6)
        chunk = ticket_ids[start : start + 500]
        held: dict[tuple[int, str], list[dict]] = {}
        for charge in client.query(
            "TicketCharges", [{"op": "in", "field": "ticketID", "value": chunk}], limit=100_000
        ):
            key = (int(charge.get("ticketID") or 0), str(charge.get("purchaseOrderNumber") or ""))
            held.setdefault(key, []).append(charge)
        for ticket_id in chunk:
            for link in by_ticket[ticket_id]:
                document = db.session.get(SalesDocument, link.subject_id)
                if document is None:
                    continue
                problems = _charge_problems(document, held.get((ticket_id, document.number), []))
                cause = f"ticket_charges:{document.id}"
                if not problems:
                    if link.version:
                        link.version = ""
                        core.resolve_cause(connection, cause)
                    continue
                differing += 1
                text = "; ".join(f"“{name}” {what}" for name, what in problems)
                digest = hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - not security
                if link.version == digest:
                    continue  # reported already
                link.version = digest
                number = link.remote_number or ticket_id
                message = f"On Autotask ticket {number}, charges of {document.number}: {text}."
                record_event(document, "psa.charges", message, ticket=ticket_id)
                core.notify(
                    connection,
                    None,
                    f"Ticket charges of {document.number} differ in Autotask",
                    message,
                    field=", ".join(name for name, _ in problems)[:200],
                    fix="If the change in Autotask was intended, dismiss this notice; if not, "
                    "correct the charge on the ticket in Autotask (our order is unchanged).",
                    cause=cause[:50],
                )
                core.log_sync(connection, SyncDirection.PULL, "charges", message=message,
                              remote_id=str(ticket_id))  # fmt: skip
    db.session.flush()
    return differing
