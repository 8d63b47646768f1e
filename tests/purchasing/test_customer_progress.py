"""My orders: each order's progress as purchasing and receipting record it, its PDF, and
Order again; all of it for the customer's own organization only."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.accounting.builders import connect_qbo, point_app_at_qbo
from tests.factories import login
from tests.purchasing.conftest import issue, purchase_orders
from tests.sandboxes.fixtures import (  # noqa: F401 - pytest finds fixtures by name
    qbo_sandbox,
    qbo_sandbox_factory,
)
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus
from webapp.purchasing import ordering, planning, receipting
from webapp.sales import operations as sales_operations
from webapp.sales.models import DocumentStatus
from webapp.store.models import Cart
from workers.integrations import sync_connection


def _step(client, number: str) -> str:
    page = client.get("/orders").get_data(as_text=True)
    row = page.split(f">{number}</a>")[1].split("</tr>")[0]
    return row.split('data-progress-step="')[1].split('"')[0]


def _receive(po, quantity, store, invoice="R-1"):
    line = po.lines[0]
    receipting.record_receipt(
        po,
        receipting.ReceiptInput(
            invoice,
            po.created_at.date(),
            None,
            Decimal(0),
            [receipting.ReceiptLineInput(line.id, quantity, line.unit_cost)],
        ),
        store.purchasing,
    )
    db.session.commit()


def test_order_moves_from_placed_to_ordered_to_partly_shipped_to_shipped(client, store, market):
    document = issue(store, (market.e16, 3))
    db.session.commit()
    login(client, store.customer)
    assert _step(client, document.number) == "placed"
    planning.plan_document(document)
    db.session.commit()
    assert _step(client, document.number) == "placed"  # a draft PO has not gone anywhere
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()
    assert _step(client, document.number) == "ordered"
    _receive(po, 1, store)
    assert _step(client, document.number) == "partly_shipped"
    _receive(po, 2, store, invoice="R-2")
    # Everything is in, but no tax invoice exists yet (no ledger has taken one): Shipped.
    assert _step(client, document.number) == "shipped"
    page = client.get(f"/orders/{document.number}").get_data(as_text=True)
    assert 'id="order-progress">Shipped<' in page
    assert "Invoiced" not in page


def test_order_is_invoiced_only_once_the_ledger_holds_its_tax_invoice(
    app,
    client,
    store,
    market,
    qbo_sandbox,  # noqa: F811 - the fixture imported above
):
    point_app_at_qbo(app, qbo_sandbox)
    connection = connect_qbo(qbo_sandbox)
    document = issue(store, (market.e16, 2))
    planning.plan_document(document)
    db.session.commit()
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()
    _receive(po, 2, store)
    login(client, store.customer)
    # The invoice is queued for the ledger, not in it: the customer sees Shipped.
    assert _step(client, document.number) == "shipped"
    assert 'id="order-progress">Shipped<' in client.get(f"/orders/{document.number}").text

    sync_connection(connection.id)
    [invoice] = db.session.scalars(
        select(Delivery).filter_by(kind="invoice", subject_id=document.id)
    ).all()
    assert invoice.status is DeliveryStatus.CONFIRMED
    db.session.refresh(document)
    assert document.invoiced_at is not None
    assert [e.type for e in document.events].count("invoiced") == 1
    assert _step(client, document.number) == "invoiced"
    assert 'id="order-progress">Invoiced<' in client.get(f"/orders/{document.number}").text

    # The ledger confirming it again (a retried push matching its own invoice) is no news.
    assert not sales_operations.record_invoiced(document, invoice.remote_id)


def test_a_cancelled_order_says_so(client, store, market):
    document = issue(store, (market.e16, 1))
    sales_operations.transition(document, DocumentStatus.CANCELLED, store.admin, "duplicate")
    db.session.commit()
    login(client, store.customer)
    assert _step(client, document.number) == "cancelled"


def test_order_pdf_is_a_pdf_of_the_customers_own_document_only(client, store, market):
    document = issue(store, (market.e16, 1))
    other = issue(
        store,
        (market.t14, 1),
        organization=store.other_customer.organization,
        contact=store.other_customer,
    )
    db.session.commit()
    login(client, store.customer)
    response = client.get(f"/orders/{document.number}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert client.get(f"/orders/{other.number}/pdf").status_code == 404


def test_order_again_fills_the_cart_at_todays_prices(client, store, market):
    document = issue(store, (market.e16, 2), (market.t14, 1))
    db.session.commit()
    login(client, store.customer)
    response = client.post(f"/orders/{document.number}/reorder")
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    cart = db.session.scalar(select(Cart).where(Cart.user_id == store.customer.id))
    lines = {line.product_id: (line.quantity, line.unit_price_seen) for line in cart.lines}
    # Today's price is the pricing rule's (770.00 for the E16), not the order's.
    assert lines[market.e16.id][0] == 2 and str(lines[market.e16.id][1]) == "770.00"
    assert lines[market.t14.id][0] == 1


def test_order_again_on_another_organizations_order_is_404_and_adds_nothing(client, store, market):
    other = issue(
        store,
        (market.t14, 1),
        organization=store.other_customer.organization,
        contact=store.other_customer,
    )
    db.session.commit()
    login(client, store.customer)
    assert client.post(f"/orders/{other.number}/reorder").status_code == 404
    assert db.session.scalar(select(Cart).where(Cart.user_id == store.customer.id)) is None


def test_order_again_leaves_out_what_is_no_longer_sold_and_says_so(client, store, market):
    document = issue(store, (market.e16, 1), (market.t14, 1))
    market.t14.obsolete = True
    db.session.commit()
    login(client, store.customer)
    client.post(f"/orders/{document.number}/reorder")
    page = client.get("/cart").get_data(as_text=True)
    assert "ThinkPad T14 is no longer sold online" in page
    cart = db.session.scalar(select(Cart).where(Cart.user_id == store.customer.id))
    assert [line.product_id for line in cart.lines] == [market.e16.id]


def test_customer_is_emailed_when_part_and_then_all_of_the_order_ships(
    store, market, run_jobs, mailbox
):
    document = issue(store, (market.e16, 3))
    planning.plan_document(document)
    db.session.commit()
    [po] = purchase_orders()
    ordering.issue_purchase_order(po, store.purchasing)
    db.session.commit()
    _receive(po, 1, store)
    _receive(po, 2, store, invoice="R-2")
    run_jobs()
    subjects = [m["Subject"] for m in mailbox.to(store.customer.email)]
    assert any(
        s.startswith(f"Part of your order has shipped: Sales Order {document.number}")
        for s in subjects
    )
    assert any(
        s.startswith(f"Your order has shipped: Sales Order {document.number}") for s in subjects
    )
