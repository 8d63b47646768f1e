"""Internal approval rules: which conditions make a quote need a manager before it is sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from webapp.money import format_money
from webapp.quotes.models import ApprovalRuleKind
from webapp.quotes.selection import (
    Chosen,
    default_selection,
    largest_selection,
    priced,
    totals_of,
)
from webapp.quotes.totals import line_figures


@dataclass(frozen=True)
class Rule:
    kind: ApprovalRuleKind
    threshold: Decimal | None = None
    user_id: int | None = None
    user_name: str = ""


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def approval_reasons(rules: Iterable[Rule], snapshot: dict, owner_id: int) -> list[str]:
    """Return why the quote needs approval (empty: it may be sent as it is).

    Line rules look at every line; total rules look at both what the approver gets by
    default and the most they could accept (every option, top quantities).
    """
    currency = snapshot["currency"]
    scenarios = [
        totals_of(snapshot, default_selection(snapshot)),
        totals_of(snapshot, largest_selection(snapshot)),
    ]
    lines = [(chosen.line, line_figures(p)) for chosen, p in _every_line(snapshot)]
    reasons: list[str] = []
    for rule in rules:
        threshold = rule.threshold
        if rule.kind is ApprovalRuleKind.USER_ALWAYS:
            if rule.user_id == owner_id:
                reasons.append(f"Quotes by {rule.user_name or 'this user'} always need approval.")
        elif rule.kind is ApprovalRuleKind.TOTAL_ABOVE:
            top = max(s.document.total for s in scenarios)
            if top > threshold:
                reasons.append(
                    f"Total {format_money(top, currency)} is above "
                    f"{format_money(threshold, currency)}."
                )
        elif rule.kind is ApprovalRuleKind.TOTAL_MARGIN_BELOW:
            margins = [s.margin_pct for s in scenarios if s.margin_pct is not None]
            if margins and min(margins) < threshold:
                reasons.append(f"Total margin {_pct(min(margins))} is below {_pct(threshold)}.")
        else:
            for line, figures in lines:
                if rule.kind is ApprovalRuleKind.LINE_DISCOUNT_ABOVE:
                    value = figures.discount_pct
                    if value is not None and value > threshold:
                        reasons.append(
                            f"“{line['description']}” is discounted {_pct(value)}, "
                            f"above {_pct(threshold)}."
                        )
                elif rule.kind is ApprovalRuleKind.LINE_MARGIN_BELOW:
                    value = figures.margin_pct
                    if value is not None and value < threshold:
                        reasons.append(
                            f"“{line['description']}” has a margin of {_pct(value)}, "
                            f"below {_pct(threshold)}."
                        )
    return reasons


def _every_line(snapshot: dict):
    chosen = [
        Chosen(line, line["quantity"])
        for section in snapshot["sections"]
        for line in section["lines"]
    ]
    return zip(chosen, priced(chosen), strict=True)
