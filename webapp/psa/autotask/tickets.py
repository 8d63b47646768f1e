"""Our sales order -> an Autotask ticket with ticket charges (seed 001, "sales order to ticket").

The ticket is the one the customer picked at checkout (``webapp.psa.tickets``), or a new one in
the configured queue, status and priority with the title template filled in. Each line becomes
a charge: goods on the Autotask product (created first, as for quotes) with that product's
material code, shipping on the special Shipping product, the payment surcharge on the surcharge
material code, one-off services on the non-recurring service material code; the charge type
from the configuration. The material code is set only when a charge is created.

No duplicates: the ticket carries our order number in ``externalID`` (looked up after a lost
answer), every charge our order number in ``purchaseOrderNumber`` and the line in
``internalPurchaseOrderNumber`` (PSA-NOTES 1.3): the ticket's charges of this order are read
before any is created, so several orders can share one ticket. Everything is read back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.psa import tickets
from webapp.psa.autotask import mapping
from webapp.psa.autotask.quotes import SETTINGS, QuotePush, differences, line_failures

DOCUMENT = "sales_document"  # link: our order -> the ticket its charges are on
SHIPPING_PRODUCT = ("at_shipping_product", 0)
PENDING = 1  # TicketCharges.status "Pending"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def charge_ref(document, what) -> str:
    """Our reference of one charge (``internalPurchaseOrderNumber``): the order number and the
    line's position, or ``shipping`` / ``surcharge``."""
    return f"{document.number}-{what}"[:50]


def expected_charges(document) -> dict[str, tuple[str, Decimal, Decimal]]:
    """The charges an order puts on its ticket: reference -> (name, quantity, unit price), as
    the reconciliation poll compares them with what Autotask holds (no Autotask call)."""
    out = {
        charge_ref(document, line.position): (line.description[:100], line.quantity,
                                              line.unit_price)
        for line in document.lines
    }  # fmt: skip
    if document.shipping_charge > 0:
        name = (document.shipping_method_name or "Shipping")[:100]
        out[charge_ref(document, "shipping")] = (name, Decimal(1), document.shipping_charge)
    if document.surcharge_amount > 0:
        out[charge_ref(document, "surcharge")] = (
            "Payment surcharge", Decimal(1), document.surcharge_amount,
        )  # fmt: skip
    return out


