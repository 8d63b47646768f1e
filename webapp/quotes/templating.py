"""Quote templates: saved from a quote or built by an admin, and their sections and lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from webapp.auth.models import User
from webapp.catalog.models import Product, ProductType
from webapp.extensions import db
from webapp.quotes.building import (
    DEFAULT_EXPIRY_DAYS,
    LineChanges,
    check_line,
    check_quantity,
    custom_line_fields,
    recurrence_for,
)
from webapp.quotes.errors import QuoteError
from webapp.quotes.lifecycle import record_quote_event
from webapp.quotes.models import Quote, QuoteTemplate, QuoteTemplateLine, QuoteTemplateSection
from webapp.sales.models import Recurrence


def save_as_template(quote: Quote, name: str, actor: User) -> QuoteTemplate:
    """Copy the quote's sections, lines, intro and terms into a new template."""
    name = _check_template_name(name)
    days = max(1, (quote.expires_on - quote.created_at.date()).days)
    template = QuoteTemplate(
        name=name[:200], intro=quote.intro, terms=quote.terms, expiry_days=min(days, 365)
    )
    for section in quote.sections:
        copy = QuoteTemplateSection(
            position=section.position, title=section.title, choose_one=section.choose_one
        )
        for line in section.lines:
            copy.lines.append(
                QuoteTemplateLine(
                    position=line.position,
                    product_id=line.product_id,
                    product_type=line.product_type,
                    sku=line.sku,
                    description=line.description,
                    quantity=line.quantity,
                    # Catalog lines are priced afresh for each quote; free text keeps its price.
                    unit_price=None if line.product_id else line.unit_price,
                    unit_cost=None if line.product_id else line.unit_cost,
                    optional=line.optional,
                    qty_editable=line.qty_editable,
                    min_qty=line.min_qty,
                    max_qty=line.max_qty,
                    recurrence=line.recurrence,
                    term_months=line.term_months,
                )
            )
        template.sections.append(copy)
    db.session.add(template)
    record_quote_event(quote, "template.saved", f"Saved as the template “{name}”", actor)
    db.session.flush()
    return template


@dataclass(frozen=True)
class TemplateChanges:
    name: str
    description: str
    intro: str
    terms: str
    expiry_days: int
    active: bool


def _check_template_name(name: str, template: QuoteTemplate | None = None) -> str:
    name = name.strip()
    if not name:
        raise QuoteError("Name the template.")
    if len(name) > 200:
        raise QuoteError("Keep the template's name under 200 characters.")
    query = select(QuoteTemplate.id).where(QuoteTemplate.name == name)
    if template is not None:
        query = query.where(QuoteTemplate.id != template.id)
    if db.session.scalar(query):
        raise QuoteError(f"A template called “{name}” already exists.")
    return name


def create_template(changes: TemplateChanges) -> QuoteTemplate:
    """Start an empty template (one section, no lines) for an admin to fill in."""
    template = QuoteTemplate(name="", expiry_days=DEFAULT_EXPIRY_DAYS)
    _apply_template_changes(template, changes)
    template.sections.append(QuoteTemplateSection(position=1, title="Items"))
    db.session.add(template)
    db.session.flush()
    return template


def update_template(template: QuoteTemplate, changes: TemplateChanges) -> None:
    _apply_template_changes(template, changes)
    db.session.flush()


def _apply_template_changes(template: QuoteTemplate, changes: TemplateChanges) -> None:
    name = _check_template_name(changes.name, template if template.id else None)
    if not 1 <= changes.expiry_days <= 365:
        raise QuoteError("Quotes from a template expire after 1 to 365 days.")
    template.name = name
    template.description = changes.description.strip()[:500]
    template.intro = changes.intro
    template.terms = changes.terms
    template.expiry_days = changes.expiry_days
    template.active = changes.active


def delete_template(template: QuoteTemplate) -> None:
    """Delete a template no quote was made from; a used one can only be taken out of use."""
    if db.session.scalar(select(Quote.id).where(Quote.template_id == template.id).limit(1)):
        raise QuoteError(
            f"Quotes were made from “{template.name}”: untick “In use” to retire it instead."
        )
    db.session.delete(template)
    db.session.flush()


def owned_template_section(template: QuoteTemplate, section_id: int) -> QuoteTemplateSection:
    section = db.session.get(QuoteTemplateSection, section_id)
    if section is None or section.template_id != template.id:
        raise QuoteError("That section is not part of this template.")
    return section


