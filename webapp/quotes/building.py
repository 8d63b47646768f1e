"""Build a quote: start it, edit its header, recipients, sections and lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from webapp import signals
from webapp.auth.models import User
from webapp.catalog.models import Product, ProductType
from webapp.catalog.queries import price_book
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization
from webapp.parsing import unconfirmed_cost
from webapp.quotes import revisions
from webapp.quotes.errors import QuoteError, QuoteLocked
from webapp.quotes.lifecycle import next_quote_number, record_quote_event, today, transition
from webapp.quotes.models import (
    Quote,
    QuoteLine,
    QuoteRecipient,
    QuoteSection,
    QuoteSource,
    QuoteStatus,
    QuoteTemplate,
)
from webapp.quotes.selection import MAX_QUANTITY
from webapp.sales.models import PaymentMethod, Recurrence
from webapp.settings.operations import get_setting

DEFAULT_EXPIRY_DAYS = 14
MAX_TERM_MONTHS = 120
DEFAULT_TERM_MONTHS = 12


def organization_approvers(organization: Organization) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organization_id == organization.id,
                User.is_approver.is_(True),
                User.active.is_(True),
            )
            .order_by(User.name, User.id)
        )
    )


def create_quote(
    *,
    organization: Organization,
    owner: User,
    actor: User,
    template: QuoteTemplate | None = None,
    title: str = "",
    source: QuoteSource = QuoteSource.ADMIN,
    requested_by: User | None = None,
    request_note: str = "",
) -> Quote:
    """Start a draft quote for an organization, from a template or from scratch."""
    if not owner.is_staff or not owner.active:
        raise QuoteError("The quote's owner must be an active staff member.")
    if template is not None and not template.active:
        raise QuoteError(f"The template “{template.name}” is no longer in use.")
    quote = Quote(
        number=next_quote_number(),
        title=title.strip() or (template.name if template else "Quote"),
        source=source,
        organization=organization,
        owner=owner,
        template=template,
        requested_by=requested_by,
        request_note=request_note,
        expires_on=today() + timedelta(days=template.expiry_days if template else 14),
        intro=template.intro if template else "",
        terms=template.terms if template else "",
        currency=current_app.config["CURRENCY"],
        payment_method=PaymentMethod.ON_ACCOUNT,
        surcharge_pct=Decimal(0),
    )
    db.session.add(quote)
    for user in organization_approvers(organization):
        quote.recipients.append(QuoteRecipient(user=user))
    db.session.flush()
    skipped = _apply_template(quote, template) if template is not None else []
    if not quote.sections:
        quote.sections.append(QuoteSection(position=1, title="Items"))
    record_quote_event(
        quote,
        "created",
        f"Quote {quote.number} created"
        + (f" from the template “{template.name}”" if template else "")
        + (f", requested by {requested_by.name}" if requested_by else "")
        + (f"; left out as obsolete: {', '.join(skipped)}" if skipped else ""),
        actor,
    )
    db.session.flush()
    signals.quote_created.send(quote)
    return quote


def _apply_template(quote: Quote, template: QuoteTemplate) -> list[str]:
    """Copy the template's sections and lines; return the obsolete products left out."""
    skipped = []
    for position, source in enumerate(template.sections, start=1):
        section = QuoteSection(position=position, title=source.title, choose_one=source.choose_one)
        quote.sections.append(section)
        db.session.flush()
        line_position = 0
        for item in source.lines:
            product = item.product
            if product is not None and product.obsolete:
                skipped.append(item.description)
                continue
            line_position += 1
            list_price = _org_price(product, quote.organization) if product else None
            price = item.unit_price if item.unit_price is not None else list_price
            # A catalog line's cost typed on the template is checked as a catalog cost is.
            cost, confirmed = item.unit_cost, product is None
            if cost is None:
                cost, confirmed = catalog_cost(product) if product else (Decimal(0), True)
            section.lines.append(
                QuoteLine(
                    quote_id=quote.id,
                    position=line_position,
                    product=product,
                    product_type=item.product_type,
                    sku=item.sku,
                    description=item.description,
                    quantity=item.quantity,
                    unit_price=price if price is not None else Decimal(0),
                    unit_cost=Decimal(cost),
                    # A template's free-text cost (zero or more) is kept as typed, as a blank
                    # cost on a custom line is; a catalog cost of zero or less is checked.
                    cost_confirmed=confirmed,
                    list_price=list_price,
                    tax_code=product.tax_code if product else None,
                    optional=item.optional,
                    qty_editable=item.qty_editable,
                    min_qty=item.min_qty,
                    max_qty=item.max_qty,
                    recurrence=item.recurrence,
                    term_months=item.term_months,
                )
            )
    return skipped


