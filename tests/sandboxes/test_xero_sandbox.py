"""Test the Xero sandbox itself."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .fixtures import ApiSession, xero_session
from .specs import xero_spec
from .xero import XeroSandbox

REDIRECT = "http://localhost:8000/integrations/xero/callback"
SCOPES = (
    "openid profile email offline_access accounting.transactions accounting.contacts "
    "accounting.settings"
)


def basic(sb: XeroSandbox) -> dict[str, str]:
    """Return the HTTP Basic client-auth header for the token endpoint."""
    raw = f"{sb.client_id}:{sb.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def authorize(sb: XeroSandbox, scope: str = SCOPES, **extra: str) -> dict[str, str]:
    """Run the auto-approving authorize step; return the callback query parameters."""
    resp = requests.get(
        f"{sb.base_url}/identity/connect/authorize",
        params={
            "client_id": sb.client_id,
            "response_type": "code",
            "scope": scope,
            "redirect_uri": REDIRECT,
            "state": "st",
            **extra,
        },
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


def token_call(sb: XeroSandbox, auth: bool = True, **form: str) -> requests.Response:
    """POST to the token endpoint."""
    return requests.post(
        f"{sb.base_url}/connect/token", data=form, headers=basic(sb) if auth else {}, timeout=5
    )


def exchange(sb: XeroSandbox, code: str) -> requests.Response:
    """Exchange an authorization code."""
    return token_call(sb, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)


def refresh(sb: XeroSandbox, token: str) -> requests.Response:
    """Use a refresh token."""
    return token_call(sb, grant_type="refresh_token", refresh_token=token)


def contact(api: ApiSession, name: str = "Acme Ltd") -> str:
    """Create a contact and return its ContactID."""
    resp = api.put("Contacts", json={"Contacts": [{"Name": name}]})
    assert resp.status_code == 200, resp.text
    return resp.json()["Contacts"][0]["ContactID"]


def spec_invoice(contact_id: str) -> dict[str, Any]:
    """Return the spec's own PUT /Invoices request example bound to ``contact_id``."""
    body = xero_spec().request_example("/Invoices", "put")
    body["Invoices"][0]["Contact"]["ContactID"] = contact_id
    return body


def bill(contact_id: str, **changes: Any) -> dict[str, Any]:
    """Return an ACCPAY invoice (API-NOTES 2.8) with top-level ``changes``."""
    invoice = {
        "Type": "ACCPAY",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": "SUPP-10045",
        "Date": "2019-03-13",
        "DueDate": "2019-04-12",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Foobar",
                "Quantity": 1,
                "UnitAmount": 20,
                "AccountCode": "710",
                "TaxType": "NONE",
            }
        ],
        "Status": "DRAFT",
    }
    invoice.update(changes)
    return invoice


def assert_validation(resp: requests.Response) -> list[str]:
    """Assert the API-NOTES 2.6 ValidationException shape; return all messages."""
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["Type"] == "ValidationException"
    assert body["ErrorNumber"] == 10
    assert isinstance(body["Message"], str)
    messages = [e["Message"] for el in body["Elements"] for e in el["ValidationErrors"]]
    assert messages
    return messages


# -- OAuth and connections ---------------------------------------------------------------------


def test_authorize_redirects_with_code_and_state(xero_sandbox: XeroSandbox) -> None:
    params = authorize(xero_sandbox)
    assert params["state"] == "st" and params["code"]


def test_code_exchange_returns_30_minute_bearer_token(xero_sandbox: XeroSandbox) -> None:
    body = exchange(xero_sandbox, authorize(xero_sandbox)["code"]).json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["refresh_token"]


def test_connections_lists_the_authorised_tenant_per_identity_spec(
    xero_sandbox: XeroSandbox,
) -> None:
    tokens = exchange(xero_sandbox, authorize(xero_sandbox)["code"]).json()
    rows = requests.get(
        f"{xero_sandbox.base_url}/connections",
        timeout=5,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    ).json()
    assert [r["tenantId"] for r in rows] == [xero_sandbox.tenant_id]
    connection_schema = set(
        xero_spec().identity["components"]["schemas"]["Connection"]["properties"]
    )
    assert set(rows[0]) <= connection_schema


