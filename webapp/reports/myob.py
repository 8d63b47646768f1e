"""MYOB AccountRight import layouts: Item Sales and Item Purchases records.

MYOB AccountRight files follow its import layouts for *Item Sales* and *Item Purchases*
(File > Import Data > Sales / Purchases > Item), as documented by MYOB:

- "Import and export fields" (AccountRight 2015 and later),
  https://help.myob.com/wiki/x/8YFk — tab-delimited or comma-separated text, a header
  record, the fields of the Sales - Item and Purchases - Item tables;
- the AccountRight v19 field tables, https://help.myob.com.au/prem19/win/impexptables.htm
  (Sale Status / Purchase Status: "O" order, "Q" quote, anything else an invoice / a bill;
  Delivery Status "A" already printed or sent; amounts without currency formatting);
- MYOB's import/export file description: records of one transaction are consecutive lines
  and a blank line separates transactions, https://123dok.com/document/qv8pn9rz-fields-in-importexport-files.html
- field names and their order as MYOB writes them in its own export headers (continuation
  fields such as "           - Line 2" keep MYOB's leading spaces, so the Import Data
  assistant's *auto-match* pairs every column).

The files are tab-delimited with a header record, CRLF line ends, dates day/month/year by
default (MYOB follows the computer's regional date format: MYOB_DATE_FORMAT changes it),
and amounts ex tax ("Inclusive" blank). Cards are matched by name (Co./Last Name): Card ID
stays blank, because a Card ID that MYOB does not know fails the whole transaction.
"""

from __future__ import annotations

from flask import current_app

from webapp.purchasing.models import PurchaseOrder, Receipt
from webapp.reports.files import money, myob_date, unit_amount
from webapp.sales.models import DocumentKind, SalesDocument
from webapp.sales.operations import default_tax_code

_ADDRESS = ["Addr 1 - Line 1", "           - Line 2", "           - Line 3", "           - Line 4"]
_TERMS = [
    "Terms - Payment is Due",
    "           - Discount Days",
    "           - Balance Due Days",
    "           - % Discount",
]

MYOB_ITEM_SALES_FIELDS = [
    "Co./Last Name",
    "First Name",
    *_ADDRESS,
    "Inclusive",
    "Invoice No.",
    "Date",
    "Customer PO",
    "Ship Via",
    "Delivery Status",
    "Item Number",
    "Quantity",
    "Description",
    "Ex-Tax Price",
    "Inc-Tax Price",
    "Discount",
    "Ex-Tax Total",
    "Inc-Tax Total",
    "Job",
    "Comment",
    "Journal Memo",
    "Salesperson Last Name",
    "Salesperson First Name",
    "Shipping Date",
    "Referral Source",
    "Tax Code",
    "Non-GST Amount",
    "GST Amount",
    "LCT Amount",
    "Freight Ex-Tax Amount",
    "Freight Inc-Tax Amount",
    "Freight Tax Code",
    "Freight Non-GST Amount",
    "Freight GST Amount",
    "Freight LCT Amount",
    "Sale Status",
    "Currency Code",
    "Exchange Rate",
    *_TERMS,
    "           - % Monthly Charge",
    "Amount Paid",
    "Payment Method",
    "Payment Notes",
    "Name on Card",
    "Card Number",
    "Expiry Date",
    "Authorisation Code",
    "BSB",
    "Account Number",
    "Drawer/Account Name",
    "Cheque Number",
    "Category",
    "Location ID",
    "Card ID",
    "Record ID",
]

MYOB_ITEM_PURCHASES_FIELDS = [
    "Co./Last Name",
    "First Name",
    *_ADDRESS,
    "Inclusive",
    "Purchase No.",
    "Date",
    "Supplier Invoice No.",
    "Ship Via",
    "Delivery Status",
    "Item Number",
    "Quantity",
    "Description",
    "Ex-Tax Price",
    "Inc-Tax Price",
    "Discount",
    "Ex-Tax Total",
    "Inc-Tax Total",
    "Job",
    "Comment",
    "Journal Memo",
    "Shipping Date",
    "Tax Code",
    "Non-GST Amount",
    "GST Amount",
    "Import Duty Amount",
    "Freight Ex-Tax Amount",
    "Freight Inc-Tax Amount",
    "Freight Tax Code",
    "Freight Non-GST Amount",
    "Freight GST Amount",
    "Freight Import Duty Amount",
    "Purchase Status",
    "Currency Code",
    "Exchange Rate",
    *_TERMS,
    "Amount Paid",
    "Category",
    "Location ID",
    "Card ID",
    "Record ID",
]

# MYOB Terms "Payment is Due" code 2: "In a Given No. of Days" (with Balance Due Days).
MYOB_TERMS_IN_DAYS = "2"


# --- MYOB layouts ---------------------------------------------------------------------------


def _address_lines(*parts: str) -> dict[str, str]:
    lines = [part for part in parts if part and part.strip()][:4]
    lines += [""] * (4 - len(lines))
    return dict(zip(_ADDRESS, lines, strict=True))


