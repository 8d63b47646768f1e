"""The checkout's ticket choice, PSA-neutral: open tickets of an organisation, and the one picked.

Minimal version (the Autotask helper builds the checkout UI on these names): each active PSA
connection's provider class answers ``open_tickets(connection, organization)``; the customer's
pick is kept as an integrations link of the sales document (no pick: a ticket is created).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def open_tickets(organization) -> list[TicketChoice]:
    """Open tickets of the organisation in every active PSA that can list them."""
    found: list[TicketChoice] = []
    for connection in core.active_connections(PsaConnection):
        provider = registry.provider_class(connection.provider)
        lister = getattr(provider, "open_tickets", None)
        if lister is not None:
            found.extend(lister(connection, organization))
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
