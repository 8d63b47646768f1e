"""Put the margin guard's finding on a sales document's timeline."""

from __future__ import annotations

from decimal import Decimal

from webapp.money import format_money
from webapp.quotes.totals import MarginCheck
from webapp.sales.models import SalesDocument
from webapp.sales.operations import record_event


def record_margin_guard(
    document: SalesDocument,
    check: MarginCheck,
    currency: str,
    skus: dict[str, str],
    since: str,
) -> None:
    """Put the margin guard's finding on the document's timeline when a cost rose.

    Used for quotes accepted and for staff-keyed orders; `since` says since when ("the quote
    was sent"); `skus` maps the checked lines' keys to their SKUs.
    """
    if not check.risen:
        return
    record_event(
        document,
        "margin_guard",
        _guard_message(check, currency, since),
        None,
        held=check.held,
        floor_pct=str(check.floor_pct),
        quoted_margin_pct=_str(check.quoted_margin_pct),
        current_margin_pct=_str(check.current_margin_pct),
        quoted_margin=str(check.quoted_margin),
        current_margin=str(check.current_margin),
        currency=currency,
        lines=[
            {
                "sku": skus.get(line.key, ""),
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "old_cost": str(line.quoted_cost),
                "new_cost": str(line.current_cost),
            }
            for line in check.risen
        ],
    )


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _guard_message(check: MarginCheck, currency: str, since: str) -> str:
    changed = ", ".join(
        f"{line.description}: {format_money(line.quoted_cost, currency)} → "
        f"{format_money(line.current_cost, currency)}"
        for line in check.risen
    )
    verdict = "held for review" if check.held else "still above the floor"
    return (
        f"Margin guard: costs rose since {since} ({changed}); margin "
        f"{check.quoted_margin_pct}% → {check.current_margin_pct}%, {verdict}"
    )
