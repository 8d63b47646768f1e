"""What an approver chooses on a frozen quote: options, "choose one" picks, quantities.

Pure functions over a version's snapshot (see `snapshot.build`). A choice arrives as form
fields: `choice-<section key>` = a line key (one per "choose one" section), `opt-<line key>`
= "1" for a ticked optional line, `qty-<line key>` = a whole number for an editable quantity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from webapp.parsing import DB_INT_MAX, is_digits
from webapp.quotes.totals import PricedLine, QuoteTotals, quote_totals

MAX_QUANTITY = 9999


class SelectionError(ValueError):
    """A choice the quote does not allow; the message is for the approver."""


@dataclass(frozen=True)
class Chosen:
    line: dict  # a snapshot line
    quantity: int

    @property
    def key(self) -> str:
        return self.line["key"]


def quantity_range(line: dict) -> tuple[int, int]:
    """The quantities an approver may pick for a line (just its own when not editable)."""
    if not line["qty_editable"]:
        return line["quantity"], line["quantity"]
    low = line["min_qty"] if line["min_qty"] is not None else 1
    high = line["max_qty"] if line["max_qty"] is not None else MAX_QUANTITY
    return low, high


def default_selection(snapshot: dict) -> list[Chosen]:
    """As sent: first option of each "choose one" section, no optional lines ticked."""
    chosen: list[Chosen] = []
    for section in snapshot["sections"]:
        lines = section["lines"]
        if section["choose_one"]:
            if lines:
                chosen.append(Chosen(lines[0], lines[0]["quantity"]))
            continue
        chosen.extend(Chosen(line, line["quantity"]) for line in lines if not line["optional"])
    return chosen


def largest_selection(snapshot: dict) -> list[Chosen]:
    """The most an approver could accept: every option, the dearest pick, top quantities."""
    chosen: list[Chosen] = []
    for section in snapshot["sections"]:
        picks = [Chosen(line, quantity_range(line)[1]) for line in section["lines"]]
        if section["choose_one"]:
            if picks:
                chosen.append(max(picks, key=lambda c: Decimal(c.line["unit_price"]) * c.quantity))
            continue
        chosen.extend(picks)
    return chosen


def _whole_number(raw: str, line: dict) -> int:
    text = raw.strip()
    if not is_digits(text):
        raise SelectionError(f"The quantity of “{line['description']}” must be a whole number.")
    # Past 10 digits it is out of every line's range; int() of 5,000 digits would raise.
    return int(text) if len(text) <= 10 else DB_INT_MAX + 1


def parse_selection(snapshot: dict, getlist: Callable[[str], list[str]]) -> list[Chosen]:
    """Read the approver's choices from form fields and check them against the quote."""
    chosen: list[Chosen] = []
    for section in snapshot["sections"]:
        lines = section["lines"]
        if section["choose_one"]:
            if not lines:
                continue
            picked = getlist(f"choice-{section['key']}")
            if not picked:
                raise SelectionError(f"Choose one option in “{section['title']}”.")
            if len(set(picked)) > 1:
                raise SelectionError(f"Choose only one option in “{section['title']}”.")
            line = next((line for line in lines if line["key"] == picked[0]), None)
            if line is None:
                raise SelectionError(f"That is not one of the options in “{section['title']}”.")
            candidates: Iterable[dict] = [line]
        else:
            candidates = [
                line
                for line in lines
                if not line["optional"] or getlist(f"opt-{line['key']}")[-1:] == ["1"]
            ]
        for line in candidates:
            chosen.append(Chosen(line, _quantity(line, getlist(f"qty-{line['key']}"))))
    return chosen


def _quantity(line: dict, raw: list[str]) -> int:
    if not raw:
        return line["quantity"]
    quantity = _whole_number(raw[-1], line)
    low, high = quantity_range(line)
    if not line["qty_editable"] and quantity != line["quantity"]:
        raise SelectionError(f"The quantity of “{line['description']}” cannot be changed.")
    if not low <= quantity <= high:
        raise SelectionError(
            f"The quantity of “{line['description']}” must be between {low} and {high}."
        )
    return quantity


def priced(chosen: Iterable[Chosen]) -> list[PricedLine]:
    return [
        PricedLine(
            key=c.key,
            quantity=c.quantity,
            unit_price=Decimal(c.line["unit_price"]),
            unit_cost=Decimal(c.line["unit_cost"]),
            tax_rate=Decimal(c.line["tax_rate"]),
            recurrence=c.line["recurrence"],
            list_price=Decimal(c.line["list_price"]) if c.line["list_price"] else None,
        )
        for c in chosen
    ]


def totals_of(snapshot: dict, chosen: Iterable[Chosen]) -> QuoteTotals:
    """Total a selection with the quote's shipping and surcharge."""
    return quote_totals(
        priced(chosen),
        shipping=Decimal(snapshot["shipping_charge"]),
        surcharge_pct=Decimal(snapshot["surcharge_pct"]),
        default_tax_rate=Decimal(snapshot["default_tax_rate"]),
    )


def choices(snapshot: dict, chosen: Iterable[Chosen]) -> dict[str, bool]:
    """Whether each line the approver could take or leave (an optional line or a "choose one"
    option) was taken, by line key; lines that always come are not in it."""
    taken = {c.key for c in chosen}
    return {
        line["key"]: line["key"] in taken
        for section in snapshot["sections"]
        for line in section["lines"]
        if section["choose_one"] or line["optional"]
    }


def choice_names(snapshot: dict, taken: dict[str, bool]) -> tuple[list[str], list[str]]:
    """The descriptions of the lines in `taken` (see `choices`): (chosen, not chosen)."""
    lines = [line for section in snapshot["sections"] for line in section["lines"]]
    return (
        [line["description"] for line in lines if taken.get(line["key"]) is True],
        [line["description"] for line in lines if taken.get(line["key"]) is False],
    )


def as_record(chosen: Iterable[Chosen]) -> dict:
    """The selection as stored on a decision."""
    return {"lines": [{"key": c.key, "quantity": c.quantity} for c in chosen]}


def from_record(snapshot: dict, record: dict) -> list[Chosen]:
    """The selection a decision stored, read back against its snapshot."""
    lines = {line["key"]: line for section in snapshot["sections"] for line in section["lines"]}
    return [
        Chosen(lines[item["key"]], int(item["quantity"]))
        for item in record.get("lines", [])
        if item["key"] in lines
    ]
