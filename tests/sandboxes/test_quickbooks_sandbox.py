"""Test the QuickBooks Online sandbox itself."""

from __future__ import annotations

import base64
import copy
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .fixtures import ApiSession, qbo_session
from .quickbooks import ACCOUNTING_SCOPE, QboSandbox
from .specs import qbo_schema

REDIRECT = "http://localhost:8000/integrations/qbo/callback"

# API-NOTES 1.8: Intuit's minimal samples (ids exist in the sandbox seed).
SAMPLE_BILL = {
    "Line": [
        {
            "DetailType": "AccountBasedExpenseLineDetail",
            "Amount": 200.0,
            "Id": "1",
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}},
        }
    ],
    "VendorRef": {"value": "56"},
}
SAMPLE_INVOICE = {
    "Line": [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 100.0,
            "SalesItemLineDetail": {"ItemRef": {"name": "Services", "value": "1"}},
        }
    ],
    "CustomerRef": {"value": "1"},
}


def bill(**changes: Any) -> dict[str, Any]:
    """Return a copy of the sample bill with top-level ``changes`` applied."""
    body = copy.deepcopy(SAMPLE_BILL)
    body.update(changes)
    return body


def basic(sb: QboSandbox) -> dict[str, str]:
    """Return the HTTP Basic client-auth header Intuit's token endpoint wants."""
    raw = f"{sb.client_id}:{sb.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def authorize(sb: QboSandbox, scope: str = ACCOUNTING_SCOPE, state: str = "st-1") -> dict:
    """Run the auto-approving authorize step; return the callback query parameters."""
    resp = requests.get(
        f"{sb.base_url}/connect/oauth2",
        params={
            "client_id": sb.client_id,
            "response_type": "code",
            "scope": scope,
            "redirect_uri": REDIRECT,
            "state": state,
        },
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(sb: QboSandbox, code: str) -> requests.Response:
    """Exchange an authorization code at the token endpoint."""
    return requests.post(
        f"{sb.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={**basic(sb), "Accept": "application/json"},
        timeout=5,
    )


def refresh(sb: QboSandbox, token: str) -> requests.Response:
    """Use a refresh token at the token endpoint."""
    return requests.post(
        f"{sb.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=basic(sb),
        timeout=5,
    )


def assert_fault(resp: requests.Response, status: int, code: str, fault_type: str) -> dict:
    """Assert the API-NOTES 1.6 fault shape and return the first Error."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"Fault", "time"}
    assert body["Fault"]["type"] == fault_type
    errors = body["Fault"]["Error"]
    assert errors and all(set(e) == {"Message", "Detail", "code", "element"} for e in errors)
    assert code in [e["code"] for e in errors]
    return next(e for e in errors if e["code"] == code)


# -- OAuth ------------------------------------------------------------------------------------


def test_discovery_document_points_at_sandbox_endpoints(qbo_sandbox: QboSandbox) -> None:
    doc = requests.get(f"{qbo_sandbox.base_url}/.well-known/openid_configuration", timeout=5)
    assert doc.json()["token_endpoint"] == f"{qbo_sandbox.base_url}/oauth2/v1/tokens/bearer"


def test_authorize_redirects_with_code_state_and_realm_id(qbo_sandbox: QboSandbox) -> None:
    params = authorize(qbo_sandbox, state="xyz")
    assert params["state"] == "xyz"
    assert params["realmId"] == qbo_sandbox.realms[0]
    assert params["code"]


def test_authorize_without_accounting_scope_redirects_invalid_scope(
    qbo_sandbox: QboSandbox,
) -> None:
    assert authorize(qbo_sandbox, scope="openid")["error"] == "invalid_scope"


def test_code_exchange_returns_bearer_tokens_with_documented_lifetimes(
    qbo_sandbox: QboSandbox,
) -> None:
    body = exchange(qbo_sandbox, authorize(qbo_sandbox)["code"]).json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 100 * 86400
    assert body["refresh_token"] and body["access_token"]


def test_replayed_authorization_code_gets_invalid_grant(qbo_sandbox: QboSandbox) -> None:
    code = authorize(qbo_sandbox)["code"]
    assert exchange(qbo_sandbox, code).status_code == 200
    replay = exchange(qbo_sandbox, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_token_endpoint_rejects_missing_basic_client_auth(qbo_sandbox: QboSandbox) -> None:
    resp = requests.post(
        f"{qbo_sandbox.base_url}/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": authorize(qbo_sandbox)["code"],
            "redirect_uri": REDIRECT,
            "client_id": qbo_sandbox.client_id,
        },
        timeout=5,
    )
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"


def test_code_exchange_with_different_redirect_uri_is_invalid_grant(
    qbo_sandbox: QboSandbox,
) -> None:
    resp = requests.post(
        f"{qbo_sandbox.base_url}/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": authorize(qbo_sandbox)["code"],
            "redirect_uri": "http://localhost/other",
        },
        headers=basic(qbo_sandbox),
        timeout=5,
    )
    assert resp.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_rejects_the_old_refresh_token(qbo_sandbox: QboSandbox) -> None:
    first = exchange(qbo_sandbox, authorize(qbo_sandbox)["code"]).json()
    second = refresh(qbo_sandbox, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    old = refresh(qbo_sandbox, first["refresh_token"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    assert refresh(qbo_sandbox, second["refresh_token"]).status_code == 200


def test_revoked_refresh_token_cannot_refresh(qbo_sandbox: QboSandbox) -> None:
    tokens = qbo_sandbox.issue_tokens()
    resp = requests.post(
        f"{qbo_sandbox.base_url}/v2/oauth2/tokens/revoke",
        json={"token": tokens["refresh_token"]},
        headers=basic(qbo_sandbox),
        timeout=5,
    )
    assert resp.status_code == 200
    assert refresh(qbo_sandbox, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_access_token_expires_after_configured_lifetime(qbo_sandbox_factory: Any) -> None:
    sb = qbo_sandbox_factory(access_token_lifetime=60)
    api = qbo_session(sb)
    assert api.get("companyinfo/" + sb.realms[0]).status_code == 200
    sb.clock.advance(61)
    expired = api.get("companyinfo/" + sb.realms[0])
    assert_fault(expired, 401, "3200", "AuthenticationFault")
    assert "invalid_token" in expired.headers["WWW-Authenticate"]


def test_expire_access_tokens_knob_forces_401(qbo_sandbox: QboSandbox, qbo_api: ApiSession) -> None:
    qbo_sandbox.expire_access_tokens()
    assert qbo_api.get("bill/1").status_code == 401


def test_token_for_another_realm_is_refused(qbo_sandbox_factory: Any) -> None:
    sb = qbo_sandbox_factory(realms=("111", "222"))
    api = qbo_session(sb, "111")
    resp = api.post(f"{sb.base_url}/v3/company/222/bill", json=SAMPLE_BILL)
    assert_fault(resp, 403, "3100", "AuthorizatonFault")


# -- entity validation ------------------------------------------------------------------------


def test_api_notes_sample_bill_is_accepted_and_stored(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    resp = qbo_api.post("bill", params={"minorversion": "75"}, json=SAMPLE_BILL)
    assert resp.status_code == 200, resp.text
    created = resp.json()["Bill"]
    assert created["SyncToken"] == "0"
    assert created["TotalAmt"] == 200.0
    assert qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill") == [created]


def test_api_notes_sample_invoice_is_accepted(qbo_api: ApiSession) -> None:
    resp = qbo_api.post("invoice", params={"minorversion": "75"}, json=SAMPLE_INVOICE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["Invoice"]["Balance"] == 100.0


def test_saved_entities_conform_to_the_xsd(qbo_api: ApiSession) -> None:
    saved = qbo_api.post("bill", json=SAMPLE_BILL).json()["Bill"]
    assert qbo_schema().validate("Bill", saved) == []


def test_unknown_field_is_rejected_with_validation_fault(qbo_api: ApiSession) -> None:
    error = assert_fault(
        qbo_api.post("bill", json=bill(Vendor={"value": "56"})), 400, "2010", "ValidationFault"
    )
    assert error["element"] == "Bill.Vendor"


def test_unknown_field_nested_in_a_line_is_rejected(qbo_api: ApiSession) -> None:
    body = bill()
    body["Line"][0]["AccountBasedExpenseLineDetail"]["Account"] = {"value": "7"}
    assert_fault(qbo_api.post("bill", json=body), 400, "2010", "ValidationFault")


def test_string_amount_is_rejected_as_wrong_type(qbo_api: ApiSession) -> None:
    body = bill()
    body["Line"][0]["Amount"] = "200.00"
    error = assert_fault(qbo_api.post("bill", json=body), 400, "2010", "ValidationFault")
    assert error["element"] == "Bill.Line[0].Amount"


def test_bad_date_is_rejected(qbo_api: ApiSession) -> None:
    assert_fault(
        qbo_api.post("bill", json=bill(TxnDate="15/01/2026")), 400, "2010", "ValidationFault"
    )


def test_value_outside_xsd_enumeration_is_rejected(qbo_api: ApiSession) -> None:
    body = bill()
    body["Line"][0]["DetailType"] = "AccountBasedExpense"
    assert_fault(qbo_api.post("bill", json=body), 400, "2010", "ValidationFault")


def test_reference_given_as_plain_string_is_rejected(qbo_api: ApiSession) -> None:
    assert_fault(qbo_api.post("bill", json=bill(VendorRef="56")), 400, "2010", "ValidationFault")


def test_bill_without_vendor_ref_is_rejected_as_missing(qbo_api: ApiSession) -> None:
    body = bill()
    del body["VendorRef"]
    error = assert_fault(qbo_api.post("bill", json=body), 400, "2020", "ValidationFault")
    assert error["element"] == "Bill.VendorRef"


def test_invoice_without_lines_is_rejected_as_missing(qbo_api: ApiSession) -> None:
    body = {**SAMPLE_INVOICE, "Line": []}
    assert_fault(qbo_api.post("invoice", json=body), 400, "2020", "ValidationFault")


def test_line_without_amount_is_rejected(qbo_api: ApiSession) -> None:
    body = bill()
    del body["Line"][0]["Amount"]
    error = assert_fault(qbo_api.post("bill", json=body), 400, "2020", "ValidationFault")
    assert error["element"] == "Bill.Line[0].Amount"


def test_line_detail_must_match_detail_type(qbo_api: ApiSession) -> None:
    body = bill()
    body["Line"][0]["DetailType"] = "ItemBasedExpenseLineDetail"
    assert_fault(qbo_api.post("bill", json=body), 400, "2010", "ValidationFault")


def test_sales_line_on_a_bill_is_rejected(qbo_api: ApiSession) -> None:
    body = bill(Line=copy.deepcopy(SAMPLE_INVOICE["Line"]))
    assert_fault(qbo_api.post("bill", json=body), 400, "2010", "ValidationFault")


def test_purchase_order_requires_ap_account_ref(qbo_api: ApiSession) -> None:
    error = assert_fault(
        qbo_api.post("purchaseorder", json=SAMPLE_BILL), 400, "2020", "ValidationFault"
    )
    assert error["element"] == "PurchaseOrder.APAccountRef"


def test_customer_needs_display_name_or_a_name_part(qbo_api: ApiSession) -> None:
    assert_fault(
        qbo_api.post("customer", json={"CompanyName": "Acme"}), 400, "2020", "ValidationFault"
    )
    assert (
        qbo_api.post("customer", json={"GivenName": "Ada"}).json()["Customer"]["DisplayName"]
        == "Ada"
    )


def test_unknown_reference_id_is_rejected(qbo_api: ApiSession) -> None:
    error = assert_fault(
        qbo_api.post("bill", json=bill(VendorRef={"value": "999"})), 400, "2500", "ValidationFault"
    )
    assert error["element"] == ".VendorRef"


def test_unknown_tax_code_on_a_line_is_rejected(qbo_api: ApiSession) -> None:
    body = bill()
    body["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] = {"value": "GST"}
    error = assert_fault(qbo_api.post("bill", json=body), 400, "2500", "ValidationFault")
    assert error["element"] == ".Line[0].AccountBasedExpenseLineDetail.TaxCodeRef"
    body["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] = {"value": "NON"}
    assert qbo_api.post("bill", json=body).status_code == 200


def test_amount_must_equal_qty_times_unit_price(qbo_api: ApiSession) -> None:
    body = copy.deepcopy(SAMPLE_INVOICE)
    body["Line"][0]["SalesItemLineDetail"].update(Qty=3, UnitPrice=33.33)
    assert_fault(qbo_api.post("invoice", json=body), 400, "6070", "ValidationFault")
    body["Line"][0]["Amount"] = 99.99
    assert qbo_api.post("invoice", json=body).status_code == 200


def test_duplicate_display_name_is_rejected(qbo_api: ApiSession) -> None:
    assert_fault(
        qbo_api.post("customer", json={"DisplayName": "bob's burger joint"}),
        400,
        "6240",
        "ValidationFault",
    )


def test_validate_entity_checks_payloads_without_http() -> None:
    assert qbo_schema().validate_entity("Bill", SAMPLE_BILL) == []
    problems = qbo_schema().validate_entity("Bill", {"Line": SAMPLE_BILL["Line"]})
    assert [p.element for p in problems] == ["Bill.VendorRef"]


def test_unknown_entity_path_is_rejected(qbo_api: ApiSession) -> None:
    assert_fault(qbo_api.post("Bill", json=SAMPLE_BILL), 400, "2010", "ValidationFault")


def test_request_without_json_accept_header_is_refused(qbo_api: ApiSession) -> None:
    assert qbo_api.get("bill/1", headers={"Accept": "*/*"}).status_code == 406


def test_non_numeric_minorversion_is_rejected(qbo_api: ApiSession) -> None:
    resp = qbo_api.post("bill", params={"minorversion": "latest"}, json=SAMPLE_BILL)
    assert_fault(resp, 400, "2010", "ValidationFault")


def test_minorversion_is_recorded_for_assertions(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    qbo_api.post("bill", params={"minorversion": "75"}, json=SAMPLE_BILL)
    assert qbo_sandbox.requests[-1].args["minorversion"] == "75"


# -- read, update, delete ---------------------------------------------------------------------


def test_read_returns_the_stored_entity(qbo_api: ApiSession) -> None:
    created = qbo_api.post("bill", json=SAMPLE_BILL).json()["Bill"]
    assert qbo_api.get(f"bill/{created['Id']}").json()["Bill"] == created


def test_read_of_unknown_id_is_object_not_found(qbo_api: ApiSession) -> None:
    assert_fault(qbo_api.get("bill/424242"), 400, "610", "ValidationFault")


def test_update_with_stale_sync_token_is_rejected(qbo_api: ApiSession) -> None:
    created = qbo_api.post("bill", json=SAMPLE_BILL).json()["Bill"]
    updated = qbo_api.post("bill", json={**created, "PrivateNote": "v1"}).json()["Bill"]
    assert updated["SyncToken"] == "1"
    stale = qbo_api.post("bill", json={**created, "PrivateNote": "v2"})
    assert_fault(stale, 400, "5010", "ValidationFault")


def test_sparse_update_keeps_unsent_fields(qbo_api: ApiSession) -> None:
    created = qbo_api.post("vendor", json={"DisplayName": "Ingram", "CompanyName": "Ingram"})
    vendor = created.json()["Vendor"]
    sparse = {
        "Id": vendor["Id"],
        "SyncToken": vendor["SyncToken"],
        "sparse": True,
        "PrintOnCheckName": "Ingram Micro",
    }
    saved = qbo_api.post("vendor", json=sparse).json()["Vendor"]
    assert saved["CompanyName"] == "Ingram"
    assert saved["PrintOnCheckName"] == "Ingram Micro"


def test_delete_removes_a_transaction(qbo_sandbox: QboSandbox, qbo_api: ApiSession) -> None:
    created = qbo_api.post("bill", json=SAMPLE_BILL).json()["Bill"]
    resp = qbo_api.post(
        "bill",
        params={"operation": "delete"},
        json={"Id": created["Id"], "SyncToken": created["SyncToken"]},
    )
    assert resp.json()["Bill"]["status"] == "Deleted"
    assert qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill") == []


def test_payment_reduces_the_invoice_balance(qbo_api: ApiSession) -> None:
    invoice = qbo_api.post("invoice", json=SAMPLE_INVOICE).json()["Invoice"]
    payment = {
        "CustomerRef": {"value": "1"},
        "TotalAmt": 60.0,
        "Line": [{"Amount": 60.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    assert qbo_api.post("payment", json=payment).status_code == 200
    assert qbo_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 40.0


# -- idempotency and batch --------------------------------------------------------------------


def test_requestid_replays_the_response_without_a_second_create(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    first = qbo_api.post("bill", params={"requestid": "req-1"}, json=SAMPLE_BILL)
    second = qbo_api.post("bill", params={"requestid": "req-1"}, json=SAMPLE_BILL)
    assert second.content == first.content
    assert len(qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill")) == 1


def test_requestid_longer_than_50_characters_is_rejected(qbo_api: ApiSession) -> None:
    resp = qbo_api.post("bill", params={"requestid": "r" * 51}, json=SAMPLE_BILL)
    assert_fault(resp, 400, "2010", "ValidationFault")


def test_batch_answers_every_item_by_bid(qbo_api: ApiSession) -> None:
    items = [
        {"bId": "b1", "operation": "create", "Bill": SAMPLE_BILL},
        {"bId": "b2", "operation": "create", "Invoice": SAMPLE_INVOICE},
        {"bId": "b3", "Query": "select * from Vendor where DisplayName = 'Bob\\'s Burger Joint'"},
    ]
    resp = qbo_api.post("batch", json={"BatchItemRequest": items})
    answers = {a["bId"]: a for a in resp.json()["BatchItemResponse"]}
    assert answers["b1"]["Bill"]["TotalAmt"] == 200.0
    assert answers["b2"]["Invoice"]["TotalAmt"] == 100.0
    assert answers["b3"]["QueryResponse"]["Vendor"][0]["Id"] == "56"


def test_batch_item_fault_does_not_fail_the_other_items(qbo_api: ApiSession) -> None:
    items = [
        {"bId": "ok", "operation": "create", "Bill": SAMPLE_BILL},
        {"bId": "bad", "operation": "create", "Bill": bill(Vendor={"value": "56"})},
    ]
    answers = {
        a["bId"]: a
        for a in qbo_api.post("batch", json={"BatchItemRequest": items}).json()["BatchItemResponse"]
    }
    assert "Bill" in answers["ok"]
    assert answers["bad"]["Fault"]["type"] == "ValidationFault"
    assert answers["bad"]["Fault"]["Error"][0]["code"] == "2010"


def test_batch_items_cannot_see_each_others_creates(qbo_api: ApiSession) -> None:
    vendor = {"bId": "v", "operation": "create", "Vendor": {"DisplayName": "Same Batch"}}
    first = qbo_api.post("batch", json={"BatchItemRequest": [vendor]}).json()
    new_id = first["BatchItemResponse"][0]["Vendor"]["Id"]
    vendor2 = {"bId": "v2", "operation": "create", "Vendor": {"DisplayName": "Second"}}
    dependent = {
        "bId": "b",
        "operation": "create",
        "Bill": bill(VendorRef={"value": str(int(new_id) + 1)}),
    }
    answers = qbo_api.post("batch", json={"BatchItemRequest": [vendor2, dependent]}).json()
    assert answers["BatchItemResponse"][1]["Fault"]["Error"][0]["code"] == "2500"


def test_batch_operation_outside_create_update_delete_is_rejected(qbo_api: ApiSession) -> None:
    item = {"bId": "1", "operation": "void", "Invoice": {"Id": "1", "SyncToken": "0"}}
    answer = qbo_api.post("batch", json={"BatchItemRequest": [item]}).json()
    assert answer["BatchItemResponse"][0]["Fault"]["Error"][0]["code"] == "2010"


def test_batch_of_more_than_30_items_is_rejected(qbo_api: ApiSession) -> None:
    items = [{"bId": str(n), "Query": "select * from Vendor"} for n in range(31)]
    assert_fault(
        qbo_api.post("batch", json={"BatchItemRequest": items}), 400, "2010", "ValidationFault"
    )


def test_batch_with_requestid_is_replayed(qbo_sandbox: QboSandbox, qbo_api: ApiSession) -> None:
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Bill": SAMPLE_BILL}]}
    first = qbo_api.post("batch", params={"requestid": "batch-1"}, json=body)
    again = qbo_api.post("batch", params={"requestid": "batch-1"}, json=body)
    assert again.content == first.content
    assert len(qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill")) == 1


# -- limits and fault injection ---------------------------------------------------------------


def test_injected_429_carries_retry_after(qbo_sandbox: QboSandbox, qbo_api: ApiSession) -> None:
    qbo_sandbox.faults.throttle_next(retry_after=7)
    resp = qbo_api.post("bill", json=SAMPLE_BILL)
    assert_fault(resp, 429, "003001", "SystemFault")
    assert resp.headers["Retry-After"] == "7"
    assert qbo_api.post("bill", json=SAMPLE_BILL).status_code == 200


def test_injected_500_creates_nothing(qbo_sandbox: QboSandbox, qbo_api: ApiSession) -> None:
    qbo_sandbox.faults.fail_next(status=500)
    assert qbo_api.post("bill", json=SAMPLE_BILL).status_code == 500
    assert qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill") == []


def test_minute_rate_limit_answers_429_until_the_window_passes(qbo_sandbox_factory: Any) -> None:
    sb = qbo_sandbox_factory(requests_per_minute=2)
    api = qbo_session(sb)
    assert [api.get("item/1").status_code for _ in range(3)] == [200, 200, 429]
    sb.clock.advance(60)
    assert api.get("item/1").status_code == 200


def test_hang_outlasts_the_client_timeout_and_retry_does_not_duplicate(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    qbo_sandbox.faults.hang_next(seconds=0.6)
    with pytest.raises(requests.Timeout):
        qbo_api.post("bill", params={"requestid": "slow-1"}, json=SAMPLE_BILL, timeout=0.2)
    assert qbo_api.post("bill", params={"requestid": "slow-1"}, json=SAMPLE_BILL).ok
    deadline = time.monotonic() + 3
    while qbo_sandbox.idempotency.replays < 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # the hung request finishes in the background and is deduplicated
    assert len(qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill")) == 1


def test_dropped_response_after_commit_is_recovered_by_requestid(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    qbo_sandbox.faults.drop_next()
    with pytest.raises(requests.ConnectionError):
        qbo_api.post("bill", params={"requestid": "lost-1"}, json=SAMPLE_BILL)
    assert len(qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill")) == 1
    retry = qbo_api.post("bill", params={"requestid": "lost-1"}, json=SAMPLE_BILL)
    assert (
        retry.json()["Bill"]["Id"] == qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill")[0]["Id"]
    )


def test_drop_in_502_mode_commits_and_answers_bad_gateway(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    qbo_sandbox.faults.drop_next(mode="502")
    assert qbo_api.post("bill", json=SAMPLE_BILL).status_code == 502
    assert len(qbo_sandbox.entities(qbo_sandbox.realms[0], "Bill")) == 1


def test_fault_can_target_the_token_endpoint(qbo_sandbox: QboSandbox) -> None:
    qbo_sandbox.faults.fail_next(status=503, path="/oauth2/v1/tokens")
    assert refresh(qbo_sandbox, qbo_sandbox.issue_tokens()["refresh_token"]).status_code == 503


def test_concurrent_requests_beyond_the_limit_get_429(qbo_sandbox_factory: Any) -> None:
    sb = qbo_sandbox_factory(concurrent_requests=1)
    api = qbo_session(sb)
    sb.faults.hang_next(seconds=0.5)
    slow = threading.Thread(target=lambda: api.get("item/1"))
    slow.start()
    deadline = time.monotonic() + 2
    while sb.limiter.in_flight(sb.realms[0]) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.get("item/1").status_code == 429
    slow.join()
