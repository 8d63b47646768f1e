"""Quotes become ConnectWise opportunities with their products (configurations 1 and 3), won
with the chosen options, and the sales order is created from the opportunity — no duplicates
after a create that may have reached ConnectWise; refusals named. Against the sandbox."""

from __future__ import annotations

import pytest

from tests.psa.conftest import SETTINGS, configure, rows
from tests.quotes.conftest import build_quote, link_path, send
from tests.quotes.test_approval import accept_form
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.integrations.outbox import run_sync
from webapp.psa.connectwise import matching, operations, sync
from webapp.quotes import lifecycle as quotes


def ours(sandbox) -> dict:
    [company] = [c for c in rows(sandbox, "company/companies") if c["name"] == "Contoso"]
    return company


def test_a_sent_quote_becomes_an_opportunity_with_its_products_of_a_new_company(
    app, store, cw, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    assert rows(cw, "sales/opportunities") == []  # a draft is not sent to ConnectWise
    send(quote)
    run_jobs()
    company = ours(cw)
    assert company["identifier"] == sync.company_reference(store.org.id)
    assert company["types"] == [{"id": 2}] and company["status"] == {"id": 1}
    [opportunity] = rows(cw, "sales/opportunities")
    assert opportunity["name"] == f"{quote.number} Laptop refresh"
    assert opportunity["company"] == {"id": company["id"]}
    assert (opportunity["stage"], opportunity["status"]) == ({"id": 2}, {"id": 1})
    products = [p for p in rows(cw, "procurement/products") if p.get("opportunity")]
    assert len(products) == len(quote.lines) == 5
    assert all(p["opportunity"] == {"id": opportunity["id"]} for p in products)
    assert {p["integrationXRef"] for p in products} == {
        f"msp-quote-{quote.id}-l{line.id}" for line in quote.lines
    }
    # Products missing from the catalog were created there, once per SKU.
    identifiers = [c["identifier"] for c in rows(cw, "procurement/catalog")]
    assert "DOCK-1" in identifiers and len(identifiers) == len(set(identifiers)) == 5
    assert all(
        d.status == DeliveryStatus.CONFIRMED for d in db.session.scalars(db.select(Delivery))
    )


def test_accepting_wins_the_opportunity_with_the_chosen_options_and_creates_the_sales_order(
    app, store, client, cw, run_jobs
):
    quote = build_quote(store)
    send(quote)
    run_jobs()
    response = client.post(link_path(quote, store.customer) + "/accept", data=accept_form(quote))
    assert response.status_code == 303
    run_jobs()
    db.session.refresh(quote)
    [opportunity] = rows(cw, "sales/opportunities")
    assert opportunity["status"] == {"id": 2}  # Won
    kept = {p["description"]: p for p in rows(cw, "procurement/products")}
    # The X1 was chosen over the T14; the dock taken (3 of them); the service kept.
    assert "ThinkPad T14" not in " ".join(kept)
    dock = kept["Docking station"]
    assert dock["quantity"] == 3
    [order] = rows(cw, "sales/orders")
    assert order["opportunity"] == {"id": opportunity["id"]}
    assert all(p["salesOrder"] == {"id": order["id"]} for p in kept.values())
    link = core.link_for(cw.connection.id, sync.SALES_ORDER, quote.document_id)
    assert link is not None and link.remote_id == str(order["id"])
    # Invoicing from the opportunity: no ticket for the quote's sales order.
    assert rows(cw, "service/tickets") == []


def test_a_lost_quote_takes_the_lost_status(app, store, cw, run_jobs):
    quote = build_quote(store)
    send(quote)
    run_jobs()
    quotes.mark_lost(quote, store.sales, "Went elsewhere")
    db.session.commit()
    run_jobs()
    [opportunity] = rows(cw, "sales/opportunities")
    assert opportunity["status"] == {"id": 3}
    assert rows(cw, "sales/orders") == []


def test_a_create_that_may_have_reached_connectwise_is_looked_up_not_repeated(
    app, store, cw, run_jobs
):
    """The worker died after ConnectWise created the opportunity, before we recorded it."""
    quote = build_quote(store)
    send(quote)
    run_jobs()
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.OPPORTUNITY))
    link = core.link_for(cw.connection.id, sync.QUOTE, quote.id)
    db.session.delete(link)
    delivery.status = DeliveryStatus.SENT
    delivery.maybe_sent = True
    db.session.commit()
    run_sync(cw.connection)
    assert len(rows(cw, "sales/opportunities")) == 1
    assert len([p for p in rows(cw, "procurement/products") if p.get("opportunity")]) == 5
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED


