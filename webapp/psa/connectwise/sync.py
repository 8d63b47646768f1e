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

ConnectWise has no idempotency key, so every create carries our reference where a condition
finds it (``integrationXRef`` on catalog items and products, ``externalXRef`` on tickets, the
company identifier, the quote number opening the opportunity name) and a create that may have
reached ConnectWise is looked up before it is repeated. Updates PATCH whole values and are read
back (``ConnectWiseClient.patch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations import registry
from webapp.integrations.interfaces import PermanentError, PushResult
from webapp.integrations.models import Delivery
from webapp.integrations.outbox import Sender, ensure_delivery, find_delivery, schedule_sync
from webapp.psa.connectwise import operations
from webapp.psa.connectwise.client import all_of, condition
from webapp.psa.models import PsaConnection

COMPANY = "cw_company"
OPPORTUNITY = "cw_opportunity"
REVISION = "cw_opportunity_revision"  # a later version of the quote sent: its products again
RESULT = "cw_opportunity_result"  # won (with the sales order) or lost
TICKET = "cw_ticket"
PURCHASE_ORDER = "cw_purchase_order"  # a receipted PO, linked to the purchasing demand
RECEIPT = "cw_po_receipt"  # a later receipt of a synced PO: its lines received
registry.register_kinds(
    {
        COMPANY: "ConnectWise company",
        OPPORTUNITY: "ConnectWise opportunity",
        REVISION: "ConnectWise opportunity update",
        RESULT: "ConnectWise opportunity result",
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
        wants_ticket = ticket_wanted(connection, document)
        wants_opportunity = won_sale_wanted(connection, document)
        if not (wants_ticket or wants_opportunity):
            continue
        needs = _company_first(connection, document.organization_id)
        if wants_ticket:
            out.append(ensure_delivery(connection, TICKET, DOCUMENT, document.id, needs))
        if wants_opportunity:
            out.append(ensure_delivery(connection, OPPORTUNITY, WON_SALE, document.id, needs))
        schedule_sync(connection)
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
        needs = [d for d in (_demand_source(connection, doc) for doc in documents.values()) if d]
        delivery = ensure_delivery(connection, PURCHASE_ORDER, PO, po.id, needs)
        waiting = [
            doc.number
            for doc in documents.values()
            if core.link_for(connection.id, SALES_ORDER, doc.id) is None
            and core.link_for(connection.id, TICKET_LINK, doc.id) is None
        ]
        if waiting:
            why = (
                f"{po.number} can only be linked to the purchasing demand once the ConnectWise "
                f"sales order (or ticket) of {', '.join(waiting)} exists; it goes as soon as it "
                "does."
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


@dataclass(frozen=True)
class Item:
    key: str
    delivery: Delivery


class ConnectWiseSender(Sender):
    kind_order = (COMPANY, OPPORTUNITY, REVISION, RESULT, TICKET, PURCHASE_ORDER, RECEIPT)
    max_batch = 1

    def __init__(self, connection: PsaConnection) -> None:
        self.connection = connection
        self.client = operations.client_for(connection)
        self.http = self.client.http

    def blocked(self) -> list[str]:
        if not self.connection.option("enabled"):
            return ["Save the ConnectWise settings (Settings › PSA › ConnectWise)."]
        return []

    def payload(self, delivery: Delivery) -> Item:
        return Item(delivery.request_key, delivery)

    def push(self, kind: str, items: list) -> list[PushResult]:
        push = {
            COMPANY: self._company,
            OPPORTUNITY: self._opportunity,
            REVISION: self._revision,
            RESULT: self._result,
            TICKET: self._ticket,
            PURCHASE_ORDER: self._purchase_order,
            RECEIPT: self._later_receipt,
        }[kind]
        out = []
        for item in items:
            try:
                remote_id, number, found = push(item.delivery)
            except PermanentError as error:
                out.append(PushResult(item.key, error=error))
                continue
            out.append(
                PushResult(
                    item.key,
                    remote_id=str(remote_id),
                    remote_number=str(number)[:100],
                    found_existing=found,
                )
            )
        return out

    # -- settings --------------------------------------------------------------------------

    def _ref(self, key: str, what: str) -> dict:
        value = self.connection.option(key)
        if value in (None, ""):
            raise PermanentError(
                f"Choose the {what} in Settings › PSA › ConnectWise.",
                field=what,
                fix="Pick it from the list (read from ConnectWise), save, then press Retry.",
            )
        return {"id": int(value)}

    def _company_of(self, organization_id: int) -> dict:
        link = core.link_for(self.connection.id, ORGANIZATION, organization_id)
        if link is None:
            raise PermanentError(
                "The organisation has no ConnectWise company yet.", field="Company"
            )
        return {"id": int(link.remote_id)}

    # -- company ---------------------------------------------------------------------------

    def _company(self, delivery: Delivery):
        from webapp.organizations.models import Organization

        organization = db.session.get(Organization, delivery.subject_id)
        if organization is None:
            raise PermanentError("The organisation was deleted.", field="Organisation")
        identifier = company_reference(organization.id)
        found = self.client.find(
            "company/companies",
            all_of(condition("identifier", "=", identifier), condition("deletedFlag", "=", False)),
        )
        if found:
            return found[0]["id"], identifier, True
        types = self.connection.option("sync_types") or []
        statuses = self.connection.option("sync_statuses") or []
        if not types or not statuses:
            raise PermanentError(
                "Choose which company types and statuses sync.",
                field="Company types",
                fix="Settings › PSA › ConnectWise › Organisations, then Retry.",
            )
        record = {
            "identifier": identifier,
            "name": organization.name[:156],
            "types": [{"id": int(types[0])}],
            "status": {"id": int(statuses[0])},
            "deletedFlag": False,
        }
        if organization.phone.strip():
            record["phoneNumber"] = organization.phone[:30]
        created = self.client.create("company/companies", record)
        return created["id"], identifier, False

    # -- opportunity -----------------------------------------------------------------------

    def _quote(self, delivery: Delivery):
        from webapp.quotes.models import Quote

        quote = db.session.get(Quote, delivery.subject_id)
        if quote is None:
            raise PermanentError("The quote was deleted.", field="Quote")
        return quote

    def _contact(self, company: dict, user) -> dict:
        """The ConnectWise contact for one of our users (found by name, else created)."""
        link = core.link_for(self.connection.id, CONTACT, user.id)
        if link is not None:
            return {"id": int(link.remote_id)}
        first, _, last = (user.name or user.email).strip().partition(" ")
        found = self.client.find(
            "company/contacts",
            all_of(
                condition("company/id", "=", company["id"]),
                condition("firstName", "=", first),
                condition("lastName", "=", last),
            ),
        )
        contact = found[0] if found else self.client.create(
            "company/contacts", {"firstName": first[:30], "lastName": last[:60], "company": company}
        )  # fmt: skip
        core.save_link(self.connection, CONTACT, user.id, remote_id=str(contact["id"]))
        return {"id": int(contact["id"])}

    def _opportunity(self, delivery: Delivery):
        if delivery.subject_type == WON_SALE:
            return self._won_sale(delivery)
        quote = self._quote(delivery)
        company = self._company_of(quote.organization_id)
        link = core.link_for(self.connection.id, QUOTE, quote.id)
        found = link is not None
        if link is not None:
            opportunity_id = int(link.remote_id)  # picked on the quote: append to it
        elif delivery.attempts > 1:  # an earlier attempt may have created it: look first
            opportunity_id = self._existing_opportunity(quote.number, company)
            found = opportunity_id is not None
        else:
            opportunity_id = None
        fresh = opportunity_id is None
        if opportunity_id is None:
            user = quote.recipients[0].user if quote.recipients else quote.owner
            record = {
                "name": f"{quote.number} {quote.title}"[:100],
                "company": company,
                "contact": self._contact(company, user),
                "primarySalesRep": self._ref("sales_rep", "sales rep"),
                "stage": self._ref("opportunity_stage", "stage of a new opportunity"),
                "status": self._ref("opportunity_status", "status of a new opportunity"),
            }
            opportunity_id = self.client.create("sales/opportunities", record)["id"]
        self._products(
            {"opportunity": {"id": opportunity_id}},
            f"opportunity/id = {int(opportunity_id)}",
            self._quote_lines(quote),
            company,
            fresh=fresh,
        )
        return opportunity_id, f"{quote.number} {quote.title}"[:100], found

    def _quote_lines(self, quote) -> list[tuple]:
        """The quote's lines as it stands (the version being sent), one product each."""
        from webapp.quotes.approval import working_snapshot

        snapshot = working_snapshot(quote)
        return [
            (
                f"msp-quote-{quote.id}-{line['key']}",
                line.get("product_id"),
                line.get("sku") or "",
                line["description"],
                line["quantity"],
                Decimal(line["unit_price"]),
                Decimal(line["unit_cost"]),
            )
            for section in snapshot["sections"]
            for line in section["lines"]
        ]

    def _existing_opportunity(self, number: str, company: dict) -> int | None:
        found = self.client.find(
            "sales/opportunities",
            all_of(
                condition("company/id", "=", company["id"]),
                f'name = "{number} *"',  # our number opens the name (wildcard)
            ),
        )
        return int(found[0]["id"]) if found else None

    def _revision(self, delivery: Delivery):
        """A later version sent: the opportunity's products become the version's — changed
        ones updated, new ones added, dropped ones removed (ours only, by ``integrationXRef``);
        ConnectWise's forecast and amount follow its products."""
        quote = self._quote(delivery)
        link = core.link_for(self.connection.id, QUOTE, quote.id)
        if link is None:
            raise PermanentError("The quote has no ConnectWise opportunity.", field="Opportunity")
        opportunity_id = int(link.remote_id)
        company = self._company_of(quote.organization_id)
        self._products(
            {"opportunity": {"id": opportunity_id}},
            f"opportunity/id = {opportunity_id}",
            self._quote_lines(quote),
            company,
            replace=f"msp-quote-{quote.id}-",
        )
        return opportunity_id, f"{quote.number} v{quote.version}", True

    # -- orders without a quote: a won opportunity -------------------------------------------

    def _won_sale(self, delivery: Delivery):
        """A store or desk order as a won opportunity with its products (picked on the order,
        else found again after a lost answer, else created); when ConnectWise invoices from
        opportunities, its sales order is created from it."""
        from webapp.sales.models import SalesDocument

        document = db.session.get(SalesDocument, delivery.subject_id)
        if document is None:
            raise PermanentError("The sales order was deleted.", field="Sales order")
        company = self._company_of(document.organization_id)
        link = core.link_for(self.connection.id, WON_SALE, document.id)
        opportunity_id = int(link.remote_id) if link is not None else None
        if opportunity_id is None and delivery.attempts > 1:
            opportunity_id = self._existing_opportunity(document.number, company)
        found = opportunity_id is not None
        name = f"{document.number} {document.organization.name}"[:100]
        if opportunity_id is None:
            record = {
                "name": name,
                "company": company,
                "contact": self._contact(company, document.contact),
                "primarySalesRep": self._ref("sales_rep", "sales rep"),
                "stage": self._ref("opportunity_stage", "stage of a new opportunity"),
                "status": self._ref("opportunity_status", "status of a new opportunity"),
            }
            if document.customer_po:
                record["customerPO"] = document.customer_po[:25]
            opportunity_id = self.client.create("sales/opportunities", record)["id"]
        self._products(
            {"opportunity": {"id": opportunity_id}},
            f"opportunity/id = {opportunity_id}",
            self._document_lines(document),
            company,
            fresh=not found,
        )
        path = f"sales/opportunities/{opportunity_id}"
        self.client.patch(path, {"status": self._ref("won_status", "status when won")})
        if invoices_from_opportunity(self.connection):
            self._sales_order(delivery, path, opportunity_id, document.id)
        return opportunity_id, name, found

    # -- products --------------------------------------------------------------------------

    def _catalog_item(self, product_id, sku: str, description: str) -> dict:
        """The catalog item of a product, created in ConnectWise when missing (by SKU)."""
        if product_id:
            link = core.link_for(self.connection.id, PRODUCT, product_id)
            if link is not None:
                return {"id": int(link.remote_id)}
        identifier = (sku or f"MSP-{product_id or 'MISC'}")[:75]
        found = self.client.find("procurement/catalog", condition("identifier", "=", identifier))
        if found:
            item = found[0]
        else:
            item = self.client.create(
                "procurement/catalog",
                {
                    "identifier": identifier,
                    "description": description[:60],
                    "customerDescription": description[:60],
                    "subcategory": self._ref("subcategory", "product subcategory"),
                    "type": self._ref("product_type", "product type"),
                    "productClass": "NonInventory",
                    "integrationXRef": f"msp-product-{product_id or 'misc'}"[:50],
                },
            )
        if product_id:
            core.save_link(self.connection, PRODUCT, product_id, remote_id=str(item["id"]))
        return {"id": int(item["id"])}

    def _products(
        self,
        parent: dict,
        parent_condition: str,
        lines: list[tuple],
        company: dict,
        fresh=False,
        replace: str = "",
    ):
        """One ConnectWise product per line under ``parent``; those already there (by our
        ``integrationXRef``) are left as they are (a ``fresh`` parent has none yet).

        With ``replace`` (the prefix of our references on that parent) the products become the
        lines: changed quantities, prices, costs and descriptions are updated (whole values,
        read back) and ours no longer among the lines are removed; the MSP's own stay.
        """
        existing = {} if fresh else {
            p.get("integrationXRef"): p
            for p in self.client.each("procurement/products", parent_condition)
        }  # fmt: skip
        wanted = {line[0] for line in lines}
        if replace:
            for xref, product in existing.items():
                if (xref or "").startswith(replace) and xref not in wanted:
                    self.client.delete(f"procurement/products/{product['id']}")
        for xref, product_id, sku, description, quantity, price, cost in lines:
            if xref in existing and replace:
                product = existing[xref]
                catalog = self._catalog_item(product_id, sku, description)
                if (product.get("catalogItem") or {}).get("id") == catalog["id"]:
                    self._update_product(product, description, quantity, price, cost)
                    continue
                # Another product under the same reference (a line replaced): replace it too.
                self.client.delete(f"procurement/products/{product['id']}")
            elif xref in existing:
                continue
            self.client.create(
                "procurement/products",
                {
                    **parent,
                    "catalogItem": self._catalog_item(product_id, sku, description),
                    "billableOption": "Billable",
                    "description": description[:2000],
                    "customerDescription": description[:2000],
                    "quantity": quantity,
                    "price": float(price),
                    "cost": float(cost),
                    "company": company,
                    "integrationXRef": xref,
                },
            )

    def _update_product(self, product: dict, description: str, quantity, price, cost) -> None:
        values = {
            "description": description[:2000],
            "customerDescription": description[:2000],
            "quantity": quantity,
            "price": float(price),
            "cost": float(cost),
        }
        changed = {k: v for k, v in values.items() if product.get(k) != v}
        if changed:
            self.client.patch(f"procurement/products/{product['id']}", changed)

    def _document_lines(self, document) -> list[tuple]:
        return [
            (
                f"msp-line-{line.id}",
                line.product_id,
                line.sku,
                line.description,
                line.quantity,
                line.unit_price,
                line.unit_cost or Decimal(0),
            )
            for line in document.lines
        ]

    # -- won / lost ------------------------------------------------------------------------

    def _result(self, delivery: Delivery):
        from webapp.quotes.models import DecisionOutcome, QuoteDecision, QuoteStatus

        quote = self._quote(delivery)
        link = core.link_for(self.connection.id, QUOTE, quote.id)
        if link is None:
            raise PermanentError("The quote has no ConnectWise opportunity.", field="Opportunity")
        opportunity_id = int(link.remote_id)
        path = f"sales/opportunities/{opportunity_id}"
        if quote.status == QuoteStatus.LOST:
            self.client.patch(path, {"status": self._ref("lost_status", "status when lost")})
            return opportunity_id, "lost", False
        if quote.status != QuoteStatus.WON:
            raise PermanentError(
                f"The quote is {quote.status.label.lower()}, neither won nor lost.", field="Quote"
            )
        decision = db.session.scalar(
            db.select(QuoteDecision)
            .filter_by(quote_id=quote.id, outcome=DecisionOutcome.ACCEPTED)
            .order_by(QuoteDecision.id.desc())
        )
        chosen = {
            f"msp-quote-{quote.id}-{item['key']}": int(item["quantity"])
            for item in ((decision.selection if decision else {}) or {}).get("lines", [])
        }
        # No recorded choice (won by staff, not by the approver): every product stays.
        for product in self.client.each(
            "procurement/products", f"opportunity/id = {opportunity_id}"
        ):
            xref = product.get("integrationXRef") or ""
            if not chosen or not xref.startswith(f"msp-quote-{quote.id}-"):
                continue  # not ours (left as the MSP made it), or nothing to choose from
            if xref not in chosen:
                self.client.delete(f"procurement/products/{product['id']}")  # option not taken
            elif product.get("quantity") != chosen[xref]:
                self.client.patch(
                    f"procurement/products/{product['id']}", {"quantity": chosen[xref]}
                )
        self.client.patch(path, {"status": self._ref("won_status", "status when won")})
        if (
            self.connection.option("configuration") == operations.OUR_INVOICING
            or self.connection.option("invoice_from") != "opportunity"
            or quote.document_id is None
        ):
            return opportunity_id, "won", False
        self._sales_order(delivery, path, opportunity_id, quote.document_id)
        return opportunity_id, "won", False

    def _sales_order(self, delivery: Delivery, path: str, opportunity_id: int, document_id: int):
        """The ConnectWise sales order of a won opportunity (``convertToSalesOrder``), once."""
        existing = core.link_for(self.connection.id, SALES_ORDER, document_id)
        if existing is None and delivery.attempts > 1:
            # An earlier attempt may have converted it already: a second would duplicate it.
            found = self.client.find(
                "sales/orders", condition("opportunity/id", "=", opportunity_id)
            )
            if found:
                existing = core.save_link(
                    self.connection,
                    SALES_ORDER,
                    document_id,
                    remote_id=str(found[0]["id"]),
                    remote_number=f"SO {found[0]['id']}",
                )
        if existing is None:
            order = self.client.post(
                f"{path}/convertToSalesOrder",
                {
                    "includeAllProductsFlag": True,
                    "includeAllNotesFlag": True,
                    "includeAllDocumentsFlag": False,
                },
            )
            core.save_link(
                self.connection,
                SALES_ORDER,
                document_id,
                remote_id=str(order["id"]),
                remote_number=f"SO {order['id']}",
            )

    # -- tickets ---------------------------------------------------------------------------

    def _ticket(self, delivery: Delivery):
        from webapp.psa.tickets import chosen_ticket
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

    # -- purchase orders (ConnectWise procurement) ------------------------------------------

    def _vendor(self, supplier) -> dict:
        """The supplier's ConnectWise vendor company: linked, else the one whose identifier is
        the supplier's code."""
        link = core.link_for(self.connection.id, SUPPLIER, supplier.id)
        if link is not None:
            return {"id": int(link.remote_id)}
        found = self.client.find(
            "company/companies",
            all_of(
                condition("identifier", "=", supplier.code),
                condition("deletedFlag", "=", False),
            ),
        )
        if not found:
            raise PermanentError(
                f"ConnectWise has no vendor company with the identifier {supplier.code!r} "
                f"({supplier.name}).",
                field="Supplier",
                fix=f"Give the vendor company in ConnectWise the identifier {supplier.code}, "
                "then press Retry.",
            )
        core.save_link(self.connection, SUPPLIER, supplier.id, remote_id=str(found[0]["id"]))
        return {"id": int(found[0]["id"])}

    def _demand_products(self, document) -> list[dict]:
        """The ConnectWise products of the document's sales order (or ticket)."""
        order = core.link_for(self.connection.id, SALES_ORDER, document.id)
        if order is not None:
            where = f"salesOrder/id = {int(order.remote_id)}"
        else:
            ticket = core.link_for(self.connection.id, TICKET_LINK, document.id)
            if ticket is None:
                raise PermanentError(
                    f"{document.number} has no ConnectWise sales order or ticket, so the purchase "
                    "order cannot be linked to its purchasing demand.",
                    field="Sales order",
                    fix="Create the sales order from the opportunity in ConnectWise (or sync "
                    "the order's ticket), then press Retry.",
                )
            where = f"ticket/id = {int(ticket.remote_id)}"
        return list(self.client.each("procurement/products", where))

    def _purchase_order(self, delivery: Delivery):
        from webapp.purchasing.models import PurchaseOrder

        po = db.session.get(PurchaseOrder, delivery.subject_id)
        if po is None:
            raise PermanentError("The purchase order was deleted.", field="Purchase order")
        if delivery.attempts > 1:
            existing = self.client.find(
                "procurement/purchaseorders", condition("poNumber", "=", po.number)
            )
            if existing:
                self._receive(po, int(existing[0]["id"]))
                return existing[0]["id"], po.number, True
        # Check every line before writing anything: never a half-linked purchase order.
        demand, received = [], []
        by_document: dict[int, list[dict]] = {}
        for line in po.lines:
            if line.sales_document_id is None:
                continue
            if line.sales_document_id not in by_document:
                by_document[line.sales_document_id] = self._demand_products(line.sales_document)
            catalog = core.link_for(self.connection.id, PRODUCT, line.product_id)
            products = [
                p
                for p in by_document[line.sales_document_id]
                if catalog is not None and (p.get("catalogItem") or {}).get("id") == int(
                    catalog.remote_id
                )
            ]  # fmt: skip
            if not products:
                raise PermanentError(
                    f"Line {line.position} ({line.description}) of {po.number} has no product on "
                    f"the ConnectWise sales order of {line.sales_document.number}.",
                    field=f"Line {line.position}",
                    fix="Add the product to the sales order in ConnectWise, then press Retry.",
                )
            product = products[0]
            if product.get("invoice"):
                raise PermanentError(
                    f"The ConnectWise sales order of {line.sales_document.number} is already "
                    f"invoiced, so {po.number} can no longer be linked to its purchasing demand "
                    "(seed 003: invoice only after the purchase orders are receipted).",
                    field="Sales order invoice",
                    fix="Enter the purchase order in ConnectWise by hand, or reverse the invoice "
                    "there and press Retry.",
                )
            demand.append(
                {
                    "productRecId": int(product["id"]),
                    "quantity": line.quantity,
                    "cost": float(line.unit_cost),
                }
            )
            received.append(line)
        if not demand:
            raise PermanentError(
                f"{po.number} serves no sales order: nothing to link in ConnectWise.",
                field="Purchase order",
            )
        created = self.client.post(
            "procurement/purchasingDemands",
            {
                "products": demand,
                "vendor": self._vendor(po.supplier),
                "warehouse": self._ref("warehouse", "warehouse"),
                "purchaseOrder": {
                    "poNumber": po.number[:50],
                    "status": self._ref("po_status", "completed purchase order status"),
                    "closedFlag": True,
                },
            },
        )
        self._receive(po, int(created["id"]))
        return created["id"], po.number, False

    def _later_receipt(self, delivery: Delivery):
        """A receipt after the ConnectWise purchase order was made: mark what it received."""
        from webapp.purchasing.models import Receipt

        receipt = db.session.get(Receipt, delivery.subject_id)
        if receipt is None:
            raise PermanentError("The receipt was deleted.", field="Receipt")
        po = receipt.purchase_order
        link = core.link_for(self.connection.id, PO, po.id)
        if link is None:
            raise PermanentError(
                f"{po.number} has no ConnectWise purchase order yet.", field="Purchase order"
            )
        self._receive(po, int(link.remote_id))
        return link.remote_id, f"{po.number} {receipt.supplier_invoice_number}", True

    def _receive(self, po, remote_po: int) -> None:
        """Mark the ConnectWise PO lines received as far as our receipts go, with the serial
        numbers and tracking numbers of the receipts not yet there (PATCH, read back).

        Idempotent: what ConnectWise already shows received is not sent again. A partial
        receipt is ``PartiallyReceiveCloneRest``: ConnectWise keeps the rest waiting on a clone
        of the line, which the next receipt receives.
        """
        catalog_to_product = {}
        for line in po.lines:
            link = core.link_for(self.connection.id, PRODUCT, line.product_id)
            if link is not None:
                catalog_to_product[int(link.remote_id)] = line.product_id
        arrivals: dict[int, list[tuple]] = {}  # product -> [(quantity, serials, tracking)]
        for receipt in sorted(po.receipts, key=lambda r: r.id):
            for item in receipt.lines:
                arrivals.setdefault(item.purchase_order_line.product_id, []).append(
                    (item.quantity, list(item.serial_numbers or []), receipt.tracking_number)
                )
        path = f"procurement/purchaseorders/{remote_po}/lineitems"
        by_product: dict[int, list[dict]] = {}
        for item in self.client.each(path):
            product_id = catalog_to_product.get((item.get("product") or {}).get("id"))
            if product_id is not None:
                by_product.setdefault(product_id, []).append(item)
        for product_id, items in by_product.items():
            done = sum(int(i.get("receivedQuantity") or 0) for i in items if _received(i))
            new = _beyond(arrivals.get(product_id, []), done)
            for item in (i for i in items if not _received(i)):
                if not new:
                    break
                room = int(item.get("quantity") or 0)
                taken, new = _take(new, room)
                quantity = sum(q for q, _, _ in taken)
                values = {
                    "receivedStatus": (
                        "FullyReceived" if quantity >= room else "PartiallyReceiveCloneRest"
                    ),
                    "receivedQuantity": quantity,
                }
                serials = [serial for _, batch, _ in taken for serial in batch]
                if serials:
                    values["serialNumbers"] = ", ".join(serials)  # one string (PN 2.7)
                tracking = list(dict.fromkeys(t for _, _, t in taken if t))
                if tracking:
                    values["trackingNumber"] = ", ".join(tracking)[:50]
                self.client.patch(f"{path}/{item['id']}", values)

    # -- outbox hooks ----------------------------------------------------------------------

    def describe(self, delivery: Delivery) -> str:
        if delivery.subject_type == RECEIPT_SUBJECT:
            from webapp.purchasing.models import Receipt

            receipt = db.session.get(Receipt, delivery.subject_id)
            if receipt is None:
                return f"receipt #{delivery.subject_id}"
            return f"{receipt.purchase_order.number} receipt {receipt.supplier_invoice_number}"
        if delivery.subject_type.startswith(QUOTE):  # the quote, or one of its versions
            from webapp.quotes.models import Quote

            quote = db.session.get(Quote, delivery.subject_id)
            return quote.number if quote else f"quote #{delivery.subject_id}"
        if delivery.subject_type == PO:
            from webapp.purchasing.models import PurchaseOrder

            po = db.session.get(PurchaseOrder, delivery.subject_id)
            return po.number if po else f"purchase order #{delivery.subject_id}"
        if delivery.subject_type in (DOCUMENT, WON_SALE):
            from webapp.sales.models import SalesDocument

            document = db.session.get(SalesDocument, delivery.subject_id)
            return document.number if document else f"order #{delivery.subject_id}"
        from webapp.organizations.models import Organization

        organization = db.session.get(Organization, delivery.subject_id)
        return organization.name if organization else f"organisation #{delivery.subject_id}"

    def confirmed(self, delivery: Delivery, result: PushResult) -> str:
        if delivery.kind in (COMPANY, OPPORTUNITY, PURCHASE_ORDER):
            core.save_link(
                self.connection,
                delivery.subject_type,
                delivery.subject_id,
                remote_id=result.remote_id,
                remote_number=result.remote_number,
            )
        if delivery.kind == RESULT:
            return f"opportunity {result.remote_id} {result.remote_number}"
        if delivery.kind == REVISION:
            return f"opportunity {result.remote_id} updated to {result.remote_number}"
        if delivery.kind == RECEIPT:
            return f"purchase order {result.remote_id} received: {result.remote_number}"
        what = "matched existing" if result.found_existing else "created"
        return f"{what} {result.remote_number}"


def _received(item: dict) -> bool:
    return (item.get("receivedStatus") or "Waiting") != "Waiting"


def _beyond(arrivals: list[tuple], done: int) -> list[tuple]:
    """The arrivals after the first ``done`` units (those ConnectWise already shows received)."""
    out = []
    for quantity, serials, tracking in arrivals:
        if done >= quantity:
            done -= quantity
            continue
        out.append((quantity - done, serials[done:], tracking))
        done = 0
    return out


def _take(arrivals: list[tuple], room: int) -> tuple[list[tuple], list[tuple]]:
    """Split ``arrivals`` into what fits ``room`` units and the rest."""
    taken, rest = [], []
    for quantity, serials, tracking in arrivals:
        if room <= 0:
            rest.append((quantity, serials, tracking))
        elif quantity <= room:
            taken.append((quantity, serials, tracking))
            room -= quantity
        else:
            taken.append((room, serials[:room], tracking))
            rest.append((quantity - room, serials[room:], tracking))
            room = 0
    return taken, rest


def _describe(document) -> str:
    lines = [f"{line.quantity} × {line.sku or ''} {line.description}" for line in document.lines]
    return f"Sales order {document.number}\n" + "\n".join(lines)
