"""The Autotask sandbox behaves as API-NOTES section 3 and PSA-NOTES section 1 describe."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading

import pytest
import requests

from .autotask import API_RESOURCE_ID, dotnet_json, sign
from .fixtures import autotask_session


def _company(sb) -> int:
    return sb.records("Companies")[0]["Id"]


def _opportunity(api, sb) -> int:
    response = api.post(
        "V1.0/Opportunities",
        json={
            "companyID": _company(sb),
            "title": "Laptops for Northwind",
            "amount": 2598,
            "cost": 2100,
            "ownerResourceID": API_RESOURCE_ID + 1,
            "projectedCloseDate": "2026-12-31T00:00:00Z",
            "probability": 50,
            "stage": 3,
            "status": 1,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["itemId"]


def _quote(api, sb) -> int:
    location = api.post("V1.0/QuoteLocations", json={"address1": "1 Harbour Road"}).json()
    response = api.post(
        "V1.0/Quotes",
        json={
            "opportunityID": _opportunity(api, sb),
            "name": "Q-1001",
            "effectiveDate": "2026-12-01T00:00:00Z",
            "expirationDate": "2026-12-31T00:00:00Z",
            "billToLocationID": location["itemId"],
            "shipToLocationID": location["itemId"],
            "soldToLocationID": location["itemId"],
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["itemId"]


def _product(api) -> int:
    response = api.post(
        "V1.0/Products",
        json={
            "name": "Dell Latitude 5450",
            "isActive": True,
            "productBillingCodeID": 1,
            "periodType": 1,
            "priceCostMethod": 1,
            "unitPrice": 1299.0,
            "unitCost": 1050.0,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["itemId"]


def _item(quote_id: int, **fields):
    body = {
        "quoteItemType": 1,
        "quantity": 2,
        "unitPrice": 1299.0,
        "unitCost": 1050.0,
        "unitDiscount": 0,
        "lineDiscount": 0,
        "percentageDiscount": 0,
        "isOptional": False,
        "isTaxable": True,
        "name": "Dell Latitude 5450",
    }
    body.update(fields)
    return body


# -- zone and authentication -------------------------------------------------------------


def test_zone_information_names_the_zone_url(autotask_sandbox):
    sb = autotask_sandbox
    response = requests.get(
        f"{sb.global_url}/v1.0/ZoneInformation", params={"user": sb.username}, timeout=5
    )
    assert response.status_code == 200
    assert response.json()["url"] == f"{sb.zone_url}/"


def test_a_moved_zone_answers_401_and_the_new_one_works(autotask_sandbox):
    sb = autotask_sandbox
    old = autotask_session(sb)
    sb.move_zone()
    assert old.get("V1.0/Companies/1").status_code == 401
    assert autotask_session(sb).get("V1.0/Companies/1").status_code == 200


def test_wrong_secret_is_401(autotask_sandbox):
    api = autotask_session(autotask_sandbox)
    api.headers["Secret"] = "wrong"
    assert api.get("V1.0/Companies/1").status_code == 401


# -- routes ------------------------------------------------------------------------------


def test_patch_on_an_id_url_is_405_and_on_the_collection_it_works(autotask_api, autotask_sandbox):
    company = _company(autotask_sandbox)
    assert autotask_api.patch(f"V1.0/Companies/{company}", json={"phone": "1"}).status_code == 405
    response = autotask_api.patch("V1.0/Companies", json={"id": company, "phone": "555-0199"})
    assert response.status_code == 200
    assert autotask_sandbox.record("Companies", company)["Phone"] == "555-0199"


def test_quote_items_are_written_through_the_quote(autotask_api, autotask_sandbox):
    quote = _quote(autotask_api, autotask_sandbox)
    product = _product(autotask_api)
    created = autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=_item(quote, productID=product))
    assert created.status_code == 200, created.text
    item = created.json()["itemId"]
    assert autotask_api.patch("V1.0/QuoteItems", json={"id": item}).status_code == 404
    assert autotask_api.put(f"V1.0/QuoteItems/{item}", json={"id": item}).status_code == 405
    changed = autotask_api.patch(f"V1.0/Quotes/{quote}/Items", json={"id": item, "quantity": 3})
    assert changed.status_code == 200
    assert autotask_sandbox.record("QuoteItems", item)["Quantity"] == 3
    assert autotask_api.get(f"V1.0/QuoteItems/{item}").json()["item"]["quoteID"] == quote


# -- validation --------------------------------------------------------------------------


def test_a_missing_required_field_is_a_500_naming_it(autotask_api, autotask_sandbox):
    quote = _quote(autotask_api, autotask_sandbox)
    body = _item(quote, productID=_product(autotask_api))
    del body["isOptional"]
    response = autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=body)
    assert response.status_code == 500
    assert response.json() == {
        "errors": ["Missing Required Field: isOptional. ; on record number [1]"]
    }


def test_unknown_write_fields_are_ignored_silently(autotask_api, autotask_sandbox):
    company = _company(autotask_sandbox)
    response = autotask_api.patch(
        "V1.0/Companies", json={"id": company, "phone": "555-0111", "favouriteColour": "red"}
    )
    assert response.status_code == 200
    assert ("Companies", "favouriteColour") in autotask_sandbox.ignored_fields


def test_bad_picklist_and_type_and_length_are_refused(autotask_api, autotask_sandbox):
    company = _company(autotask_sandbox)
    bad_type = autotask_api.patch("V1.0/Companies", json={"id": company, "companyType": 99})
    assert bad_type.status_code == 500 and "companyType" in bad_type.json()["errors"][0]
    as_text = autotask_api.patch("V1.0/Companies", json={"id": company, "ownerResourceID": "x"})
    assert as_text.status_code == 500
    too_long = autotask_api.patch("V1.0/Companies", json={"id": company, "companyName": "x" * 101})
    assert too_long.status_code == 500 and "maximum length" in too_long.json()["errors"][0]


def test_quote_item_needs_exactly_its_own_id_field(autotask_api, autotask_sandbox):
    quote = _quote(autotask_api, autotask_sandbox)
    product = _product(autotask_api)
    body = _item(quote, productID=product, serviceID=1)
    assert autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=body).status_code == 500


def test_service_items_take_the_services_period(autotask_api, autotask_sandbox):
    quote = _quote(autotask_api, autotask_sandbox)
    service = autotask_api.post(
        "V1.0/Services",
        json={
            "name": "Managed desktop",
            "billingCodeID": 5,
            "periodType": 2,
            "unitPrice": 45.0,
            "isActive": True,
        },
    ).json()["itemId"]
    body = _item(quote, quoteItemType=11, serviceID=service, periodType=5, name="Managed desktop")
    item = autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=body).json()["itemId"]
    assert autotask_sandbox.record("QuoteItems", item)["PeriodType"] == 2
    autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=body)
    third = autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=body)
    assert third.status_code == 500 and "two identical" in third.json()["errors"][0]


def test_product_items_refuse_semi_annual(autotask_api, autotask_sandbox):
    quote = _quote(autotask_api, autotask_sandbox)
    body = _item(quote, productID=_product(autotask_api), periodType=4)
    response = autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=body)
    assert response.status_code == 500 and "Semi-Annual" in response.json()["errors"][0]


def test_omitted_is_taxable_takes_the_tenant_default(autotask_sandbox_factory):
    sb = autotask_sandbox_factory(taxable_default=True)
    api = autotask_session(sb)
    quote = _quote(api, sb)
    body = _item(quote, productID=_product(api))
    del body["isTaxable"]
    item = api.post(f"V1.0/Quotes/{quote}/Items", json=body).json()["itemId"]
    assert sb.record("QuoteItems", item)["IsTaxable"] is True


def test_quote_locations_have_their_own_overlapping_ids(autotask_api, autotask_sandbox):
    location = autotask_api.post("V1.0/QuoteLocations", json={"address1": "9 Other St"}).json()
    assert location["itemId"] == autotask_sandbox.records("CompanyLocations")[0]["Id"]


def test_opportunities_need_the_crm_module(autotask_sandbox_factory):
    sb = autotask_sandbox_factory(modules=())
    response = autotask_session(sb).post("V1.0/Opportunities", json={"companyID": 1, "title": "x"})
    assert response.status_code == 500
    assert "adequate permissions" in response.json()["errors"][0]


def test_a_right_the_security_level_lacks_shows_in_entity_information_and_is_refused(
    autotask_sandbox_factory,
):
    sb = autotask_sandbox_factory(
        denied={"TicketCharges": ("canCreate",)}, retired_picklists=("Tickets.queueID",)
    )
    api = autotask_session(sb)
    info = api.get("V1.0/TicketCharges/entityInformation").json()["info"]
    assert not info["canCreate"] and info["canQuery"] and info["canUpdate"]
    ticket = sb.add("Tickets", CompanyID=_company(sb), Title="SO-1", Status=1, QueueID=8)
    response = api.post(f"V1.0/Tickets/{ticket}/Charges", json={"ticketID": ticket, "name": "x"})
    assert response.status_code == 500
    assert "adequate permissions" in response.json()["errors"][0]
    fields = api.get("V1.0/Tickets/entityInformation/fields").json()["fields"]
    queue = next(f for f in fields if f["name"] == "queueID")
    status = next(f for f in fields if f["name"] == "status")
    assert queue["picklistValues"] and not any(v["isActive"] for v in queue["picklistValues"])
    assert all(v["isActive"] for v in status["picklistValues"])


def test_a_contact_of_another_company_is_refused(autotask_api, autotask_sandbox):
    other = autotask_sandbox.add("Companies", CompanyName="Other", CompanyType=1)
    contact = autotask_sandbox.add("Contacts", CompanyID=other, FirstName="O", LastName="X")
    response = autotask_api.post(
        "V1.0/Tickets",
        json={
            "companyID": _company(autotask_sandbox),
            "contactID": contact,
            "title": "SO-1",
            "status": 1,
            "priority": 2,
            "queueID": 8,
        },
    )
    assert response.status_code == 500
    assert "not associated" in response.json()["errors"][0]


def test_billed_ticket_charges_cannot_change(autotask_api, autotask_sandbox):
    sb = autotask_sandbox
    ticket = sb.add("Tickets", CompanyID=_company(sb), Title="SO-1", Status=1, Priority=2)
    charge = sb.add("TicketCharges", TicketID=ticket, Name="x", IsBilled=True)
    response = autotask_api.patch(f"V1.0/Tickets/{ticket}/Charges", json={"id": charge})
    assert response.status_code == 500
    assert autotask_api.delete(f"V1.0/Tickets/{ticket}/Charges/{charge}").status_code == 500


# -- queries -----------------------------------------------------------------------------


def _query(api, entity, *filters, **extra):
    return api.post(f"V1.0/{entity}/query", json={"filter": list(filters), **extra})


def test_query_filters_and_count(autotask_api, autotask_sandbox):
    hits = _query(
        autotask_api,
        "Companies",
        {"op": "eq", "field": "companyName", "value": "northwind traders"},
    )
    assert [c["companyName"] for c in hits.json()["items"]] == ["Northwind Traders"]
    count = autotask_api.post(
        "V1.0/Companies/query/count", json={"filter": [{"op": "gte", "field": "id", "value": 0}]}
    )
    assert count.json() == {"queryCount": 1}


def test_unknown_operators_widen_and_eq_null_matches_nothing(autotask_api, autotask_sandbox):
    autotask_sandbox.add("Companies", CompanyName="Second", CompanyType=1)
    widened = _query(
        autotask_api, "Companies", {"op": "ne", "field": "companyName", "value": "Second"}
    )
    assert len(widened.json()["items"]) == 2
    nothing = _query(autotask_api, "Companies", {"op": "eq", "field": "phone", "value": None})
    assert nothing.json()["items"] == []


def test_unknown_filter_field_and_picklist_label_are_500(autotask_api):
    unknown = _query(autotask_api, "Companies", {"op": "eq", "field": "projectID", "value": 1})
    assert unknown.status_code == 500 and "Unable to find projectID" in unknown.text
    label = _query(
        autotask_api, "Companies", {"op": "eq", "field": "companyType", "value": "Customer"}
    )
    assert label.status_code == 500 and "Conversion failed" in label.text


def test_max_records_out_of_range_is_500(autotask_api):
    response = _query(
        autotask_api, "Companies", {"op": "gte", "field": "id", "value": 0}, MaxRecords=501
    )
    assert response.status_code == 500
    assert "between 1 and 500" in response.text


def test_next_page_must_be_posted_with_the_same_body(autotask_api, autotask_sandbox):
    for n in range(5):
        autotask_sandbox.add("Companies", CompanyName=f"C{n}", CompanyType=1)
    body = {"filter": [{"op": "gte", "field": "id", "value": 0}], "MaxRecords": 2}
    first = autotask_api.post("V1.0/Companies/query", json=body).json()
    next_url = first["pageDetails"]["nextPageUrl"]
    assert requests.get(next_url, headers=autotask_api.headers, timeout=5).status_code == 405
    seen = [c["id"] for c in first["items"]]
    while next_url:
        page = requests.post(next_url, json=body, headers=autotask_api.headers, timeout=5).json()
        seen += [c["id"] for c in page["items"]]
        next_url = page["pageDetails"]["nextPageUrl"]
    assert seen == sorted(c["Id"] for c in autotask_sandbox.records("Companies"))


def test_entity_information_fields_list_picklists(autotask_api):
    fields = autotask_api.get("V1.0/Opportunities/entityInformation/fields").json()["fields"]
    stage = next(f for f in fields if f["name"] == "stage")
    assert (
        stage["isPickList"]
        and {"value": "3", "label": "Propose"}.items() <= stage["picklistValues"][2].items()
    )


# -- limits ------------------------------------------------------------------------------


def test_hourly_budget_gives_429_with_retry_after(autotask_sandbox_factory):
    sb = autotask_sandbox_factory(hourly_limit=3)
    api = autotask_session(sb)
    for _ in range(3):
        assert api.get("V1.0/Companies/1").status_code == 200
    response = api.get("V1.0/Companies/1")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    threshold = api.get("V1.0/ThresholdInformation").json()
    assert threshold["currentTimeframeRequestCount"] == 3


def test_a_fourth_thread_gets_itgenatr005_with_a_non_429_status(autotask_sandbox):
    sb = autotask_sandbox
    hold = sb.hold_requests()
    answers: list[requests.Response] = []

    def call() -> None:
        answers.append(autotask_session(sb).get("V1.0/Companies/1"))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(200):
        if sb.limiter.in_flight((sb.integration_code, "companies")) == 3:
            break
        threading.Event().wait(0.01)
    fourth = autotask_session(sb).get("V1.0/Companies/1")
    hold.set()
    for thread in threads:
        thread.join()
    assert fourth.status_code == 500
    assert "Itgenatr005" in fourth.json()["errors"][0]
    assert [a.status_code for a in answers] == [200, 200, 200]


# -- webhooks ----------------------------------------------------------------------------


def test_dotnet_json_escapes_like_autotask():
    body = dotnet_json({"Title": "A & B <c> 'd' \"e\" +f `g` é"})
    assert body == (
        b'{"Title":"A \\u0026 B \\u003cc\\u003e \\u0027d\\u0027 \\"e\\" \\u002bf \\u0060g\\u0060 '
        b'\\u00e9"}'
    )


def test_ticket_webhooks_are_signed_over_the_escaped_body(autotask_api, autotask_sandbox):
    sb = autotask_sandbox
    hook = autotask_api.post(
        "V1.0/TicketWebhooks",
        json={
            "name": "msp-commerce",
            "webhookUrl": "https://example.invalid/hook",
            "deactivationUrl": "https://example.invalid/deactivated",
            "secretKey": "k" * 32,
            "isActive": True,
            "isSubscribedToUpdateEvents": True,
        },
    )
    assert hook.status_code == 200, hook.text
    ticket = sb.add("Tickets", CompanyID=1, Title="SO & co", Status=1, Priority=2)
    received = []
    sb.fire("Update", ticket, {"Status": 5}, deliver=lambda u, b, h: received.append((u, b, h)))
    url, body, headers = received[0]
    assert url == "https://example.invalid/hook"
    expected = base64.b64encode(hmac.new(b"k" * 32, body, hashlib.sha1).digest()).decode()
    assert headers["X-Hook-Signature"] == f"sha1={expected}" == sign("k" * 32, body)
    assert json.loads(body)["Fields"] == {"status": 5}


@pytest.mark.parametrize("fault_status", [500, 503])
def test_injected_faults_answer_the_status(autotask_api, autotask_sandbox, fault_status):
    autotask_sandbox.faults.fail_next(status=fault_status)
    assert autotask_api.get("V1.0/Companies/1").status_code == fault_status
    assert autotask_api.get("V1.0/Companies/1").status_code == 200


def test_a_quote_item_refuses_an_unknown_tax_category(autotask_api, autotask_sandbox):
    quote = _quote(autotask_api, autotask_sandbox)
    body = _item(quote, productID=_product(autotask_api), taxCategoryID=99)
    response = autotask_api.post(f"V1.0/Quotes/{quote}/Items", json=body)
    assert response.status_code == 500
    assert "taxCategoryID 99 does not reference" in response.json()["errors"][0]
    ok = autotask_api.post(f"V1.0/Quotes/{quote}/Items", json={**body, "taxCategoryID": 1})
    assert ok.status_code == 200, ok.text


def test_billing_codes_carry_the_tax_category_their_items_take(autotask_api, autotask_sandbox):
    found = autotask_api.post(
        "V1.0/BillingCodes/query", json={"filter": [{"op": "eq", "field": "useType", "value": 2}]}
    ).json()["items"]
    assert found and all(code["taxCategoryID"] in (1, 2) for code in found)


def test_a_ticket_changed_in_the_ui_has_a_newer_last_activity(autotask_api, autotask_sandbox):
    sb = autotask_sandbox
    ticket = sb.add("Tickets", CompanyID=_company(sb), Title="T", Status=1, Priority=2, QueueID=8,
                    LastActivityDate="2026-01-01T00:00:00.000000Z")  # fmt: skip
    sb.change("Tickets", ticket, Status=8)
    changed = autotask_api.post(
        "V1.0/Tickets/query",
        json={"filter": [{"op": "gt", "field": "lastActivityDate", "value": "2026-06-01"}]},
    ).json()["items"]
    assert [t["id"] for t in changed] == [ticket]


def test_an_opportunity_has_exactly_one_primary_quote(autotask_api, autotask_sandbox):
    first = _quote(autotask_api, autotask_sandbox)
    opportunity = autotask_sandbox.record("Quotes", first)["OpportunityID"]
    assert autotask_sandbox.record("Quotes", first)["PrimaryQuote"] is True  # the first one
    body = {**autotask_api.get(f"V1.0/Quotes/{first}").json()["item"], "name": "Q-1002"}
    for name in ("id", "primaryQuote", "quoteNumber", "userDefinedFields"):
        body.pop(name, None)
    second = autotask_api.post("V1.0/Quotes", json=body).json()["itemId"]
    assert not autotask_sandbox.record("Quotes", second).get("PrimaryQuote")
    assert autotask_sandbox.record("Quotes", second)["OpportunityID"] == opportunity
    made = autotask_api.patch("V1.0/Quotes", json={"id": second, "primaryQuote": True})
    assert made.status_code == 200, made.text
    flags = {q["Id"]: q["PrimaryQuote"] for q in autotask_sandbox.records("Quotes")}
    assert flags == {first: False, second: True}
    autotask_api.patch("V1.0/Quotes", json={"id": first, "primaryQuote": True})
    flags = {q["Id"]: q["PrimaryQuote"] for q in autotask_sandbox.records("Quotes")}
    assert flags == {first: True, second: False}
    # Un-setting the only primary quote leaves it primary: one always is.
    autotask_api.patch("V1.0/Quotes", json={"id": first, "primaryQuote": False})
    assert autotask_sandbox.record("Quotes", first)["PrimaryQuote"] is True


def test_an_opportunity_using_quote_totals_shows_its_primary_quotes(autotask_api, autotask_sandbox):
    quote = _quote(autotask_api, autotask_sandbox)
    opportunity = autotask_sandbox.record("Quotes", quote)["OpportunityID"]
    product = _product(autotask_api)
    for fields in ({}, {"isOptional": True, "quantity": 5}):
        response = autotask_api.post(
            f"V1.0/Quotes/{quote}/Items", json=_item(quote, productID=product, **fields)
        )
        assert response.status_code == 200, response.text
    shown = autotask_api.get(f"V1.0/Opportunities/{opportunity}").json()["item"]
    assert shown["amount"] == 2598  # as sent: it does not use the quote totals
    autotask_api.patch("V1.0/Opportunities", json={"id": opportunity, "useQuoteTotals": True})
    shown = autotask_api.get(f"V1.0/Opportunities/{opportunity}").json()["item"]
    assert (shown["amount"], shown["cost"]) == (2598.0, 2100.0)  # 2 x 1299, the optional left out
    autotask_api.post(
        f"V1.0/Quotes/{quote}/Items", json=_item(quote, productID=product, quantity=1)
    )
    shown = autotask_api.get(f"V1.0/Opportunities/{opportunity}").json()["item"]
    assert shown["amount"] == 3897.0