def test_a_timeout_after_connectwise_created_the_opportunity_makes_no_duplicate(
    app, store, cw, run_jobs
):
    cw.faults.hang_next(1, seconds=2.0, after_commit=True, path="sales/opportunities")
    app.config["CONNECTWISE_HTTP_TIMEOUT"] = 0.5
    quote = build_quote(store)
    send(quote)
    run_jobs(allow_failures=True)
    app.config["CONNECTWISE_HTTP_TIMEOUT"] = 30
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.OPPORTUNITY))
    # The answer was lost, but ConnectWise made the opportunity.
    assert delivery.status == DeliveryStatus.PENDING and delivery.maybe_sent
    assert len(rows(cw, "sales/opportunities")) == 1
    delivery.next_attempt_at = None
    db.session.commit()
    run_sync(cw.connection)
    assert len(rows(cw, "sales/opportunities")) == 1
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED


def test_an_existing_opportunity_picked_on_the_quote_gets_the_products(app, store, cw, run_jobs):
    company = cw.add(
        "company/companies",
        identifier=sync.company_reference(store.org.id),
        name="Contoso",
        types=[{"id": 2}],
        status={"id": 1},
        deletedFlag=False,
    )
    contact = cw.add("company/contacts", firstName="Pat", lastName="Buyer", company={"id": company})
    existing = cw.add(
        "sales/opportunities", name="Spring refresh", company={"id": company},
        contact={"id": contact}, primarySalesRep={"id": 1},
    )  # fmt: skip
    quote = build_quote(store)
    core.save_link(cw.connection, sync.ORGANIZATION, store.org.id, remote_id=str(company))
    matching.pick_opportunity(cw.connection, sync.QUOTE, quote, existing)
    db.session.commit()
    send(quote)
    run_jobs()
    assert [o["id"] for o in rows(cw, "sales/opportunities")] == [existing]
    products = [p for p in rows(cw, "procurement/products") if p.get("opportunity")]
    assert {p["opportunity"]["id"] for p in products} == {existing} and len(products) == 5
    assert [c["name"] for c in rows(cw, "company/companies")].count("Contoso") == 1


def test_a_refusal_is_a_notification_naming_the_field(app, store, cw, run_jobs):
    # A subcategory ConnectWise no longer has: the catalog create is refused, named.
    cw.connection.options = {**cw.connection.options, "subcategory": "999"}
    db.session.commit()
    quote = build_quote(store)
    send(quote)
    run_jobs()
    note = db.session.scalar(db.select(Notification))
    assert note is not None and "subcategory" in (note.field + note.message).lower()
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.OPPORTUNITY))
    assert delivery.status == DeliveryStatus.FAILED


def test_configuration_two_makes_opportunities_optional(app, store, cw, run_jobs):
    configure(cw.connection, operations.OUR_INVOICING, opportunities=False)
    quote = build_quote(store)
    send(quote)
    run_jobs()
    assert rows(cw, "sales/opportunities") == []


def test_settings_refuse_values_connectwise_lacks_and_name_the_setting(app, store, cw):
    with pytest.raises(operations.IntegrationRuleError, match="Service board for tickets"):
        configure(cw.connection, choices={**SETTINGS, "board": "99"})
    db.session.rollback()
    with pytest.raises(operations.IntegrationRuleError, match="not a won status"):
        configure(cw.connection, choices={**SETTINGS, "won_status": "1"})
    db.session.rollback()
    with pytest.raises(operations.IntegrationRuleError, match="status of the chosen service"):
        configure(cw.connection, choices={**SETTINGS, "ticket_status": "11"})
    db.session.rollback()
    with pytest.raises(operations.IntegrationRuleError, match="procurement"):
        configure(cw.connection, operations.OUR_INVOICING, procurement=True)
    db.session.rollback()
    with pytest.raises(operations.IntegrationRuleError, match="Stage of a new opportunity"):
        configure(cw.connection, choices={**SETTINGS, "opportunity_stage": ""})


def test_a_429_is_waited_out_under_the_connection_budget_and_nothing_is_duplicated(
    app, store, cw, run_jobs
):
    cw.faults.throttle_next(2, retry_after=1, path="sales/opportunities")
    quote = build_quote(store)
    send(quote)
    run_jobs()
    assert len(rows(cw, "sales/opportunities")) == 1
    throttled = [r for r in cw.requests if r[1] == "sales/opportunities"]
    assert len(throttled) >= 3  # two 429s, then the create
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.OPPORTUNITY))
    assert delivery.status == DeliveryStatus.CONFIRMED


def test_a_lost_answer_to_convert_to_sales_order_makes_no_second_sales_order(
    app, store, client, cw, run_jobs
):
    quote = build_quote(store)
    send(quote)
    run_jobs()
    cw.faults.drop_next(1, mode="reset", path="convertToSalesOrder")
    response = client.post(link_path(quote, store.customer) + "/accept", data=accept_form(quote))
    assert response.status_code == 303
    run_jobs(allow_failures=True)
    assert len(rows(cw, "sales/orders")) == 1  # ConnectWise made it; we did not hear back
    result = db.session.scalar(db.select(Delivery).filter_by(kind=sync.RESULT))
    assert result.status != DeliveryStatus.CONFIRMED
    result.next_attempt_at = None
    db.session.commit()
    run_sync(cw.connection)
    db.session.refresh(result)
    assert result.status == DeliveryStatus.CONFIRMED
    assert len(rows(cw, "sales/orders")) == 1
    db.session.refresh(quote)
    [order] = rows(cw, "sales/orders")
    link = core.link_for(cw.connection.id, sync.SALES_ORDER, quote.document_id)
    assert link.remote_id == str(order["id"])


