"""Staff reports: each one a page whose table refreshes in place, with a CSV export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import wraps

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_login import current_user

from webapp import htmx_responses
from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.reports import charts, exports, payable_figures, profit, purchase_figures, sales_figures
from webapp.reports.forms import (
    DateRange,
    Grain,
    ReportInputError,
    parse_choice,
    parse_grain,
    parse_range,
)

bp = Blueprint(
    "reports_admin",
    __name__,
    url_prefix="/admin/reports",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@dataclass(frozen=True)
class ReportLink:
    endpoint: str
    title: str
    roles: tuple[Role, ...]
    description: str

    def allowed(self, role: Role) -> bool:
        return role is Role.ADMIN or role in self.roles


REPORTS = [
    ReportLink(
        "reports_admin.gross_profit",
        "Gross profit",
        exports.SALES_ROLES,
        "Per sales document and per day, week or month, from receipted supplier costs.",
    ),
    ReportLink(
        "reports_admin.sales",
        "Sales summary",
        exports.SALES_ROLES,
        "Sales by staff, organization, payment method or date.",
    ),
    ReportLink(
        "reports_admin.purchases",
        "Purchases summary",
        exports.PURCHASING_ROLES,
        "Purchase orders issued and supplier invoices receipted, by supplier or date.",
    ),
    ReportLink(
        "reports_admin.backorders",
        "Unfulfilled and back orders",
        exports.BACKORDER_ROLES,
        "Sales lines still waiting for goods, and purchase order lines still to arrive.",
    ),
    ReportLink(
        "reports_admin.payables",
        "Accounts payable",
        exports.PURCHASING_ROLES,
        "Receipted supplier invoices with due dates; overdue ones first in red.",
    ),
    ReportLink(
        "reports_admin.erp_exports",
        "MYOB and ERP exports",
        exports.BACKORDER_ROLES,
        "Sales orders, invoices, purchase orders and bills as MYOB AccountRight import files.",
    ),
]


def _today() -> date:
    return datetime.now(UTC).date()


def report_input(view: Callable) -> Callable:
    """Turn a filter the report cannot use into a 400 that says which and why."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except ReportInputError as error:
            abort(400, description=str(error))

    return wrapped


def _range(default: DateRange | None = None) -> DateRange:
    if default is not None and not request.args.get("from") and not request.args.get("to"):
        return default
    return parse_range(request.args, _today())


def _last_year() -> DateRange:
    today = _today()
    return DateRange(today - timedelta(days=365), today)


def quick_ranges(today: date) -> list[tuple[str, DateRange]]:
    """Month-end shortcuts: this month, last month, this quarter, year to date."""
    this_month = today.replace(day=1)
    last_month_end = this_month - timedelta(days=1)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return [
        ("This month", DateRange(this_month, today)),
        ("Last month", DateRange(last_month_end.replace(day=1), last_month_end)),
        ("This quarter", DateRange(quarter_start, today)),
        ("Year to date", DateRange(today.replace(month=1, day=1), today)),
        ("Last 12 months", DateRange(today - timedelta(days=365), today)),
    ]


def _quick_links() -> list[tuple[str, str]]:
    """The shortcuts as links to this report with the other filters kept."""
    args = request.args.to_dict()
    return [
        (
            label,
            url_for(
                request.endpoint,
                **{**args, "from": rng.start.isoformat(), "to": rng.end.isoformat()},
            ),
        )
        for label, rng in quick_ranges(_today())
    ]


def _page(template: str, **context) -> str:
    """Render a report page, or only its #report-body block for an HTMX refresh."""
    return htmx_responses.render(
        template,
        "body",
        quick_links=_quick_links(),
        # Link to purchase orders and receipts once their pages exist.
        endpoint_exists=lambda endpoint: endpoint in current_app.view_functions,
        today=_today(),
        currency=current_app.config["CURRENCY"],
        **context,
    )


def _export_url(kind: str, date_range: DateRange, **options: str) -> str:
    return url_for(
        ".export",
        kind=kind,
        **{"from": date_range.start.isoformat(), "to": date_range.end.isoformat()},
        **options,
    )


@bp.get("/")
@staff_required()
def index():
    role = current_user.role
    return htmx_responses.render(
        "reports_admin/index.html",
        reports=[report for report in REPORTS if report.allowed(role)],
    )


@bp.get("/gross-profit")
@staff_required(*exports.SALES_ROLES)
@report_input
def gross_profit():
    date_range = _range()
    grain = parse_grain(request.args, date_range)
    documents = profit.gross_profit_by_document(date_range)
    by_period = profit.gross_profit_by_period(date_range, grain, current_app.config["CURRENCY"])
    chart = charts.gross_profit_chart(by_period, current_app.config["CURRENCY"])
    return _page(
        "reports_admin/gross_profit.html",
        date_range=date_range,
        grain=grain,
        grains=list(Grain),
        documents=documents,
        by_period=by_period,
        total=profit.total_profit(documents),
        chart_spec=chart,
        export_documents=_export_url("gross-profit", date_range),
        export_periods=_export_url("gross-profit-periods", date_range, grain=grain.value),
    )


