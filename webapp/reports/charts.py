"""Chart specs (JSON for reports.js) built from the report queries' rows: the reports and the
dashboard draw the same figures the same way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from webapp.reports.profit import PeriodProfit


def amounts(values: Iterable) -> list[str]:
    """Chart.js wants numbers; money stays Decimal here and becomes a number only in the page."""
    return [str(value) for value in values]


def gross_profit_chart(rows: Sequence[PeriodProfit], currency: str) -> dict:
    """Revenue and receipted cost per period as bars, gross profit as a line (home currency)."""
    home = [row for row in rows if row.currency == currency]
    return {
        "type": "bar",
        "labels": [row.label for row in home],
        "datasets": [
            {"label": "Revenue", "data": amounts(row.revenue for row in home)},
            {"label": "Receipted cost", "data": amounts(row.cost for row in home)},
            {
                "label": "Gross profit",
                "type": "line",
                "data": amounts(row.gross_profit for row in home),
            },
        ],
    }


def count_chart(labels: Sequence[str], counts: Sequence[int], label: str) -> dict:
    """One horizontal bar per label (e.g. orders waiting at each stage)."""
    return {
        "type": "bar",
        "horizontal": True,
        "labels": list(labels),
        "datasets": [{"label": label, "data": [str(count) for count in counts]}],
    }
