"""XeroProvider and XeroClient against the Xero sandbox (which validates every body)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.accounting.xero.builders import (
    SandboxTokens,
    bill,
    connect,
    customer,
    invoice,
    line,
    make_contact,
)
from tests.sandboxes.fixtures import xero_session
from tests.sandboxes.xero import XeroSandbox
from webapp.accounting.interfaces import (
    AccountingPush,
    AccountPurpose,
    DeliveryKind,
    ItemData,
    LedgerDocumentStatus,
    PushResult,
)
from webapp.accounting.xero.client import idempotency_key
from webapp.accounting.xero.provider import XeroProvider
from webapp.integrations.interfaces import (
    NeedsReconnect,
    RateLimited,
    TransientError,
    UnsupportedOperation,
)


def writes(sb: XeroSandbox, collection: str) -> list[Any]:
    """Return the PUT/POST requests the sandbox saw on ``collection``."""
    return [
        r
        for r in sb.requests
        if r.method in ("PUT", "POST") and r.path.endswith(f"/api.xro/2.0/{collection}")
    ]


def customer_id(sb: XeroSandbox, xero: XeroProvider, name: str = "Contoso Ltd") -> str:
    [result] = xero.find_or_create_customers([customer(name)])
    assert result.ok, result.error
    return result.remote_id


def assert_ok(results: list[PushResult]) -> None:
    assert [r.error for r in results if not r.ok] == []


def test_provider_implements_the_accounting_interface(xero: XeroProvider) -> None:
    assert isinstance(xero, AccountingPush)
    assert DeliveryKind.PURCHASE_ORDER not in XeroProvider.supports
    with pytest.raises(UnsupportedOperation):
        xero.push_purchase_orders([])


# -- batching and per-element errors ----------------------------------------------------------


def test_fifty_invoices_go_in_one_call(xero_sandbox: XeroSandbox, xero: XeroProvider) -> None:
    contact = customer_id(xero_sandbox, xero)
    invoices = [invoice(contact, f"INV-{n:06d}") for n in range(50)]
    results = xero.push_invoices(invoices)
    assert_ok(results)
    assert len(writes(xero_sandbox, "Invoices")) == 1
    stored = xero_sandbox.records("Invoices")
    assert sorted(r["InvoiceNumber"] for r in stored) == sorted(i.reference for i in invoices)
    assert [r.key for r in results] == [i.key for i in invoices]
    request = writes(xero_sandbox, "Invoices")[0]
    assert request.args["summarizeErrors"] == "false"
    assert request.headers["Xero-Tenant-Id"] == xero_sandbox.tenant_id


def test_rejected_element_is_reported_on_its_own_delivery(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    bad = invoice(contact, "INV-000002", lines=(line(account="999"),))
    good = [invoice(contact, "INV-000001"), invoice(contact, "INV-000003")]
    results = xero.push_invoices([good[0], bad, good[1]])
    assert [r.ok for r in results] == [True, False, True]
    error = results[1].error
    assert error is not None and error.field == "AccountCode"
    assert "INV-000002" in error.message and "'999'" in error.message
    assert "Settings > Integrations" in error.fix
    assert '"AccountCode": "999"' in results[1].request_excerpt
    numbers = {r["InvoiceNumber"] for r in xero_sandbox.records("Invoices")}
    assert numbers == {"INV-000001", "INV-000003"}


def test_result_carries_ledger_id_number_and_link(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    [result] = xero.push_invoices([invoice(contact, number=None)])
    stored = xero_sandbox.records("Invoices")[0]
    assert result.remote_id == stored["InvoiceID"]
    assert result.remote_number == stored["InvoiceNumber"] == "INV-0001"  # Xero's numbering
    link = f"AccountsReceivable/View.aspx?InvoiceID={stored['InvoiceID']}"
    assert result.remote_url.endswith(link)


# -- exactly once -----------------------------------------------------------------------------


def test_idempotency_key_replay_returns_the_same_invoice(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    data = invoice(contact)
    first = xero.push_invoices([data])
    again = xero.push_invoices([data])
    assert again[0].remote_id == first[0].remote_id
    assert len(xero_sandbox.records("Invoices")) == 1
    keys = [r.headers["Idempotency-Key"] for r in writes(xero_sandbox, "Invoices")]
    assert keys[0] == keys[1] and len(keys[0]) <= 128


def test_retry_after_a_dropped_response_finds_the_invoice_instead_of_creating_it(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    data = invoice(contact)
    xero_sandbox.faults.drop_next(path="/Invoices")
    with pytest.raises(TransientError) as lost:
        xero.push_invoices([data])
    assert lost.value.outcome_unknown
    [result] = xero.push_invoices([dataclasses.replace(data, maybe_sent=True)])
    assert result.found_existing and result.ok
    assert [r["InvoiceID"] for r in xero_sandbox.records("Invoices")] == [result.remote_id]
    assert len(writes(xero_sandbox, "Invoices")) == 1  # the retry only looked


def test_retry_in_a_different_batch_creates_only_what_is_missing(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    first = [invoice(contact, "INV-1"), invoice(contact, "INV-2", number=None)]
    xero_sandbox.faults.drop_next(path="/Invoices")
    with pytest.raises(TransientError):
        xero.push_invoices(first)
    retry = [dataclasses.replace(i, maybe_sent=True) for i in first] + [invoice(contact, "INV-3")]
    results = xero.push_invoices(retry)
    assert_ok(results)
    assert [r.found_existing for r in results] == [True, True, False]
    references = sorted(r["Reference"] for r in xero_sandbox.records("Invoices"))
    assert references == ["INV-1", "INV-2", "INV-3"]


def test_look_up_does_not_take_a_longer_number_for_ours(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    assert_ok(xero.push_invoices([invoice(contact, "INV-10", customer_po="77")]))
    [result] = xero.push_invoices([invoice(contact, "INV-1", maybe_sent=True)])
    assert result.ok and not result.found_existing
    assert len(xero_sandbox.records("Invoices")) == 2


def test_look_up_of_a_large_batch_is_split_into_short_urls(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    batch = [invoice(contact, f"INV-{n:06d}", maybe_sent=True) for n in range(50)]
    assert_ok(xero.push_invoices(batch))
    looks = [
        r
        for r in xero_sandbox.requests
        if r.method == "GET" and r.path.endswith("/Invoices") and "where" in r.args
    ]
    assert 1 < len(looks) <= 5
    assert all(len(r.args["where"]) <= 1500 for r in looks)


def test_bill_retry_after_a_dropped_response_is_not_duplicated(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    supplier = make_contact(xero_sandbox, xero, "Ingram Micro")
    data = bill(supplier)
    xero_sandbox.faults.drop_next(path="/Invoices", mode="502")
    with pytest.raises(TransientError):
        xero.push_bills([data])
    [result] = xero.push_bills([dataclasses.replace(data, maybe_sent=True)])
    assert result.found_existing
    stored = xero_sandbox.records("Invoices")
    assert [(b["Type"], b["InvoiceNumber"], b["Status"]) for b in stored] == [
        ("ACCPAY", "SUP-RCPT-1", "DRAFT")
    ]


def test_same_supplier_number_with_another_amount_is_a_different_bill(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    supplier = make_contact(xero_sandbox, xero, "Ingram Micro")
    assert_ok(xero.push_bills([bill(supplier, "RCPT-1", supplier_invoice_number="S-9")]))
    second = bill(supplier, "RCPT-2", supplier_invoice_number="S-9", lines=(line(unit="5.00"),))
    [result] = xero.push_bills([dataclasses.replace(second, maybe_sent=True)])
    assert not result.found_existing and result.ok
    assert len(xero_sandbox.records("Invoices")) == 2


def test_batch_idempotency_key_does_not_depend_on_order() -> None:
    assert idempotency_key(["b", "a"]) == idempotency_key(["a", "b"])
    assert idempotency_key(["a", "b"]) != idempotency_key(["a", "c"])
    assert len(idempotency_key([f"msp-{n}-invoice-{n}-g1" for n in range(50)])) <= 128
    assert idempotency_key(["msp-1-invoice-7-g1"]) == "msp-msp-1-invoice-7-g1"


# -- transient faults and auth ----------------------------------------------------------------


def test_429_retry_after_is_honoured_then_the_call_succeeds(
    xero_sandbox: XeroSandbox, xero: XeroProvider, slept: list[float]
) -> None:
    contact = customer_id(xero_sandbox, xero)
    xero_sandbox.faults.throttle_next(retry_after=7, path="/Invoices")
    assert_ok(xero.push_invoices([invoice(contact)]))
    assert slept == [7.0]
    assert len(xero_sandbox.records("Invoices")) == 1


def test_long_retry_after_is_handed_back_to_the_queue(
    xero_sandbox: XeroSandbox, xero: XeroProvider, slept: list[float]
) -> None:
    contact = customer_id(xero_sandbox, xero)
    xero_sandbox.faults.throttle_next(retry_after=120, path="/Invoices")
    with pytest.raises(RateLimited) as limited:
        xero.push_invoices([invoice(contact)])
    assert limited.value.retry_after == 120 and slept == []
    assert xero_sandbox.records("Invoices") == []


def test_server_error_is_transient_and_nothing_is_saved(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    xero_sandbox.faults.fail_next(status=503, path="/Invoices")
    with pytest.raises(TransientError):
        xero.push_invoices([invoice(contact)])
    assert xero_sandbox.records("Invoices") == []


def test_timeout_is_transient_with_unknown_outcome(xero_sandbox: XeroSandbox) -> None:
    xero = connect(xero_sandbox)
    xero.ctx.http.timeout = 0.2
    xero_sandbox.faults.hang_next(seconds=1, path="/Accounts")
    with pytest.raises(TransientError) as timed_out:
        xero.list_accounts()
    assert timed_out.value.outcome_unknown


def test_expired_access_token_is_refreshed_mid_run(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    xero_sandbox.expire_access_tokens()
    assert_ok(xero.push_invoices([invoice(contact)]))
    tokens = xero.ctx.http.tokens
    assert isinstance(tokens, SandboxTokens) and tokens.refreshes == 1


def test_revoked_grant_needs_reconnect(xero_sandbox: XeroSandbox, xero: XeroProvider) -> None:
    tokens = xero.ctx.http.tokens
    assert isinstance(tokens, SandboxTokens)
    xero_sandbox.oauth.revoke(tokens.tokens["refresh_token"])
    with pytest.raises(NeedsReconnect):
        xero.list_accounts()


def test_disconnected_organisation_needs_reconnect(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    with xero_sandbox._lock:
        xero_sandbox.connections.clear()
    with pytest.raises(NeedsReconnect):
        xero.list_tax_rates()


# -- ledger rejections name the field and the fix ---------------------------------------------


def test_closed_period_names_the_date(xero_sandbox: XeroSandbox, xero: XeroProvider) -> None:
    contact = customer_id(xero_sandbox, xero)
    xero_sandbox.lock_date = "2026-05-31"
    [result] = xero.push_invoices([invoice(contact)])
    assert result.error is not None and result.error.field == "Date"
    assert "lock date" in result.error.fix
    assert xero_sandbox.records("Invoices") == []


def test_duplicate_number_names_the_invoice_number(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    assert_ok(xero.push_invoices([invoice(contact, "INV-9")]))
    clash = dataclasses.replace(invoice(contact, "INV-9"), key="msp-1-invoice-other-g1")
    [result] = xero.push_invoices([clash])
    assert result.error is not None and result.error.field == "InvoiceNumber"
    assert len(xero_sandbox.records("Invoices")) == 1


def test_unknown_tax_rate_names_the_tax_type(xero_sandbox: XeroSandbox, xero: XeroProvider) -> None:
    contact = customer_id(xero_sandbox, xero)
    [result] = xero.push_invoices([invoice(contact, lines=(line(tax="GST"),))])
    assert result.error is not None and result.error.field == "TaxType"
    assert "tax" in result.error.fix


# -- find or create: contacts and items -------------------------------------------------------


def test_existing_contact_is_matched_by_name_not_duplicated(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    api = xero_session(xero_sandbox)
    made = api.put("Contacts", json={"Contacts": [{"Name": "CONTOSO LTD"}]}).json()
    [result] = xero.find_or_create_customers([customer("Contoso Ltd")])
    assert result.found_existing and result.remote_id == made["Contacts"][0]["ContactID"]
    assert len(xero_sandbox.records("Contacts")) == 1
    assert writes(xero_sandbox, "Contacts") == writes(xero_sandbox, "Contacts")[:1]


def test_existing_contact_is_matched_by_account_number(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    api = xero_session(xero_sandbox)
    api.put("Contacts", json={"Contacts": [{"Name": "Contoso (old)", "AccountNumber": "C-42"}]})
    [result] = xero.find_or_create_customers([customer("Contoso Ltd", account_number="C-42")])
    assert result.found_existing
    assert [c["Name"] for c in xero_sandbox.records("Contacts")] == ["Contoso (old)"]


def test_missing_customers_are_created_in_one_call_with_the_sync_map(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    results = xero.find_or_create_customers(
        [
            customer("Contoso Ltd", account_number="C-1", terms="Net 14", email="a@c.example"),
            customer("Fabrikam", taxable=False),
        ]
    )
    assert_ok(results)
    assert len(writes(xero_sandbox, "Contacts")) == 1
    stored = {c["Name"]: c for c in xero_sandbox.records("Contacts")}
    assert stored["Contoso Ltd"]["AccountNumber"] == "C-1"
    assert stored["Contoso Ltd"]["ContactNumber"] == "org-contoso-ltd"
    assert stored["Contoso Ltd"]["PaymentTerms"]["Sales"]["Day"] == 14
    assert stored["Fabrikam"]["AccountsReceivableTaxType"] == "NONE"


def test_second_run_finds_the_contact_it_created(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    [first] = xero.find_or_create_customers([customer("Contoso Ltd")])
    renamed = customer("Contoso Limited", reference="org-contoso-ltd", key="other-key")
    [again] = xero.find_or_create_customers([renamed])
    assert again.found_existing and again.remote_id == first.remote_id
    assert len(xero_sandbox.records("Contacts")) == 1


def test_two_of_ours_with_one_name_share_one_contact(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    results = xero.find_or_create_customers(
        [customer("Contoso Ltd", key="k1"), customer("contoso ltd", reference="org-2", key="k2")]
    )
    assert_ok(results)
    assert results[0].remote_id == results[1].remote_id
    assert len(xero_sandbox.records("Contacts")) == 1


def test_items_are_found_by_code_or_created(xero_sandbox: XeroSandbox, xero: XeroProvider) -> None:
    api = xero_session(xero_sandbox)
    api.put("Items", json={"Items": [{"Code": "LAT5450", "Name": "Latitude"}]})
    items = [
        ItemData(key="i1", reference="product-1", code="LAT5450", name="Dell Latitude"),
        ItemData(
            key="i2",
            reference="product-2",
            code="U2724D",
            name="Dell 27 monitor",
            unit_price=Decimal("329.00"),
            income_account_id="200",
            expense_account_id="310",
        ),
    ]
    found, created = xero.find_or_create_items(items)
    assert found.found_existing and found.remote_number == "LAT5450"
    assert created.ok and not created.found_existing and created.remote_number == "U2724D"
    stored = {i["Code"]: i for i in xero_sandbox.records("Items")}
    assert stored["U2724D"]["SalesDetails"]["AccountCode"] == "200"


def test_invoice_line_can_reference_a_created_item(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    [item] = xero.find_or_create_items(
        [ItemData(key="i", reference="product-1", code="U2724D", name="Monitor")]
    )
    linked = dataclasses.replace(line(), item_ledger_id=item.remote_id, item_code="U2724D")
    assert_ok(xero.push_invoices([invoice(contact, lines=(linked,))]))
    assert xero_sandbox.records("Invoices")[0]["LineItems"][0]["ItemCode"] == "U2724D"


# -- bills ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "stored"),
    [
        (LedgerDocumentStatus.DRAFT, "DRAFT"),
        (LedgerDocumentStatus.SUBMITTED, "SUBMITTED"),
        (LedgerDocumentStatus.AUTHORIZED, "AUTHORISED"),
    ],
)
def test_bill_is_created_in_the_chosen_status(
    xero_sandbox: XeroSandbox, xero: XeroProvider, status: LedgerDocumentStatus, stored: str
) -> None:
    supplier = make_contact(xero_sandbox, xero, "Ingram Micro")
    [result] = xero.push_bills([bill(supplier, status=status)])
    assert result.ok and "AccountsPayable" in result.remote_url
    [saved] = xero_sandbox.records("Invoices")
    assert (saved["Type"], saved["Status"]) == ("ACCPAY", stored)
    assert saved["InvoiceNumber"] == "SUP-RCPT-1"
    assert saved["LineItems"][0]["UnitAmount"] == 812.5
    supplier_record = xero_sandbox.records("Contacts")[0]
    assert supplier_record["IsSupplier"] is True


# -- reads ------------------------------------------------------------------------------------


def test_chart_of_accounts_and_tax_rates_for_the_mapping_screens(xero: XeroProvider) -> None:
    accounts = {a.code: a for a in xero.list_accounts()}
    assert AccountPurpose.INCOME in accounts["200"].purposes
    assert AccountPurpose.EXPENSE in accounts["310"].purposes
    assert accounts["200"].id == "200"
    rates = {r.id: r for r in xero.list_tax_rates()}
    assert rates["TAX001"].rate == Decimal("8.25")


def test_payments_since_a_date_come_back_for_customer_invoices_only(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    contact = customer_id(xero_sandbox, xero)
    supplier = make_contact(xero_sandbox, xero, "Ingram Micro")
    [inv] = xero.push_invoices([invoice(contact)])
    [paid_bill] = xero.push_bills([bill(supplier, status=LedgerDocumentStatus.AUTHORIZED)])
    before = datetime.now(UTC) - timedelta(minutes=5)
    xero_sandbox.record_payment(inv.remote_id, 500.0, pay_date="2026-05-20")
    xero_sandbox.record_payment(paid_bill.remote_id, 100.0)
    [payment] = xero.fetch_payments(before)
    assert payment.invoice_ledger_id == inv.remote_id
    assert payment.amount == Decimal("500.00") and payment.paid_on.isoformat() == "2026-05-20"
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert xero.fetch_payments(later) == []


def test_payments_are_read_page_by_page(xero_sandbox: XeroSandbox, xero: XeroProvider) -> None:
    contact = customer_id(xero_sandbox, xero)
    results = xero.push_invoices([invoice(contact, f"INV-{n}") for n in range(101)])
    for result in results:
        xero_sandbox.record_payment(result.remote_id, 10.0)
    payments = xero.fetch_payments(datetime.now(UTC) - timedelta(hours=1))
    assert len({p.ledger_payment_id for p in payments}) == 101
    pages = [r.args.get("page") for r in xero_sandbox.requests if r.path.endswith("/Payments")]
    assert pages == ["1", "2"]


# -- connect and disconnect -------------------------------------------------------------------


def test_tenants_come_from_connections(xero_sandbox: XeroSandbox, xero: XeroProvider) -> None:
    [tenant] = XeroProvider.list_tenants(xero.ctx, {})
    assert tenant.id == xero_sandbox.tenant_id and tenant.name == "Sandbox Company (US)"
    assert tenant.connection_id in xero_sandbox.connections


def test_revoke_disconnects_the_organisation_and_kills_the_refresh_token(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    tokens = xero.ctx.http.tokens
    assert isinstance(tokens, SandboxTokens)
    xero.revoke(_token_set(tokens))
    assert xero_sandbox.connections == {}
    refresh = requests.post(
        f"{xero_sandbox.base_url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens.tokens["refresh_token"]},
        auth=(xero_sandbox.client_id, xero_sandbox.client_secret),
        timeout=5,
    )
    assert refresh.status_code == 400


def test_revoke_uses_the_stored_connection_id(xero_sandbox: XeroSandbox) -> None:
    xero = connect(xero_sandbox)
    [conn_id] = list(xero_sandbox.connections)
    xero.ctx.options = {"vendor_connection_id": conn_id}
    tokens = xero.ctx.http.tokens
    assert isinstance(tokens, SandboxTokens)
    xero.revoke(_token_set(tokens))
    assert xero_sandbox.connections == {}
    calls = [(r.method, r.path) for r in xero_sandbox.requests if "connections" in r.path]
    # Deleted by its stored id (no look-up first); listed after, to revoke only if it was last.
    assert calls == [("DELETE", f"/connections/{conn_id}"), ("GET", "/connections")]


def test_revoking_a_dead_grant_is_not_an_error(
    xero_sandbox: XeroSandbox, xero: XeroProvider
) -> None:
    tokens = xero.ctx.http.tokens
    assert isinstance(tokens, SandboxTokens)
    xero_sandbox.oauth.revoke(tokens.tokens["refresh_token"])
    xero.revoke(_token_set(tokens))


def _token_set(tokens: SandboxTokens) -> Any:
    from webapp.integrations.interfaces import TokenSet

    return TokenSet(tokens.tokens["access_token"], tokens.tokens["refresh_token"])