def _org_price(product: Product, organization: Organization) -> Decimal | None:
    return price_book().price_of(product, organization.price_group_id)


# --- editing ---------------------------------------------------------------------------------


def begin_edit(quote: Quote, actor: User) -> None:
    """Make the quote editable: an edit after sending makes a new version and voids links."""
    status = quote.status
    if status.is_final:
        raise QuoteLocked(f"Quote {quote.number} is {status.label.lower()} and cannot change.")
    revisions.advance(quote)
    if status in (QuoteStatus.SENT, QuoteStatus.EXPIRED):
        current = quote.current_version
        if current is not None:
            current.superseded_at = utcnow()
        transition(
            quote,
            QuoteStatus.DRAFT,
            actor,
            f"edited after sending: version {quote.version + 1} started; "
            "the links already sent no longer work",
            new_version=True,
        )
    elif status in (QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED):
        transition(quote, QuoteStatus.DRAFT, actor, "edited: it needs approval again")
        quote.approved_by = None
        quote.approved_at = None
        quote.approved_hash = ""
    quote.updated_at = utcnow()


@dataclass(frozen=True)
class HeaderChanges:
    title: str
    owner: User
    expires_on: date
    payment_method: PaymentMethod
    shipping_label: str
    shipping_charge: Decimal
    intro: str
    terms: str


def update_header(quote: Quote, changes: HeaderChanges, actor: User) -> None:
    if changes.expires_on <= today():
        raise QuoteError("The expiry date must be after today.")
    if changes.shipping_charge < 0:
        raise QuoteError("Shipping cannot be negative.")
    if not changes.owner.is_staff or not changes.owner.active:
        raise QuoteError("The owner must be an active staff member.")
    surcharge = (
        get_setting("card_surcharge_pct")
        if changes.payment_method is PaymentMethod.CARD
        else Decimal(0)
    )
    current = (
        quote.title,
        quote.owner_id,
        quote.expires_on,
        quote.payment_method,
        quote.shipping_label,
        quote.shipping_charge,
        quote.intro,
        quote.terms,
        quote.surcharge_pct,
    )
    wanted = (
        changes.title,
        changes.owner.id,
        changes.expires_on,
        changes.payment_method,
        changes.shipping_label,
        changes.shipping_charge,
        changes.intro,
        changes.terms,
        surcharge,
    )
    if current == wanted:
        return  # nothing changed: a sent quote keeps its version
    begin_edit(quote, actor)
    quote.title = changes.title
    quote.owner = changes.owner
    quote.expires_on = changes.expires_on
    quote.payment_method = changes.payment_method
    quote.surcharge_pct = surcharge
    quote.shipping_label = changes.shipping_label or "Shipping"
    quote.shipping_charge = changes.shipping_charge
    quote.intro = changes.intro
    quote.terms = changes.terms
    db.session.flush()


def set_recipients(quote: Quote, user_ids: Iterable[int], actor: User) -> None:
    """Choose which of the organization's approvers receive the quote."""
    wanted = set(user_ids)
    allowed = {user.id: user for user in organization_approvers(quote.organization)}
    unknown = wanted - set(allowed)
    if unknown:
        raise QuoteError("Only the organization's active approvers can receive its quotes.")
    if wanted == {r.user_id for r in quote.recipients}:
        return
    begin_edit(quote, actor)
    for recipient in list(quote.recipients):
        if recipient.user_id not in wanted:
            quote.recipients.remove(recipient)
    present = {r.user_id for r in quote.recipients}
    for user_id in sorted(wanted - present):
        quote.recipients.append(QuoteRecipient(user=allowed[user_id]))
    db.session.flush()


def owned_section(quote: Quote, section_id: int) -> QuoteSection:
    section = db.session.get(QuoteSection, section_id)
    if section is None or section.quote_id != quote.id:
        raise QuoteError("That section is not part of this quote.")
    return section


def owned_line(quote: Quote, line_id: int) -> QuoteLine:
    line = db.session.get(QuoteLine, line_id)
    if line is None or line.quote_id != quote.id:
        raise QuoteError("That line is not part of this quote.")
    return line


def add_section(quote: Quote, title: str, choose_one: bool, actor: User) -> QuoteSection:
    title = title.strip()
    if not title:
        raise QuoteError("Give the section a title.")
    begin_edit(quote, actor)
    position = max((s.position for s in quote.sections), default=0) + 1
    section = QuoteSection(position=position, title=title[:200], choose_one=choose_one)
    quote.sections.append(section)
    db.session.flush()
    return section


def update_section(
    quote: Quote, section: QuoteSection, title: str, choose_one: bool, actor: User
) -> None:
    title = title.strip()
    if not title:
        raise QuoteError("Give the section a title.")
    if (section.title, section.choose_one) == (title, choose_one):
        return
    begin_edit(quote, actor)
    section.title = title[:200]
    section.choose_one = choose_one
    db.session.flush()


