"""Quotes become Autotask quotes with items (seed 001's four scenarios), against the sandbox:
products synced first with the material code, recurring lines as Service items on Services
we create (period read back), one-off services as Cost items, shipping, surcharge; the tax
category set only at creation; options as optional items; re-sync on send and acceptance;
a new quote location per quote; the customer's PO number; no duplicates."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import login
from tests.psa.test_autotask_opportunities import SETTINGS
from tests.quotes.conftest import build_quote, change, link_path, send
from tests.quotes.test_approval import accept_form
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.integrations.outbox import run_sync
from webapp.psa import operations, sync
from webapp.quotes import building as quotes
from webapp.sales.models import PaymentMethod, Recurrence

ITEMS = {
    "product_material_code": "1",  # Hardware sales (tax category 1)
    "recurring_billing_code": "5",  # Managed services (recurring)
    "service_material_code": "6",  # Onsite labour
    "surcharge_material_code": "4",  # Card surcharge (tax category 2)
    "shipping_type": "2",  # Express
    "ticket_queue": "8",
    "ticket_status": "1",
    "ticket_priority": "2",
    "charge_type": "1",
}


def items_of(sandbox, quote_id=None) -> list[dict]:
    found = sandbox.records("QuoteItems")
    return [i for i in found if quote_id is None or i["QuoteID"] == quote_id]


def autotask_quote(sandbox, quote) -> dict:
    [found] = [q for q in sandbox.records("Quotes") if q["ExternalQuoteNumber"] == quote.number]
    return found


def by_name(items: list[dict]) -> dict[str, dict]:
    return {i["Name"]: i for i in items}


def test_a_new_quote_becomes_an_autotask_quote_with_each_scenarios_items(
    app, store, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    at_quote = autotask_quote(quoting, quote)
    assert at_quote["Name"] == f"{quote.number} Laptop refresh"
    opportunity = quoting.records("Opportunities")[0]
    assert at_quote["OpportunityID"] == opportunity["Id"]
    items = by_name(items_of(quoting, at_quote["Id"]))
    assert len(items) == 5
    # Products: every goods line is a Product item on a Product we created first.
    products = {p["Id"]: p for p in quoting.records("Products")}
    goods = [i for i in items.values() if i["QuoteItemType"] == 1]
    assert len(goods) == 4  # E16, T14, X1, the dock (a custom line gets its own product)
    for item in goods:
        assert products[item["ProductID"]]["ProductBillingCodeID"] == 1
        assert item["TaxCategoryID"] == 1  # the material code's tax category
    # Options and the other pick of a "choose one" section are optional items.
    optional = {i["Name"] for i in items.values() if i["IsOptional"]}
    assert optional == {"Lenovo ThinkPad X1 Carbon", "Docking station"}
    # The recurring service is a Service item, on a Service we created, billed monthly.
    [service_item] = [i for i in items.values() if i["QuoteItemType"] == 11]
    service = quoting.record("Services", service_item["ServiceID"])
    assert (service["BillingCodeID"], service["PeriodType"]) == (5, 2)
    assert service_item["PeriodType"] == 2 and service_item["Quantity"] == 2
    assert Decimal(str(service_item["UnitPrice"])) == Decimal("45")
    # A new quote location from the organisation's address, never a company location.
    location = quoting.record("QuoteLocations", at_quote["BillToLocationID"])
    assert location["Address1"] == store.org.address_line1
    assert at_quote["ShipToLocationID"] == at_quote["SoldToLocationID"] == location["Id"]
    delivery = db.session.scalar(
        db.select(Delivery).filter_by(kind=sync.QUOTE_SYNC, subject_type="quote")
    )
    assert delivery.status == DeliveryStatus.CONFIRMED


def test_shipping_and_surcharge_items_use_the_configured_type_and_code(
    app, store, quoting, run_jobs
):
    quote = build_quote(store)
    header = quotes.HeaderChanges(
        title=quote.title,
        owner=quote.owner,
        expires_on=quote.expires_on,
        payment_method=PaymentMethod.CARD,
        shipping_label="Courier",
        shipping_charge=Decimal("25.00"),
        intro="",
        terms="",
    )
    quotes.update_header(quote, header, store.sales)
    db.session.commit()
    assert quote.surcharge_pct > 0
    run_jobs()
    items = by_name(items_of(quoting, autotask_quote(quoting, quote)["Id"]))
    shipping = items["Courier"]
    assert (shipping["QuoteItemType"], shipping["ShippingID"]) == (6, 2)
    assert Decimal(str(shipping["UnitPrice"])) == Decimal("25")
    assert shipping["TaxCategoryID"] == 2  # the shipping type's billing code (3) category
    surcharge = items["Payment surcharge"]
    assert (surcharge["QuoteItemType"], surcharge["ChargeID"]) == (2, 4)
    assert surcharge["TaxCategoryID"] == 2
    assert Decimal(str(surcharge["UnitPrice"])) > 0


def test_acceptance_resyncs_choices_quantities_and_the_customer_po(
    app, store, client, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    send(quote)
    run_jobs()
    at_quote = autotask_quote(quoting, quote)
    before = {i["Id"] for i in items_of(quoting, at_quote["Id"])}
    accepted = client.post(link_path(quote, store.customer) + "/accept", data=accept_form(quote))
    assert accepted.status_code == 303
    run_jobs()
    at_quote = autotask_quote(quoting, quote)
    assert at_quote["PurchaseOrderNumber"] == "PO-4411"
    items = by_name(items_of(quoting, at_quote["Id"]))
    assert {i["Id"] for i in items.values()} == before  # updated in place, nothing duplicated
    # The customer took the X1 instead of the T14 and three docks.
    assert not items["Lenovo ThinkPad X1 Carbon"]["IsOptional"]
    assert items["Lenovo ThinkPad T14"]["IsOptional"]
    assert not items["Docking station"]["IsOptional"]
    assert items["Docking station"]["Quantity"] == 3
    # ...and the opportunity is won after the quote was brought in step.
    opportunity = quoting.records("Opportunities")[0]
    assert (opportunity["Stage"], opportunity["Status"]) == (5, 3)
    assert len(quoting.records("Quotes")) == 1
    assert len(quoting.records("QuoteLocations")) == 1


def test_a_line_switched_from_recurring_to_one_off_becomes_a_cost_item(
    app, store, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    send(quote)
    run_jobs()
    quotes.begin_edit(quote, store.sales)
    service = next(line for line in quote.lines if line.description == "Managed workstation")
    change(quote, service, recurrence=Recurrence.NONE, term_months=None)
    db.session.commit()
    send(quote)
    run_jobs()
    items = by_name(items_of(quoting, autotask_quote(quoting, quote)["Id"]))
    switched = items["Managed workstation"]
    assert (switched["QuoteItemType"], switched["ChargeID"]) == (2, 6)
    assert [i for i in items.values() if i["QuoteItemType"] == 11] == []
    assert len(items) == 5


def test_the_tax_category_is_set_only_at_creation(app, store, quoting, run_jobs):
    quote = build_quote(store)
    run_jobs()
    # The MSP moves the material code to another tax category; a re-sync keeps the first.
    db.session.refresh(quoting.connection)
    codes = quoting.connection.picklists["BillingCodes"]
    quoting.connection.picklists = {
        **quoting.connection.picklists,
        "BillingCodes": [{**c, "tax_category": "2"} for c in codes],
    }
    db.session.commit()
    send(quote)
    run_jobs()
    items = items_of(quoting, autotask_quote(quoting, quote)["Id"])
    assert {i["TaxCategoryID"] for i in items if i["QuoteItemType"] == 1} == {1}
    patches = [b for m, p, b in quoting.requests if m == "PATCH" and p.endswith("/Items")]
    assert patches and all("taxCategoryID" not in body for body in patches)


def test_a_service_whose_period_autotask_overrides_is_named_with_the_fix(
    app, store, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    [service] = quoting.records("Services")
    quoting.change("Services", service["Id"], PeriodType=5)  # someone made it yearly
    # The item is re-created (the line became one-off and back) so it takes the new period.
    for item in items_of(quoting):
        if item["QuoteItemType"] == 11:
            quoting.db.table("QuoteItems").pop(item["Id"])
    send(quote)
    run_jobs()
    failed = db.session.scalar(
        db.select(Delivery).filter_by(kind=sync.QUOTE_SYNC, status=DeliveryStatus.FAILED)
    )
    assert failed is not None
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=failed.id))
    assert "yearly, not monthly" in note.message and "Service's period" in note.fix


def test_a_quote_sync_whose_answer_was_lost_creates_nothing_twice(app, store, quoting, run_jobs):
    build_quote(store)
    run_jobs()
    items = len(items_of(quoting))
    delivery = db.session.scalar(
        db.select(Delivery).filter_by(kind=sync.QUOTE_SYNC, subject_type="quote")
    )
    # As a worker killed after Autotask answered leaves it: no links, sent, maybe sent.
    from webapp.integrations.models import ExternalLink

    db.session.execute(
        db.delete(ExternalLink).where(ExternalLink.subject_type.in_(
            ("at_quote", "at_item_line", "at_item_shipping", "at_item_surcharge")))
    )  # fmt: skip
    delivery.status = DeliveryStatus.SENT
    delivery.maybe_sent = True
    db.session.commit()
    run_sync(quoting.connection)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    assert len(quoting.records("Quotes")) == 1
    assert len(items_of(quoting)) == items
    assert len(quoting.records("Products")) == 4


def test_a_missing_material_code_is_named_before_anything_is_sent(app, store, quoting, run_jobs):
    operations.save_item_options(
        quoting.connection, choices={**ITEMS, "product_material_code": ""}, title=""
    )
    db.session.commit()
    build_quote(store)
    run_jobs()
    assert quoting.records("Quotes") == []
    note = db.session.scalar(db.select(Notification))
    assert "product material code" in note.message and "Retry" in note.fix


def test_item_settings_accept_only_autotask_values_and_a_known_title(app, store, client, quoting):
    login(client, store.admin)
    url = f"/admin/psa/connections/{quoting.connection.id}/items"
    for key in ITEMS:
        bad = client.post(url, data={**ITEMS, key: "999", "ticket_title": ""})
        assert bad.status_code == 400, key
        assert "not one of Autotask" in bad.get_data(as_text=True)
    unknown = client.post(url, data={**ITEMS, "ticket_title": "Order {secret}"})
    assert unknown.status_code == 400 and "{number}" in unknown.get_data(as_text=True)
    ok = client.post(url, data={**ITEMS, "ticket_title": "SO {number} / {po}"})
    assert ok.status_code == 303
    db.session.refresh(quoting.connection)
    assert quoting.connection.option("ticket_title") == "SO {number} / {po}"
    assert quoting.connection.option("shipping_type") == "2"
    page = client.get("/admin/psa/").get_data(as_text=True)
    assert 'name="product_material_code"' in page and "Card surcharge" in page


def test_settings_are_kept_per_field(app, store, quoting):
    db.session.refresh(quoting.connection)
    for key, value in {**SETTINGS, **ITEMS}.items():
        assert quoting.connection.option(key) == value, key


def test_our_quote_page_shows_the_autotask_quote_and_frozen_tax_categories(
    app, store, client, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    login(client, store.sales)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert 'id="psa-quote-panel"' in page
    assert page.count("Frozen at creation") == 5
    assert "Managed workstation</td><td>Service #" in page


def test_a_line_removed_from_the_quote_loses_its_item_and_staff_items_stay(
    app, store, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    at_quote = autotask_quote(quoting, quote)
    # Staff add an item of their own in Autotask: not ours, so a re-sync leaves it.
    quoting.add("QuoteItems", QuoteID=at_quote["Id"], QuoteItemType=2, ChargeID=6,
                Name="Travel", Quantity=1, IsOptional=False)  # fmt: skip
    send(quote)
    run_jobs()
    quotes.begin_edit(quote, store.sales)
    dock = next(line for line in quote.lines if line.description == "Docking station")
    quotes.remove_line(quote, dock, store.sales)
    db.session.commit()
    send(quote)
    run_jobs()
    names = sorted(i["Name"] for i in items_of(quoting, at_quote["Id"]))
    assert "Docking station" not in names and "Travel" in names
    assert len(names) == 5


def test_three_identical_recurring_lines_become_one_service_item(app, store, quoting, run_jobs):
    quote = build_quote(store)
    service = next(line for line in quote.lines if line.description == "Managed workstation")
    for _ in range(2):
        extra = quotes.add_custom_line(
            quote, service.section, description="Managed workstation",
            product_type=service.product_type, quantity=1, unit_price=Decimal("45.00"),
            unit_cost=Decimal("20"), sku="MS-1", actor=store.sales,
        )  # fmt: skip
        change(quote, extra, recurrence=Recurrence.MONTHLY, term_months=24)
    db.session.commit()
    run_jobs()
    items = items_of(quoting, autotask_quote(quoting, quote)["Id"])
    [merged] = [i for i in items if i["QuoteItemType"] == 11]
    assert merged["Quantity"] == 4  # 2 + 1 + 1: Autotask takes at most two identical ones
    assert db.session.scalar(db.select(Notification)) is None


def map_categories(client, store, sandbox, **form):
    from tests.factories import make_category

    hardware = make_category("Hardware")
    store.category.parent = hardware  # Laptops sits under Hardware
    db.session.commit()
    login(client, store.admin)
    url = f"/admin/psa/connections/{sandbox.connection.id}/items"
    return hardware, client.post(url, data={**ITEMS, "ticket_title": "", **form})


def test_our_categories_map_to_autotask_product_categories_on_created_products(
    app, store, client, quoting, run_jobs
):
    hardware, response = map_categories(client, store, quoting)
    url = f"/admin/psa/connections/{quoting.connection.id}/items"
    page = client.get("/admin/psa/").get_data(as_text=True)
    assert f'name="category_{hardware.id}"' in page
    assert client.post(url, data={**ITEMS, f"category_{hardware.id}": "1"}).status_code == 303
    db.session.refresh(quoting.connection)
    assert quoting.connection.option("category_map") == {str(hardware.id): "1"}
    page = client.get("/admin/psa/").get_data(as_text=True)
    assert '<option value="1" selected>Hardware</option>' in page
    build_quote(store)
    run_jobs()
    created = quoting.records("Products")
    ours = [
        p for p in created if str(p.get("ExternalProductID", "")).startswith("MSP-P-P")
    ]  # catalog products
    assert ours, created
    assert {p.get("ProductCategory") for p in ours} == {1}  # Laptops takes Hardware's


def test_a_sub_category_mapped_itself_wins_over_its_parent(app, store, client, quoting, run_jobs):
    hardware, _ = map_categories(client, store, quoting)
    url = f"/admin/psa/connections/{quoting.connection.id}/items"
    form = {**ITEMS, f"category_{hardware.id}": "1", f"category_{store.category.id}": "3"}
    assert client.post(url, data=form).status_code == 303
    build_quote(store)
    run_jobs()
    ours = [p for p in quoting.records("Products") if p.get("ProductCategory") is not None]
    assert ours and {p["ProductCategory"] for p in ours} == {3}


def test_a_bad_category_mapping_is_refused_and_nothing_is_stored(app, store, client, quoting):
    hardware, _ = map_categories(client, store, quoting)
    url = f"/admin/psa/connections/{quoting.connection.id}/items"
    bad = client.post(url, data={**ITEMS, f"category_{hardware.id}": "999"})
    assert bad.status_code == 400
    assert "is not one of Autotask" in bad.get_data(as_text=True)
    unknown = client.post(url, data={**ITEMS, "category_999999": "1"})
    assert unknown.status_code == 400 and "no category" in unknown.get_data(as_text=True)
    db.session.refresh(quoting.connection)
    assert not quoting.connection.option("category_map")


def test_a_line_autotask_refuses_is_named_and_the_other_lines_are_synced(
    app, store, quoting, run_jobs
):
    from webapp.integrations.operations import retry_delivery

    quoting.faults.fail_next(1, status=400, path="/V1.0/Services")  # the Service is refused
    build_quote(store)
    run_jobs()
    failed = db.session.scalar(
        db.select(Delivery).filter_by(kind=sync.QUOTE_SYNC, status=DeliveryStatus.FAILED)
    )
    assert failed is not None
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=failed.id))
    assert "1 of 5 lines could not be synced" in note.message
    assert "“Managed workstation”" in note.message and "Managed workstation" in note.field
    items = items_of(quoting)
    assert len(items) == 4 and 11 not in {i["QuoteItemType"] for i in items}  # the rest went
    retry_delivery(failed, "Admin")
    db.session.commit()
    run_jobs()
    db.session.refresh(failed)
    assert failed.status == DeliveryStatus.CONFIRMED
    items = items_of(quoting)
    assert len(items) == 5 and len({i["Id"] for i in items}) == 5  # nothing twice
    assert [i["QuoteItemType"] for i in items].count(11) == 1


def test_the_autotask_quote_takes_the_tax_region_of_the_linked_company(
    app, store, client, quoting, run_jobs
):
    from tests.psa.test_autotask_companies import page_urls

    region = quoting.add("TaxRegions", Name="Oregon", IsActive=True)
    company = quoting.add("Companies", CompanyName="Contoso Holdings", CompanyType=1,
                          Phone="555-0100", OwnerResourceID=1, TaxRegionID=region,
                          IsActive=True)  # fmt: skip
    login(client, store.sales)
    assert (
        client.post(page_urls(quoting, store.org)[1], data={"company_id": str(company)}).status_code
        == 303
    )
    first = build_quote(store)
    run_jobs()
    assert autotask_quote(quoting, first).get("TaxRegionID") == region
    # Read from the company once; the next quote of the organisation takes the same region.
    second = build_quote(store)
    run_jobs()
    assert autotask_quote(quoting, second).get("TaxRegionID") == region
    reads = [r for r in quoting.requests if r[:2] == ("GET", f"/V1.0/Companies/{company}")]
    # The link's own read-back and the region's read, never once per quote.
    assert 1 <= len(reads) <= 2, quoting.requests


def test_a_refused_line_is_a_notice_staff_view_open_at_the_quote_and_retry(
    app, store, client, quoting, run_jobs
):
    quoting.faults.fail_next(1, status=400, path="/V1.0/Services")  # the Service is refused
    quote = build_quote(store)
    run_jobs()
    failed = db.session.scalar(
        db.select(Delivery).filter_by(kind=sync.QUOTE_SYNC, status=DeliveryStatus.FAILED)
    )
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=failed.id))
    login(client, store.admin)
    view_url = f"/admin/accounting/notifications/{note.id}"
    assert view_url in client.get("/admin/accounting/integrations").get_data(as_text=True)
    view = client.get(view_url).get_data(as_text=True)
    assert "Managed workstation" in view and ">Retry</button>" in view
    assert f'href="/admin/quotes/{quote.id}"' in view  # View leads to our quote
    assert client.post(f"{view_url}/retry").status_code == 303
    run_jobs()
    db.session.refresh(failed)
    assert failed.status == DeliveryStatus.CONFIRMED
    assert len(items_of(quoting)) == 5