def test_a_new_version_sent_updates_the_opportunitys_products_instead_of_leaving_the_first(
    app, store, cw, run_jobs
):
    from decimal import Decimal

    from tests.quotes.conftest import change
    from webapp.quotes import building

    quote = build_quote(store)
    send(quote)
    run_jobs()
    [opportunity] = rows(cw, "sales/opportunities")
    mine = cw.add(  # the MSP's own product on the opportunity: left alone
        "procurement/products", catalogItem={"id": rows(cw, "procurement/catalog")[0]["id"]},
        billableOption="Billable", opportunity={"id": opportunity["id"]}, description="Labour",
        quantity=1,
    )  # fmt: skip
    lines = {line.description: line for line in quote.lines}
    building.begin_edit(quote, quote.owner)
    change(quote, lines["Docking station"], quantity=4, unit_price=Decimal("210.00"))
    building.remove_line(quote, lines["Managed workstation"], quote.owner)
    extra = building.add_custom_line(
        quote, quote.sections[-1], description="Monitor", product_type=lines["Docking station"]
        .product_type, quantity=2, unit_price=Decimal("300.00"), unit_cost=Decimal("250"),
        sku="MON-1", actor=quote.owner,
    )  # fmt: skip
    db.session.commit()
    send(quote)
    assert quote.version == 2
    run_jobs()
    assert [o["id"] for o in rows(cw, "sales/opportunities")] == [opportunity["id"]]
    products = {
        p.get("integrationXRef"): p
        for p in rows(cw, "procurement/products")
        if p.get("opportunity") == {"id": opportunity["id"]}
    }
    prefix = f"msp-quote-{quote.id}-l"
    dock = products[f"{prefix}{lines['Docking station'].id}"]
    assert (dock["quantity"], dock["price"]) == (4, 210.0)
    by_description = {p["description"]: p for p in products.values()}
    assert "Managed workstation" not in by_description  # dropped
    monitor = by_description["Monitor"]  # added
    assert (monitor["quantity"], monitor["integrationXRef"]) == (2, f"{prefix}{extra.id}")
    assert monitor["catalogItem"]["id"] != dock["catalogItem"]["id"]
    assert None in products and products[None]["id"] == mine  # the MSP's own stays
    revision = db.session.scalar(db.select(Delivery).filter_by(kind=sync.REVISION))
    assert revision.subject_type == "quote_v2" and revision.status == DeliveryStatus.CONFIRMED


def test_every_call_of_a_stored_connection_is_checked_for_a_public_address(
    app, store, cw, run_jobs
):
    """A connection stored while allowed (or an address turned private since) is not called."""
    app.config["CONNECTWISE_ALLOW_LOOPBACK"] = False
    before = len(cw.requests)
    quote = build_quote(store)
    send(quote)
    run_jobs(allow_failures=True)
    assert len(cw.requests) == before and rows(cw, "sales/opportunities") == []
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.COMPANY))
    assert delivery.status == DeliveryStatus.FAILED
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert note.field == "Site" and "loopback" in note.message


def test_products_are_sent_taxable_with_the_tax_code_only_where_our_line_is_taxed(
    app, store, cw, run_jobs
):
    from decimal import Decimal

    from webapp.catalog.models import TaxCode
    from webapp.quotes import building

    configure(cw.connection, choices={**SETTINGS, "tax_code": "1"})
    exempt = TaxCode(code="FRE", name="GST-free", rate=Decimal("0"))
    db.session.add(exempt)
    quote = build_quote(store)
    lines = {line.description: line for line in quote.lines}
    lines["Docking station"].tax_code = exempt  # the builder has no tax field yet
    db.session.commit()
    send(quote)
    run_jobs()
    products = {p["description"]: p for p in rows(cw, "procurement/products")}
    dock = products["Docking station"]
    assert dock["taxableFlag"] is False and "taxCode" not in dock  # the false is sent (T12)
    taxed = [p for name, p in products.items() if name != "Docking station"]
    assert taxed and all(p["taxableFlag"] is True and p["taxCode"] == {"id": 1} for p in taxed)
    catalog = cw.table("procurement/catalog")
    assert catalog[dock["catalogItem"]["id"]]["taxableFlag"] is False
    assert catalog[taxed[0]["catalogItem"]["id"]]["taxableFlag"] is True
    # A later version taxes the dock: its product follows.
    building.begin_edit(quote, quote.owner)
    lines["Docking station"].tax_code = None  # the default code: taxed
    db.session.commit()
    send(quote)
    run_jobs()
    dock = cw.table("procurement/products")[dock["id"]]
    assert dock["taxableFlag"] is True and dock["taxCode"] == {"id": 1}