def owned_template_line(template: QuoteTemplate, line_id: int) -> QuoteTemplateLine:
    line = db.session.get(QuoteTemplateLine, line_id)
    if line is None or line.section.template_id != template.id:
        raise QuoteError("That line is not part of this template.")
    return line


def add_template_section(
    template: QuoteTemplate, title: str, choose_one: bool
) -> QuoteTemplateSection:
    title = title.strip()
    if not title:
        raise QuoteError("Give the section a title.")
    position = max((s.position for s in template.sections), default=0) + 1
    section = QuoteTemplateSection(position=position, title=title[:200], choose_one=choose_one)
    template.sections.append(section)
    db.session.flush()
    return section


def update_template_section(section: QuoteTemplateSection, title: str, choose_one: bool) -> None:
    title = title.strip()
    if not title:
        raise QuoteError("Give the section a title.")
    section.title = title[:200]
    section.choose_one = choose_one
    if choose_one:
        for line in section.lines:
            line.optional = False  # in a "choose one" section the pick itself is the option
    db.session.flush()


def remove_template_section(template: QuoteTemplate, section: QuoteTemplateSection) -> None:
    if len(template.sections) <= 1:
        raise QuoteError("A template keeps at least one section.")
    template.sections.remove(section)
    db.session.flush()


def _next_template_position(section: QuoteTemplateSection) -> int:
    return max((line.position for line in section.lines), default=0) + 1


def add_template_product_line(
    section: QuoteTemplateSection, product: Product, quantity: int
) -> QuoteTemplateLine:
    """Add a catalog product; each quote prices it afresh for its organization."""
    if product.obsolete:
        raise QuoteError(f"{product.name} is obsolete and cannot be quoted.")
    check_quantity(quantity)
    recurrence, term = recurrence_for(product.product_type)
    description = product.display_name if product.product_type.is_stocked else product.name
    line = QuoteTemplateLine(
        position=_next_template_position(section),
        product=product,
        product_type=product.product_type,
        sku=product.mpn,
        description=description[:500],
        quantity=quantity,
        unit_price=None,
        unit_cost=None,
        recurrence=recurrence,
        term_months=term,
    )
    section.lines.append(line)
    db.session.flush()
    return line


def add_template_custom_line(
    section: QuoteTemplateSection,
    *,
    description: str,
    product_type: ProductType,
    quantity: int,
    unit_price: Decimal,
    unit_cost: Decimal,
    sku: str,
) -> QuoteTemplateLine:
    """Add a free-text line (a service, labour, anything not in the catalog) at a fixed price."""
    fields = custom_line_fields(description, product_type, quantity, unit_price, unit_cost, sku)
    line = QuoteTemplateLine(position=_next_template_position(section), **fields)
    section.lines.append(line)
    db.session.flush()
    return line


@dataclass(frozen=True)
class TemplateLineChanges:
    """A template line's fields; a None price or cost means the catalog's, when quoted."""

    description: str
    quantity: int
    unit_price: Decimal | None
    unit_cost: Decimal | None
    optional: bool
    qty_editable: bool
    min_qty: int | None
    max_qty: int | None
    recurrence: Recurrence
    term_months: int | None


def update_template_line(line: QuoteTemplateLine, changes: TemplateLineChanges) -> None:
    if line.product_id is None and changes.unit_price is None:
        raise QuoteError("A line that is not from the catalog needs its own price.")
    checked = check_line(
        LineChanges(
            description=changes.description,
            quantity=changes.quantity,
            unit_price=Decimal(0) if changes.unit_price is None else changes.unit_price,
            unit_cost=Decimal(0) if changes.unit_cost is None else changes.unit_cost,
            optional=changes.optional and not line.section.choose_one,
            qty_editable=changes.qty_editable,
            min_qty=changes.min_qty,
            max_qty=changes.max_qty,
            recurrence=changes.recurrence,
            term_months=changes.term_months,
        )
    )
    line.description = checked.description
    line.quantity = checked.quantity
    line.unit_price = changes.unit_price
    line.unit_cost = (
        changes.unit_cost
        if changes.unit_cost is not None or line.product_id is not None
        else Decimal(0)
    )
    line.optional = checked.optional
    line.qty_editable = checked.qty_editable
    line.min_qty = checked.min_qty
    line.max_qty = checked.max_qty
    line.recurrence = checked.recurrence
    line.term_months = checked.term_months
    db.session.flush()


def remove_template_line(template: QuoteTemplate, line_id: int) -> None:
    line = owned_template_line(template, line_id)
    line.section.lines.remove(line)
    db.session.flush()
