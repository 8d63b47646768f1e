"""The Xero sandbox's reads and money: accounts, payments, overpayments, refunds, allocations."""

from __future__ import annotations

import copy
from email.utils import format_datetime

import pytest

from .fixtures import ApiSession
from .specs import xero_spec
from .test_xero_sandbox import assert_validation, contact, spec_invoice
from .xero import XeroSandbox

# -- reads and payments -----------------------------------------------------------------------


def test_chart_of_accounts_and_tax_rates_are_listed(xero_api: ApiSession) -> None:
    accounts = xero_api.get("Accounts").json()
    assert "090" in [a["Code"] for a in accounts["Accounts"]]
    assert xero_spec().problems("Accounts", accounts, strict=False) == []
    rates = xero_api.get("TaxRates").json()["TaxRates"]
    assert "NONE" in [r["TaxType"] for r in rates]


def test_payment_marks_the_invoice_paid(xero_api: ApiSession) -> None:
    invoice = xero_api.put("Invoices", json=spec_invoice(contact(xero_api))).json()["Invoices"][0]
    payment = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Date": "2019-03-12",
        "Amount": 40,
    }
    assert xero_api.put("Payments", json={"Payments": [payment]}).status_code == 200
    paid = xero_api.get(f"Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountDue"] == 0


def test_overpayment_is_rejected(xero_api: ApiSession) -> None:
    invoice = xero_api.put("Invoices", json=spec_invoice(contact(xero_api))).json()["Invoices"][0]
    payment = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Date": "2019-03-12",
        "Amount": 41,
    }
    assert_validation(xero_api.put("Payments", json={"Payments": [payment]}))


