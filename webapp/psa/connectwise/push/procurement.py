"""Receipted POs as completed ConnectWise purchase orders, linked to the purchasing demand."""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.integrations.models import Delivery
from webapp.psa.connectwise.client import all_of, condition
from webapp.psa.connectwise.push.base import Base
from webapp.psa.connectwise.sync import PO, PRODUCT, SALES_ORDER, SUPPLIER, TICKET_LINK


class Procurement(Base):
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
