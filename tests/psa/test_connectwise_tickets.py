"""Sales orders raise ConnectWise tickets: with products when ConnectWise invoices from tickets,
without in configuration 2; the open ticket picked at checkout gets later orders. Sandbox."""

from __future__ import annotations

from tests.api.conftest import issue_order
from tests.psa.conftest import configure, rows
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.integrations.outbox import run_sync
from webapp.psa import tickets
from webapp.psa.connectwise import operations, sync


def order(store, key="o1"):
    document = issue_order(store, store.org, store.customer, key)
    db.session.commit()
    return document


def test_configuration_two_raises_a_ticket_without_products(app, store, cw, run_jobs):
    configure(cw.connection, operations.OUR_INVOICING, opportunities=False)
    document = order(store)
    run_jobs()
    [ticket] = rows(cw, "service/tickets")
    assert ticket["externalXRef"] == f"MSP {document.number}"
    assert ticket["board"] == {"id": 2} and ticket["status"] == {"id": 21}
    assert document.number in ticket["summary"] and "ThinkPad" in ticket["initialDescription"]
    assert [p for p in rows(cw, "procurement/products") if p.get("ticket")] == []
    link = core.link_for(cw.connection.id, sync.TICKET_LINK, document.id)
    assert link.remote_id == str(ticket["id"])


def test_invoicing_from_tickets_puts_the_products_on_the_ticket(app, store, cw, run_jobs):
    configure(cw.connection, invoice_from="ticket")
    document = order(store)
    run_jobs()
    [ticket] = rows(cw, "service/tickets")
    [product] = [p for p in rows(cw, "procurement/products") if p.get("ticket")]
    assert product["ticket"] == {"id": ticket["id"]}
    assert product["quantity"] == 2 and product["price"] == 1100.0
    assert product["integrationXRef"] == f"msp-line-{document.lines[0].id}"
    # Taxed here (the default code): taxable there; no tax code chosen, so none is named.
    assert product["taxableFlag"] is True and "taxCode" not in product


def test_a_store_order_becomes_a_won_opportunity_and_sales_order_when_invoicing_from_them(
    app, store, cw, run_jobs
):
    document = order(store)  # not from a quote: configuration 1, invoicing from opportunities
    run_jobs()
    assert rows(cw, "service/tickets") == []
    [opportunity] = rows(cw, "sales/opportunities")
    assert opportunity["name"].startswith(document.number)
    assert opportunity["status"] == {"id": 2}  # Won
    company = core.link_for(cw.connection.id, sync.ORGANIZATION, store.org.id)
    assert opportunity["company"] == {"id": int(company.remote_id)}
    [product] = [p for p in rows(cw, "procurement/products") if p.get("opportunity")]
    assert product["integrationXRef"] == f"msp-line-{document.lines[0].id}"
    assert (product["quantity"], product["price"]) == (2, 1100.0)
    [sales_order] = rows(cw, "sales/orders")
    assert sales_order["opportunity"] == {"id": opportunity["id"]}
    link = core.link_for(cw.connection.id, sync.SALES_ORDER, document.id)
    assert link.remote_id == str(sales_order["id"])
    # The checkout offers no ticket choice here: no order of this configuration gets one.
    assert tickets.ticketing_connections() == []


def test_a_lost_answer_to_the_won_sale_makes_no_second_opportunity(app, store, cw, run_jobs):
    cw.faults.hang_next(1, seconds=2.0, after_commit=True, path="sales/opportunities")
    app.config["CONNECTWISE_HTTP_TIMEOUT"] = 0.5
    order(store)
    run_jobs(allow_failures=True)
    app.config["CONNECTWISE_HTTP_TIMEOUT"] = 30
    delivery = db.session.scalar(
        db.select(Delivery).filter_by(kind=sync.OPPORTUNITY, subject_type=sync.WON_SALE)
    )
    assert delivery.status == DeliveryStatus.PENDING and delivery.maybe_sent
    delivery.next_attempt_at = None
    db.session.commit()
    run_sync(cw.connection)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    assert len(rows(cw, "sales/opportunities")) == 1 and len(rows(cw, "sales/orders")) == 1


def test_configuration_two_with_opportunities_raises_the_ticket_and_a_won_opportunity(
    app, store, cw, run_jobs
):
    configure(cw.connection, operations.OUR_INVOICING, opportunities=True)
    document = order(store)
    run_jobs()
    assert len(rows(cw, "service/tickets")) == 1
    [opportunity] = rows(cw, "sales/opportunities")  # for reporting: won, not invoiced
    assert opportunity["status"] == {"id": 2} and opportunity["name"].startswith(document.number)
    assert rows(cw, "sales/orders") == []


def test_invoicing_from_tickets_makes_no_opportunity_for_a_store_order(app, store, cw, run_jobs):
    configure(cw.connection, invoice_from="ticket")
    order(store)
    run_jobs()
    assert len(rows(cw, "service/tickets")) == 1 and rows(cw, "sales/opportunities") == []


def test_the_open_ticket_picked_at_checkout_gets_the_order_and_no_new_ticket(
    app, store, cw, run_jobs
):
    configure(cw.connection, invoice_from="ticket")
    first = order(store, "o1")
    run_jobs()
    [ticket] = rows(cw, "service/tickets")
    choices = tickets.open_tickets(store.org)
    assert [(c.connection_id, c.remote_id) for c in choices] == [
        (cw.connection.id, str(ticket["id"]))
    ]
    second = issue_order(store, store.org, store.customer, "o2")
    tickets.choose_ticket(second, cw.connection.id, str(ticket["id"]))
    db.session.commit()
    # The choice is kept before the order's delivery runs (as checkout does).
    assert tickets.chosen_ticket(second, cw.connection.id) == str(ticket["id"])
    run_jobs()
    assert len(rows(cw, "service/tickets")) == 1
    on_ticket = [p for p in rows(cw, "procurement/products") if p.get("ticket")]
    assert {p["integrationXRef"] for p in on_ticket} == {
        f"msp-line-{first.lines[0].id}",
        f"msp-line-{second.lines[0].id}",
    }


def test_a_ticket_closed_before_the_order_reached_it_is_refused_with_the_fix(
    app, store, cw, run_jobs
):
    configure(cw.connection, invoice_from="ticket")
    company = cw.add("company/companies", identifier="X", name="Contoso", types=[{"id": 2}])
    closed = cw.add("service/tickets", summary="Old", company={"id": company}, closedFlag=True)
    core.save_link(cw.connection, sync.ORGANIZATION, store.org.id, remote_id=str(company))
    assert tickets.open_tickets(store.org) == []
    document = issue_order(store, store.org, store.customer, "o1")
    tickets.choose_ticket(document, cw.connection.id, str(closed))
    db.session.commit()
    run_jobs()
    note = db.session.scalar(db.select(Notification))
    assert note.field == "Ticket" and "closed" in note.message and "new ticket" in note.fix
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.TICKET))
    assert delivery.status == DeliveryStatus.FAILED