@bp.get("/sales")
@staff_required(*exports.SALES_ROLES)
@report_input
def sales():
    date_range = _range()
    by = parse_choice(
        "by",
        request.args.get("by"),
        sales_figures.SalesDimension,
        sales_figures.SalesDimension.ORGANIZATION,
    )
    grain = parse_grain(request.args, date_range)
    rows = sales_figures.sales_summary(date_range, by, grain)
    home = [row for row in rows if row.currency in ("", current_app.config["CURRENCY"])]
    chart = {
        "type": "line" if by is sales_figures.SalesDimension.DATE else "bar",
        "horizontal": by is not sales_figures.SalesDimension.DATE,
        "labels": [row.label for row in home],
        "datasets": [
            {"label": "Sales ex tax", "data": charts.amounts(row.subtotal for row in home)}
        ],
    }
    return _page(
        "reports_admin/sales.html",
        date_range=date_range,
        by=by,
        dimensions=list(sales_figures.SalesDimension),
        grain=grain,
        grains=list(Grain),
        rows=rows,
        total=sales_figures.total_sales(rows),
        chart_spec=chart,
        export_url=_export_url("sales-summary", date_range, by=by.value, grain=grain.value),
    )


@bp.get("/purchases")
@staff_required(*exports.PURCHASING_ROLES)
@report_input
def purchases():
    date_range = _range()
    by = parse_choice(
        "by",
        request.args.get("by"),
        purchase_figures.PurchaseDimension,
        purchase_figures.PurchaseDimension.SUPPLIER,
    )
    grain = parse_grain(request.args, date_range)
    rows = purchase_figures.purchases_summary(date_range, by, grain)
    home = [row for row in rows if row.currency in ("", current_app.config["CURRENCY"])]
    chart = {
        "type": "bar",
        "horizontal": by is purchase_figures.PurchaseDimension.SUPPLIER,
        "labels": [row.label for row in home],
        "datasets": [
            {"label": "Ordered", "data": charts.amounts(row.ordered_value for row in home)},
            {"label": "Billed", "data": charts.amounts(row.billed_total for row in home)},
        ],
    }
    return _page(
        "reports_admin/purchases.html",
        date_range=date_range,
        by=by,
        dimensions=list(purchase_figures.PurchaseDimension),
        grain=grain,
        grains=list(Grain),
        rows=rows,
        total=purchase_figures.total_purchases(rows),
        chart_spec=chart,
        export_url=_export_url("purchases", date_range, by=by.value, grain=grain.value),
    )


@bp.get("/backorders")
@staff_required(*exports.BACKORDER_ROLES)
@report_input
def backorders():
    date_range = _range(_last_year())
    return _page(
        "reports_admin/backorders.html",
        date_range=date_range,
        lines=purchase_figures.unfulfilled_lines(date_range),
        po_lines=purchase_figures.outstanding_po_lines(date_range),
        export_lines=_export_url("backorders", date_range),
        export_po_lines=_export_url("po-outstanding", date_range),
    )


@bp.get("/payables")
@staff_required(*exports.PURCHASING_ROLES)
@report_input
def payables():
    date_range = _range(_last_year())
    bills = payable_figures.payable_bills(date_range)
    return _page(
        "reports_admin/payables.html",
        date_range=date_range,
        bills=bills,
        ageing=payable_figures.payables_ageing(bills, _today()),
        buckets=payable_figures.AGEING_BUCKETS,
        export_url=_export_url("accounts-payable", date_range),
    )


@bp.get("/erp-exports")
@staff_required(*exports.BACKORDER_ROLES)
@report_input
def erp_exports():
    date_range = _range(_last_month())
    role = current_user.role
    return _page(
        "reports_admin/erp_exports.html",
        date_range=date_range,
        kinds=[kind for kind in exports.MYOB_KINDS if kind.allowed(role)],
        export_url=lambda kind: _export_url(kind, date_range),
        date_format=current_app.config["MYOB_DATE_FORMAT"],
    )


def _last_month() -> DateRange:
    """Month end is when MYOB files are made: default to the month just closed."""
    first = _today().replace(day=1)
    end = first - timedelta(days=1)
    return DateRange(end.replace(day=1), end)


@bp.get("/export/<kind>")
@staff_required()
@report_input
def export(kind: str):
    export_kind = exports.EXPORTS.get(kind) or abort(404)
    if not export_kind.allowed(current_user.role):
        abort(403)
    date_range = parse_range(request.args, _today())
    export_file = export_kind.build(date_range, request.args)
    response = Response(export_file.data(), content_type=export_file.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{export_file.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