def test_overpayment_settles_the_invoice_and_keeps_the_rest_as_credit(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    invoice = xero_api.put("Invoices", json=spec_invoice(contact(xero_api))).json()["Invoices"][0]
    with pytest.raises(ValueError, match="exceeds the amount due"):
        xero_sandbox.record_overpayment(invoice["InvoiceID"], 60, 41)
    xero_sandbox.record_overpayment(invoice["InvoiceID"], 60, 40)
    paid = xero_api.get(f"Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountDue"] == 0 and paid["AmountCredited"] == 40
    [overpayment] = [
        o
        for o in xero_api.get("Overpayments").json()["Overpayments"]
        if o["Allocations"][0]["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    ]
    assert overpayment["Type"] == "RECEIVE-OVERPAYMENT" and overpayment["RemainingCredit"] == 20
    assert [a["Amount"] for a in overpayment["Allocations"]] == [40]
    assert xero_api.put("Overpayments", json={"Overpayments": [{}]}).status_code == 404


def test_overpayment_refund_is_a_payment_that_lowers_the_credit(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    invoice = xero_api.put("Invoices", json=spec_invoice(contact(xero_api))).json()["Invoices"][0]
    made = xero_sandbox.record_overpayment(invoice["InvoiceID"], 60, 40)
    refund = {
        "Overpayment": {"OverpaymentID": made["OverpaymentID"]},
        "Account": {"Code": "090"},
        "Date": "2019-03-12",
        "Amount": 21,
    }
    assert_validation(xero_api.put("Payments", json={"Payments": [refund]}))  # credit is 20
    no_bank = {**refund, "Amount": 5, "Account": {"Code": "200"}}
    assert_validation(xero_api.put("Payments", json={"Payments": [no_bank]}))

    resp = xero_api.put("Payments", json={"Payments": [{**refund, "Amount": 20}]})

    assert resp.status_code == 200
    [payment] = resp.json()["Payments"]
    assert payment["PaymentType"] == "AROVERPAYMENTPAYMENT"
    refunded = xero_api.get(f"Overpayments/{made['OverpaymentID']}").json()["Overpayments"][0]
    assert refunded["RemainingCredit"] == 0 and refunded["Status"] == "PAID"
    assert [p["PaymentID"] for p in refunded["Payments"]] == [payment["PaymentID"]]
    assert_validation(xero_api.put("Payments", json={"Payments": [{**refund, "Amount": 1}]}))


@pytest.mark.parametrize("kind", ["Invoice", "Overpayment"])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Amount": 0}, None),
        ({"Account": {"Code": "nope"}}, "Account could not be found (give Code or AccountID)"),
        ({"Date": None}, "Date is required"),
    ],
)
def test_payments_and_refunds_are_checked_by_one_rule_set(
    xero_sandbox: XeroSandbox, xero_api: ApiSession, kind: str, change: dict, message: str | None
) -> None:
    invoice = xero_api.put("Invoices", json=spec_invoice(contact(xero_api))).json()["Invoices"][0]
    made = xero_sandbox.record_overpayment(invoice["InvoiceID"], 60, 20)
    target = (
        {"InvoiceID": invoice["InvoiceID"]}
        if kind == "Invoice"
        else {"OverpaymentID": made["OverpaymentID"]}
    )
    body = {kind: target, "Account": {"Code": "090"}, "Date": "2019-03-12", "Amount": 5, **change}
    body = {k: v for k, v in body.items() if v is not None}

    resp = xero_api.put("Payments", json={"Payments": [body]})

    assert_validation(resp)
    if message:
        assert message in resp.text


def test_an_overpayment_allocation_deleted_gives_the_credit_back(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    invoice = xero_api.put("Invoices", json=spec_invoice(contact(xero_api))).json()["Invoices"][0]
    made = xero_sandbox.record_overpayment(invoice["InvoiceID"], 60, 40)
    other = xero_api.put("Invoices", json=spec_invoice(contact(xero_api, "Someone else")))
    with pytest.raises(ValueError, match="same contact"):  # the credit note's rule
        xero_sandbox.allocate_overpayment(
            made["OverpaymentID"], other.json()["Invoices"][0]["InvoiceID"], 5
        )

    left = xero_sandbox.delete_overpayment_allocation(
        made["OverpaymentID"], made["Allocations"][0]["AllocationID"]
    )

    assert (left["Allocations"], left["RemainingCredit"], left["Status"]) == ([], 60, "AUTHORISED")
    owed = xero_api.get(f"Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (owed["Status"], owed["AmountDue"]) == ("AUTHORISED", 40)


def test_payments_filter_by_where_and_if_modified_since(
    xero_sandbox: XeroSandbox, xero_api: ApiSession
) -> None:
    cid = contact(xero_api)
    body = spec_invoice(cid)
    body["Invoices"].append(copy.deepcopy(body["Invoices"][0]))
    first, second = xero_api.put("Invoices", json=body).json()["Invoices"]
    xero_sandbox.record_payment(first["InvoiceID"], 10)
    xero_sandbox.clock.advance(120)
    since = format_datetime(xero_sandbox.clock.utcnow(), usegmt=True)
    xero_sandbox.clock.advance(60)
    xero_sandbox.record_payment(second["InvoiceID"], 15)
    recent = xero_api.get("Payments", headers={"If-Modified-Since": since}).json()["Payments"]
    assert [p["Amount"] for p in recent] == [15]
    where = f'Invoice.InvoiceID == Guid("{first["InvoiceID"]}") AND Status == "AUTHORISED"'
    matched = xero_api.get("Payments", params={"where": where}).json()["Payments"]
    assert [p["Amount"] for p in matched] == [10]


def test_contact_lookup_by_where_name_finds_the_contact(xero_api: ApiSession) -> None:
    contact_id = contact(xero_api, "Ingram Micro")
    rows = xero_api.get("Contacts", params={"where": 'Name=="Ingram Micro"'}).json()["Contacts"]
    assert [c["ContactID"] for c in rows] == [contact_id]


def test_operation_missing_from_the_spec_is_405(xero_api: ApiSession) -> None:
    assert (
        xero_api.post("Accounts", json={"Code": "1", "Name": "x", "Type": "BANK"}).status_code
        == 405
    )


def test_unparseable_where_is_a_query_parse_exception(xero_api: ApiSession) -> None:
    resp = xero_api.get("Payments", params={"where": "Amount === 3"})
    assert resp.status_code == 400 and resp.json()["Type"] == "QueryParseException"


def test_get_unknown_invoice_is_404(xero_api: ApiSession) -> None:
    assert xero_api.get("Invoices/8d5f5f07-3a42-4e8a-9e1a-4a8a2d2c1b00").status_code == 404
