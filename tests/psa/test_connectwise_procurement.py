"""ConnectWise procurement (configuration 1): a receipted PO becomes a completed ConnectWise PO
linked to the purchasing demand of the sales order or ticket, lines received with serials; it
waits, visibly, for the sales order, and is refused when that order is already invoiced."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.api.conftest import issue_order
from tests.factories import login
from tests.psa.conftest import configure, rows
from tests.quotes.conftest import build_quote, link_path, send
from tests.quotes.test_approval import accept_form
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import Delivery, DeliveryStatus, Notification, NotificationStatus
from webapp.integrations.outbox import cancel_unsent, run_sync
from webapp.psa.connectwise import callbacks, operations, sync
from webapp.purchasing import ordering, receipting
from webapp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from webapp.quotes.models import Quote


@pytest.fixture
def procurement(cw):
    configure(cw.connection, procurement=True)
    return cw


def purchase_orders_of(document) -> list[PurchaseOrder]:
    return list(
        db.session.scalars(
            db.select(PurchaseOrder)
            .join(PurchaseOrderLine)
            .where(PurchaseOrderLine.sales_document_id == document.id)
            .distinct()
        )
    )


def receive(po: PurchaseOrder, store, serials=("SN-1", "SN-2")) -> None:
    if po.status == PurchaseOrderStatus.DRAFT:
        ordering.issue_purchase_order(po, store.purchasing)
    receipting.record_receipt(
        po,
        receipting.ReceiptInput(
            supplier_invoice_number=f"INV-{po.number}",
            invoice_date=date(2026, 12, 1),
            due_date=None,
            freight=Decimal("0"),
            lines=[
                receipting.ReceiptLineInput(
                    line.id, line.outstanding, line.unit_cost, list(serials[: line.outstanding])
                )
                for line in po.lines
            ],
        ),
        store.purchasing,
    )
    db.session.commit()


def receive_part(po, line, store, invoice: str, quantity: int, tracking: str, serials) -> None:
    """Receive ``quantity`` of one PO line, on one supplier invoice with a tracking number."""
    receipting.record_receipt(
        po,
        receipting.ReceiptInput(
            supplier_invoice_number=invoice,
            invoice_date=date(2026, 12, 1),
            due_date=None,
            freight=Decimal("0"),
            lines=[receipting.ReceiptLineInput(line.id, quantity, line.unit_cost, list(serials))],
            tracking_number=tracking,
            carrier="ups",
        ),
        store.purchasing,
    )
    db.session.commit()


def accepted_order(store, client, run_jobs):
    quote = build_quote(store)
    send(quote)
    run_jobs()
    response = client.post(link_path(quote, store.customer) + "/accept", data=accept_form(quote))
    assert response.status_code == 303
    db.session.expire_all()
    return db.session.get(Quote, quote.id).document


def test_a_receipted_po_is_a_completed_po_linked_to_the_sales_orders_demand(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    document = accepted_order(store, client, run_jobs)
    run_jobs()  # won, the sales order, planning
    [order] = rows(cw, "sales/orders")
    pos = purchase_orders_of(document)
    assert pos
    for po in pos:
        receive(po, store)
    run_jobs()
    cw_pos = rows(cw, "procurement/purchaseorders")
    assert sorted(p["poNumber"] for p in cw_pos) == sorted(po.number for po in pos)
    assert all(p["closedFlag"] and p["status"] == {"id": 2} for p in cw_pos)
    assert all(p["vendorCompany"]["id"] for p in cw_pos)
    lines = rows(cw, "procurement/purchaseorders/lineitems")
    assert lines and all(line["receivedStatus"] == "FullyReceived" for line in lines)
    assert any(line.get("serialNumbers", "").startswith("SN-1") for line in lines)
    linked = [p for p in rows(cw, "procurement/products") if p.get("purchaseOrder")]
    assert linked and all(p["salesOrder"] == {"id": order["id"]} for p in linked)
    assert all(
        d.status == DeliveryStatus.CONFIRMED
        for d in db.session.scalars(db.select(Delivery).filter_by(kind=sync.PURCHASE_ORDER))
    )


def test_a_po_receipted_before_the_sales_order_exists_waits_visibly_then_goes(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    document = accepted_order(store, client, run_jobs)
    # The win (and convertToSalesOrder) cannot reach ConnectWise yet.
    cw.faults.fail_next(50, 503, path="convertToSalesOrder")
    run_jobs(allow_failures=True)
    assert rows(cw, "sales/orders") == []
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.PURCHASE_ORDER))
    assert delivery.status == DeliveryStatus.WAITING
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert "waits for the ConnectWise sales order" in note.title
    assert document.number in note.message
    assert rows(cw, "procurement/purchaseorders") == []
    login(client, store.admin)
    page = client.get(f"/admin/purchasing/orders/{po.id}").get_data(as_text=True)
    assert "ConnectWise purchase order" in page and "Waiting" in page
    assert "can only be linked to the purchasing demand" in page
    cw.faults.clear()
    for waiting in db.session.scalars(db.select(Delivery)):
        waiting.next_attempt_at = None
    db.session.commit()
    run_jobs()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    assert [p["poNumber"] for p in rows(cw, "procurement/purchaseorders")] == [po.number]
    db.session.refresh(note)
    assert note.status != NotificationStatus.OPEN


def test_a_po_whose_sales_order_is_already_invoiced_is_refused_and_nothing_is_linked(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    document = accepted_order(store, client, run_jobs)
    run_jobs()
    [order] = rows(cw, "sales/orders")
    cw.invoice_order(order["id"])  # invoiced in ConnectWise before the goods were receipted
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    run_jobs()
    assert rows(cw, "procurement/purchaseorders") == []
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.PURCHASE_ORDER))
    assert delivery.status == DeliveryStatus.FAILED
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert note.field == "Sales order invoice" and "already invoiced" in note.message


def test_a_ticket_order_links_the_po_to_the_tickets_demand(app, store, procurement, run_jobs):
    cw = procurement
    configure(cw.connection, procurement=True, invoice_from="ticket")
    document = issue_order(store, store.org, store.customer, "t1")
    db.session.commit()
    run_jobs()
    [ticket] = rows(cw, "service/tickets")
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    run_jobs()
    [cw_po] = rows(cw, "procurement/purchaseorders")
    assert cw_po["poNumber"] == po.number
    [product] = [p for p in rows(cw, "procurement/products") if p.get("purchaseOrder")]
    assert product["ticket"] == {"id": ticket["id"]}
    assert core.link_for(cw.connection.id, sync.PO, po.id).remote_id == str(cw_po["id"])


def test_configuration_three_needs_the_officer_and_makes_pos_suggestions(app, store, cw, run_jobs):
    from webapp.settings.operations import get_setting, set_setting

    set_setting("purchasing_issue_mode", "supplier", store.admin)
    db.session.commit()
    with pytest.raises(operations.IntegrationRuleError, match="Purchasing officer email"):
        configure(cw.connection, operations.CW_BOTH)
    db.session.rollback()
    set_setting("purchasing_officer_email", "officer@msp.example", store.admin)
    db.session.commit()
    configure(cw.connection, operations.CW_BOTH, actor=store.admin)
    assert get_setting("purchasing_issue_mode") == "suggestions"
    document = issue_order(store, store.org, store.customer, "s1")
    db.session.commit()
    run_jobs()
    pos = purchase_orders_of(document)
    assert pos and all(po.status == PurchaseOrderStatus.DRAFT and not po.issued_to for po in pos)
    # The order still reaches ConnectWise: a won opportunity, invoiced from its sales order.
    [opportunity] = rows(cw, "sales/opportunities")
    assert opportunity["status"] == {"id": 2}
    assert [o["opportunity"] for o in rows(cw, "sales/orders")] == [{"id": opportunity["id"]}]


def test_later_partial_receipts_update_the_synced_po_with_serials_and_tracking(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    document = accepted_order(store, client, run_jobs)
    run_jobs()
    po = next(p for p in purchase_orders_of(document) if any(x.quantity >= 2 for x in p.lines))
    if po.status == PurchaseOrderStatus.DRAFT:
        ordering.issue_purchase_order(po, store.purchasing)
        db.session.commit()
    line = max(po.lines, key=lambda x: x.quantity)
    receive_part(po, line, store, "INV-A", 1, "1Z999AA10123456784", ["SN-A"])
    run_jobs()
    [cw_po] = rows(cw, "procurement/purchaseorders")
    mine = [r for r in rows(cw, "procurement/purchaseorders/lineitems")
            if r["description"] == line.description]  # fmt: skip
    first = next(r for r in mine if r["receivedStatus"] != "Waiting")
    assert first["receivedStatus"] == "PartiallyReceiveCloneRest"
    assert (first["receivedQuantity"], first["serialNumbers"]) == (1, "SN-A")
    assert first["trackingNumber"] == "1Z999AA10123456784"
    [rest] = [r for r in mine if r["receivedStatus"] == "Waiting"]  # ConnectWise's clone
    assert rest["quantity"] == line.quantity - 1
    # The second receipt marks the clone, not the first line again; no second purchase order.
    later = [f"SN-{n}" for n in range(2, line.quantity + 1)]
    receive_part(po, line, store, "INV-B", line.quantity - 1, "1Z999AA10123456791", later)
    alarm = db.select(Notification).filter_by(cause=f"cw_po_receipts:{po.id}")
    callbacks.reconcile(cw.connection)  # polled while the receipt is on its way: no false alarm
    db.session.commit()
    assert db.session.scalars(alarm).all() == []
    run_jobs()
    callbacks.reconcile(cw.connection)  # and in step once it is there
    db.session.commit()
    assert db.session.scalars(alarm).all() == []
    assert [p["id"] for p in rows(cw, "procurement/purchaseorders")] == [cw_po["id"]]
    db.session.expire_all()
    mine = {r["id"]: r for r in rows(cw, "procurement/purchaseorders/lineitems")
            if r["description"] == line.description}  # fmt: skip
    assert mine[first["id"]]["serialNumbers"] == "SN-A"  # untouched
    assert mine[rest["id"]]["receivedStatus"] == "FullyReceived"
    assert mine[rest["id"]]["receivedQuantity"] == line.quantity - 1
    assert mine[rest["id"]]["serialNumbers"] == ", ".join(later)
    assert mine[rest["id"]]["trackingNumber"] == "1Z999AA10123456791"
    receipts = list(db.session.scalars(db.select(Delivery).filter_by(kind=sync.RECEIPT)))
    assert len(receipts) == 1 and receipts[0].status == DeliveryStatus.CONFIRMED
    # Running the receipt again (a lost answer) sends nothing twice.
    patches = len([r for r in cw.requests if r[0] == "PATCH"])
    receipts[0].status = DeliveryStatus.PENDING
    receipts[0].attempts = 2
    receipts[0].next_attempt_at = None
    db.session.commit()
    run_sync(cw.connection)
    db.session.refresh(receipts[0])
    assert receipts[0].status == DeliveryStatus.CONFIRMED
    assert len([r for r in cw.requests if r[0] == "PATCH"]) == patches


def switched_off(cw):
    """ConnectWise not set up yet (the order or quote comes first): nothing of it syncs."""
    cw.connection.options = {**cw.connection.options, "enabled": False}
    db.session.commit()


def switched_on(cw):
    cw.connection.options = {**cw.connection.options, "enabled": True}
    db.session.commit()


def test_a_po_for_an_order_that_never_synced_waits_while_the_order_is_sent_then_goes(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    switched_off(cw)
    document = issue_order(store, store.org, store.customer, "early")  # a store order
    db.session.commit()
    run_jobs()  # planning: its POs; nothing for ConnectWise
    assert db.session.scalars(db.select(Delivery)).all() == []
    switched_on(cw)
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.PURCHASE_ORDER))
    assert delivery.status == DeliveryStatus.WAITING  # not failed
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert "waits for the ConnectWise sales order" in note.title
    assert f"{document.number} had never been sent to ConnectWise" in note.message
    login(client, store.admin)
    page = client.get(f"/admin/purchasing/orders/{po.id}").get_data(as_text=True)
    assert "Waiting" in page and "had never been sent to ConnectWise" in page
    run_jobs()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    [order] = rows(cw, "sales/orders")  # the order went first, as a won opportunity
    linked = [p for p in rows(cw, "procurement/products") if p.get("purchaseOrder")]
    assert linked and all(p["salesOrder"] == {"id": order["id"]} for p in linked)
    db.session.refresh(note)
    assert note.status != NotificationStatus.OPEN


def test_a_po_for_a_quote_accepted_before_connectwise_sends_the_quote_first(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    switched_off(cw)
    document = accepted_order(store, client, run_jobs)
    run_jobs()
    assert rows(cw, "sales/opportunities") == []
    switched_on(cw)
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.PURCHASE_ORDER))
    assert delivery.status == DeliveryStatus.WAITING
    run_jobs()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    [opportunity] = rows(cw, "sales/opportunities")
    assert opportunity["status"] == {"id": 2}  # won, with its sales order
    [order] = rows(cw, "sales/orders")
    assert order["opportunity"] == {"id": opportunity["id"]}
    assert [p["poNumber"] for p in rows(cw, "procurement/purchaseorders")] == [po.number]


def test_a_po_waiting_on_a_cancelled_delivery_fails_with_a_notice_saying_why_and_what_to_do(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    document = accepted_order(store, client, run_jobs)
    cw.faults.fail_next(50, 503, path="convertToSalesOrder")
    run_jobs(allow_failures=True)
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.PURCHASE_ORDER))
    assert delivery.status == DeliveryStatus.WAITING
    [result] = delivery.depends_on
    cancel_unsent(result, "Stopped by an admin.")  # the sales order will never be created
    db.session.commit()
    cw.faults.clear()
    run_jobs()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.FAILED  # not waiting forever
    note = db.session.scalar(
        db.select(Notification).filter_by(delivery_id=delivery.id, status=NotificationStatus.OPEN)
    )
    assert "prerequisite was cancelled" in note.title
    assert "ConnectWise opportunity result" in note.message and "cancelled" in note.message
    assert "press Retry" in note.fix
    assert rows(cw, "procurement/purchaseorders") == []
    login(client, store.admin)
    page = client.get(f"/admin/purchasing/orders/{po.id}").get_data(as_text=True)
    assert "was cancelled and will never be sent" in page


def test_a_po_waiting_on_a_failed_delivery_says_which_to_retry_and_goes_once_it_is_confirmed(
    app, store, client, procurement, run_jobs
):
    cw = procurement
    document = accepted_order(store, client, run_jobs)
    cw.faults.fail_next(1, 400, path="convertToSalesOrder")  # refused: the result fails
    run_jobs(allow_failures=True)
    [po, *_] = purchase_orders_of(document)
    receive(po, store)
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.PURCHASE_ORDER))
    [result] = delivery.depends_on
    assert result.status == DeliveryStatus.FAILED
    run_jobs()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.WAITING
    note = db.session.scalar(
        db.select(Notification).filter_by(delivery_id=delivery.id, status=NotificationStatus.OPEN)
    )
    assert "waits for a failed prerequisite" in note.title
    assert "ConnectWise opportunity result" in note.message and "press Retry on it" in note.fix
    core.retry_delivery(result, store.admin)
    db.session.commit()
    run_jobs()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    assert [p["poNumber"] for p in rows(cw, "procurement/purchaseorders")] == [po.number]
    db.session.refresh(note)
    assert note.status != NotificationStatus.OPEN
