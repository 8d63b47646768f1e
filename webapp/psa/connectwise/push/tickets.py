"""A sales order's ConnectWise ticket (new, or the open one picked at checkout)."""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.integrations.models import Delivery
from webapp.psa.connectwise import operations
from webapp.psa.connectwise.client import condition
from webapp.psa.connectwise.push.products import Products
from webapp.psa.connectwise.sync import TICKET_LINK


class Tickets(Products):
    # -- tickets ---------------------------------------------------------------------------

    def _ticket(self, delivery: Delivery):
        from webapp.psa.tickets import chosen_ticket, forget_open_tickets
        from webapp.sales.models import SalesDocument

        document = db.session.get(SalesDocument, delivery.subject_id)
        if document is None:
            raise PermanentError("The sales order was deleted.", field="Sales order")
        company = self._company_of(document.organization_id)
        picked = chosen_ticket(document, self.connection.id)
        found = picked is not None
        if picked is not None:
            ticket_id = int(picked)
            ticket = self.client.get(f"service/tickets/{ticket_id}") or {}
            if ticket.get("closedFlag"):
                raise PermanentError(
                    f"Ticket {ticket_id} was closed before order {document.number} reached it.",
                    field="Ticket",
                    fix="Clear the ticket choice (a new ticket is created) and press Retry.",
                )
        else:
            reference = f"MSP {document.number}"
            existing = []
            if delivery.attempts > 1:  # an earlier attempt may have created it: look first
                existing = self.client.find(
                    "service/tickets", condition("externalXRef", "=", reference)
                )
            found = bool(existing)
            if existing:
                ticket_id = int(existing[0]["id"])
            else:
                record = {
                    "summary": f"Order {document.number} for {document.organization.name}"[:100],
                    "company": company,
                    "board": self._ref("board", "service board"),
                    "status": self._ref("ticket_status", "ticket status"),
                    "externalXRef": reference,
                    "initialDescription": _describe(document),
                    "closedFlag": False,
                }
                if document.customer_po:
                    record["poNumber"] = document.customer_po[:50]
                ticket_id = self.client.create("service/tickets", record)["id"]
                forget_open_tickets(self.connection.id)  # the checkout offers it now
        if self.connection.option("configuration") != operations.OUR_INVOICING:
            self._products(
                {"ticket": {"id": ticket_id}},
                f"ticket/id = {ticket_id}",
                self._document_lines(document),
                company,
            )
        core.save_link(
            self.connection, TICKET_LINK, document.id, remote_id=str(ticket_id),
            remote_number=f"Ticket {ticket_id}",
        )  # fmt: skip
        return ticket_id, f"Ticket {ticket_id}", found


def _describe(document) -> str:
    lines = [f"{line.quantity} × {line.sku or ''} {line.description}" for line in document.lines]
    return f"Sales order {document.number}\n" + "\n".join(lines)