def test_replayed_authorization_code_gets_invalid_grant(xero_sandbox: XeroSandbox) -> None:
    code = authorize(xero_sandbox)["code"]
    assert exchange(xero_sandbox, code).status_code == 200
    replay = exchange(xero_sandbox, code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_pkce_public_client_must_present_the_matching_verifier(xero_sandbox: XeroSandbox) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    code = authorize(
        xero_sandbox, code_challenge=challenge.rstrip(b"=").decode(), code_challenge_method="S256"
    )["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": xero_sandbox.client_id,
    }
    assert token_call(xero_sandbox, False, **form, code_verifier="w" * 50).status_code == 400
    code2 = authorize(
        xero_sandbox, code_challenge=challenge.rstrip(b"=").decode(), code_challenge_method="S256"
    )["code"]
    ok = token_call(xero_sandbox, False, **{**form, "code": code2}, code_verifier=verifier)
    assert ok.status_code == 200


def test_no_refresh_token_without_offline_access(xero_sandbox: XeroSandbox) -> None:
    code = authorize(xero_sandbox, scope="openid accounting.transactions")["code"]
    assert "refresh_token" not in exchange(xero_sandbox, code).json()


def test_refresh_rotates_and_the_old_token_replays_within_grace(xero_sandbox: XeroSandbox) -> None:
    first = xero_sandbox.issue_tokens()
    second = refresh(xero_sandbox, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    retried = refresh(xero_sandbox, first["refresh_token"]).json()
    assert retried["refresh_token"] == second["refresh_token"]


def test_old_refresh_token_is_rejected_after_the_grace_period(xero_sandbox: XeroSandbox) -> None:
    first = xero_sandbox.issue_tokens()
    second = refresh(xero_sandbox, first["refresh_token"]).json()
    xero_sandbox.clock.advance(1801)
    assert refresh(xero_sandbox, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(xero_sandbox, second["refresh_token"]).status_code == 200


def test_old_refresh_token_is_rejected_once_its_successor_was_used(
    xero_sandbox: XeroSandbox,
) -> None:
    first = xero_sandbox.issue_tokens()
    second = refresh(xero_sandbox, first["refresh_token"]).json()
    refresh(xero_sandbox, second["refresh_token"])
    assert refresh(xero_sandbox, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_access_token_expires_after_30_minutes(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    assert xero_api.get("Accounts").status_code == 200
    xero_sandbox.clock.advance(1800)
    expired = xero_api.get("Accounts")
    assert expired.status_code == 401
    assert expired.json()["Detail"].startswith("TokenExpired")


def test_expire_access_tokens_knob_forces_401(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    xero_sandbox.expire_access_tokens()
    assert xero_api.get("Accounts").status_code == 401


def test_deleted_connection_makes_the_tenant_forbidden(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    conn = xero_api.get(f"{xero_sandbox.base_url}/connections").json()[0]
    assert xero_api.delete(f"{xero_sandbox.base_url}/connections/{conn['id']}").status_code == 204
    assert xero_api.get("Accounts").status_code == 403


def test_missing_tenant_header_is_rejected(xero_api: ApiSession) -> None:
    assert xero_api.get("Accounts", headers={"xero-tenant-id": ""}).status_code == 400


def test_token_without_the_needed_scope_is_forbidden(xero_sandbox: XeroSandbox) -> None:
    api = xero_session(xero_sandbox, scope="offline_access accounting.contacts")
    assert api.get("Invoices").status_code == 403
    assert api.get("Contacts").status_code == 200


def test_granular_2026_scope_grants_invoices(xero_sandbox: XeroSandbox) -> None:
    api = xero_session(xero_sandbox, scope="offline_access accounting.invoices")
    assert api.get("Invoices").status_code == 200


def test_request_without_json_accept_header_is_refused(xero_api: ApiSession) -> None:
    assert xero_api.get("Accounts", headers={"Accept": "application/xml"}).status_code == 406


# -- validation -------------------------------------------------------------------------------


def test_spec_example_invoice_is_accepted(xero_sandbox: XeroSandbox, xero_api: ApiSession) -> None:
    resp = xero_api.put("Invoices", json=spec_invoice(contact(xero_api)))
    assert resp.status_code == 200, resp.text
    saved = resp.json()["Invoices"][0]
    assert saved["Total"] == 40.0 and saved["InvoiceNumber"] == "INV-0001"
    assert xero_sandbox.records("Invoices")[0]["InvoiceID"] == saved["InvoiceID"]


@pytest.mark.parametrize("path", ["/Contacts", "/Items", "/Accounts"])
def test_spec_request_examples_are_accepted(xero_api: ApiSession, path: str) -> None:
    resp = xero_api.put(path.lstrip("/"), json=xero_spec().request_example(path, "put"))
    assert resp.status_code == 200, resp.text


def test_invoice_response_conforms_to_the_spec_schema(xero_api: ApiSession) -> None:
    body = xero_api.put("Invoices", json=spec_invoice(contact(xero_api))).json()
    assert xero_spec().problems("Invoices", body, strict=False) == []


def test_accpay_bill_from_api_notes_is_accepted_without_auto_number(xero_api: ApiSession) -> None:
    resp = xero_api.put("Invoices", json={"Invoices": [bill(contact(xero_api))]})
    assert resp.json()["Invoices"][0]["InvoiceNumber"] == "SUPP-10045"


def test_unknown_field_is_rejected_with_validation_exception(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api), Lines=[])
    messages = assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))
    assert "'Lines' was unexpected" in messages[0]


def test_string_quantity_is_rejected_as_wrong_type(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api))
    invoice["LineItems"][0]["Quantity"] = "1"
    messages = assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))
    assert "Invoices[0].LineItems[0].Quantity" in messages[0]


def test_value_outside_spec_enum_is_rejected(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api), Status="APPROVED")
    assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))