def remove_section(quote: Quote, section: QuoteSection, actor: User) -> None:
    if len(quote.sections) <= 1:
        raise QuoteError("A quote keeps at least one section.")
    begin_edit(quote, actor)
    quote.sections.remove(section)
    db.session.flush()


def _next_line_position(section: QuoteSection) -> int:
    return max((line.position for line in section.lines), default=0) + 1


def recurrence_for(product_type: ProductType) -> tuple[Recurrence, int | None]:
    if product_type is ProductType.RECURRING_SERVICE:
        return Recurrence.MONTHLY, DEFAULT_TERM_MONTHS
    return Recurrence.NONE, None


def check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise QuoteError(f"Quantity must be between 1 and {MAX_QUANTITY:,}.")


def add_product_line(
    quote: Quote,
    section: QuoteSection,
    product: Product,
    quantity: int,
    actor: User,
    *,
    cost_confirmed: bool = False,
) -> QuoteLine:
    """Add a catalog product at the organization's price and today's best cost.

    A cost of zero or less that `catalog_cost` does not vouch for is added unconfirmed unless
    `cost_confirmed`: the quote cannot be sent until staff confirm or change it."""
    if product.obsolete:
        raise QuoteError(f"{product.name} is obsolete and cannot be quoted.")
    check_quantity(quantity)
    begin_edit(quote, actor)
    cost, confirmed = catalog_cost(product)
    price = _org_price(product, quote.organization)
    recurrence, term = recurrence_for(product.product_type)
    description = product.display_name if product.product_type.is_stocked else product.name
    line = QuoteLine(
        quote_id=quote.id,
        position=_next_line_position(section),
        product=product,
        product_type=product.product_type,
        sku=product.mpn,
        description=description[:500],
        quantity=quantity,
        unit_price=price if price is not None else Decimal(0),
        unit_cost=cost,
        cost_confirmed=confirmed,
        list_price=price,
        tax_code=product.tax_code,
        recurrence=recurrence,
        term_months=term,
    )
    section.lines.append(line)
    db.session.flush()
    if cost_confirmed and line.cost_unconfirmed:
        line.cost_confirmed = True
        _record_confirmed_cost(quote, line, actor)
    return line


def catalog_cost(product: Product) -> tuple[Decimal, bool]:
    """A catalog line's cost (today's best supplier cost) and whether a cost of zero is sure.

    Our own services, labour and bundles have no supplier offer: they cost us nothing, like a
    custom line left without a cost. Goods without an offer, or any best cost of zero or less
    (a feed's stray zero), wait for staff to confirm or change the cost (issue 13)."""
    if product.best_cost is None:
        return Decimal(0), not product.product_type.is_stocked
    return product.best_cost, False


def add_custom_line(
    quote: Quote,
    section: QuoteSection,
    *,
    description: str,
    product_type: ProductType,
    quantity: int,
    unit_price: Decimal,
    unit_cost: Decimal | None,
    sku: str,
    actor: User,
    cost_confirmed: bool = False,
) -> QuoteLine:
    """Add a free-text line: a service, labour or anything not in the catalog.

    No cost (None) is a line that costs us nothing, such as our own labour; a cost typed as
    zero or less must be confirmed (`cost_confirmed`), see `check_cost`."""
    if unit_cost is not None:
        check_cost(unit_cost, confirmed=cost_confirmed)
    cost = Decimal(0) if unit_cost is None else unit_cost
    fields = custom_line_fields(
        description, product_type, quantity, unit_price, cost, sku, rebate_allowed=True
    )
    begin_edit(quote, actor)
    line = QuoteLine(quote_id=quote.id, position=_next_line_position(section), **fields)
    # Checked above: a typed cost of zero or less was confirmed, a blank one costs us nothing.
    line.cost_confirmed = cost <= 0
    section.lines.append(line)
    db.session.flush()
    if unit_cost is not None and unit_cost <= 0:
        _record_confirmed_cost(quote, line, actor)
    return line


CONFIRM_COST = "Confirm the cost"


def check_cost(unit_cost: Decimal, *, confirmed: bool) -> None:
    """Refuse a typed quote-line cost of zero or less unless staff confirmed it (issue 13).

    The same rule as PO lines and receipts (`webapp.parsing.unconfirmed_cost`); on a quote a
    negative cost can be confirmed too: a rebate."""
    problem = unconfirmed_cost(
        unit_cost,
        "Unit cost",
        confirmed=confirmed,
        confirm=CONFIRM_COST,
        because="the line really costs nothing or is a rebate",
        negative_allowed=True,
    )
    if problem:
        raise QuoteError(problem)


