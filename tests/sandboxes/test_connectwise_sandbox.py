"""The ConnectWise sandbox behaves as API-NOTES section 4 and PSA-NOTES section 2 describe."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import requests

from .connectwise import parse_conditions, sign
from .fixtures import connectwise_session


def _client(sb) -> int:
    return next(
        r["id"] for r in sb.table("company/companies").values() if r["identifier"] == "Northwind"
    )


def _vendor(sb) -> int:
    return next(
        r["id"] for r in sb.table("company/companies").values() if r["identifier"] == "Ingram"
    )


def _contact(sb) -> int:
    return next(iter(sb.table("company/contacts")))


def _opportunity(api, sb) -> dict:
    response = api.post(
        "sales/opportunities",
        json={
            "name": "Q-1001 Laptops",
            "primarySalesRep": {"id": 1},
            "company": {"id": _client(sb)},
            "contact": {"id": _contact(sb)},
            "customerPO": "PO-77",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _catalog(api) -> dict:
    response = api.post(
        "procurement/catalog",
        json={
            "identifier": "LAT5450",
            "description": "Dell Latitude 5450",
            "subcategory": {"id": 1},
            "type": {"id": 1},
            "customerDescription": "Dell Latitude 5450",
            "integrationXRef": "msp:product:1",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_companyinfo_names_the_codebase_and_an_upgrade_moves_it(connectwise_sandbox):
    sb = connectwise_sandbox
    info = requests.get(f"{sb.site_url}/login/companyinfo/{sb.company_id}", timeout=5).json()
    assert info["Codebase"] == sb.codebase
    old = connectwise_session(sb)
    sb.upgrade()
    assert old.get("company/companies").status_code == 404
    assert connectwise_session(sb).get("company/companies").status_code == 200


def test_a_bad_key_is_404_and_a_missing_client_id_401(connectwise_sandbox):
    api = connectwise_session(connectwise_sandbox)
    api.headers["Authorization"] = "Basic " + base64.b64encode(b"x+y:z").decode()
    assert api.get("company/companies").status_code == 404
    api = connectwise_session(connectwise_sandbox)
    del api.headers["clientId"]
    assert api.get("company/companies").status_code == 401


def test_posts_are_checked_against_the_schema(connectwise_api, connectwise_sandbox):
    response = connectwise_api.post("sales/opportunities", json={"name": "x"})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"primarySalesRep", "company", "contact"} <= fields
    wrong_type = connectwise_api.post("company/companies", json={"identifier": 5, "name": "x"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["errors"][0]["field"] == "identifier"


def test_a_reference_to_a_missing_record_is_refused(connectwise_api):
    response = connectwise_api.post(
        "service/tickets", json={"summary": "SO-1", "company": {"id": 999999}}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "company"


def test_patch_inside_an_object_is_a_false_200(connectwise_api, connectwise_sandbox):
    ticket = connectwise_api.post(
        "service/tickets", json={"summary": "SO-1", "company": {"id": _client(connectwise_sandbox)}}
    ).json()
    response = connectwise_api.patch(
        f"service/tickets/{ticket['id']}",
        json=[{"op": "replace", "path": "company/id", "value": 1}],
    )
    assert response.status_code == 200
    stored = connectwise_sandbox.table("service/tickets")[ticket["id"]]
    assert stored["company"] == ticket["company"]
    whole = connectwise_api.patch(
        f"service/tickets/{ticket['id']}",
        json=[{"op": "replace", "path": "summary", "value": "SO-1 (changed)"}],
    )
    assert whole.json()["summary"] == "SO-1 (changed)"
    case = connectwise_api.patch(
        f"service/tickets/{ticket['id']}", json=[{"op": "replace", "path": "Summary", "value": "x"}]
    )
    assert case.status_code == 400


def test_conditions_need_quoted_strings_and_bracketed_dates(connectwise_api):
    ok = connectwise_api.get(
        "company/companies", params={"conditions": 'identifier="Northwind" and deletedFlag=false'}
    )
    assert [c["identifier"] for c in ok.json()] == ["Northwind"]
    dates = connectwise_api.get(
        "company/companies", params={"conditions": "lastUpdated>[2000-01-01T00:00:00Z]"}
    )
    assert len(dates.json()) == 3
    bare = connectwise_api.get("company/companies", params={"conditions": "identifier=Northwind"})
    assert bare.status_code == 400


def test_parse_conditions_handles_parentheses_and_in():
    predicate = parse_conditions('(status/name="Open" or id in (1,2)) and name like "*wind*"')
    assert predicate({"id": 2, "status": {"name": "Closed"}, "name": "Northwind"})
    assert not predicate({"id": 3, "status": {"name": "Closed"}, "name": "Northwind"})


def test_forward_only_paging_follows_the_link_header(connectwise_api, connectwise_sandbox):
    for n in range(5):
        connectwise_sandbox.add("company/companies", identifier=f"C{n}", name=f"C{n}")
    headers = {"pagination-type": "forward-only"}
    response = connectwise_api.get("company/companies", params={"pageSize": 3}, headers=headers)
    seen = [c["id"] for c in response.json()]
    while "Link" in response.headers:
        url = response.headers["Link"].split(";")[0].strip("<>")
        response = connectwise_api.get(url, headers=headers)
        seen += [c["id"] for c in response.json()]
    assert seen == sorted(connectwise_sandbox.table("company/companies"))
    refused = connectwise_api.get("company/companies", params={"orderBy": "name"}, headers=headers)
    assert refused.status_code == 400
    assert connectwise_api.get("company/companies", params={"pageSize": 1001}).status_code == 400


def test_over_the_minute_budget_is_429_with_retry_after(connectwise_sandbox_factory):
    sb = connectwise_sandbox_factory(per_minute=2)
    api = connectwise_session(sb)
    assert api.get("company/companies").status_code == 200
    assert api.get("company/companies").status_code == 200
    response = api.get("company/companies")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_po_links_only_after_the_sales_order_and_before_its_invoice(
    connectwise_api, connectwise_sandbox
):
    sb = connectwise_sandbox
    opportunity = _opportunity(connectwise_api, sb)
    catalog = _catalog(connectwise_api)
    product = connectwise_api.post(
        "procurement/products",
        json={
            "catalogItem": {"id": catalog["id"]},
            "billableOption": "Billable",
            "opportunity": {"id": opportunity["id"]},
            "quantity": 2,
            "integrationXRef": "msp:line:1",
        },
    ).json()
    demand = {
        "products": [{"productRecId": product["id"], "quantity": 2, "cost": 1050.0}],
        "vendor": {"id": _vendor(sb)},
        "warehouse": {"id": 1},
        "purchaseOrder": {"status": {"id": 2}, "closedFlag": True, "poNumber": "PO-1"},
    }
    early = connectwise_api.post("procurement/purchasingDemands", json=demand)
    assert early.status_code == 400 and "sales order" in early.json()["message"]
    order = connectwise_api.post(
        f"sales/opportunities/{opportunity['id']}/convertToSalesOrder",
        json={"includeAllProductsFlag": True},
    ).json()
    assert order["productIds"] == [product["id"]]
    po = connectwise_api.post("procurement/purchasingDemands", json=demand)
    assert po.status_code == 201, po.text
    assert po.json()["closedFlag"] is True
    sb.invoice_order(order["id"])
    late = connectwise_api.post("procurement/purchasingDemands", json=demand)
    assert late.status_code == 400 and "invoiced" in late.json()["message"]
    # A partial receipt clones the rest onto a new waiting line (PartiallyReceiveCloneRest).
    lines = f"procurement/purchaseorders/{po.json()['id']}/lineitems"
    [line] = connectwise_api.get(lines).json()
    patch = [
        {"op": "replace", "path": "receivedStatus", "value": "PartiallyReceiveCloneRest"},
        {"op": "replace", "path": "receivedQuantity", "value": 1},
    ]
    assert connectwise_api.patch(f"{lines}/{line['id']}", json=patch).status_code == 200
    first, rest = connectwise_api.get(lines).json()
    assert (first["quantity"], first["receivedQuantity"]) == (1, 1)
    assert (rest["quantity"], rest["receivedStatus"]) == (1, "Waiting")
    # Receiving all of a line (or nothing) as partial is refused.
    whole = [{"op": "replace", "path": "receivedStatus", "value": "PartiallyReceiveCloneRest"},
             {"op": "replace", "path": "receivedQuantity", "value": 1}]  # fmt: skip
    refused = connectwise_api.patch(f"{lines}/{rest['id']}", json=whole)
    assert refused.status_code == 400 and "receivedQuantity" in refused.text
    assert [r["receivedStatus"] for r in connectwise_api.get(lines).json()] == [
        "PartiallyReceiveCloneRest",
        "Waiting",
    ]  # nothing stored by the refusal


def test_callbacks_are_signed_with_the_key_from_key_url(connectwise_api, connectwise_sandbox):
    sb = connectwise_sandbox
    entry = connectwise_api.post(
        "system/callbacks",
        json={
            "url": "https://example.invalid/cw?recordId=",
            "objectId": 1,
            "type": "ticket",
            "level": "owner",
            "description": "msp-commerce tickets",
        },
    )
    assert entry.status_code == 201, entry.text
    received = []
    sb.fire("ticket", 42, deliver=lambda u, b, h: received.append((u, b, h)))
    url, body, headers = received[0]
    assert url.startswith("https://example.invalid/cw?recordId=42")
    key = hashlib.sha256(sb.signing_key.encode()).digest()
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    assert headers["x-content-signature"] == expected == sign(sb.signing_key, body)
    assert json.loads(body)["Metadata"]["key_url"] == sb.key_url
    assert requests.get(sb.key_url, timeout=5).json() == {"signing_key": sb.signing_key}


def test_lookups_are_listed(connectwise_api):
    boards = connectwise_api.get("service/boards").json()
    assert {b["name"] for b in boards} == {"Service Desk", "Sales Orders"}
    statuses = connectwise_api.get("service/boards/2/statuses").json()
    assert statuses[0]["name"] == "New order"
