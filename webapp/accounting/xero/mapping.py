"""Pure functions between our plain data (webapp.accounting.interfaces) and Xero JSON.

Field names and limits are those of ``#/components/schemas`` in Xero's OpenAPI document
(shared/specs/xero/xero_accounting.yaml, v16.1.0); the tests validate every payload built here
against that document.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from webapp.accounting.interfaces import (
    Address,
    BillData,
    CustomerData,
    DocumentLine,
    InvoiceData,
    ItemData,
    LedgerDocumentStatus,
    SupplierData,
)

# Schema limits (Contact.Name 255, ContactNumber/AccountNumber 50, Item.Code 30, Item.Name 50,
# LineItem description 4000 per Xero's docs; EmailAddress 255).
NAME_MAX = 255
CONTACT_NUMBER_MAX = 50
ACCOUNT_NUMBER_MAX = 50
ITEM_CODE_MAX = 30
ITEM_NAME_MAX = 50
DESCRIPTION_MAX = 4000

STATUS = {
    LedgerDocumentStatus.DRAFT: "DRAFT",
    LedgerDocumentStatus.SUBMITTED: "SUBMITTED",
    LedgerDocumentStatus.AUTHORIZED: "AUTHORISED",
}

_NET_DAYS = re.compile(r"(?:net\s*)?(\d{1,3})(?:\s*days?)?", re.IGNORECASE)


def number(value: Decimal) -> float:
    """Return a JSON number for an exact decimal amount.

    json cannot write Decimal; a float prints with the shortest repr that reads back the
    same, so a 2- or 4-place amount goes over the wire exactly as written.
    """
    return float(value)


def _clip(text: str, limit: int) -> str:
    return (text or "").strip()[:limit]


# --------------------------------------------------------------------------------------------
# Contacts (customers and suppliers)
# --------------------------------------------------------------------------------------------


def payment_terms(terms: str) -> dict[str, Any] | None:
    """Return Xero PaymentTerms.Sales for "Net 30" style terms, or None when unreadable.

    The BMS sync map (seed 004) sends Net Days as the customer's terms; Xero keeps them as
    "days after the invoice date" (schema PaymentTermType DAYSAFTERBILLDATE).
    """
    text = (terms or "").strip()
    if not text:
        return None
    if text.lower() in ("due on receipt", "cod", "c.o.d."):
        days = 0
    else:
        match = _NET_DAYS.fullmatch(text)
        if match is None:
            return None
        days = int(match.group(1))
    return {"Sales": {"Day": days, "Type": "DAYSAFTERBILLDATE"}}


def due_date(issued: date, terms: Mapping[str, Any] | None) -> date:
    """Return the due date Xero's PaymentTerm (Day + PaymentTermType) gives an invoice.

    DAYSAFTERBILLDATE: Day days after the date; DAYSAFTERBILLMONTH: Day days after the end of
    its month; OFCURRENTMONTH / OFFOLLOWINGMONTH: that day of this / next month (clamped to the
    month's length, never before the invoice date). No terms: due on the invoice date.
    """
    terms = terms or {}
    day = int(terms.get("Day") or 0)
    kind = terms.get("Type")

    def of_month(year: int, month: int) -> date:
        return date(year, month, min(max(day, 1), calendar.monthrange(year, month)[1]))

    if kind == "DAYSAFTERBILLDATE":
        return issued + timedelta(days=day)
    month_end = of_month(issued.year, issued.month).replace(
        day=calendar.monthrange(issued.year, issued.month)[1]
    )
    if kind == "DAYSAFTERBILLMONTH":
        return month_end + timedelta(days=day)
    if kind == "OFCURRENTMONTH":
        return max(issued, of_month(issued.year, issued.month))
    if kind == "OFFOLLOWINGMONTH":
        following = month_end + timedelta(days=1)
        return of_month(following.year, following.month)
    return issued


def address(data: Address, address_type: str) -> dict[str, Any]:
    """Return a Xero Address (POBOX = postal/billing, STREET = delivery)."""
    out: dict[str, Any] = {"AddressType": address_type}
    for key, value in (
        ("AddressLine1", data.line1),
        ("AddressLine2", data.line2),
        ("City", data.city),
        ("Region", data.region),
        ("PostalCode", data.postcode),
        ("Country", data.country),
    ):
        if value:
            out[key] = value.strip()
    return out


def _phones(phone: str, fax: str) -> list[dict[str, Any]]:
    phones = []
    if phone:
        phones.append({"PhoneType": "DEFAULT", "PhoneNumber": phone.strip()})
    if fax:
        phones.append({"PhoneType": "FAX", "PhoneNumber": fax.strip()})
    return phones


def customer_contact(
    customer: CustomerData, *, exempt_tax_type: str = "NONE", contact_id: str = ""
) -> dict[str, Any]:
    """Return the Xero Contact for a client organization, following the BMS sync map.

    Seed 004 field -> Xero: Account Name -> Name; Account Code -> AccountNumber; Net Days ->
    PaymentTerms.Sales; Taxable (no) -> AccountsReceivableTaxType = the exempt rate; Billing
    Address -> POBOX address; Shipping Address -> STREET address; Phone -> DEFAULT phone;
    Fax -> FAX phone; Email -> EmailAddress. Our id goes in ContactNumber, the field Xero keeps
    for external systems. Xero's Contact cannot hold a credit limit or notes, and Website is
    read-only in the API (schema Contact.Website readOnly), so those three stay with us.
    """
    contact: dict[str, Any] = {
        "Name": _clip(customer.display_name, NAME_MAX),
        "ContactNumber": _clip(customer.reference, CONTACT_NUMBER_MAX),
    }
    if contact_id:
        contact["ContactID"] = contact_id
    if customer.account_number:
        contact["AccountNumber"] = _clip(customer.account_number, ACCOUNT_NUMBER_MAX)
    if customer.email:
        contact["EmailAddress"] = customer.email.strip()
    if customer.currency:
        contact["DefaultCurrency"] = customer.currency
    if not customer.taxable and exempt_tax_type:
        contact["AccountsReceivableTaxType"] = exempt_tax_type
    terms = payment_terms(customer.terms)
    if terms:
        contact["PaymentTerms"] = terms
    addresses = [
        address(a, kind)
        for a, kind in (
            (customer.billing_address, "POBOX"),
            (customer.shipping_address, "STREET"),
        )
        if not a.is_empty
    ]
    if addresses:
        contact["Addresses"] = addresses
    phones = _phones(customer.phone, customer.fax)
    if phones:
        contact["Phones"] = phones
    return contact


def supplier_contact(supplier: SupplierData, *, contact_id: str = "") -> dict[str, Any]:
    """Return the Xero Contact for a supplier.

    Xero has no separate vendor entity: IsSupplier is derived (read from the bills posted
    to the contact, API-NOTES 2.3), so the contact becomes a supplier with its first bill.
    """
    contact: dict[str, Any] = {
        "Name": _clip(supplier.display_name, NAME_MAX),
        "ContactNumber": _clip(supplier.reference, CONTACT_NUMBER_MAX),
    }
    if contact_id:
        contact["ContactID"] = contact_id
    if supplier.account_number:
        contact["AccountNumber"] = _clip(supplier.account_number, ACCOUNT_NUMBER_MAX)
    if supplier.email:
        contact["EmailAddress"] = supplier.email.strip()
    if supplier.currency:
        contact["DefaultCurrency"] = supplier.currency
    if not supplier.address.is_empty:
        contact["Addresses"] = [address(supplier.address, "POBOX")]
    phones = _phones(supplier.phone, "")
    if phones:
        contact["Phones"] = phones
    return contact


def contact_matches(
    record: Mapping[str, Any], *, reference: str, name: str, account_number: str = ""
) -> bool:
    """Return whether a Xero contact is ours: same ContactNumber, name or account number.

    Names compare case-insensitively, as Xero's own uniqueness rule does.
    """
    if record.get("ContactStatus") == "ARCHIVED":
        return False
    if reference and record.get("ContactNumber") == reference[:CONTACT_NUMBER_MAX]:
        return True
    if name and str(record.get("Name", "")).casefold() == name.strip()[:NAME_MAX].casefold():
        return True
    return bool(account_number) and record.get("AccountNumber") == account_number


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


def item_code(code: str) -> str:
    """Return the Xero Item Code for our SKU (<= 30 characters, stable for a given SKU).

    A longer SKU keeps its first 21 characters and gains a hash of the whole, so two long
    SKUs that share a prefix still get different codes.
    """
    code = (code or "").strip()
    if len(code) <= ITEM_CODE_MAX:
        return code
    digest = hashlib.sha256(code.encode()).hexdigest()[:8]
    return f"{code[:21]}~{digest}"


def item(data: ItemData, *, tax_type: str = "") -> dict[str, Any]:
    """Return the Xero Item (not tracked as inventory: stock lives with us)."""
    out: dict[str, Any] = {
        "Code": item_code(data.code or data.reference),
        "Name": _clip(data.name, ITEM_NAME_MAX),
    }
    if data.description:
        out["Description"] = _clip(data.description, DESCRIPTION_MAX)
        if data.purchased:
            out["PurchaseDescription"] = out["Description"]
    if data.sold:
        sales: dict[str, Any] = {}
        if data.unit_price is not None:
            sales["UnitPrice"] = number(data.unit_price)
        if data.income_account_id:
            sales["AccountCode"] = data.income_account_id
        if tax_type:
            sales["TaxType"] = tax_type
        out["SalesDetails"] = sales
    if data.purchased:
        purchase: dict[str, Any] = {}
        if data.unit_cost is not None:
            purchase["UnitPrice"] = number(data.unit_cost)
        if data.expense_account_id:
            purchase["AccountCode"] = data.expense_account_id
        out["PurchaseDetails"] = purchase
    return out


# --------------------------------------------------------------------------------------------
# Invoices and bills
# --------------------------------------------------------------------------------------------


def line_item(line: DocumentLine) -> dict[str, Any]:
    """Return a Xero LineItem; amounts are tax-exclusive (LineAmountTypes Exclusive)."""
    out: dict[str, Any] = {
        "Description": _clip(line.description, DESCRIPTION_MAX) or "-",
        "Quantity": number(line.quantity),
        "UnitAmount": number(line.unit_amount),
        "LineAmount": number(line.line_amount),
    }
    if line.item_ledger_id and line.item_code:
        out["ItemCode"] = item_code(line.item_code)
    if line.account_id:
        out["AccountCode"] = line.account_id
    if line.tax_rate_id:
        out["TaxType"] = line.tax_rate_id
        # Xero computes tax per line; sending ours keeps the ledger's totals equal to the
        # document's (LineItem.TaxAmount "can be overridden if the calculated TaxAmount is
        # not correct", xero_accounting.yaml).
        out["TaxAmount"] = number(line.tax_amount)
    return out


def sales_invoice(invoice: InvoiceData) -> dict[str, Any]:
    """Return the ACCREC Invoice for a customer invoice.

    Reference always carries our document number (the look-up key, whoever numbers the
    invoice); InvoiceNumber is ours only when the admin chose our numbering, otherwise Xero
    numbers it from the organisation's invoice settings.
    """
    reference = invoice.reference
    if invoice.customer_po:
        reference = f"{reference} / PO {invoice.customer_po}"
    out: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": invoice.customer_ledger_id},
        "Date": invoice.issue_date.isoformat(),
        "LineAmountTypes": "Exclusive",
        "Reference": reference[:255],
        "Status": STATUS[invoice.status],
        "LineItems": [line_item(line) for line in invoice.lines],
    }
    if invoice.number:
        out["InvoiceNumber"] = invoice.number
    if invoice.due_date:
        out["DueDate"] = invoice.due_date.isoformat()
    if invoice.currency:
        out["CurrencyCode"] = invoice.currency
    return out


def bill_number(bill: BillData) -> str:
    """Return the bill's InvoiceNumber: the supplier's invoice number, else our reference."""
    return (bill.supplier_invoice_number or bill.reference).strip()[:255]


def purchase_bill(bill: BillData) -> dict[str, Any]:
    """Return the ACCPAY Invoice (bill) for a receipt.

    The supplier's invoice number goes in InvoiceNumber, which Xero shows as the bill's
    Reference; Invoice.Reference itself is "ACCREC only" (schema Invoice.Reference).
    """
    out: dict[str, Any] = {
        "Type": "ACCPAY",
        "Contact": {"ContactID": bill.supplier_ledger_id},
        "InvoiceNumber": bill_number(bill),
        "Date": bill.issue_date.isoformat(),
        "LineAmountTypes": "Exclusive",
        "Status": STATUS[bill.status],
        "LineItems": [line_item(line) for line in bill.lines],
    }
    if bill.due_date:
        out["DueDate"] = bill.due_date.isoformat()
    if bill.currency:
        out["CurrencyCode"] = bill.currency
    return out


# Copied from the invoice onto the credit note that reverses it (LineItem members).
_CREDIT_LINE_FIELDS = (
    "Description",
    "Quantity",
    "UnitAmount",
    "ItemCode",
    "AccountCode",
    "TaxType",
    "TaxAmount",
    "LineAmount",
    "DiscountRate",
    "Tracking",
)


def credit_note_reference(reference: str) -> str:
    """Return the Reference of the credit note that cancels our document (its look-up key)."""
    return f"{reference} cancelled"[:255]


def cancelling_credit_note(invoice: Mapping[str, Any], reference: str, on: date) -> dict:
    """Return the ACCRECCREDIT credit note reversing ``invoice`` line for line.

    The lines are the ledger's own (not rebuilt from our document), so the credit equals the
    invoice to the cent whatever changed on our side since it was pushed.
    """
    lines = [
        {k: line[k] for k in _CREDIT_LINE_FIELDS if line.get(k) not in (None, [], "")}
        for line in invoice.get("LineItems") or []
    ]
    out: dict[str, Any] = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": (invoice.get("Contact") or {}).get("ContactID")},
        "Date": on.isoformat(),
        "LineAmountTypes": invoice.get("LineAmountTypes") or "Exclusive",
        "Reference": credit_note_reference(reference),
        "Status": "AUTHORISED",
        "LineItems": lines,
    }
    if invoice.get("CurrencyCode"):
        out["CurrencyCode"] = invoice["CurrencyCode"]
    return out


def invoice_reference(record: Mapping[str, Any]) -> str:
    """Return our document number from an ACCREC invoice's Reference ("INV-1 / PO 7")."""
    return str(record.get("Reference") or "").split(" / PO ", 1)[0].strip()


def is_live(record: Mapping[str, Any]) -> bool:
    """Return whether a Xero invoice still counts (not deleted or voided)."""
    return record.get("Status") not in ("DELETED", "VOIDED")


def matches_invoice(record: Mapping[str, Any], invoice: InvoiceData) -> bool:
    """Return whether a Xero invoice is the one a previous try created for ``invoice``."""
    return (
        record.get("Type") == "ACCREC"
        and is_live(record)
        and invoice_reference(record) == invoice.reference
    )


def matches_bill(record: Mapping[str, Any], bill: BillData) -> bool:
    """Return whether a Xero bill is the one a previous try created for ``bill``.

    Same supplier, number and tax-exclusive subtotal: a supplier may reuse an invoice number
    across two receipts, so the amount separates them. The subtotal (not the total) is
    compared because Xero may add tax from the account's default rate.
    """
    contact = (record.get("Contact") or {}).get("ContactID", "")
    sub_total = record.get("SubTotal")
    ours = sum((line.line_amount for line in bill.lines), Decimal(0))
    tolerance = Decimal("0.01") * max(1, len(bill.lines))
    same_amount = sub_total is None or abs(Decimal(str(sub_total)) - ours) <= tolerance
    return (
        record.get("Type") == "ACCPAY"
        and is_live(record)
        and str(contact).lower() == bill.supplier_ledger_id.lower()
        and str(record.get("InvoiceNumber", "")).casefold() == bill_number(bill).casefold()
        and same_amount
    )