def test_non_uuid_contact_id_is_rejected(xero_api: ApiSession) -> None:
    assert_validation(xero_api.put("Invoices", json={"Invoices": [bill("42")]}))


def test_unparseable_date_is_rejected(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api), Date="13/03/2019")
    assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))


def test_item_without_spec_required_code_is_rejected(xero_api: ApiSession) -> None:
    messages = assert_validation(xero_api.put("Items", json={"Items": [{"Name": "Widget"}]}))
    assert "'Code' is a required property" in messages[0]


def test_invoice_without_contact_is_rejected(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api))
    del invoice["Contact"]
    assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))


def test_line_with_unknown_account_code_is_rejected(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api))
    invoice["LineItems"][0]["AccountCode"] = "999"
    messages = assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))
    assert "'999'" in messages[0]


def test_line_with_unknown_tax_type_is_rejected(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api))
    invoice["LineItems"][0]["TaxType"] = "GST"
    assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))


def test_discount_on_accpay_is_rejected(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api))
    invoice["LineItems"][0]["DiscountRate"] = 10
    assert_validation(xero_api.put("Invoices", json={"Invoices": [invoice]}))


def test_duplicate_contact_name_is_rejected(xero_api: ApiSession) -> None:
    contact(xero_api, "Acme Ltd")
    assert_validation(xero_api.put("Contacts", json={"Contacts": [{"Name": "ACME LTD"}]}))


