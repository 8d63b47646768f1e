"""The sandboxes void and credit invoices as their vendors do, and refuse what they refuse."""

from __future__ import annotations

from typing import Any

import requests

from .fixtures import qbo_session, xero_session
from .quickbooks import QboSandbox
from .test_quickbooks_sandbox import SAMPLE_INVOICE
from .test_xero_sandbox import assert_validation, contact
from .xero import XeroSandbox

# -- QuickBooks: POST /invoice?operation=void ------------------------------------------------


def _qbo_invoice(api) -> dict[str, Any]:
    resp = api.post("invoice", json=SAMPLE_INVOICE)
    assert resp.status_code == 200, resp.text
    return resp.json()["Invoice"]


def _fault_code(resp: requests.Response) -> str:
    assert resp.status_code == 400, resp.text
    return resp.json()["Fault"]["Error"][0]["code"]


def test_qbo_void_zeroes_the_invoice_and_notes_it(qbo_sandbox: QboSandbox) -> None:
    api = qbo_session(qbo_sandbox)
    invoice = _qbo_invoice(api)

    resp = api.post(
        "invoice",
        params={"operation": "void"},
        json={"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
    )

    assert resp.status_code == 200, resp.text
    voided = resp.json()["Invoice"]
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert voided["SyncToken"] == "1"
    assert qbo_sandbox.get(qbo_sandbox.realms[0], "Invoice", invoice["Id"])["TotalAmt"] == 0


def test_qbo_void_needs_the_current_sync_token(qbo_sandbox: QboSandbox) -> None:
    api = qbo_session(qbo_sandbox)
    invoice = _qbo_invoice(api)

    stale = api.post(
        "invoice", params={"operation": "void"}, json={"Id": invoice["Id"], "SyncToken": "7"}
    )
    missing = api.post("invoice", params={"operation": "void"}, json={"Id": invoice["Id"]})

    assert _fault_code(stale) == "5010"
    assert _fault_code(missing) != ""
    assert qbo_sandbox.get(qbo_sandbox.realms[0], "Invoice", invoice["Id"])["TotalAmt"] == 100


def test_qbo_refuses_to_void_an_invoice_with_a_payment(qbo_sandbox: QboSandbox) -> None:
    api = qbo_session(qbo_sandbox)
    invoice = _qbo_invoice(api)
    paid = api.post(
        "payment",
        json={
            "CustomerRef": {"value": "1"},
            "TotalAmt": 40.0,
            "Line": [
                {"Amount": 40.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
    )
    assert paid.status_code == 200, paid.text
    current = qbo_sandbox.get(qbo_sandbox.realms[0], "Invoice", invoice["Id"])

    resp = api.post(
        "invoice",
        params={"operation": "void"},
        json={"Id": current["Id"], "SyncToken": current["SyncToken"]},
    )

    assert _fault_code(resp) == "6000"
    assert qbo_sandbox.get(qbo_sandbox.realms[0], "Invoice", invoice["Id"])["Balance"] == 60


def test_qbo_void_is_for_invoices_only(qbo_sandbox: QboSandbox) -> None:
    api = qbo_session(qbo_sandbox)
    customer = qbo_sandbox.get(qbo_sandbox.realms[0], "Customer", "1")

    resp = api.post(
        "customer",
        params={"operation": "void"},
        json={"Id": "1", "SyncToken": customer["SyncToken"]},
    )

    assert resp.status_code == 400


# -- Xero: VOIDED / DELETED invoices, credit notes and their allocations ----------------------


def _xero_invoice(api, contact_id: str, status: str = "AUTHORISED") -> dict[str, Any]:
    resp = api.put(
        "Invoices",
        json={
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact_id},
                    "Date": "2026-12-01",
                    "DueDate": "2026-12-31",
                    "Status": status,
                    "LineItems": [
                        {
                            "Description": "Laptop",
                            "Quantity": 1,
                            "UnitAmount": 200,
                            "AccountCode": "200",
                            "TaxType": "NONE",
                        }
                    ],
                }
            ]
        },
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["Invoices"][0]


def _set_status(api, invoice_id: str, status: str) -> requests.Response:
    return api.post(
        f"Invoices/{invoice_id}",
        json={"Invoices": [{"InvoiceID": invoice_id, "Status": status}]},
    )


def _credit_note(api, contact_id: str, amount: float = 200) -> dict[str, Any]:
    resp = api.put(
        "CreditNotes",
        json={
            "CreditNotes": [
                {
                    "Type": "ACCRECCREDIT",
                    "Contact": {"ContactID": contact_id},
                    "Date": "2026-12-02",
                    "Status": "AUTHORISED",
                    "LineItems": [
                        {
                            "Description": "Laptop returned",
                            "Quantity": 1,
                            "UnitAmount": amount,
                            "AccountCode": "200",
                            "TaxType": "NONE",
                        }
                    ],
                }
            ]
        },
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["CreditNotes"][0]


def _allocate(api, note_id: str, invoice_id: str, amount: float) -> requests.Response:
    return api.put(
        f"CreditNotes/{note_id}/Allocations",
        json={
            "Allocations": [
                {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": "2026-12-02"}
            ]
        },
    )


def test_xero_voids_an_authorised_invoice_without_payments(xero_sandbox: XeroSandbox) -> None:
    api = xero_session(xero_sandbox)
    invoice = _xero_invoice(api, contact(api))

    resp = _set_status(api, invoice["InvoiceID"], "VOIDED")

    assert resp.status_code == 200, resp.text
    assert resp.json()["Invoices"][0]["Status"] == "VOIDED"


def test_xero_refuses_to_void_an_invoice_with_a_payment(xero_sandbox: XeroSandbox) -> None:
    api = xero_session(xero_sandbox)
    invoice = _xero_invoice(api, contact(api))
    xero_sandbox.record_payment(invoice["InvoiceID"], 50.0)

    resp = api.post(
        f"Invoices/{invoice['InvoiceID']}",
        params={"summarizeErrors": "true"},
        json={"Invoices": [{"InvoiceID": invoice["InvoiceID"], "Status": "VOIDED"}]},
    )

    messages = assert_validation(resp)
    assert any("payment or credit note allocated" in m for m in messages)


def test_xero_deletes_drafts_and_voids_only_authorised_invoices(
    xero_sandbox: XeroSandbox,
) -> None:
    api = xero_session(xero_sandbox)
    who = contact(api)
    draft = _xero_invoice(api, who, "DRAFT")
    approved = _xero_invoice(api, who)

    void_draft = _set_status(api, draft["InvoiceID"], "VOIDED")
    delete_approved = _set_status(api, approved["InvoiceID"], "DELETED")
    delete_draft = _set_status(api, draft["InvoiceID"], "DELETED")

    assert_validation(void_draft)
    assert_validation(delete_approved)
    assert delete_draft.json()["Invoices"][0]["Status"] == "DELETED"


def test_xero_credit_note_allocation_reduces_what_the_invoice_owes(
    xero_sandbox: XeroSandbox,
) -> None:
    api = xero_session(xero_sandbox)
    who = contact(api)
    invoice = _xero_invoice(api, who)
    note = _credit_note(api, who)
    assert note["CreditNoteNumber"].startswith("CN-") and note["RemainingCredit"] == 200

    resp = _allocate(api, note["CreditNoteID"], invoice["InvoiceID"], 200)

    assert resp.status_code == 200, resp.text
    (stored,) = [
        i for i in xero_sandbox.records("Invoices") if i["InvoiceID"] == invoice["InvoiceID"]
    ]
    (credit,) = xero_sandbox.records("CreditNotes")
    assert (stored["AmountCredited"], stored["AmountDue"], stored["Status"]) == (200, 0, "PAID")
    assert (credit["RemainingCredit"], credit["Status"]) == (0, "PAID")
    assert_validation(_set_status(api, invoice["InvoiceID"], "VOIDED"))


def test_xero_refuses_allocations_above_the_amount_due_or_the_credit(
    xero_sandbox: XeroSandbox,
) -> None:
    api = xero_session(xero_sandbox)
    who = contact(api)
    invoice = _xero_invoice(api, who)
    small = _credit_note(api, who, amount=50)
    big = _credit_note(api, who, amount=500)
    other = _xero_invoice(api, contact(api, "Other Ltd"))

    above_credit = _allocate(api, small["CreditNoteID"], invoice["InvoiceID"], 60)
    above_due = _allocate(api, big["CreditNoteID"], invoice["InvoiceID"], 300)
    other_contact = _allocate(api, big["CreditNoteID"], other["InvoiceID"], 10)
    no_date = api.put(
        f"CreditNotes/{big['CreditNoteID']}/Allocations",
        json={"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 10}]},
    )

    for resp in (above_credit, above_due, other_contact, no_date):
        assert_validation(resp)
    (stored,) = [
        i for i in xero_sandbox.records("Invoices") if i["InvoiceID"] == invoice["InvoiceID"]
    ]
    assert stored["AmountDue"] == 200
