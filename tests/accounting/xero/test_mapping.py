"""Mapping: our plain data -> Xero JSON, each payload valid against Xero's OpenAPI schema."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.accounting.xero.builders import bill, customer, invoice, line
from tests.sandboxes.specs import xero_spec
from webapp.accounting.interfaces import (
    AccountPurpose,
    Address,
    DocumentLine,
    ItemData,
    LedgerDocumentStatus,
    SupplierData,
)
from webapp.accounting.xero import mapping, reads

CONTACT_ID = "0c2c5a5e-7b2b-4d5e-9b1a-3f1f5a6b7c8d"


def problems(schema: str, instance: Any) -> list[str]:
    """Validate against the Xero spec (closed objects: unknown members are problems)."""
    # Round-trip through JSON first: what is validated is what goes over the wire.
    wire = json.loads(json.dumps(instance))
    return [p.message for p in xero_spec().problems(schema, wire)]


def full_customer(**changes: Any) -> Any:
    address = Address("1 Main St", "Suite 4", "Springfield", "IL", "62701", "US")
    shipping = Address("9 Dock Rd", "", "Springfield", "IL", "62702", "US")
    values: dict[str, Any] = {
        "account_number": "CUST-0042",
        "email": "accounts@contoso.example",
        "phone": "+1 555 0100",
        "fax": "+1 555 0101",
        "website": "https://contoso.example",
        "notes": "Key account",
        "terms": "Net 30",
        "credit_limit": Decimal("25000"),
        "taxable": False,
        "currency": "USD",
        "billing_address": address,
        "shipping_address": shipping,
    }
    values.update(changes)
    return customer("Contoso Ltd", **values)


# -- contacts ---------------------------------------------------------------------------------


def test_customer_contact_is_a_valid_xero_contact() -> None:
    contact = mapping.customer_contact(full_customer(), exempt_tax_type="NONE")
    assert problems("Contacts", {"Contacts": [contact]}) == []


def test_customer_contact_follows_the_bms_sync_map() -> None:
    contact = mapping.customer_contact(full_customer(), exempt_tax_type="NONE")
    assert contact["Name"] == "Contoso Ltd"
    assert contact["AccountNumber"] == "CUST-0042"
    assert contact["ContactNumber"] == "org-contoso-ltd"
    assert contact["EmailAddress"] == "accounts@contoso.example"
    assert contact["PaymentTerms"] == {"Sales": {"Day": 30, "Type": "DAYSAFTERBILLDATE"}}
    assert contact["AccountsReceivableTaxType"] == "NONE"
    assert contact["Phones"] == [
        {"PhoneType": "DEFAULT", "PhoneNumber": "+1 555 0100"},
        {"PhoneType": "FAX", "PhoneNumber": "+1 555 0101"},
    ]
    billing, shipping = contact["Addresses"]
    assert billing == {
        "AddressType": "POBOX",
        "AddressLine1": "1 Main St",
        "AddressLine2": "Suite 4",
        "City": "Springfield",
        "Region": "IL",
        "PostalCode": "62701",
        "Country": "US",
    }
    assert shipping["AddressType"] == "STREET" and shipping["AddressLine1"] == "9 Dock Rd"


def test_customer_contact_leaves_out_what_xero_cannot_hold() -> None:
    contact = mapping.customer_contact(full_customer())
    # Xero's Contact has no credit limit or notes, and Website is read-only in the API.
    assert not {"Website", "CreditLimit", "Notes"} & set(contact)


def test_taxable_customer_keeps_xero_default_tax() -> None:
    contact = mapping.customer_contact(full_customer(taxable=True), exempt_tax_type="NONE")
    assert "AccountsReceivableTaxType" not in contact


def test_minimal_customer_sends_only_name_and_number() -> None:
    assert mapping.customer_contact(customer("Fabrikam")) == {
        "Name": "Fabrikam",
        "ContactNumber": "org-fabrikam",
    }


@pytest.mark.parametrize(
    ("terms", "expected"),
    [("Net 30", 30), ("net14", 14), ("45 days", 45), ("Due on receipt", 0), ("7", 7)],
)
def test_payment_terms_are_days_after_the_invoice_date(terms: str, expected: int) -> None:
    assert mapping.payment_terms(terms) == {"Sales": {"Day": expected, "Type": "DAYSAFTERBILLDATE"}}


@pytest.mark.parametrize("terms", ["", "End of month", "Net thirty"])
def test_unreadable_payment_terms_are_left_to_xero(terms: str) -> None:
    assert mapping.payment_terms(terms) is None


def test_long_names_are_cut_to_the_schema_limits() -> None:
    contact = mapping.customer_contact(
        customer("N" * 300, reference="r" * 80, account_number="a" * 80)
    )
    assert len(contact["Name"]) == 255
    assert len(contact["ContactNumber"]) == 50 and len(contact["AccountNumber"]) == 50
    assert problems("Contacts", {"Contacts": [contact]}) == []


def test_supplier_contact_is_valid_and_carries_its_code() -> None:
    supplier = SupplierData(
        key="k",
        reference="supplier-4",
        display_name="Ingram Micro",
        account_number="ingram",
        email="ap@ingram.example",
        phone="+1 555 0199",
        currency="USD",
        address=Address("10 Supply Way", city="Irvine", region="CA", country="US"),
    )
    contact = mapping.supplier_contact(supplier)
    assert problems("Contacts", {"Contacts": [contact]}) == []
    assert contact["AccountNumber"] == "ingram" and contact["ContactNumber"] == "supplier-4"
    # IsSupplier is derived by Xero from the bills (API-NOTES 2.3); sending it does nothing.
    assert "IsSupplier" not in contact


def test_contact_match_prefers_our_number_and_ignores_archived() -> None:
    archived = {"Name": "Contoso Ltd", "ContactStatus": "ARCHIVED"}
    assert not mapping.contact_matches(archived, reference="", name="Contoso Ltd")
    assert mapping.contact_matches({"Name": "CONTOSO LTD"}, reference="", name="Contoso Ltd")
    assert mapping.contact_matches({"ContactNumber": "org-1"}, reference="org-1", name="x")
    assert mapping.contact_matches(
        {"AccountNumber": "C-1"}, reference="", name="", account_number="C-1"
    )


# -- items ------------------------------------------------------------------------------------


def test_item_is_a_valid_untracked_xero_item() -> None:
    data = ItemData(
        key="k",
        reference="product-9",
        code="LAT5450",
        name="LAT5450 Dell Latitude 5450 14in laptop with a very long marketing name",
        description="Dell Latitude 5450",
        unit_price=Decimal("1299.00"),
        unit_cost=Decimal("1050.1234"),
        income_account_id="200",
        expense_account_id="310",
    )
    item = mapping.item(data)
    assert problems("Items", {"Items": [item]}) == []
    assert item["Code"] == "LAT5450" and len(item["Name"]) == 50
    assert item["SalesDetails"] == {"UnitPrice": 1299.0, "AccountCode": "200"}
    assert item["PurchaseDetails"] == {"UnitPrice": 1050.1234, "AccountCode": "310"}
    assert "IsTrackedAsInventory" not in item


def test_long_skus_get_distinct_codes_within_thirty_characters() -> None:
    first = mapping.item_code("ABCDEFGHIJKLMNOPQRSTUVWXYZ-0001-EXTRA")
    second = mapping.item_code("ABCDEFGHIJKLMNOPQRSTUVWXYZ-0002-EXTRA")
    assert len(first) <= 30 and len(second) <= 30 and first != second
    assert mapping.item_code("ABCDEFGHIJKLMNOPQRSTUVWXYZ-0001-EXTRA") == first


# -- invoices ---------------------------------------------------------------------------------


def shipping_and_surcharge_invoice(**changes: Any) -> Any:
    lines = (
        line(tax="TAX001", tax_amount="173.25"),
        DocumentLine(
            description="Shipping: Express",
            quantity=Decimal(1),
            unit_amount=Decimal("25.00"),
            line_amount=Decimal("25.00"),
            item_ledger_id="5d2d0f5e-1111-4a4a-9b9b-000000000001",
            item_code="FREIGHT",
            account_id="400",
            tax_rate_id="NONE",
        ),
        DocumentLine(
            description="Payment surcharge (1.5%)",
            quantity=Decimal(1),
            unit_amount=Decimal("31.88"),
            line_amount=Decimal("31.88"),
            account_id="429",
            tax_rate_id="NONE",
        ),
    )
    return invoice(CONTACT_ID, lines=lines, customer_po="4711", **changes)


@pytest.mark.parametrize(
    ("status", "xero_status"),
    [
        (LedgerDocumentStatus.DRAFT, "DRAFT"),
        (LedgerDocumentStatus.SUBMITTED, "SUBMITTED"),
        (LedgerDocumentStatus.AUTHORIZED, "AUTHORISED"),
    ],
)
def test_sales_invoice_is_valid_accrec_in_the_chosen_status(
    status: LedgerDocumentStatus, xero_status: str
) -> None:
    body = mapping.sales_invoice(shipping_and_surcharge_invoice(status=status))
    assert problems("Invoices", {"Invoices": [body]}) == []
    assert body["Type"] == "ACCREC" and body["Status"] == xero_status


def test_sales_invoice_with_our_numbering_sends_our_number() -> None:
    body = mapping.sales_invoice(shipping_and_surcharge_invoice())
    assert body["InvoiceNumber"] == "INV-000101"
    assert body["Reference"] == "INV-000101 / PO 4711"
    assert body["Contact"] == {"ContactID": CONTACT_ID}
    assert body["Date"] == "2026-05-04" and body["DueDate"] == "2026-06-03"
    assert body["LineAmountTypes"] == "Exclusive" and body["CurrencyCode"] == "USD"


def test_sales_invoice_with_ledger_numbering_lets_xero_number_it() -> None:
    body = mapping.sales_invoice(shipping_and_surcharge_invoice(number=None))
    assert "InvoiceNumber" not in body
    assert mapping.invoice_reference(body) == "INV-000101"


def test_shipping_and_surcharge_lines_keep_their_accounts_items_and_tax() -> None:
    product, shipping, surcharge = mapping.sales_invoice(shipping_and_surcharge_invoice())[
        "LineItems"
    ]
    assert product == {
        "Description": "Dell Latitude 5450",
        "Quantity": 2.0,
        "UnitAmount": 1050.0,
        "LineAmount": 2100.0,
        "AccountCode": "200",
        "TaxType": "TAX001",
        "TaxAmount": 173.25,
    }
    assert shipping["AccountCode"] == "400" and shipping["ItemCode"] == "FREIGHT"
    assert surcharge["AccountCode"] == "429" and "ItemCode" not in surcharge
    assert surcharge["UnitAmount"] == 31.88


def test_line_without_linked_item_sends_no_item_code() -> None:
    unlinked = DocumentLine(
        description="x",
        quantity=Decimal(1),
        unit_amount=Decimal(1),
        line_amount=Decimal(1),
        item_code="SKU-1",
    )
    assert "ItemCode" not in mapping.line_item(unlinked)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
costs = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9999.9999"), places=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(st.integers(1, 500), amounts), min_size=1, max_size=8),
    status=st.sampled_from(list(LedgerDocumentStatus)),
    ours=st.booleans(),
)
def test_any_invoice_validates_and_sends_amounts_exactly(
    rows: list[tuple[int, Decimal]], status: LedgerDocumentStatus, ours: bool
) -> None:
    lines = tuple(line(quantity=str(q), unit=str(u)) for q, u in rows)
    data = invoice(CONTACT_ID, lines=lines, status=status, number="INV-7" if ours else None)
    body = mapping.sales_invoice(data)
    assert problems("Invoices", {"Invoices": [body]}) == []
    wire = json.loads(json.dumps(body))
    for sent, ours_line in zip(wire["LineItems"], lines, strict=True):
        assert Decimal(str(sent["UnitAmount"])) == ours_line.unit_amount
        assert Decimal(str(sent["LineAmount"])) == ours_line.line_amount


@settings(max_examples=60, deadline=None)
@given(cost=costs)
def test_four_place_unit_costs_travel_exactly(cost: Decimal) -> None:
    assert Decimal(repr(mapping.number(cost))) == cost


# -- bills ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(LedgerDocumentStatus))
def test_bill_is_a_valid_accpay_with_the_supplier_invoice_number(
    status: LedgerDocumentStatus,
) -> None:
    body = mapping.purchase_bill(bill(CONTACT_ID, status=status))
    assert problems("Invoices", {"Invoices": [body]}) == []
    assert body["Type"] == "ACCPAY" and body["InvoiceNumber"] == "SUP-RCPT-1"
    assert body["Status"] == mapping.STATUS[status]
    # Invoice.Reference is "ACCREC only" in the spec; a bill's number is its reference.
    assert "Reference" not in body


def test_bill_without_supplier_invoice_number_uses_our_receipt_reference() -> None:
    body = mapping.purchase_bill(bill(CONTACT_ID, supplier_invoice_number=""))
    assert body["InvoiceNumber"] == "RCPT-1"


def test_bill_match_needs_supplier_number_and_amount() -> None:
    data = bill(CONTACT_ID)
    record = {
        "Type": "ACCPAY",
        "Status": "DRAFT",
        "Contact": {"ContactID": CONTACT_ID.upper()},
        "InvoiceNumber": "sup-rcpt-1",
        "SubTotal": 1625.0,
    }
    assert mapping.matches_bill(record, data)
    assert not mapping.matches_bill({**record, "SubTotal": 99.0}, data)
    assert not mapping.matches_bill({**record, "Status": "VOIDED"}, data)
    assert not mapping.matches_bill({**record, "Contact": {"ContactID": "other"}}, data)


# -- reads ------------------------------------------------------------------------------------


def test_accounts_are_offered_for_their_purposes_by_code() -> None:
    revenue = reads.ledger_account(
        {"AccountID": "a", "Code": "200", "Name": "Sales", "Type": "REVENUE", "Status": "ACTIVE"}
    )
    assert revenue is not None and revenue.id == "200" and revenue.label == "200 Sales"
    assert AccountPurpose.INCOME in revenue.purposes
    assert reads.ledger_account({"Code": "1", "Status": "ARCHIVED"}) is None
    assert reads.ledger_account({"AccountID": "b", "Name": "No code"}) is None


def test_tax_rate_id_is_the_tax_type() -> None:
    rate = reads.ledger_tax_rate(
        {"TaxType": "TAX001", "Name": "Sales Tax", "EffectiveRate": 8.25, "Status": "ACTIVE"}
    )
    assert rate is not None and (rate.id, rate.rate) == ("TAX001", Decimal("8.25"))


def test_payments_become_our_payment_records() -> None:
    records = [
        {
            "PaymentID": "p1",
            "Date": "/Date(1777852800000+0000)/",
            "Amount": 40.5,
            "PaymentType": "ACCRECPAYMENT",
            "Status": "AUTHORISED",
            "Reference": "EFT 88",
            "Invoice": {"InvoiceID": "i1", "Type": "ACCREC", "CurrencyCode": "USD"},
        },
        {
            "PaymentID": "p2",
            "Date": "2026-05-04T00:00:00",
            "Amount": 10,
            "PaymentType": "ACCPAYPAYMENT",
            "Invoice": {"InvoiceID": "i2"},
        },
        {
            "PaymentID": "p3",
            "Date": "2026-05-04",
            "Amount": 10,
            "Status": "DELETED",
            "Invoice": {"InvoiceID": "i1"},
        },
    ]
    [payment, deleted] = reads.payments(records)
    assert payment.ledger_payment_id == "p1" and payment.invoice_ledger_id == "i1"
    assert payment.amount == Decimal("40.50") and payment.paid_on == date(2026, 5, 4)
    assert payment.currency == "USD" and payment.reference == "EFT 88"
    # A deleted one comes back at zero: imported before, it no longer counts.
    assert (deleted.ledger_payment_id, deleted.amount) == ("p3", Decimal("0.00"))


def test_overpayments_pay_their_invoices_and_a_voided_one_pays_nothing() -> None:
    record = {
        "OverpaymentID": "o1",
        "Type": "RECEIVE-OVERPAYMENT",
        "Status": "AUTHORISED",
        "Date": "/Date(1777852800000+0000)/",
        "CurrencyCode": "USD",
        "RemainingCredit": 20.0,
        "Allocations": [{"Amount": 100.0, "Invoice": {"InvoiceID": "i1"}}],
    }
    paid = reads.overpayments(
        [record, {**record, "OverpaymentID": "o2", "Type": "SPEND-OVERPAYMENT"}]
    )
    assert [(p.ledger_payment_id, p.invoice_ledger_id, p.amount, p.overpayment) for p in paid] == [
        ("o1:i1", "i1", Decimal("100.00"), False),
        ("o1:remaining", "i1", Decimal("20.00"), True),
    ]
    voided = reads.overpayments([{**record, "Status": "VOIDED"}])
    assert [p.amount for p in voided] == [Decimal("0.00"), Decimal("0.00")]