class TicketPush:
    """Put one sales order on its Autotask ticket (called by the Autotask sender)."""

    def __init__(self, quotes: QuotePush) -> None:
        self.quotes = quotes
        self.connection = quotes.connection
        self.client = quotes.client

    def check_options(self, document) -> None:
        for key, what in (("charge_type", "ticket charge type"),):
            self.quotes.code(key, what)
        if tickets.chosen_ticket(document, self.connection.id) is None:
            for key, what in (
                ("ticket_queue", "ticket queue"),
                ("ticket_status", "ticket status"),
                ("ticket_priority", "ticket priority"),
            ):
                self.quotes.code(key, what)

    def push(self, document, maybe_sent: bool) -> tuple[int, str]:
        company = core.link_for(self.connection.id, "organization", document.organization_id)
        if company is None:
            raise PermanentError("The organisation has no Autotask company yet.", field="Company")
        ticket_id = self._ticket(document, int(company.remote_id), maybe_sent)
        wanted = self._charges(document)
        ours = self._existing(ticket_id, document.number)
        sent = []
        failed: list[tuple[str, PermanentError]] = []
        for ref, record, code in wanted:
            current = ours.get(ref)
            try:  # a charge Autotask refuses fails alone: the others are still made
                if current is not None:
                    if current.get("isBilled"):
                        continue  # billed charges cannot change (API-NOTES 3.3)
                    self.client.update_child(
                        "Tickets", ticket_id, "Charges", {"id": int(current["id"]), **record}
                    )
                    charge_id = int(current["id"])
                else:
                    record = {**record, "billingCodeID": code} if code else record
                    charge_id = self.client.create_child("Tickets", ticket_id, "Charges", record)
            except PermanentError as error:
                failed.append((record["name"], error))
                continue
            sent.append((charge_id, record))
        stored = {int(c["id"]): c for c in self._existing(ticket_id, document.number).values()}
        for charge_id, record in sent:
            kept = stored.get(charge_id)
            differs = ["charge"] if kept is None else differences(record, kept, ("datePurchased",))
            if differs:
                failed.append((record["name"], PermanentError(
                    f"Autotask did not keep {', '.join(differs)} of the charge “{record['name']}”.",
                    field=f"{record['name']}: {', '.join(differs)}",
                    fix=f"Check the values chosen in {SETTINGS}, then press Retry.",
                )))  # fmt: skip
        if failed:
            raise line_failures(failed, len(wanted))
        ticket = self.client.get("Tickets", ticket_id)
        return ticket_id, str(ticket.get("ticketNumber") or ticket_id)

    # -- the ticket --------------------------------------------------------------------------

    def _ticket(self, document, company_id: int, maybe_sent: bool) -> int:
        picked = tickets.chosen_ticket(document, self.connection.id)
        if picked is not None:
            ticket = self.client.get("Tickets", int(picked))
            if not ticket or int(ticket.get("companyID") or 0) != company_id:
                raise PermanentError(
                    f"The ticket picked at checkout ({picked}) is not a ticket of "
                    f"{document.organization.name} in Autotask any more.",
                    field="Ticket",
                    fix="Pick another ticket for the order (or a new one), then press Retry.",
                )
            self._link(document, int(picked), str(ticket.get("ticketNumber") or picked))
            return int(picked)
        link = core.link_for(self.connection.id, DOCUMENT, document.id)
        if link is not None:
            return int(link.remote_id)
        if maybe_sent:
            found = self.client.query(
                "Tickets",
                [
                    {"op": "eq", "field": "companyID", "value": company_id},
                    {"op": "eq", "field": "externalID", "value": document.number},
                ],
                limit=1,
            )
            if found:
                self._link(document, int(found[0]["id"]), str(found[0].get("ticketNumber")))
                return int(found[0]["id"])
        from webapp.psa import operations

        record = {
            "companyID": company_id,
            "title": operations.ticket_title(
                self.connection.option("ticket_title") or operations.DEFAULT_TITLE,
                number=document.number,
                organization=document.organization.name,
                po=document.customer_po,
                total=f"{document.currency} {document.total}",
            ),
            "description": f"{document.title} {document.number}"[:8000],
            "queueID": self.quotes.code("ticket_queue", "ticket queue"),
            "status": self.quotes.code("ticket_status", "ticket status"),
            "priority": self.quotes.code("ticket_priority", "ticket priority"),
            "externalID": document.number,
        }
        if document.customer_po:
            record["purchaseOrderNumber"] = document.customer_po[:50]
        from webapp.psa.contacts import contact_id

        contact = contact_id(self.connection.id, document.contact)
        if contact is not None:
            record["contactID"] = contact
        ticket_id = self.client.create("Tickets", record)
        tickets.forget_open_tickets(self.connection.id)  # the checkout offers it from now on
        stored = self.client.get("Tickets", ticket_id)
        differs = differences(record, stored)
        if differs:
            raise PermanentError(
                f"Autotask did not keep the ticket's {', '.join(differs)}.",
                field=", ".join(differs),
                fix=f"Check the ticket settings in {SETTINGS}, then press Retry.",
            )
        self._link(document, ticket_id, str(stored.get("ticketNumber") or ticket_id))
        return ticket_id

    def _link(self, document, ticket_id: int, number: str) -> None:
        core.save_link(self.connection, DOCUMENT, document.id, remote_id=str(ticket_id),
                       remote_number=number[:100])  # fmt: skip
        db.session.flush()

    # -- the charges -------------------------------------------------------------------------

    def _existing(self, ticket_id: int, number: str) -> dict[str, dict]:
        found = self.client.query(
            "TicketCharges",
            [
                {"op": "eq", "field": "ticketID", "value": ticket_id},
                {"op": "eq", "field": "purchaseOrderNumber", "value": number},
            ],
        )
        return {str(c.get("internalPurchaseOrderNumber") or ""): c for c in found}

    def _charges(self, document) -> list[tuple[str, dict, int]]:
        """(our line reference, the charge record, material code set at creation)."""
        from webapp.catalog.models import Product

        charge_type = self.quotes.code("charge_type", "ticket charge type")
        material = self.quotes.code("product_material_code", "product material code")
        out = []

        def charge(ref, name, quantity, price, cost, **target):
            record = {
                "name": name[:100],
                "description": name[:8000],
                "chargeType": charge_type,
                "unitQuantity": float(quantity),
                "unitPrice": float(price),
                "unitCost": float(cost or 0),
                "datePurchased": _now(),
                "isBillableToCompany": True,
                "status": PENDING,
                "purchaseOrderNumber": document.number,
                "internalPurchaseOrderNumber": ref[:50],
                **target,
            }
            return record

        for line in document.lines:
            ref = charge_ref(document, line.position)
            product = db.session.get(Product, line.product_id) if line.product_id else None
            goods = product is None or product.product_type.value in mapping.GOODS
            if goods:
                subject = ("product", product.id) if product else ("sales_line", line.id)
                snap = {
                    "description": line.description,
                    "sku": line.sku,
                    "unit_price": str(line.unit_price),
                    "unit_cost": str(line.unit_cost or 0),
                }
                category = mapping.autotask_category(self.connection, product)
                product_id, code = self.quotes.ensure_product_code(
                    subject,
                    lambda r, s=snap, p=product, c=category: mapping.product_record(
                        s, p, material, r, c
                    ),
                )
                record = charge(ref, line.description, line.quantity, line.unit_price,
                                line.unit_cost, productID=product_id)  # fmt: skip
            else:
                code = self.quotes.code(
                    "service_material_code", "non-recurring service material code"
                )
                record = charge(ref, line.description, line.quantity, line.unit_price,
                                line.unit_cost)  # fmt: skip
            out.append((ref, record, code))
        if document.shipping_charge > 0:
            snap = {"description": "Shipping", "sku": "SHIPPING", "unit_price": "0",
                    "unit_cost": "0"}  # fmt: skip
            product_id, code = self.quotes.ensure_product_code(
                SHIPPING_PRODUCT, lambda r: mapping.product_record(snap, None, material, r)
            )
            name = document.shipping_method_name or "Shipping"
            ref = charge_ref(document, "shipping")
            out.append((ref, charge(ref, name, 1, document.shipping_charge, Decimal(0),
                                    productID=product_id), code))  # fmt: skip
        if document.surcharge_amount > 0:
            code = self.quotes.code("surcharge_material_code", "payment surcharge material code")
            ref = charge_ref(document, "surcharge")
            out.append(
                (ref, charge(ref, "Payment surcharge", 1, document.surcharge_amount, 0), code)
            )
        return out
