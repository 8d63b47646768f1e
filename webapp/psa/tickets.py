"""The checkout's ticket choice, PSA-neutral: open tickets of an organisation, and the one picked.

Each PSA's provider class answers ``open_tickets(connection, organization)`` (and, optionally,
``syncs_tickets(connection)``); the store, the desk and quote acceptance reach this through the
``ticket_offer_wanted`` / ``ticket_chosen`` signals. The customer's pick is kept as an
integrations link of the sales document (no pick: a ticket is created).

The list offered at checkout is cached in Redis per connection and organisation (that is, per
PSA company) for ``PSA_TICKET_CACHE_SECONDS``, so a page load does not cost a PSA request; a
ticket webhook (``forget_open_tickets``) drops the connection's entries. The pick posted with
an order is always checked against the PSA live.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from flask import current_app

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations import registry
from webapp.psa.models import PsaConnection

CHOICE = "psa_ticket_choice"  # link subject: (connection, document) -> the picked ticket's id


@dataclass(frozen=True)
class TicketChoice:
    connection_id: int
    remote_id: str
    number: str
    title: str


def ticketing_connections() -> list[PsaConnection]:
    """Active PSA connections that raise tickets from our orders (their provider lists open
    tickets, and says through ``syncs_tickets(connection)`` whether this one is set to)."""
    out = []
    for connection in core.active_connections(PsaConnection):
        provider = registry.provider_class(connection.provider)
        if getattr(provider, "open_tickets", None) is None:
            continue
        syncs = getattr(provider, "syncs_tickets", None)
        if syncs is None or syncs(connection):
            out.append(connection)
    return out


def _cache_key(connection_id: int) -> str:
    return f"psa:open_tickets:{connection_id}"


def _cache_seconds() -> int:
    return int(current_app.config.get("PSA_TICKET_CACHE_SECONDS", 60))


def _cached(connection: PsaConnection, organization) -> list[TicketChoice] | None:
    from webapp.jobs import redis_conn

    raw = redis_conn().hget(_cache_key(connection.id), str(organization.id))
    if raw is None:
        return None
    entry = json.loads(raw)
    if time.time() - entry["at"] >= _cache_seconds():
        return None
    return [TicketChoice(**row) for row in entry["rows"]]


def _remember(connection: PsaConnection, organization, rows: list[TicketChoice]) -> None:
    from webapp.jobs import redis_conn

    seconds = _cache_seconds()
    if seconds <= 0:
        return
    key = _cache_key(connection.id)
    entry = {"at": time.time(), "rows": [asdict(row) for row in rows]}
    pipe = redis_conn().pipeline()
    pipe.hset(key, str(organization.id), json.dumps(entry))
    pipe.expire(key, seconds)
    pipe.execute()


def forget_open_tickets(connection_id: int) -> None:
    """Drop the cached open tickets of a connection (a ticket changed in the PSA)."""
    from webapp.jobs import redis_conn

    redis_conn().delete(_cache_key(connection_id))


def open_tickets(organization, *, fresh: bool = False) -> list[TicketChoice]:
    """Open tickets of the organisation in every PSA that raises tickets from our orders
    (from the short cache unless ``fresh``)."""
    found: list[TicketChoice] = []
    for connection in ticketing_connections():
        rows = None if fresh else _cached(connection, organization)
        if rows is None:
            provider = registry.provider_class(connection.provider)
            rows = provider.open_tickets(connection, organization)
            _remember(connection, organization, rows)
        found.extend(rows)
    return found


def choose_ticket(document, connection_id: int, remote_id: str | None) -> None:
    """Keep the customer's pick for a document (None: create a new ticket)."""
    link = core.link_for(connection_id, CHOICE, document.id)
    if remote_id is None:
        if link is not None:
            db.session.delete(link)
        return
    connection = db.session.get(PsaConnection, connection_id)
    core.save_link(connection, CHOICE, document.id, remote_id=str(remote_id))
    db.session.flush()


def chosen_ticket(document, connection_id: int) -> str | None:
    """The ticket the customer picked for this document in that PSA (None: create one)."""
    link = core.link_for(connection_id, CHOICE, document.id)
    return link.remote_id if link is not None else None


# -- the checkout's pick, from a form field ---------------------------------------------------

NEW = ""  # the form value for "a new ticket"


class TicketChoiceError(ValueError):  # a ValueError: see webapp.signals.ticket_chosen
    """A pick the checkout cannot take; the message is for the person ordering."""


@dataclass(frozen=True)
class TicketOffer:
    """What the checkout shows: the open tickets, or why they could not be read."""

    choices: list[TicketChoice]
    problem: str = ""


def choice_value(choice: TicketChoice) -> str:
    """The form value of a pick: ``<connection id>:<ticket id>``."""
    return f"{choice.connection_id}:{choice.remote_id}"


def offer(organization) -> TicketOffer:
    """The open tickets to offer at checkout (a PSA that cannot answer is said, not hidden)."""
    from webapp.integrations.interfaces import IntegrationError

    try:
        return TicketOffer(open_tickets(organization))
    except IntegrationError as exc:
        return TicketOffer([], f"Open tickets could not be read ({exc.message}).")


def apply_choice(document, value: str | None) -> None:
    """Record the pick posted with an order: a new ticket, or one of the organisation's open
    tickets (checked against the PSA again: a ticket id of another organisation is refused)."""
    from webapp.integrations.interfaces import IntegrationError

    value = (value or "").strip()
    if value == NEW:
        return
    try:
        offered = open_tickets(document.organization, fresh=True)
    except IntegrationError as exc:
        raise TicketChoiceError(
            f"The open tickets could not be checked ({exc.message}); choose “New ticket” or "
            "try again."
        ) from None
    match = next((c for c in offered if choice_value(c) == value), None)
    if match is None:
        raise TicketChoiceError(
            "That is not an open ticket of your organisation; choose another or “New ticket”."
        )
    choose_ticket(document, match.connection_id, match.remote_id)
