"""Export files: every report as CSV, and MYOB AccountRight import files for month end.

CSV files are RFC 4180 (comma, double quotes, CRLF), UTF-8, one header row, amounts as
plain numbers with two decimals (no currency symbol or thousands separator) and dates as
YYYY-MM-DD, so spreadsheets and other ERPs read them without a mapping step. A text cell
that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed with an apostrophe,
in every column of every file, by `webapp.csvsafe` (numbers are written as numbers).

The MYOB layouts are in `webapp.reports.myob`; cells and files in `webapp.reports.files`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app

from webapp.auth.models import Role
from webapp.reports import export_sources, payable_figures, profit, purchase_figures, sales_figures
from webapp.reports.files import ExportFile, csv_file, myob_file, percent, unit_amount
from webapp.reports.forms import DateRange, Grain, parse_choice, parse_grain
from webapp.reports.myob import (
    MYOB_ITEM_PURCHASES_FIELDS,
    MYOB_ITEM_SALES_FIELDS,
    myob_bill_lines,
    myob_purchase_order_lines,
    myob_sale_lines,
)

SALES_ROLES = (Role.ADMIN, Role.SALES)
PURCHASING_ROLES = (Role.ADMIN, Role.PURCHASING)
BACKORDER_ROLES = (Role.ADMIN, Role.SALES, Role.PURCHASING)


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
