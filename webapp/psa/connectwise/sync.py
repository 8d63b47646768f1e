"""ConnectWise companies, opportunities, sales orders and tickets from ours, through the outbox.

- A quote, when sent, becomes an opportunity of its organisation's company (the company is
  created first when the organisation has none: a prerequisite delivery) with a product per
  line; products missing from the ConnectWise catalog are created there. An opportunity picked
  on the quote beforehand (``matching.pick_opportunity``) is used instead of a new one. Each
  later version sent brings the opportunity's products in step (``REVISION``).
- Accepted: the opportunity keeps only the chosen options (quantities as chosen) and takes the
  won status; when invoicing is from opportunities the ConnectWise sales order is created from
  it (``convertToSalesOrder``; PSA-NOTES 2.6). Lost: the lost status.
- A sales order (approved) raises a ticket — with its products when ConnectWise invoices from
  tickets, without in configuration 2 — or adds them to the open ticket the customer picked at
  checkout (``webapp.psa.tickets.chosen_ticket``). An order without a quote (store, desk)
  becomes a won opportunity instead when the configuration invoices from opportunities, or as
  well in configuration 2 with opportunities on (``WON_SALE``).
- A receipted PO (procurement on) becomes a completed ConnectWise PO; each later receipt marks
  the lines it received, with serial and tracking numbers (``RECEIPT``).

This module decides what is queued, and when (the delivery kinds and link subjects); the sender
(``sender.ConnectWiseSender``, one module per kind of record under ``push/``) writes it.
"""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations import registry
from webapp.integrations.models import Delivery, DeliveryStatus
from webapp.integrations.outbox import ensure_delivery, find_delivery, schedule_sync
from webapp.psa.connectwise import operations
from webapp.psa.models import PsaConnection

COMPANY = "cw_company"
OPPORTUNITY = "cw_opportunity"
REVISION = "cw_opportunity_revision"  # a later version of the quote sent: its products again
RESULT = "cw_opportunity_result"  # won (with the sales order) or lost
MOVE = "cw_opportunity_move"  # the organisation re-matched: an undecided quote's opportunity moves
TICKET = "cw_ticket"
PURCHASE_ORDER = "cw_purchase_order"  # a receipted PO, linked to the purchasing demand
RECEIPT = "cw_po_receipt"  # a later receipt of a synced PO: its lines received
registry.register_kinds(
    {
        COMPANY: "ConnectWise company",
        OPPORTUNITY: "ConnectWise opportunity",
        REVISION: "ConnectWise opportunity update",
        RESULT: "ConnectWise opportunity result",
        MOVE: "ConnectWise opportunity move",
        TICKET: "ConnectWise ticket",
        PURCHASE_ORDER: "ConnectWise purchase order",
        RECEIPT: "ConnectWise purchase order receipt",
    }
)
# Subjects of deliveries and links.
ORGANIZATION = "organization"
QUOTE = "quote"
DOCUMENT = "sales_document"
WON_SALE = "cw_won_sale"  # an order without a quote, as a won opportunity (document id)
RECEIPT_SUBJECT = "receipt"
PRODUCT = "product"
PO = "purchase_order"
SUPPLIER = "supplier"
CONTACT = "user"
SALES_ORDER = "cw_sales_order"  # a document's ConnectWise sales order (link subject)
TICKET_LINK = "cw_ticket"  # a document's ConnectWise ticket (link subject)


def enabled_connections() -> list[PsaConnection]:
    """Active ConnectWise connections whose settings are saved."""
    return [
        c
        for c in core.active_connections(PsaConnection)
        if c.provider == operations.CONNECTWISE and c.option("enabled")
    ]


def company_reference(organization_id: int) -> str:
    return f"MSP-ORG-{organization_id}"


def _company_first(connection: PsaConnection, organization_id: int) -> list[Delivery]:
    if core.link_for(connection.id, ORGANIZATION, organization_id) is not None:
        return []
    return [ensure_delivery(connection, COMPANY, ORGANIZATION, organization_id)]