def _record_confirmed_cost(quote: Quote, line: QuoteLine, actor: User) -> None:
    record_quote_event(
        quote,
        "line.cost_confirmed",
        f"{line.description}: unit cost {line.unit_cost} confirmed",
        actor,
        line_id=line.id,
        unit_cost=str(line.unit_cost),
    )


def custom_line_fields(
    description: str,
    product_type: ProductType,
    quantity: int,
    unit_price: Decimal,
    unit_cost: Decimal,
    sku: str,
    *,
    rebate_allowed: bool = False,
) -> dict:
    """The checked fields of a free-text line, for a quote or a template (a negative cost
    only where `rebate_allowed`: a quote line whose cost was confirmed)."""
    description = description.strip()
    if not description:
        raise QuoteError("Describe the line.")
    check_quantity(quantity)
    _check_signs(unit_price, unit_cost, rebate_allowed)
    recurrence, term = recurrence_for(product_type)
    return {
        "product_type": product_type,
        "sku": sku.strip()[:100],
        "description": description[:500],
        "quantity": quantity,
        "unit_price": unit_price,
        "unit_cost": unit_cost,
        "recurrence": recurrence,
        "term_months": term,
    }


@dataclass(frozen=True)
class LineChanges:
    description: str
    quantity: int
    unit_price: Decimal
    unit_cost: Decimal
    optional: bool
    qty_editable: bool
    min_qty: int | None
    max_qty: int | None
    recurrence: Recurrence
    term_months: int | None


def _check_signs(unit_price: Decimal, unit_cost: Decimal, rebate_allowed: bool) -> None:
    if unit_price < 0:
        raise QuoteError("The price cannot be negative.")
    if unit_cost < 0 and not rebate_allowed:
        raise QuoteError("The cost cannot be negative.")


def check_line(changes: LineChanges, *, rebate_allowed: bool = False) -> LineChanges:
    if not changes.description.strip():
        raise QuoteError("Describe the line.")
    check_quantity(changes.quantity)
    _check_signs(changes.unit_price, changes.unit_cost, rebate_allowed)
    min_qty, max_qty = changes.min_qty, changes.max_qty
    if changes.qty_editable:
        low = 1 if min_qty is None else min_qty
        high = MAX_QUANTITY if max_qty is None else max_qty
        if not 1 <= low <= changes.quantity <= high <= MAX_QUANTITY:
            raise QuoteError(
                f"The customer's quantity range must hold the quantity: from 1 up to it, "
                f"and from it up to {MAX_QUANTITY:,}."
            )
    else:
        min_qty = max_qty = None
    term = changes.term_months
    if changes.recurrence is Recurrence.NONE:
        term = None
    elif term is None:
        term = DEFAULT_TERM_MONTHS  # just switched to recurring: staff adjust it from here
    elif not 1 <= term <= MAX_TERM_MONTHS:
        raise QuoteError(f"A recurring line needs a term of 1 to {MAX_TERM_MONTHS} months.")
    return LineChanges(
        description=changes.description.strip()[:500],
        quantity=changes.quantity,
        unit_price=changes.unit_price,
        unit_cost=changes.unit_cost,
        optional=changes.optional,
        qty_editable=changes.qty_editable,
        min_qty=min_qty,
        max_qty=max_qty,
        recurrence=changes.recurrence,
        term_months=term,
    )


def update_line(
    quote: Quote,
    line: QuoteLine,
    changes: LineChanges,
    actor: User,
    *,
    cost_confirmed: bool = False,
) -> None:
    """Change a line; a cost changed to zero or less only when confirmed (`check_cost`).

    `cost_confirmed` with the cost unchanged confirms a catalog line's cost of zero or less,
    which was added unconfirmed and stops the quote from being sent (`approval.cost_problems`)."""
    new_cost = changes.unit_cost != line.unit_cost
    if new_cost:
        check_cost(changes.unit_cost, confirmed=cost_confirmed)
    changes = check_line(changes, rebate_allowed=True)
    confirming = cost_confirmed and not new_cost and line.cost_unconfirmed
    fields = LineChanges.__dataclass_fields__
    if not confirming and all(getattr(line, name) == getattr(changes, name) for name in fields):
        return
    begin_edit(quote, actor)
    for name in fields:
        setattr(line, name, getattr(changes, name))
    if new_cost or confirming:
        line.cost_confirmed = line.unit_cost <= 0  # checked above: confirmed when it is
    db.session.flush()
    if line.cost_confirmed and (new_cost or confirming):
        _record_confirmed_cost(quote, line, actor)


def remove_line(quote: Quote, line: QuoteLine, actor: User) -> None:
    begin_edit(quote, actor)
    line.section.lines.remove(line)
    db.session.flush()
