"""Opportunities from quotes and quote-less orders; won / lost; the sales order of a won one."""

from __future__ import annotations

from decimal import Decimal

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.integrations.models import Delivery
from webapp.psa.connectwise import operations
from webapp.psa.connectwise.client import all_of, condition
from webapp.psa.connectwise.push.companies import Companies
from webapp.psa.connectwise.push.products import Line, Products
from webapp.psa.connectwise.sync import (
    QUOTE,
    SALES_ORDER,
    WON_SALE,
    invoices_from_opportunity,
)


class Opportunities(Companies, Products):
    # -- opportunity -----------------------------------------------------------------------

    def _quote(self, delivery: Delivery):
        from webapp.quotes.models import Quote

        quote = db.session.get(Quote, delivery.subject_id)
        if quote is None:
            raise PermanentError("The quote was deleted.", field="Quote")
        return quote

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

    def _quote_lines(self, quote) -> list[Line]:
        """The quote's lines as it stands (the version being sent), one product each."""
        from webapp.quotes.approval import working_snapshot

        snapshot = working_snapshot(quote)
        return [
            Line(
                f"msp-quote-{quote.id}-{line['key']}",
                line.get("product_id"),
                line.get("sku") or "",
                line["description"],
                line["quantity"],
                Decimal(line["unit_price"]),
                Decimal(line["unit_cost"]),
                Decimal(line.get("tax_rate") or 0) > 0,
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

    def _move(self, delivery: Delivery):
        """The organisation now matches another company: the quote's opportunity (and our
        products on it) move there, with a contact of that company. Already there: nothing."""
        quote = self._quote(delivery)
        link = core.link_for(self.connection.id, QUOTE, quote.id)
        if link is None:
            raise PermanentError("The quote has no ConnectWise opportunity.", field="Opportunity")
        company = self._company_of(quote.organization_id)
        opportunity_id = int(link.remote_id)
        path = f"sales/opportunities/{opportunity_id}"
        current = self.client.get(path) or {}
        name = f"moved to company {company['id']}"
        if (current.get("company") or {}).get("id") == company["id"]:
            return opportunity_id, name, True
        user = quote.recipients[0].user if quote.recipients else quote.owner
        self.client.patch(path, {"company": company, "contact": self._contact(company, user)})
        for product in self.client.each(
            "procurement/products", f"opportunity/id = {opportunity_id}"
        ):
            ours = (product.get("integrationXRef") or "").startswith(f"msp-quote-{quote.id}-")
            if ours and (product.get("company") or {}).get("id") != company["id"]:
                self.client.patch(f"procurement/products/{product['id']}", {"company": company})
        return opportunity_id, name, False

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
