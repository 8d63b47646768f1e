"""Export files: every report as CSV, and MYOB AccountRight import files for month end.

CSV files are RFC 4180 (comma, double quotes, CRLF), UTF-8, one header row, amounts as
plain numbers with two decimals (no currency symbol or thousands separator) and dates as
YYYY-MM-DD, so spreadsheets and other ERPs read them without a mapping step. A text cell
that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed with an apostrophe,
in every column of every file, by `webapp.csvsafe` (numbers are written as numbers).

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

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app

from webapp.auth.models import Role
from webapp.csvsafe import Figure, safe_cell
from webapp.money import round_money
from webapp.purchasing.models import PurchaseOrder, Receipt
from webapp.reports import export_sources, payable_figures, profit, purchase_figures, sales_figures
from webapp.reports.forms import DateRange, Grain, parse_choice, parse_grain
from webapp.sales.models import DocumentKind, SalesDocument
from webapp.sales.operations import default_tax_code

SALES_ROLES = (Role.ADMIN, Role.SALES)
PURCHASING_ROLES = (Role.ADMIN, Role.PURCHASING)
BACKORDER_ROLES = (Role.ADMIN, Role.SALES, Role.PURCHASING)

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


# --- cell formatting ------------------------------------------------------------------------


def money(amount: Decimal | None) -> str:
    """Two decimals, no symbol, no thousands separator, leading minus (what importers read)."""
    if amount is None:
        return ""
    return Figure(f"{round_money(Decimal(amount)):.2f}")


def unit_amount(amount: Decimal | None) -> str:
    """A unit price or cost: two decimals, or up to four when the cost has them (12.3456)."""
    if amount is None:
        return ""
    value = Decimal(amount).quantize(Decimal("0.0001"))
    if value == value.quantize(Decimal("0.01")):
        return Figure(f"{value:.2f}")
    return Figure(f"{value.normalize():f}")


def percent(value: Decimal | None) -> str:
    """A percentage as computed (22.5, -3.1): a number, so a negative margin is not text."""
    return "" if value is None else Figure(f"{value}")


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return safe_cell(value if isinstance(value, str) else str(value))


def myob_text(value: object) -> str:
    """A field of a tab-delimited MYOB record: no tabs or line breaks inside it, and text
    guarded like a CSV cell (people open these files in spreadsheets too)."""
    if value is None:
        return ""
    if isinstance(value, Figure | int):
        return str(value)
    return safe_cell(" ".join(str(value).replace("\t", " ").splitlines()).strip())


def myob_date(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date()
    return day.strftime(current_app.config.get("MYOB_DATE_FORMAT", "%d/%m/%Y"))


# --- the file and its writer ----------------------------------------------------------------


@dataclass
class ExportFile:
    """An export ready to write: a header, then one rendered chunk per record."""

    filename: str
    content_type: str
    header: str
    records: Sequence[Any]
    render: Callable[[Any], str]

    def chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[str]:
        yield self.header
        for record in self.records:
            yield self.render(record)
            if progress is not None:
                progress(1)

    def text(self) -> str:
        return "".join(self.chunks())

    def data(self) -> bytes:
        return self.text().encode("utf-8")


def _csv_line(cells: Sequence[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(cell) for cell in cells])
    return buffer.getvalue()


def csv_file(filename: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> ExportFile:
    return ExportFile(filename, "text/csv; charset=utf-8", _csv_line(columns), rows, _csv_line)


def _myob_record(fields: Sequence[str], values: Mapping[str, object]) -> str:
    unknown = set(values) - set(fields)
    if unknown:  # a misspelt field would silently vanish from the file
        raise KeyError(f"not MYOB fields: {sorted(unknown)}")
    return "\t".join(myob_text(values.get(name, "")) for name in fields) + "\r\n"


def myob_file(
    filename: str,
    fields: Sequence[str],
    transactions: Sequence[Any],
    lines_of: Callable[[Any], list[dict[str, object]]],
) -> ExportFile:
    """One record per line of a transaction; a blank line closes each transaction."""

    def render(transaction: Any) -> str:
        return "".join(_myob_record(fields, values) for values in lines_of(transaction)) + "\r\n"

    return ExportFile(
        filename,
        "text/tab-separated-values; charset=utf-8",
        "\t".join(fields) + "\r\n",
        transactions,
        render,
    )


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


# --- the export kinds -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportKind:
    key: str
    title: str
    roles: tuple[Role, ...]
    build: Callable[[DateRange, Mapping[str, str]], ExportFile]
    description: str = ""
    options: tuple[str, ...] = field(default=())

    def allowed(self, role: Role) -> bool:
        return role is Role.ADMIN or role in self.roles


def _name(stem: str, date_range: DateRange, ext: str) -> str:
    return f"{stem}-{date_range.slug}.{ext}"


def _gross_profit(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    rows = profit.gross_profit_by_document(date_range)
    return csv_file(
        _name("gross-profit", date_range, "csv"),
        [
            "Document",
            "Date",
            "Organization",
            "Currency",
            "Revenue ex tax",
            "Receipted cost",
            "Gross profit",
            "Margin %",
            "Fully receipted",
            "Units awaiting supplier invoice",
            "Units not yet purchased",
        ],
        [
            [
                r.number,
                r.created_at,
                r.organization,
                r.currency,
                r.revenue,
                r.cost,
                r.gross_profit,
                percent(r.margin_pct),
                r.complete,
                r.awaiting_units,
                r.unplanned_units,
            ]
            for r in rows
        ],
    )


def _gross_profit_periods(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    grain = parse_grain(options, date_range)
    rows = profit.gross_profit_by_period(date_range, grain, current_app.config["CURRENCY"])
    return csv_file(
        _name(f"gross-profit-by-{grain.value}", date_range, "csv"),
        [
            "Period start",
            "Period",
            "Currency",
            "Documents",
            "Revenue ex tax",
            "Receipted cost",
            "Gross profit",
            "Margin %",
            "Units awaiting supplier invoice",
            "Units not yet purchased",
        ],
        [
            [
                r.start,
                r.label,
                r.currency,
                r.documents,
                r.revenue,
                r.cost,
                r.gross_profit,
                percent(r.margin_pct),
                r.awaiting_units,
                r.unplanned_units,
            ]
            for r in rows
        ],
    )


def _sales_summary(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    by = parse_choice(
        "by",
        options.get("by"),
        sales_figures.SalesDimension,
        sales_figures.SalesDimension.ORGANIZATION,
    )
    grain = parse_grain(options, date_range)
    rows = sales_figures.sales_summary(date_range, by, grain)
    stem = f"sales-by-{by.value.replace('_', '-')}"
    if by is sales_figures.SalesDimension.DATE:
        stem += f"-{grain.value}"
    return csv_file(
        _name(stem, date_range, "csv"),
        [by.label, "Currency", "Documents", "Subtotal ex tax", "Tax", "Total"],
        [[r.label, r.currency, r.documents, r.subtotal, r.tax, r.total] for r in rows],
    )


def _purchases(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    by = parse_choice(
        "by",
        options.get("by"),
        purchase_figures.PurchaseDimension,
        purchase_figures.PurchaseDimension.SUPPLIER,
    )
    grain = parse_grain(options, date_range)
    rows = purchase_figures.purchases_summary(date_range, by, grain)
    stem = f"purchases-by-{by.value}" + (f"-{grain.value}" if by.value == "date" else "")
    return csv_file(
        _name(stem, date_range, "csv"),
        [
            by.label,
            "Currency",
            "Purchase orders issued",
            "Ordered value",
            "Bills receipted",
            "Billed goods",
            "Billed freight",
            "Billed total",
        ],
        [
            [
                r.label,
                r.currency,
                r.orders,
                r.ordered_value,
                r.bills,
                r.billed_goods,
                r.billed_freight,
                r.billed_total,
            ]
            for r in rows
        ],
    )


def _backorders(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    rows = purchase_figures.unfulfilled_lines(date_range)
    return csv_file(
        _name("unfulfilled-lines", date_range, "csv"),
        [
            "Document",
            "Date",
            "Organization",
            "SKU",
            "Description",
            "Quantity",
            "From stock",
            "Receipted",
            "On order",
            "Not yet ordered",
            "Expected",
        ],
        [
            [
                r.number,
                r.created_at,
                r.organization,
                r.sku,
                r.description,
                r.quantity,
                r.from_stock,
                r.received,
                r.on_order,
                r.not_ordered,
                r.expected,
            ]
            for r in rows
        ],
    )


def _outstanding_po_lines(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    today = datetime.now(UTC).date()
    rows = purchase_figures.outstanding_po_lines(date_range)
    return csv_file(
        _name("outstanding-po-lines", date_range, "csv"),
        [
            "Purchase order",
            "Status",
            "Supplier",
            "Ordered on",
            "Supplier SKU",
            "Description",
            "Ordered",
            "Received",
            "Outstanding",
            "Unit cost",
            "Currency",
            "Back order",
            "Expected",
            "Days late",
            "Sales document",
        ],
        [
            [
                r.po_number,
                r.status.label,
                r.supplier,
                r.ordered_on,
                r.sku,
                r.description,
                r.quantity,
                r.received,
                r.outstanding,
                unit_amount(r.unit_cost),
                r.currency,
                r.backorder,
                r.expected,
                r.days_late(today),
                r.sales_document_number,
            ]
            for r in rows
        ],
    )


def _accounts_payable(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    today = datetime.now(UTC).date()
    rows = payable_figures.payable_bills(date_range)
    return csv_file(
        _name("accounts-payable", date_range, "csv"),
        [
            "Supplier",
            "Supplier invoice",
            "Purchase order",
            "Invoice date",
            "Due date",
            "Currency",
            "Goods",
            "Freight",
            "Total",
            "Overdue",
            "Days overdue",
        ],
        [
            [
                r.supplier,
                r.supplier_invoice_number,
                r.po_number,
                r.invoice_date,
                r.due_date,
                r.currency,
                r.subtotal,
                r.freight,
                r.total,
                r.is_overdue(today),
                r.days_overdue(today),
            ]
            for r in rows
        ],
    )


def _myob_sales(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    return myob_file(
        _name("myob-item-sales", date_range, "txt"),
        MYOB_ITEM_SALES_FIELDS,
        export_sources.documents_for_export(date_range),
        myob_sale_lines,
    )


def _myob_purchase_orders(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    return myob_file(
        _name("myob-item-purchases-orders", date_range, "txt"),
        MYOB_ITEM_PURCHASES_FIELDS,
        export_sources.purchase_orders_for_export(date_range),
        myob_purchase_order_lines,
    )


def _myob_bills(date_range: DateRange, options: Mapping[str, str]) -> ExportFile:
    return myob_file(
        _name("myob-item-purchases-bills", date_range, "txt"),
        MYOB_ITEM_PURCHASES_FIELDS,
        export_sources.receipts_for_export(date_range),
        myob_bill_lines,
    )


EXPORTS: dict[str, ExportKind] = {
    kind.key: kind
    for kind in [
        ExportKind("gross-profit", "Gross profit per document (CSV)", SALES_ROLES, _gross_profit),
        ExportKind(
            "gross-profit-periods",
            "Gross profit per period (CSV)",
            SALES_ROLES,
            _gross_profit_periods,
            options=("grain",),
        ),
        ExportKind(
            "sales-summary",
            "Sales summary (CSV)",
            SALES_ROLES,
            _sales_summary,
            options=("by", "grain"),
        ),
        ExportKind(
            "purchases",
            "Purchases summary (CSV)",
            PURCHASING_ROLES,
            _purchases,
            options=("by", "grain"),
        ),
        ExportKind("backorders", "Unfulfilled sales lines (CSV)", BACKORDER_ROLES, _backorders),
        ExportKind(
            "po-outstanding",
            "Outstanding purchase order lines (CSV)",
            BACKORDER_ROLES,
            _outstanding_po_lines,
        ),
        ExportKind(
            "accounts-payable", "Accounts payable (CSV)", PURCHASING_ROLES, _accounts_payable
        ),
        ExportKind(
            "myob-sales",
            "MYOB Item Sales: sales orders and invoices",
            SALES_ROLES,
            _myob_sales,
            "Every sales order (Sale Status O) and tax invoice (I) dated in the period.",
        ),
        ExportKind(
            "myob-purchase-orders",
            "MYOB Item Purchases: purchase orders",
            PURCHASING_ROLES,
            _myob_purchase_orders,
            "Every purchase order issued in the period (Purchase Status O).",
        ),
        ExportKind(
            "myob-bills",
            "MYOB Item Purchases: bills from receipts",
            PURCHASING_ROLES,
            _myob_bills,
            "Every receipted supplier invoice dated in the period, at actual unit costs.",
        ),
    ]
}

MYOB_KINDS = [kind for key, kind in EXPORTS.items() if key.startswith("myob-")]


def build(key: str, date_range: DateRange, options: Mapping[str, str] | None = None) -> ExportFile:
    """Build export `key` for the range; raises KeyError for an unknown kind."""
    return EXPORTS[key].build(date_range, options or {})


__all__ = ["EXPORTS", "ExportFile", "ExportKind", "Grain", "build"]
