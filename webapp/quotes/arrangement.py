"""Arranging the quote builder: move lines and sections, duplicate a line.

Each is an edit like any other: `begin_edit` checks the quote may change (a sent quote starts a
new version) and takes the next revision, so a move made on an older page is refused.
"""

from __future__ import annotations

from webapp.auth.models import User
from webapp.extensions import db
from webapp.quotes.building import begin_edit
from webapp.quotes.errors import QuoteError
from webapp.quotes.lifecycle import record_quote_event
from webapp.quotes.models import Quote, QuoteLine, QuoteSection


def _renumber(items: list) -> None:
    for position, item in enumerate(items, start=1):
        item.position = position


def _clamp(position: int, length: int) -> int:
    return max(0, min(position, length))


def move_line(
    quote: Quote, line: QuoteLine, section: QuoteSection, position: int, actor: User
) -> None:
    """Put `line` at `position` (0 = first) of `section`, which may be another section."""
    if section.quote_id != quote.id or line.quote_id != quote.id:
        raise QuoteError("That line or section is not part of this quote.")
    source = line.section
    current = source.lines.index(line)
    if source is section and _clamp(position, len(section.lines) - 1) == current:
        return  # dropped where it was
    begin_edit(quote, actor)
    # No flush in between: a line out of every section would be deleted as an orphan.
    with db.session.no_autoflush:
        target = section.lines
        source.lines.remove(line)
        target.insert(_clamp(position, len(target)), line)
        _renumber(source.lines)
        _renumber(target)
    if section is not source:
        record_quote_event(
            quote, "line.moved", f"“{line.description}” moved to “{section.title}”", actor
        )
    db.session.flush()


def step_line(quote: Quote, line: QuoteLine, step: int, actor: User) -> None:
    """Move a line one place up (-1) or down (+1), into the next section at either end."""
    sections = quote.sections
    section = line.section
    at = section.lines.index(line) + step
    if 0 <= at < len(section.lines):
        move_line(quote, line, section, at, actor)
        return
    neighbour = sections.index(section) + step
    if not 0 <= neighbour < len(sections):
        raise QuoteError("The line is already at that end of the quote.")
    target = sections[neighbour]
    move_line(quote, line, target, len(target.lines) if step < 0 else 0, actor)


def move_section(quote: Quote, section: QuoteSection, position: int, actor: User) -> None:
    """Put `section` at `position` (0 = first) among the quote's sections."""
    if section.quote_id != quote.id:
        raise QuoteError("That section is not part of this quote.")
    sections = quote.sections
    current = sections.index(section)
    position = _clamp(position, len(sections) - 1)
    if position == current:
        return
    begin_edit(quote, actor)
    sections.remove(section)
    sections.insert(position, section)
    _renumber(sections)
    db.session.flush()


def step_section(quote: Quote, section: QuoteSection, step: int, actor: User) -> None:
    at = quote.sections.index(section) + step
    if not 0 <= at < len(quote.sections):
        raise QuoteError("The section is already at that end of the quote.")
    move_section(quote, section, at, actor)


COPIED = (
    "product_id",
    "product_type",
    "sku",
    "description",
    "quantity",
    "optional",
    "qty_editable",
    "min_qty",
    "max_qty",
    "recurrence",
    "term_months",
    "unit_cost",
    "cost_confirmed",
    "unit_price",
    "list_price",
    "tax_code_id",
)


def duplicate_line(quote: Quote, line: QuoteLine, actor: User) -> QuoteLine:
    """Copy a line, prices and options included, to just below it."""
    if line.quote_id != quote.id:
        raise QuoteError("That line is not part of this quote.")
    begin_edit(quote, actor)
    section = line.section
    copy = QuoteLine(quote_id=quote.id, **{name: getattr(line, name) for name in COPIED})
    section.lines.insert(section.lines.index(line) + 1, copy)
    _renumber(section.lines)
    db.session.flush()
    return copy
