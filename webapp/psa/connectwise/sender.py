"""The outbox's ConnectWise sender: one push per delivery kind (``push/``), links, wording.

ConnectWise has no idempotency key, so every create carries our reference where a condition
finds it (``integrationXRef`` on catalog items and products, ``externalXRef`` on tickets, the
company identifier, the quote number opening the opportunity name) and a create that may have
reached ConnectWise is looked up before it is repeated. Updates PATCH whole values and are read
back (``ConnectWiseClient.patch``).
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError, PushResult
from webapp.integrations.models import Delivery
from webapp.integrations.outbox import Sender
from webapp.psa.connectwise.push.opportunities import Opportunities
from webapp.psa.connectwise.push.procurement import Procurement
from webapp.psa.connectwise.push.tickets import Tickets
from webapp.psa.connectwise.sync import (
    COMPANY,
    DOCUMENT,
    MOVE,
    OPPORTUNITY,
    PO,
    PURCHASE_ORDER,
    QUOTE,
    RECEIPT,
    RECEIPT_SUBJECT,
    RESULT,
    REVISION,
    TICKET,
    WON_SALE,
)


@dataclass(frozen=True)
class Item:
    key: str
    delivery: Delivery


class ConnectWiseSender(Opportunities, Tickets, Procurement, Sender):
    kind_order = (COMPANY, OPPORTUNITY, MOVE, REVISION, RESULT, TICKET, PURCHASE_ORDER, RECEIPT)
    max_batch = 1

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
            MOVE: self._move,
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
        if delivery.kind == MOVE:
            return f"opportunity {result.remote_id} {result.remote_number}"
        if delivery.kind == REVISION:
            return f"opportunity {result.remote_id} updated to {result.remote_number}"
        if delivery.kind == RECEIPT:
            return f"purchase order {result.remote_id} received: {result.remote_number}"
        what = "matched existing" if result.found_existing else "created"
        return f"{what} {result.remote_number}"
