"""Sales orders become Autotask tickets with charges (seed 001), against the sandbox: a new
ticket in the configured queue / status / priority with the title template, product charges
on the Autotask product's material code, the Shipping product, the surcharge code, the charge
type; the material code only at creation; the ticket picked at checkout; later orders on the
same open ticket; no duplicates after a lost answer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import login
from tests.psa.test_autotask_quotes import ITEMS
from tests.store.test_checkout import fill_cart, place
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.integrations.outbox import run_sync
from webapp.psa import operations, sync, tickets
from webapp.sales.models import SalesDocument


def order(client, store, **form) -> SalesDocument:
    login(client, store.customer)
    fill_cart(client, (store.products[0], 2), (store.products[2], 1))
    response, _ = place(client, store, **form)
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalars(db.select(SalesDocument).order_by(SalesDocument.id.desc())).first()


def charges_of(sandbox, ticket_id) -> list[dict]:
    return [c for c in sandbox.records("TicketCharges") if c["TicketID"] == ticket_id]


def test_an_order_becomes_a_new_ticket_with_a_charge_per_line(
    app, store, client, ticketing, run_jobs
):
    document = order(client, store, payment="card")
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    assert ticket["Title"] == f"SO {document.number} / PO-7781"
    assert (ticket["QueueID"], ticket["Status"], ticket["Priority"]) == (8, 1, 2)
    assert ticket["ExternalID"] == document.number
    company = next(c for c in ticketing.records("Companies") if c["CompanyName"] == "Contoso")
    assert ticket["CompanyID"] == company["Id"]
    charges = {c["Name"]: c for c in charges_of(ticketing, ticket["Id"])}
    products = {p["Id"]: p for p in ticketing.records("Products")}
    goods = [c for c in charges.values() if c.get("ProductID")]
    assert len(goods) == 3  # two products and the Shipping product
    for charge in goods:
        # The material code is the Autotask product's own.
        assert charge["BillingCodeID"] == products[charge["ProductID"]]["ProductBillingCodeID"]
        assert charge["ChargeType"] == 1 and charge["PurchaseOrderNumber"] == document.number
    shipping = charges[document.shipping_method_name]
    assert products[shipping["ProductID"]]["Name"] == "Shipping"
    assert Decimal(str(shipping["UnitPrice"])) == document.shipping_charge
    surcharge = charges["Payment surcharge"]
    assert surcharge["BillingCodeID"] == 4 and surcharge.get("ProductID") is None
    assert Decimal(str(surcharge["UnitPrice"])) == document.surcharge_amount
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.TICKET))
    assert delivery.status == DeliveryStatus.CONFIRMED


def test_a_later_order_goes_on_the_open_ticket_picked_at_checkout(
    app, store, client, ticketing, run_jobs
):
    first = order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    [offered] = tickets.open_tickets(store.org)
    assert (offered.connection_id, offered.remote_id) == (
        ticketing.connection.id,
        str(ticket["Id"]),
    )
    second = order(client, store, psa_ticket=tickets.choice_value(offered))
    assert tickets.chosen_ticket(second, ticketing.connection.id) == str(ticket["Id"])
    run_jobs()
    assert len(ticketing.records("Tickets")) == 1
    refs = {c["PurchaseOrderNumber"] for c in charges_of(ticketing, ticket["Id"])}
    assert refs == {first.number, second.number}
    assert len(charges_of(ticketing, ticket["Id"])) == 6


def test_a_completed_ticket_is_not_offered_and_a_forged_pick_is_refused(
    app, store, client, ticketing, run_jobs
):
    order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    other = ticketing.add("Tickets", CompanyID=1, Title="Northwind's", Status=1, Priority=2,
                          QueueID=8)  # fmt: skip
    forged = f"{ticketing.connection.id}:{other}"
    login(client, store.customer)
    fill_cart(client, (store.products[0], 1))
    response, _ = place(client, store, psa_ticket=forged)
    assert response.status_code == 400
    assert "not an open ticket" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(SalesDocument.id))) == 1
    ticketing.change("Tickets", ticket["Id"], Status=5)  # completed in Autotask
    assert tickets.open_tickets(store.org, fresh=True) == []


def test_the_checkout_offers_the_open_tickets(app, store, client, ticketing, run_jobs):
    order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    fill_cart(client, (store.products[0], 1))
    assert client.post("/checkout/start").status_code == 303
    page = client.get("/checkout").get_data(as_text=True)
    assert 'name="psa_ticket"' in page and "New ticket" in page
    assert f'value="{ticketing.connection.id}:{ticket["Id"]}"' in page


def ticket_queries(sandbox) -> int:
    return sum(1 for method, path, _ in sandbox.requests if path.endswith("/Tickets/query"))


def test_the_open_tickets_are_cached_until_a_ticket_webhook_arrives(
    app, store, client, ticketing, run_jobs
):
    from tests.psa.test_autotask_back import deliver_to

    order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    fill_cart(client, (store.products[0], 1))
    assert client.post("/checkout/start").status_code == 303
    before = ticket_queries(ticketing)
    for _ in range(3):  # page loads: Autotask is asked once
        page = client.get("/checkout").get_data(as_text=True)
        assert f'value="{ticketing.connection.id}:{ticket["Id"]}"' in page
    assert ticket_queries(ticketing) == before + 1
    # Completed in Autotask: its webhook drops the cached list, the next page asks again.
    ticketing.db.table("Tickets")[ticket["Id"]]["Status"] = 5
    [sent] = ticketing.fire("Update", ticket["Id"], {"Status": 5}, deliver=deliver_to(client))
    assert sent.status == 200
    page = client.get("/checkout").get_data(as_text=True)
    assert ticket_queries(ticketing) == before + 2
    assert f'value="{ticketing.connection.id}:{ticket["Id"]}"' not in page
    assert 'name="psa_ticket"' in page and "New ticket" in page


def test_the_open_ticket_cache_is_per_organisation(app, store, client, ticketing, run_jobs):
    from tests.factories import make_organization

    order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    assert [c.remote_id for c in tickets.open_tickets(store.org)] == [str(ticket["Id"])]
    other = make_organization("Northwind")
    db.session.commit()
    assert tickets.open_tickets(other) == []  # no company of its own: not the cached list


def test_the_material_code_is_set_only_when_a_charge_is_created(
    app, store, client, ticketing, run_jobs
):
    document = order(client, store)
    run_jobs()
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.TICKET))
    from webapp.integrations.operations import retry_delivery

    # Staff retry (say after a change): the charges are updated, their material code is not sent.
    delivery.status = DeliveryStatus.FAILED
    db.session.commit()
    retry_delivery(delivery, "Admin")
    db.session.commit()
    run_jobs()
    patches = [b for m, p, b in ticketing.requests if m == "PATCH" and p.endswith("/Charges")]
    assert len(patches) == 3 and all("billingCodeID" not in body for body in patches)
    [ticket] = ticketing.records("Tickets")
    assert {c["PurchaseOrderNumber"] for c in charges_of(ticketing, ticket["Id"])} == {
        document.number
    }
    assert len(charges_of(ticketing, ticket["Id"])) == 3


def test_a_ticket_create_whose_answer_was_lost_is_found_not_repeated(
    app, store, client, ticketing, run_jobs
):
    order(client, store)
    run_jobs()
    from webapp.integrations.models import ExternalLink

    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.TICKET))
    db.session.execute(db.delete(ExternalLink).filter_by(subject_type="sales_document"))
    delivery.status = DeliveryStatus.SENT
    delivery.maybe_sent = True
    db.session.commit()
    run_sync(ticketing.connection)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    assert len(ticketing.records("Tickets")) == 1
    assert len(ticketing.records("TicketCharges")) == 3


def test_tickets_need_their_settings_and_are_off_until_switched_on(
    app,
    store,
    client,
    autotask,
    run_jobs,
):
    with pytest.raises(operations.IntegrationRuleError, match="Ticket queue"):
        operations.save_item_options(
            autotask.connection, choices={**ITEMS, "ticket_queue": ""}, title="", tickets=True
        )
    db.session.rollback()
    order(client, store)
    run_jobs()
    assert autotask.records("Tickets") == []
    assert db.session.scalar(db.select(Delivery).filter_by(kind=sync.TICKET)) is None
    assert db.session.scalar(db.select(Notification)) is None


def test_quote_acceptance_offers_open_tickets_and_puts_the_order_on_the_pick(
    app, store, client, ticketing, run_jobs
):
    from tests.quotes.conftest import build_quote, link_path, send
    from tests.quotes.test_approval import accept_form

    order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    quote = build_quote(store)
    send(quote)
    run_jobs()
    page = client.get(link_path(quote, store.customer)).get_data(as_text=True)
    pick = f"{ticketing.connection.id}:{ticket['Id']}"
    assert f'value="{pick}"' in page
    accepted = client.post(
        link_path(quote, store.customer) + "/accept",
        data={**accept_form(quote), "psa_ticket": pick},
    )
    assert accepted.status_code == 303
    run_jobs()
    assert len(ticketing.records("Tickets")) == 1
    document = db.session.scalars(
        db.select(SalesDocument).order_by(SalesDocument.id.desc())
    ).first()
    assert {c["PurchaseOrderNumber"] for c in charges_of(ticketing, ticket["Id"])} >= {
        document.number
    }


def test_a_desk_order_can_go_on_an_open_ticket(app, store, client, ticketing, run_jobs):
    order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    client.post("/logout")
    login(client, store.sales)
    page = client.get(f"/admin/orders/new?organization={store.org.id}").get_data(as_text=True)
    assert f'value="{ticketing.connection.id}:{ticket["Id"]}"' in page


def test_unquoted_sales_become_won_opportunities_when_switched_on(
    app, store, client, autotask, run_jobs
):
    from tests.psa.test_autotask_opportunities import SETTINGS

    operations.save_opportunity_options(
        autotask.connection, enabled=True, probability=40, choices=SETTINGS,
        unquoted_sales_won=True,
    )  # fmt: skip
    db.session.commit()
    document = order(client, store)
    run_jobs()
    [opportunity] = autotask.records("Opportunities")
    assert opportunity["Title"].startswith(f"{document.number} ")
    assert (opportunity["Stage"], opportunity["Status"]) == (5, 3)
    assert Decimal(str(opportunity["Amount"])) == document.subtotal
    assert autotask.records("Tickets") == []  # tickets stay off: a separate switch


def test_a_charge_autotask_refuses_is_named_and_the_other_charges_are_made(
    app, store, client, ticketing, run_jobs
):
    from webapp.integrations.operations import retry_delivery

    # The first charge is refused; the product and shipping charges after it still go.
    ticketing.faults.fail_next(1, status=400, path="/Charges")  # POST /Tickets/{id}/Charges
    document = order(client, store, payment="card")
    run_jobs()
    failed = db.session.scalar(db.select(Delivery).filter_by(kind=sync.TICKET))
    assert failed.status == DeliveryStatus.FAILED
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=failed.id))
    assert "1 of 4 lines could not be synced" in note.message
    [ticket] = ticketing.records("Tickets")
    assert len(charges_of(ticketing, ticket["Id"])) == 3
    retry_delivery(failed, "Admin")
    db.session.commit()
    run_jobs()
    db.session.refresh(failed)
    assert failed.status == DeliveryStatus.CONFIRMED
    charges = charges_of(ticketing, ticket["Id"])
    assert len(charges) == 4
    assert {c["PurchaseOrderNumber"] for c in charges} == {document.number}


def _keyed(client, store):
    from tests.desk.test_keyed_orders import _entry_key, _order

    key = _entry_key(client, store.org.id)
    return _order(store, key, [(store.products[2].id, 1, "770.00", "700.0000", 20)])


def test_a_staff_keyed_order_offers_the_same_tickets_and_goes_on_the_one_chosen(
    app, store, client, ticketing, run_jobs
):
    order(client, store)
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    [offered] = tickets.open_tickets(store.org)
    client.post("/logout")
    login(client, store.sales)
    page = client.get(f"/admin/orders/new?organization={store.org.id}").get_data(as_text=True)
    assert 'name="psa_ticket"' in page and "New ticket" in page
    assert f'value="{ticketing.connection.id}:{ticket["Id"]}"' in page
    data = {**_keyed(client, store), "psa_ticket": tickets.choice_value(offered)}
    placed = client.post("/admin/orders/new", data=data)
    assert placed.status_code == 303, placed.get_data(as_text=True)
    keyed = db.session.scalars(db.select(SalesDocument).order_by(SalesDocument.id.desc())).first()
    assert tickets.chosen_ticket(keyed, ticketing.connection.id) == str(ticket["Id"])
    run_jobs()
    assert len(ticketing.records("Tickets")) == 1
    assert keyed.number in {c["PurchaseOrderNumber"] for c in charges_of(ticketing, ticket["Id"])}


def test_a_staff_keyed_order_for_a_ticket_not_open_is_refused_and_writes_nothing(
    app, store, client, ticketing, run_jobs
):
    order(client, store)
    run_jobs()
    client.post("/logout")
    login(client, store.sales)
    forged = client.post("/admin/orders/new", data={**_keyed(client, store), "psa_ticket": "9:1"})
    assert forged.status_code == 422
    assert "not an open ticket" in forged.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(SalesDocument.id))) == 1
