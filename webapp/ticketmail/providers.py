"""The ticket mailbox, registered with the integrations core (its sender and delivery kind)."""

from __future__ import annotations

from webapp.integrations import registry
from webapp.integrations.registry import Registration

registry.register(
    Registration(
        "ticketmail",
        "ticketmail",
        "webapp.ticketmail.sender:TicketMailProvider",
        sender="webapp.ticketmail.sender:TicketMailSender",
    )
)
registry.register_kinds({"ticket_email": "Ticket email"})