def queue_opportunity(quote) -> list[Delivery]:
    """A quote was sent: its opportunity (and its company first) in ConnectWise.

    A later version sent brings that opportunity's products (its forecast) in step with the
    version: one delivery per version, each after the first one, pushing the quote as it stands.
    """
    out = []
    for connection in enabled_connections():
        if not connection.option("opportunities"):
            continue
        first = find_delivery(connection.id, OPPORTUNITY, QUOTE, quote.id)
        if first is None:
            needs = _company_first(connection, quote.organization_id)
            out.append(ensure_delivery(connection, OPPORTUNITY, QUOTE, quote.id, needs))
        else:
            revision = f"quote_v{quote.version}"
            out.append(ensure_delivery(connection, REVISION, revision, quote.id, [first]))
        schedule_sync(connection)
    return out


def queue_result(quote) -> list[Delivery]:
    """A won or lost quote: the opportunity's status, the chosen options, the sales order."""
    out = []
    for connection in enabled_connections():
        opportunity = find_delivery(connection.id, OPPORTUNITY, QUOTE, quote.id)
        if opportunity is None:
            continue  # never synced: nothing to close
        out.append(ensure_delivery(connection, RESULT, QUOTE, quote.id, [opportunity]))
        schedule_sync(connection)
    return out


def queue_move(connection: PsaConnection, quote) -> Delivery:
    """The quote's organisation was matched to another company: its opportunity follows.

    The push reads the company matched when it runs, so one unsent move covers any number of
    re-matches; after a confirmed one, a further re-match is a new delivery.
    """
    earlier = db.session.scalars(
        db.select(Delivery).filter_by(connection_id=connection.id, kind=MOVE, subject_id=quote.id)
    ).all()
    unsent = [d for d in earlier if d.status in (DeliveryStatus.PENDING, DeliveryStatus.WAITING)]
    if unsent:
        return unsent[0]
    first = find_delivery(connection.id, OPPORTUNITY, QUOTE, quote.id)
    delivery = ensure_delivery(
        connection, MOVE, f"quote_move_{len(earlier) + 1}", quote.id, [first] if first else []
    )
    schedule_sync(connection)
    return delivery


def won_sale_wanted(connection: PsaConnection, document) -> bool:
    """An order that did not come from a quote (a store or desk order) becomes a won
    opportunity when the configuration uses opportunities: to invoice from (configurations 1
    and 3, invoicing from the opportunity) or for reporting (configuration 2, when asked)."""
    from webapp.sales.models import DocumentSource

    if document.source == DocumentSource.QUOTE or not connection.option("opportunities"):
        return False
    if connection.option("configuration") == operations.OUR_INVOICING:
        return True
    return invoices_from_opportunity(connection)


def invoices_from_opportunity(connection: PsaConnection) -> bool:
    return (
        connection.option("configuration") != operations.OUR_INVOICING
        and connection.option("invoice_from") == "opportunity"
    )


def ticket_wanted(connection: PsaConnection, document) -> bool:
    """Configuration 2 always raises a ticket; otherwise when ConnectWise invoices from
    tickets, or the order has no opportunity to invoice from."""
    from webapp.sales.models import DocumentSource

    if connection.option("configuration") == operations.OUR_INVOICING:
        return True
    if connection.option("invoice_from") == "ticket":
        return True
    return document.source != DocumentSource.QUOTE and not won_sale_wanted(connection, document)


def queue_ticket(document) -> list[Delivery]:
    """An approved sales order: its ticket (new, or the open one picked at checkout), and for an
    order without a quote its won opportunity when the configuration asks for one."""
    out = []
    for connection in enabled_connections():
        queued = _queue_document(connection, document)
        if queued:
            out.extend(queued)
            schedule_sync(connection)
    return out


def _queue_document(connection: PsaConnection, document) -> list[Delivery]:
    wants_ticket = ticket_wanted(connection, document)
    wants_opportunity = won_sale_wanted(connection, document)
    if not (wants_ticket or wants_opportunity):
        return []
    out = []
    needs = _company_first(connection, document.organization_id)
    if wants_ticket:
        out.append(ensure_delivery(connection, TICKET, DOCUMENT, document.id, needs))
    if wants_opportunity:
        out.append(ensure_delivery(connection, OPPORTUNITY, WON_SALE, document.id, needs))
    return out


