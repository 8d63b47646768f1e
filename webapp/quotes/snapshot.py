"""Freeze a quote into a plain JSON snapshot and hash it.

A snapshot holds everything the approver sees and accepts (and the costs the margin guard
compares with later); amounts are strings so that the JSON keeps Decimal exactness. The
content hash is the sha256 of the snapshot's canonical JSON (sorted keys, no spaces).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from webapp.quotes.models import Quote
from webapp.quotes.selection import default_selection, totals_of
from webapp.quotes.totals import QuoteTotals
from webapp.sales.operations import default_tax_code


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def build(quote: Quote) -> dict:
    """Return the quote as it stands, as the snapshot a send would freeze."""
    default = default_tax_code()
    snapshot = {
        "quote_id": quote.id,
        "number": quote.number,
        "version": quote.version,
        "title": quote.title,
        "organization": {"id": quote.organization.id, "name": quote.organization.name},
        "owner": {
            "name": quote.owner.name,
            "email": quote.owner.email,
            "phone": quote.owner.phone,
        },
        "currency": quote.currency,
        "expires_on": quote.expires_on.isoformat(),
        "intro": quote.intro,
        "terms": quote.terms,
        "payment_method": quote.payment_method.value,
        "surcharge_pct": str(quote.surcharge_pct),
        "shipping_label": quote.shipping_label,
        "shipping_charge": str(quote.shipping_charge),
        "default_tax_code": default.code if default else "",
        "default_tax_rate": str(default.rate if default else Decimal(0)),
        "sections": [
            {
                "key": f"s{section.id}",
                "title": section.title,
                "choose_one": section.choose_one,
                "lines": [_line(line, default) for line in section.lines],
            }
            for section in quote.sections
        ],
    }
    snapshot["totals"] = totals_record(snapshot, totals_of(snapshot, default_selection(snapshot)))
    return snapshot


def _line(line, default) -> dict:
    tax = line.tax_code or default
    return {
        "key": f"l{line.id}",
        "product_id": line.product_id,
        "product_type": line.product_type.value,
        "sku": line.sku,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
        "unit_cost": str(line.unit_cost),
        "list_price": _money(line.list_price),
        "tax_code": tax.code if tax else "",
        "tax_rate": str(tax.rate if tax else Decimal(0)),
        "optional": line.optional,
        "qty_editable": line.qty_editable,
        "min_qty": line.min_qty,
        "max_qty": line.max_qty,
        "recurrence": line.recurrence.value,
        "term_months": line.term_months,
    }


def totals_record(snapshot: dict, totals: QuoteTotals) -> dict:
    """The totals of a selection, as strings, for the record."""
    document = totals.document
    return {
        "one_off": str(totals.one_off),
        "monthly": str(totals.monthly),
        "annual": str(totals.annual),
        "shipping": str(document.shipping),
        "surcharge": str(document.surcharge),
        "tax": str(document.tax_total),
        "total": str(document.total),
        "cost": str(totals.cost),
        "margin": str(totals.margin),
    }


def content_hash(snapshot: dict) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def all_lines(snapshot: dict) -> list[dict]:
    return [line for section in snapshot["sections"] for line in section["lines"]]