def test_invoice_contact_given_by_name_creates_the_contact(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    invoice = bill(contact(xero_api), Contact={"Name": "New Supplier"})
    assert xero_api.put("Invoices", json={"Invoices": [invoice]}).status_code == 200
    suppliers = [c for c in xero_sandbox.records("Contacts") if c["Name"] == "New Supplier"]
    assert suppliers[0]["IsSupplier"] is True


def test_malformed_json_is_a_post_data_invalid_exception(xero_api: ApiSession) -> None:
    resp = xero_api.put("Invoices", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["Type"] == "PostDataInvalidException"


# -- batching, summarizeErrors, idempotency ---------------------------------------------------


def test_summarize_errors_false_returns_per_item_results(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    cid = contact(xero_api)
    good, bad = bill(cid, InvoiceNumber="A-1"), bill(cid, InvoiceNumber="A-2", Colour="red")
    resp = xero_api.put(
        "Invoices", params={"summarizeErrors": "false"}, json={"Invoices": [good, bad]}
    )
    assert resp.status_code == 200
    first, second = resp.json()["Invoices"]
    assert first["StatusAttributeString"] == "OK" and first["InvoiceID"]
    assert second["HasErrors"] is True and second["ValidationErrors"]
    assert [i["InvoiceNumber"] for i in xero_sandbox.records("Invoices")] == ["A-1"]


def test_summarized_errors_reject_the_whole_request_and_save_nothing(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    cid = contact(xero_api)
    body = {"Invoices": [bill(cid, InvoiceNumber="B-1"), bill(cid, Colour="red")]}
    messages = assert_validation(xero_api.put("Invoices", json=body))
    assert len(messages) == 1
    assert xero_sandbox.records("Invoices") == []


def test_several_invoices_are_created_in_one_call(xero_api: ApiSession) -> None:
    cid = contact(xero_api)
    body = {"Invoices": [bill(cid, InvoiceNumber=f"C-{n}") for n in range(3)]}
    assert len(xero_api.put("Invoices", json=body).json()["Invoices"]) == 3


def test_idempotency_key_replays_without_a_duplicate(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    body = spec_invoice(contact(xero_api))
    first = xero_api.put("Invoices", json=body, headers={"Idempotency-Key": "k-1"})
    again = xero_api.put("Invoices", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.content == first.content
    assert len(xero_sandbox.records("Invoices")) == 1


def test_idempotency_key_longer_than_128_characters_is_rejected(xero_api: ApiSession) -> None:
    resp = xero_api.put(
        "Invoices", json=spec_invoice(contact(xero_api)), headers={"Idempotency-Key": "k" * 129}
    )
    assert_validation(resp)


def test_post_with_invoice_id_updates_the_invoice(xero_api: ApiSession) -> None:
    saved = xero_api.put("Invoices", json={"Invoices": [bill(contact(xero_api))]}).json()
    invoice_id = saved["Invoices"][0]["InvoiceID"]
    resp = xero_api.post(
        f"Invoices/{invoice_id}",
        json={"Invoices": [{"Reference": "PO-77", "Status": "AUTHORISED"}]},
    )
    assert resp.status_code == 200, resp.text
    assert xero_api.get(f"Invoices/{invoice_id}").json()["Invoices"][0]["Status"] == "AUTHORISED"


# -- limits and fault injection ---------------------------------------------------------------


def test_responses_carry_rate_limit_headers(xero_api: ApiSession) -> None:
    resp = xero_api.get("Accounts")
    assert resp.headers["X-MinLimit-Remaining"] == "59"
    assert resp.headers["X-DayLimit-Remaining"] == "4999"
    assert "X-AppMinLimit-Remaining" in resp.headers


def test_minute_limit_answers_429_with_retry_after(xero_sandbox_factory: Any) -> None:
    sb = xero_sandbox_factory(minute_limit=2)
    api = xero_session(sb)
    assert [api.get("Accounts").status_code for _ in range(2)] == [200, 200]
    limited = api.get("Accounts")
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-MinLimit-Remaining"] == "0"
    sb.clock.advance(60)
    assert api.get("Accounts").status_code == 200


def test_daily_limit_answers_429_day(xero_sandbox_factory: Any) -> None:
    sb = xero_sandbox_factory(day_limit=1)
    api = xero_session(sb)
    api.get("Accounts")
    assert api.get("Accounts").headers["X-Rate-Limit-Problem"] == "day"


def test_sixth_concurrent_call_per_tenant_gets_429(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    # Long hangs, woken below: on a busy machine a short one could end before all five
    # requests are in flight.
    xero_sandbox.faults.hang_next(5, seconds=30)
    slow = [threading.Thread(target=lambda: xero_api.get("Accounts")) for _ in range(5)]
    for thread in slow:
        thread.start()
    deadline = time.monotonic() + 10
    while (
        xero_sandbox.limiter.in_flight(xero_sandbox.tenant_id) < 5 and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    limited = xero_api.get("Accounts")
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "concurrent"
    xero_sandbox.faults.release()
    for thread in slow:
        thread.join()


def test_injected_429_carries_retry_after(xero_sandbox: XeroSandbox, xero_api: ApiSession) -> None:
    xero_sandbox.faults.throttle_next(retry_after=9)
    resp = xero_api.get("Accounts")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "9"


def test_injected_500_saves_nothing(xero_sandbox: XeroSandbox, xero_api: ApiSession) -> None:
    cid = contact(xero_api)
    xero_sandbox.faults.fail_next(status=500)
    assert xero_api.put("Invoices", json=spec_invoice(cid)).status_code == 500
    assert xero_sandbox.records("Invoices") == []


def test_dropped_response_after_commit_is_recovered_by_idempotency_key(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    body = spec_invoice(contact(xero_api))
    xero_sandbox.faults.drop_next()
    with pytest.raises(requests.ConnectionError):
        xero_api.put("Invoices", json=body, headers={"Idempotency-Key": "lost"})
    retry = xero_api.put("Invoices", json=body, headers={"Idempotency-Key": "lost"})
    assert (
        retry.json()["Invoices"][0]["InvoiceID"] == xero_sandbox.records("Invoices")[0]["InvoiceID"]
    )
    assert len(xero_sandbox.records("Invoices")) == 1


def test_hang_outlasts_the_client_timeout(xero_sandbox: XeroSandbox, xero_api: ApiSession) -> None:
    xero_sandbox.faults.hang_next(seconds=0.5)
    with pytest.raises(requests.Timeout):
        xero_api.get("Accounts", timeout=0.1)


# -- look-ups the Xero provider relies on -----------------------------------------------------


def test_where_joins_conditions_with_or(xero_api: ApiSession) -> None:
    contact(xero_api, "Alpha")
    contact(xero_api, "Beta")
    contact(xero_api, "Gamma")
    where = 'Name=="Alpha" OR Name=="Gamma" AND ContactStatus=="ACTIVE"'
    rows = xero_api.get("Contacts", params={"where": where}).json()["Contacts"]
    assert sorted(c["Name"] for c in rows) == ["Alpha", "Gamma"]


def test_where_and_binds_tighter_than_or(xero_api: ApiSession) -> None:
    contact(xero_api, "Alpha")
    contact(xero_api, "Beta")
    where = 'Name=="Alpha" AND ContactStatus=="ARCHIVED" OR Name=="Beta"'
    rows = xero_api.get("Contacts", params={"where": where}).json()["Contacts"]
    assert [c["Name"] for c in rows] == ["Beta"]


def test_invoices_filter_by_invoice_numbers_and_contact_ids(xero_api: ApiSession) -> None:
    first, second = contact(xero_api, "One"), contact(xero_api, "Two")
    body = {
        "Invoices": [
            bill(first, InvoiceNumber="S-1"),
            bill(first, InvoiceNumber="S-2"),
            bill(second, InvoiceNumber="S-1"),
        ]
    }
    assert xero_api.put("Invoices", json=body).status_code == 200
    rows = xero_api.get("Invoices", params={"InvoiceNumbers": "s-1", "ContactIDs": first}).json()[
        "Invoices"
    ]
    assert [(r["InvoiceNumber"], r["Contact"]["ContactID"]) for r in rows] == [("S-1", first)]


def test_document_in_a_locked_period_is_rejected(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    xero_sandbox.lock_date = "2019-03-31"
    messages = assert_validation(
        xero_api.put("Invoices", json={"Invoices": [bill(contact(xero_api))]})
    )
    assert "lock date" in messages[0]
    later = bill(contact(xero_api, "Later Ltd"), Date="2019-04-01")
    assert xero_api.put("Invoices", json={"Invoices": [later]}).status_code == 200


def test_sent_tax_amount_overrides_the_computed_tax(xero_api: ApiSession) -> None:
    invoice = bill(contact(xero_api))
    invoice["LineItems"][0].update(TaxType="TAX001", TaxAmount=2.0)
    saved = xero_api.put("Invoices", json={"Invoices": [invoice]}).json()["Invoices"][0]
    assert saved["LineItems"][0]["TaxAmount"] == 2.0
    assert (saved["SubTotal"], saved["TotalTax"], saved["Total"]) == (20.0, 2.0, 22.0)