def _demand_source(connection: PsaConnection, document) -> Delivery | None:
    """The delivery that creates the document's ConnectWise sales order or ticket."""
    ticket = find_delivery(connection.id, TICKET, DOCUMENT, document.id)
    if ticket is not None:
        return ticket
    won_sale = find_delivery(connection.id, OPPORTUNITY, WON_SALE, document.id)
    if won_sale is not None and invoices_from_opportunity(connection):
        return won_sale
    from webapp.quotes.models import Quote

    quote = db.session.scalar(db.select(Quote).filter_by(document_id=document.id))
    if quote is None:
        return None
    return find_delivery(connection.id, RESULT, QUOTE, quote.id)


def _first_sync(connection: PsaConnection, document) -> Delivery | None:
    """A document that never went to ConnectWise (placed or accepted before the connection or
    these settings): queue now what creates its sales order (or ticket) — its quote's
    opportunity and result, or its own ticket / won opportunity — and return that delivery."""
    from webapp.quotes.models import Quote

    quote = db.session.scalar(db.select(Quote).filter_by(document_id=document.id))
    if quote is None or ticket_wanted(connection, document):
        _queue_document(connection, document)
        return _demand_source(connection, document)
    opportunity = find_delivery(connection.id, OPPORTUNITY, QUOTE, quote.id)
    if opportunity is None:
        needs = _company_first(connection, quote.organization_id)
        opportunity = ensure_delivery(connection, OPPORTUNITY, QUOTE, quote.id, needs)
    return ensure_delivery(connection, RESULT, QUOTE, quote.id, [opportunity])


def _in_connectwise(connection: PsaConnection, document) -> bool:
    """Whether the document's ConnectWise sales order (or ticket) exists."""
    return (
        core.link_for(connection.id, SALES_ORDER, document.id) is not None
        or core.link_for(connection.id, TICKET_LINK, document.id) is not None
    )


def queue_purchase_order(po, receipt=None) -> list[Delivery]:
    """A receipted PO (ConnectWise procurement on): a completed ConnectWise purchase order
    linked to the purchasing demand of each sales order it serves. Each later receipt marks
    the lines it received on that ConnectWise purchase order, with serials and tracking.

    Seed 003's order: the ConnectWise sales order (or ticket) must exist first, so the delivery
    waits for the one that creates it — visibly, with a notification saying why — and goes as
    soon as it is confirmed.
    """
    out = []
    documents = {line.sales_document_id: line.sales_document for line in po.lines}
    documents.pop(None, None)
    for connection in enabled_connections():
        if not (
            connection.option("procurement")
            and connection.option("configuration") == operations.CW_INVOICING
        ):
            continue
        first = find_delivery(connection.id, PURCHASE_ORDER, PO, po.id)
        if first is not None and receipt is not None:
            out.append(ensure_delivery(connection, RECEIPT, RECEIPT_SUBJECT, receipt.id, [first]))
            schedule_sync(connection)
            continue
        needs, never = [], []
        for doc in documents.values():
            source = _demand_source(connection, doc)
            if source is None and not _in_connectwise(connection, doc):
                source = _first_sync(connection, doc)  # never synced: it goes first now
                never.append(doc.number)
            if source is not None:
                needs.append(source)
        delivery = ensure_delivery(connection, PURCHASE_ORDER, PO, po.id, needs)
        waiting = [doc.number for doc in documents.values() if not _in_connectwise(connection, doc)]
        if waiting:
            why = (
                f"{po.number} can only be linked to the purchasing demand once the ConnectWise "
                f"sales order (or ticket) of {', '.join(waiting)} exists; it goes as soon as it "
                "does."
            )
            if never:
                why += (
                    f" {', '.join(never)} had never been sent to ConnectWise (placed before "
                    "the connection or these settings): it is being sent now."
                )
            delivery.last_error = why  # the PO page's panel shows it beside "Waiting"
            core.notify(
                connection,
                delivery,
                f"Purchase order {po.number} waits for the ConnectWise sales order",
                why,
                field="Sales order",
                fix="Nothing to do if the quote was accepted and its sync is running; otherwise "
                "check the sales order's ConnectWise delivery.",
            )
        out.append(delivery)
        schedule_sync(connection)
    return out