def myob_sale_lines(document: SalesDocument) -> list[dict[str, object]]:
    """Item Sales records of one sales document (a sales order "O", or an invoice "I")."""
    default_code = default_tax_code()
    freight_code = default_code.code if default_code and document.shipping_tax else ""
    header = {
        "Co./Last Name": document.organization.name,
        **_address_lines(
            document.ship_to_name,
            document.address_line1,
            document.address_line2,
            " ".join(p for p in (document.city, document.region, document.postcode) if p),
        ),
        "Invoice No.": document.number,
        "Date": myob_date(document.created_at),
        "Customer PO": document.customer_po,
        "Ship Via": document.shipping_method_name,
        "Delivery Status": "A",  # we emailed it already
        "Comment": document.note,
        "Journal Memo": f"{document.title} {document.number}; {document.organization.name}",
        "Freight Ex-Tax Amount": money(document.shipping_charge),
        "Freight Inc-Tax Amount": money(document.shipping_charge + document.shipping_tax),
        "Freight Tax Code": freight_code,
        "Freight GST Amount": money(document.shipping_tax),
        "Sale Status": "O" if document.kind is DocumentKind.SALES_ORDER else "I",
        "Currency Code": document.currency,
        "Amount Paid": money(document.amount_paid),
    }
    records = [
        header
        | {
            "Item Number": line.sku,
            "Quantity": line.quantity,
            "Description": line.description,
            "Ex-Tax Price": unit_amount(line.unit_price),
            "Ex-Tax Total": money(line.line_subtotal),
            "Inc-Tax Total": money(line.line_total),
            "Tax Code": line.tax_code,
            "GST Amount": money(line.line_tax),
        }
        for line in document.lines
    ]
    if document.surcharge_amount:
        # MYOB has no surcharge field: the card surcharge is a line of its own item.
        records.append(
            header
            | {
                "Item Number": current_app.config.get("MYOB_SURCHARGE_ITEM", "SURCHARGE"),
                "Quantity": 1,
                "Description": f"Card payment surcharge ({document.surcharge_pct.normalize():f}%)",
                "Ex-Tax Price": money(document.surcharge_amount),
                "Ex-Tax Total": money(document.surcharge_amount),
                "Inc-Tax Total": money(document.surcharge_amount + document.surcharge_tax),
                "Tax Code": default_code.code if default_code else "",
                "GST Amount": money(document.surcharge_tax),
            }
        )
    return records


def myob_purchase_order_lines(order: PurchaseOrder) -> list[dict[str, object]]:
    """Item Purchases records of one issued purchase order (Purchase Status "O").

    Tax Code and GST are left blank: our purchase orders carry no tax, and MYOB then applies
    each item's own purchase tax code.
    """
    header = {
        "Co./Last Name": order.supplier.name,
        "Purchase No.": order.number,
        "Date": myob_date(order.issued_at or order.created_at),
        "Delivery Status": "A",
        "Journal Memo": f"Purchase order {order.number}; {order.supplier.name}",
        "Comment": order.note,
        "Freight Ex-Tax Amount": money(order.freight),
        "Freight Inc-Tax Amount": money(order.freight),
        "Purchase Status": "O",
        "Currency Code": order.currency,
    }
    return [
        header
        | {
            "Item Number": line.product.mpn,
            "Quantity": line.quantity,
            "Description": line.description,
            "Ex-Tax Price": unit_amount(line.unit_cost),
            "Ex-Tax Total": money(line.line_total),
            "Inc-Tax Total": money(line.line_total),
        }
        for line in order.lines
    ]


def bill_number(receipt: Receipt) -> str:
    """The PO number for its first bill; PO-000012-2, -3... for later partial receipts."""
    ids = [r.id for r in receipt.purchase_order.receipts]
    position = ids.index(receipt.id) + 1 if receipt.id in ids else 1
    number = receipt.purchase_order.number
    return number if position == 1 else f"{number}-{position}"


def myob_bill_lines(receipt: Receipt) -> list[dict[str, object]]:
    """Item Purchases records of one receipt: a bill at the actual invoiced unit costs."""
    header = {
        "Co./Last Name": receipt.supplier.name,
        "Purchase No.": bill_number(receipt),
        "Date": myob_date(receipt.invoice_date),
        "Supplier Invoice No.": receipt.supplier_invoice_number,
        "Delivery Status": "A",
        "Journal Memo": (
            f"Bill {receipt.supplier_invoice_number} for {receipt.purchase_order.number}; "
            f"{receipt.supplier.name}"
        ),
        "Comment": receipt.note,
        "Freight Ex-Tax Amount": money(receipt.freight),
        "Freight Inc-Tax Amount": money(receipt.freight),
        "Purchase Status": "B",  # anything but O or Q is a bill
        "Currency Code": receipt.currency,
        _TERMS[0]: MYOB_TERMS_IN_DAYS,
        _TERMS[2]: (receipt.due_date - receipt.invoice_date).days,
    }
    return [
        header
        | {
            "Item Number": line.purchase_order_line.product.mpn,
            "Quantity": line.quantity,
            "Description": line.purchase_order_line.description,
            "Ex-Tax Price": unit_amount(line.unit_cost),
            "Ex-Tax Total": money(line.line_total),
            "Inc-Tax Total": money(line.line_total),
        }
        for line in receipt.lines
    ]
