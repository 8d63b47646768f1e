"""Build, approve, send and decide quotes; every rule about quotes lives here.

Status changes go through `transition()`, which is also a compare-and-swap on the quote's
(status, version): of two concurrent changes (two approvers accepting, an approver accepting
while staff edit), the second matches no row and is told what happened instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from webapp import signals
from webapp.auth.models import Role, User
from webapp.catalog.models import Product, ProductType, TaxCode
from webapp.catalog.queries import price_book
from webapp.extensions import db
from webapp.mail import links
from webapp.mail.links import LinkUnavailable, OneTimeLink
from webapp.mail.operations import Attachment, EmailNotBuildable, public_url, queue_email
from webapp.models_base import utcnow
from webapp.money import format_money
from webapp.organizations.models import Organization
from webapp.pdf import render_pdf
from webapp.quotes import revisions
from webapp.quotes import snapshot as snapshots
from webapp.quotes.errors import QuoteError
from webapp.quotes.models import (
    DecisionOutcome,
    Quote,
    QuoteApprovalRule,
    QuoteDecision,
    QuoteEvent,
    QuoteLine,
    QuoteRecipient,
    QuoteReminder,
    QuoteSection,
    QuoteSource,
    QuoteStatus,
    QuoteTemplate,
    QuoteTemplateLine,
    QuoteTemplateSection,
    QuoteVersion,
    QuoteView,
)
from webapp.quotes.rules import Rule, approval_reasons
from webapp.quotes.selection import (
    MAX_QUANTITY,
    Chosen,
    as_record,
    default_selection,
    priced,
    totals_of,
)
from webapp.quotes.tokens import InvalidToken, make_token, read_token
from webapp.quotes.totals import CostedLine, MarginCheck, line_figures, margin_guard
from webapp.sales.models import (
    DocumentSource,
    PaymentMethod,
    Recurrence,
    SalesDocument,
)
from webapp.sales.operations import (
    HeaderInput,
    LineInput,
    issue_document,
    record_event,
    take_number,
)
from webapp.settings.operations import get_setting
from webapp.statemachine import StateMachine
from webapp.store.operations import cancel_checkout, get_cart

DEFAULT_EXPIRY_DAYS = 14
MAX_TERM_MONTHS = 120
DEFAULT_TERM_MONTHS = 12


# --- errors ----------------------------------------------------------------------------------


class QuoteLocked(QuoteError):
    status = 409


class QuoteChanged(QuoteError):
    """Someone else changed the quote's status or version meanwhile."""

    status = 409


class IllegalTransition(QuoteError):
    status = 409

    def __init__(self, current: QuoteStatus, wanted: QuoteStatus):
        super().__init__(
            f"A quote that is {current.label.lower()} cannot become {wanted.label.lower()}."
        )
        self.current = current
        self.wanted = wanted


class NeedsApproval(QuoteError):
    status = 409

    def __init__(self, reasons: list[str]):
        super().__init__("A manager must approve this quote before it is sent.")
        self.reasons = reasons


# --- the state machine -----------------------------------------------------------------------

TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    QuoteStatus.DRAFT: frozenset(
        {QuoteStatus.PENDING_APPROVAL, QuoteStatus.SENT, QuoteStatus.CANCELLED}
    ),
    QuoteStatus.PENDING_APPROVAL: frozenset(
        {QuoteStatus.APPROVED, QuoteStatus.DRAFT, QuoteStatus.CANCELLED}
    ),
    QuoteStatus.APPROVED: frozenset({QuoteStatus.SENT, QuoteStatus.DRAFT, QuoteStatus.CANCELLED}),
    QuoteStatus.SENT: frozenset(
        {
            QuoteStatus.WON,
            QuoteStatus.LOST,
            QuoteStatus.EXPIRED,
            QuoteStatus.DRAFT,
            QuoteStatus.CANCELLED,
        }
    ),
    QuoteStatus.EXPIRED: frozenset({QuoteStatus.DRAFT, QuoteStatus.CANCELLED}),
    QuoteStatus.WON: frozenset(),
    QuoteStatus.LOST: frozenset(),
    QuoteStatus.CANCELLED: frozenset(),
}
MACHINE = StateMachine.from_targets("quote", QuoteStatus, TRANSITIONS)


def transition(
    quote: Quote,
    status: QuoteStatus,
    actor: User | None,
    reason: str = "",
    *,
    new_version: bool = False,
) -> None:
    """Move the quote to `status`, or raise IllegalTransition (or QuoteChanged on a race)."""
    current = quote.status
    if not MACHINE.allows(current, status):
        raise IllegalTransition(current, status)
    values: dict = {"status": status, "updated_at": utcnow(), "revision": Quote.revision + 1}
    if new_version:
        values["version"] = Quote.version + 1
    claimed = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.status == current, Quote.version == quote.version)
        .values(**values),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.expire(quote, ["status", "version", "updated_at", "revision"])
    if not claimed:
        raise QuoteChanged("The quote changed meanwhile. Reload it and try again.")
    record_quote_event(
        quote,
        f"status.{status.value}",
        f"{current.label} → {status.label}" + (f": {reason}" if reason else ""),
        actor,
        previous=current.value,
        reason=reason,
    )
    signals.quote_status_changed.send(quote, status=status, previous=current)


def record_quote_event(
    quote: Quote, type_: str, message: str, actor: User | None = None, **data
) -> QuoteEvent:
    event = QuoteEvent(type=type_, message=message, actor=actor, data=data)
    quote.events.append(event)
    return event


# --- numbering and creation -------------------------------------------------------------------

QUOTE_PREFIX = "Q"


def next_quote_number() -> str:
    """Take the next quote number (Q-000123) from the shared gap-free sequences."""
    return take_number(QUOTE_PREFIX)


def today() -> date:
    return utcnow().date()


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
            cost = item.unit_cost
            if cost is None:
                cost = product.best_cost if product and product.best_cost is not None else 0
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


def _recurrence_for(product_type: ProductType) -> tuple[Recurrence, int | None]:
    if product_type is ProductType.RECURRING_SERVICE:
        return Recurrence.MONTHLY, DEFAULT_TERM_MONTHS
    return Recurrence.NONE, None


def check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise QuoteError(f"Quantity must be between 1 and {MAX_QUANTITY:,}.")


def add_product_line(
    quote: Quote, section: QuoteSection, product: Product, quantity: int, actor: User
) -> QuoteLine:
    """Add a catalog product at the organization's price and today's best cost."""
    if product.obsolete:
        raise QuoteError(f"{product.name} is obsolete and cannot be quoted.")
    check_quantity(quantity)
    begin_edit(quote, actor)
    price = _org_price(product, quote.organization)
    recurrence, term = _recurrence_for(product.product_type)
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
        unit_cost=product.best_cost if product.best_cost is not None else Decimal(0),
        list_price=price,
        tax_code=product.tax_code,
        recurrence=recurrence,
        term_months=term,
    )
    section.lines.append(line)
    db.session.flush()
    return line


def add_custom_line(
    quote: Quote,
    section: QuoteSection,
    *,
    description: str,
    product_type: ProductType,
    quantity: int,
    unit_price: Decimal,
    unit_cost: Decimal,
    sku: str,
    actor: User,
) -> QuoteLine:
    """Add a free-text line: a service, labour or anything not in the catalog."""
    fields = _custom_line_fields(description, product_type, quantity, unit_price, unit_cost, sku)
    begin_edit(quote, actor)
    line = QuoteLine(quote_id=quote.id, position=_next_line_position(section), **fields)
    section.lines.append(line)
    db.session.flush()
    return line


def _custom_line_fields(
    description: str,
    product_type: ProductType,
    quantity: int,
    unit_price: Decimal,
    unit_cost: Decimal,
    sku: str,
) -> dict:
    """The checked fields of a free-text line, for a quote or a template."""
    description = description.strip()
    if not description:
        raise QuoteError("Describe the line.")
    check_quantity(quantity)
    if unit_price < 0 or unit_cost < 0:
        raise QuoteError("Price and cost cannot be negative.")
    recurrence, term = _recurrence_for(product_type)
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


def _check_line(changes: LineChanges) -> LineChanges:
    if not changes.description.strip():
        raise QuoteError("Describe the line.")
    check_quantity(changes.quantity)
    if changes.unit_price < 0 or changes.unit_cost < 0:
        raise QuoteError("Price and cost cannot be negative.")
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


def update_line(quote: Quote, line: QuoteLine, changes: LineChanges, actor: User) -> None:
    changes = _check_line(changes)
    fields = LineChanges.__dataclass_fields__
    if all(getattr(line, name) == getattr(changes, name) for name in fields):
        return
    begin_edit(quote, actor)
    for name in fields:
        setattr(line, name, getattr(changes, name))
    db.session.flush()


def remove_line(quote: Quote, line: QuoteLine, actor: User) -> None:
    begin_edit(quote, actor)
    line.section.lines.remove(line)
    db.session.flush()


# --- internal approval and sending -------------------------------------------------------------


def active_rules() -> list[Rule]:
    rows = db.session.scalars(
        select(QuoteApprovalRule)
        .where(QuoteApprovalRule.active.is_(True))
        .order_by(QuoteApprovalRule.id)
    )
    return [
        Rule(row.kind, row.threshold, row.user_id, row.user.name if row.user else "")
        for row in rows
    ]


def working_snapshot(quote: Quote) -> dict:
    """The snapshot the quote would freeze if it were sent now."""
    snap = snapshots.build(quote)
    snap["recipients"] = [
        {"id": r.user.id, "name": r.user.name, "email": r.user.email} for r in quote.recipients
    ]
    return snap


def reasons_for_approval(quote: Quote, snap: dict | None = None) -> list[str]:
    return approval_reasons(active_rules(), snap or working_snapshot(quote), quote.owner_id)


def sending_problems(quote: Quote) -> list[str]:
    """What stops the quote from being sent, in words (empty: nothing)."""
    problems = []
    if not quote.lines:
        problems.append("Add at least one line.")
    for section in quote.sections:
        if section.choose_one and len(section.lines) < 2:
            problems.append(f"The “choose one” section “{section.title}” needs two or more lines.")
    if not quote.recipients:
        problems.append("Choose who receives the quote (an approver of the organization).")
    inactive = [r.user.name for r in quote.recipients if not r.user.active]
    if inactive:
        problems.append(f"No longer active: {', '.join(inactive)}.")
    unflagged = [r.user.name for r in quote.recipients if r.user.active and not r.user.is_approver]
    if unflagged:
        problems.append(f"No longer approvers: {', '.join(unflagged)}.")
    if quote.expires_on <= today():
        problems.append("The expiry date must be after today.")
    return problems


def _require_sendable(quote: Quote) -> None:
    problems = sending_problems(quote)
    if problems:
        raise QuoteError(" ".join(problems))


def request_approval(quote: Quote, actor: User) -> list[str]:
    _require_sendable(quote)
    reasons = reasons_for_approval(quote)
    if not reasons:
        raise QuoteError("No approval rule applies to this quote: send it.")
    transition(quote, QuoteStatus.PENDING_APPROVAL, actor, "; ".join(reasons))
    quote.approval_reasons = reasons
    db.session.flush()
    return reasons


def approve(quote: Quote, actor: User, note: str = "") -> None:
    """A manager approves the quote as it stands; any later edit voids the approval."""
    if actor.role is not Role.ADMIN:
        raise QuoteError("Only a manager (admin) can approve quotes.")
    transition(quote, QuoteStatus.APPROVED, actor, note or "approved to send")
    quote.approved_by = actor
    quote.approved_at = utcnow()
    quote.approved_hash = snapshots.content_hash(working_snapshot(quote))
    db.session.flush()


def reject(quote: Quote, actor: User, note: str) -> None:
    if actor.role is not Role.ADMIN:
        raise QuoteError("Only a manager (admin) can turn down an approval request.")
    if not note.strip():
        raise QuoteError("Say why, so the owner knows what to change.")
    transition(quote, QuoteStatus.DRAFT, actor, f"approval refused: {note.strip()}")
    db.session.flush()


def send_quote(quote: Quote, actor: User) -> QuoteVersion:
    """Freeze the quote as a new version and email each recipient a signed link and a PDF."""
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED):
        raise IllegalTransition(quote.status, QuoteStatus.SENT)
    _require_sendable(quote)
    snap = working_snapshot(quote)
    digest = snapshots.content_hash(snap)
    if quote.status is QuoteStatus.DRAFT:
        reasons = reasons_for_approval(quote, snap)
        if reasons:
            raise NeedsApproval(reasons)
    elif digest != quote.approved_hash:
        raise QuoteError("The quote changed since it was approved: edit it and ask again.")
    transition(quote, QuoteStatus.SENT, actor, f"version {quote.version} sent")
    version = QuoteVersion(number=quote.version, snapshot=snap, content_hash=digest, sent_by=actor)
    quote.versions.append(version)
    quote.sent_at = utcnow()
    db.session.flush()
    pdf = quote_pdf(snap)
    for recipient in quote.recipients:
        _email_link(quote, version, recipient.user, "quote_sent", pdf=pdf)
    record_quote_event(
        quote,
        "sent",
        f"Version {version.number} sent to "
        + ", ".join(r.user.email for r in quote.recipients)
        + f" (sha256 {digest[:12]}…)",
        actor,
        version=version.number,
        content_hash=digest,
    )
    return version


def quote_pdf(snap: dict) -> bytes:
    every = [Chosen(line, line["quantity"]) for line in snapshots.all_lines(snap)]
    return render_pdf(
        "quotes/pdf.html",
        quote=snap,
        totals=totals_of(snap, default_selection(snap)),
        amounts={p.key: line_figures(p).subtotal for p in priced(every)},
    )


def pdf_filename(snap: dict) -> str:
    return f"{snap['number']}-v{snap['version']}.pdf"


def approval_token(quote: Quote, version: QuoteVersion, user: User) -> str:
    expires_on = date.fromisoformat(version.snapshot["expires_on"])
    return make_token(quote.id, version.number, user.id, expires_on)


def approval_url(quote: Quote, version: QuoteVersion, user: User) -> str:
    return public_url("quotes.view", token=approval_token(quote, version, user))


def _issue_approval_link(ref: str, to_address: str) -> str:
    """Issue a fresh approval link for an emailed `quote_id:version:recipient_id` (mail.links)."""
    quote_id, number, user_id = (int(part) for part in ref.split(":"))
    quote = db.session.get(Quote, quote_id)
    user = db.session.get(User, user_id)
    version = db.session.scalar(
        select(QuoteVersion).where(QuoteVersion.quote_id == quote_id, QuoteVersion.number == number)
    )
    if (
        quote is None
        or version is None
        or user is None
        or user.email.lower() != to_address.lower()
        or user.id not in {r["id"] for r in version.snapshot.get("recipients", [])}
    ):
        raise LinkUnavailable("That quote version was not sent to this address.")
    if not user.active or not user.is_approver:
        raise LinkUnavailable(f"{user.name} can no longer decide on quotes.")
    return approval_url(quote, version, user)


links.register("quote-approval", _issue_approval_link)


def _email_link(
    quote: Quote, version: QuoteVersion, user: User, template: str, *, pdf: bytes | None
) -> None:
    snap = version.snapshot
    site = current_app.config["SITE_NAME"]
    subject = {
        # A title saved before titles were one line must not stop the email.
        "quote_sent": f"Quote {quote.number} from {site}: {' '.join(snap['title'].split())}",
        "quote_reminder": f"Reminder: quote {quote.number} from {site} expires "
        f"{date.fromisoformat(snap['expires_on']).strftime('%d %B %Y')}",
    }[template]
    try:
        queue_email(
            to=user.email,
            subject=subject,
            template=template,
            topic=f"quote:{quote.id}",
            attachments=[Attachment(pdf_filename(snap), "application/pdf", pdf)] if pdf else [],
            recipient=user,
            quote=snap,
            expires_on=date.fromisoformat(snap["expires_on"]),
            one_time_link=OneTimeLink("quote-approval", f"{quote.id}:{version.number}:{user.id}"),
            totals={key: Decimal(value) for key, value in snap["totals"].items()},
        )
    except EmailNotBuildable as error:
        # The caller rolls back: the quote stays unsent, no other recipient's email either.
        raise QuoteError(f"Not sent: {error}.") from None


def cancel(quote: Quote, actor: User, reason: str) -> None:
    if not reason.strip():
        raise QuoteError("Give a reason for cancelling.")
    transition(quote, QuoteStatus.CANCELLED, actor, reason.strip())
    db.session.flush()


def mark_lost(quote: Quote, actor: User, reason: str) -> None:
    """Staff record that the customer said no another way (phone, email)."""
    if not reason.strip():
        raise QuoteError("Give the reason the quote was lost.")
    transition(quote, QuoteStatus.LOST, actor, reason.strip())
    quote.lost_reason = reason.strip()
    quote.decided_at = utcnow()
    db.session.flush()


def schedule_reminder(quote: Quote, due_at: datetime, note: str, actor: User) -> QuoteReminder:
    if quote.status.is_final:
        raise QuoteLocked(f"Quote {quote.number} is {quote.status.label.lower()}.")
    if due_at <= utcnow():
        raise QuoteError("A reminder must be due in the future.")
    if due_at.date() > quote.expires_on:
        raise QuoteError("A reminder must be due before the quote expires.")
    reminder = QuoteReminder(due_at=due_at, note=note.strip()[:500], created_by_id=actor.id)
    quote.reminders.append(reminder)
    record_quote_event(
        quote,
        "reminder.scheduled",
        f"Reminder scheduled for {due_at.strftime('%d %b %Y %H:%M')} UTC",
        actor,
    )
    db.session.flush()
    return reminder


def cancel_reminder(quote: Quote, reminder_id: int, actor: User) -> None:
    """Call off a reminder that has not gone out yet."""
    reminder = db.session.get(QuoteReminder, reminder_id)
    if reminder is None or reminder.quote_id != quote.id:
        raise QuoteError("That reminder is not part of this quote.")
    claimed = db.session.execute(
        update(QuoteReminder)
        .where(QuoteReminder.id == reminder.id, QuoteReminder.done_at.is_(None))
        .values(done_at=utcnow(), outcome=f"cancelled by {actor.name}"[:200]),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.expire(reminder, ["done_at", "outcome"])
    if not claimed:
        raise QuoteError(f"That reminder already {reminder.outcome or 'went out'}.")
    record_quote_event(
        quote,
        "reminder.cancelled",
        f"Reminder for {reminder.due_at.strftime('%d %b %Y %H:%M')} UTC cancelled",
        actor,
    )
    db.session.flush()


# --- templates -------------------------------------------------------------------------------


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
    recurrence, term = _recurrence_for(product.product_type)
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
    fields = _custom_line_fields(description, product_type, quantity, unit_price, unit_cost, sku)
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
    checked = _check_line(
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


# --- the approver's link -----------------------------------------------------------------------


class LinkInvalid(QuoteError):
    status = 404

    def __init__(self):
        super().__init__(
            "This quote link is not valid. Check that you copied the whole link from the email."
        )


class LinkRevoked(LinkInvalid):
    """The link's approver was deactivated or may no longer accept for the organization."""

    status = 403

    def __init__(self, quote: Quote):
        QuoteError.__init__(
            self,
            f"You can no longer accept quotes for {quote.organization.name}. "
            f"Ask {quote.owner.name} ({quote.owner.email}) to send it to a current approver.",
        )


@dataclass
class ApprovalLink:
    quote: Quote
    version: QuoteVersion
    recipient: User

    @property
    def snapshot(self) -> dict:
        return self.version.snapshot

    @property
    def expires_on(self) -> date:
        return date.fromisoformat(self.snapshot["expires_on"])

    @property
    def decision(self) -> QuoteDecision | None:
        return db.session.scalar(
            select(QuoteDecision).where(QuoteDecision.version_id == self.version.id)
        )

    @property
    def state(self) -> str:
        """open, decided, superseded, revising, withdrawn or expired."""
        if self.decision is not None:
            return "decided"
        if self.version.number != self.quote.version or self.version.superseded_at:
            newer = self.quote.current_version
            return "superseded" if newer is not None else "revising"
        if self.quote.status is QuoteStatus.CANCELLED:
            return "withdrawn"
        if self.quote.status is QuoteStatus.EXPIRED or today() > self.expires_on:
            return "expired"
        if self.quote.status is QuoteStatus.SENT:
            return "open"
        return "withdrawn"


def open_link(token: str) -> ApprovalLink:
    """Resolve a token to its quote version and approver, or raise LinkInvalid."""
    try:
        payload = read_token(token)
    except InvalidToken:
        raise LinkInvalid() from None
    quote = db.session.get(Quote, payload.quote_id)
    recipient = db.session.get(User, payload.recipient_id)
    if quote is None or recipient is None or recipient.organization_id != quote.organization_id:
        raise LinkInvalid()
    version = db.session.scalar(
        select(QuoteVersion).where(
            QuoteVersion.quote_id == quote.id, QuoteVersion.number == payload.version
        )
    )
    if version is None or recipient.id not in {
        r["id"] for r in version.snapshot.get("recipients", [])
    }:
        raise LinkInvalid()
    if not recipient.active or not recipient.is_approver:
        raise LinkRevoked(quote)
    return ApprovalLink(quote, version, recipient)


def link_for_contact(quote: Quote, user: User) -> ApprovalLink | None:
    """The open approval link of a signed-in contact the current version was sent to."""
    version = quote.current_version
    if (
        version is None
        or user.organization_id != quote.organization_id
        or not user.active
        or not user.is_approver
        or user.id not in {r["id"] for r in version.snapshot.get("recipients", [])}
    ):
        return None
    link = ApprovalLink(quote, version, user)
    return link if link.state == "open" else None


def log_view(link: ApprovalLink, ip_address: str) -> bool:
    """Record that the approver looked, once a day at most; return whether it was new."""
    day = today()
    seen = db.session.scalar(
        select(QuoteView.id).where(
            QuoteView.quote_id == link.quote.id,
            QuoteView.recipient_id == link.recipient.id,
            QuoteView.viewed_on == day,
        )
    )
    if seen:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                QuoteView(
                    quote_id=link.quote.id,
                    recipient_id=link.recipient.id,
                    version_number=link.version.number,
                    viewed_on=day,
                    ip_address=ip_address[:45],
                )
            )
    except IntegrityError:
        return False  # a second tab logged it first
    signals.quote_viewed.send(link.quote)
    return True


class LinkClosed(QuoteError):
    """The link can no longer take a decision: already decided, superseded or expired."""

    status = 409

    def __init__(self, link: ApprovalLink):
        self.link = link
        self.state = link.state
        messages = {
            "decided": "This quote has already been decided.",
            "superseded": "A newer version of this quote exists.",
            "revising": "This quote is being revised.",
            "withdrawn": "This quote has been withdrawn.",
            "expired": "This quote has expired and can no longer be accepted.",
        }
        super().__init__(messages.get(self.state, "This quote cannot be decided now."))
        if self.state in ("superseded", "revising", "withdrawn", "expired"):
            self.status = 410


def _require_open(link: ApprovalLink) -> None:
    if link.state != "open":
        raise LinkClosed(link)


def _claim(link: ApprovalLink, status: QuoteStatus, reason: str) -> None:
    """Take the decision for this version, or report why another request got there first."""
    try:
        transition(link.quote, status, link.recipient, reason)
    except QuoteChanged:
        # Nothing was written yet: the claim is the first write. Read what the winner did.
        db.session.expire(link.quote)
        raise LinkClosed(link) from None


@dataclass(frozen=True)
class Acceptance:
    full_name: str
    customer_po: str
    terms_accepted: bool
    ip_address: str
    user_agent: str


def accept(link: ApprovalLink, chosen: Sequence[Chosen], form: Acceptance) -> QuoteDecision:
    """Accept the version the approver saw: the quote is won and one sales document made."""
    _require_open(link)
    full_name = form.full_name.strip()
    if not full_name:
        raise QuoteError("Type your full name to accept.")
    if len(full_name) > 200 or len(form.customer_po.strip()) > 100:
        raise QuoteError("Your name or PO number is too long.")
    if not form.terms_accepted:
        raise QuoteError("Tick the box to accept the terms.")
    if not chosen:
        raise QuoteError("Choose at least one item.")
    quote, version, recipient = link.quote, link.version, link.recipient
    _claim(link, QuoteStatus.WON, f"accepted by {full_name} ({recipient.email})")
    decision = QuoteDecision(
        quote_id=quote.id,
        version=version,
        recipient=recipient,
        outcome=DecisionOutcome.ACCEPTED,
        full_name=full_name,
        customer_po=form.customer_po.strip(),
        terms_accepted=True,
        selection=as_record(chosen),
        ip_address=form.ip_address[:45],
        user_agent=form.user_agent[:300],
    )
    db.session.add(decision)
    db.session.flush()
    document = _issue_document(link, decision, chosen)
    decision.document = document
    quote.document = document
    quote.decided_at = decision.decided_at
    record_quote_event(
        quote,
        "accepted",
        f"Version {version.number} accepted by {full_name} ({recipient.email})"
        + (f", PO {decision.customer_po}" if decision.customer_po else "")
        + f": {document.title} {document.number}",
        recipient,
        ip=decision.ip_address,
        selection=decision.selection,
        document=document.number,
    )
    _notify_owner(quote, decision)
    db.session.flush()
    return decision


def decline(link: ApprovalLink, reason: str, ip_address: str, user_agent: str) -> QuoteDecision:
    """Decline the quote with a reason: it becomes Lost."""
    _require_open(link)
    reason = reason.strip()
    if not reason:
        raise QuoteError("Tell us why you are declining, so we can do better.")
    if len(reason) > 2000:
        raise QuoteError("Keep the reason under 2,000 characters.")
    quote, version, recipient = link.quote, link.version, link.recipient
    _claim(link, QuoteStatus.LOST, f"declined by {recipient.name}: {reason}")
    decision = QuoteDecision(
        quote_id=quote.id,
        version=version,
        recipient=recipient,
        outcome=DecisionOutcome.DECLINED,
        full_name=recipient.name,
        reason=reason,
        ip_address=ip_address[:45],
        user_agent=user_agent[:300],
    )
    db.session.add(decision)
    quote.lost_reason = reason
    quote.decided_at = utcnow()
    db.session.flush()
    _notify_owner(quote, decision)
    return decision


def _notify_owner(quote: Quote, decision: QuoteDecision) -> None:
    verb = "accepted" if decision.outcome is DecisionOutcome.ACCEPTED else "declined"
    queue_email(
        to=quote.owner.email,
        subject=f"Quote {quote.number} {verb} by {decision.recipient.name}",
        template="quote_decided",
        topic=f"quote:{quote.id}",
        quote=quote,
        decision=decision,
        quote_url=public_url("quotes_admin.detail", quote_id=quote.id),
    )


def _issue_document(
    link: ApprovalLink, decision: QuoteDecision, chosen: Sequence[Chosen]
) -> SalesDocument:
    """Make the one sales document of this version from the accepted snapshot."""
    quote, snap = link.quote, link.snapshot
    tax_codes = {code.code: code for code in db.session.scalars(select(TaxCode))}
    product_ids = {c.line["product_id"] for c in chosen if c.line["product_id"]}
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(product_ids)))
    }
    costed: list[CostedLine] = []
    lines: list[LineInput] = []
    for c in chosen:
        line = c.line
        quoted_cost = Decimal(line["unit_cost"])
        product = products.get(line["product_id"]) if line["product_id"] else None
        current_cost = (
            product.best_cost if product is not None and product.best_cost is not None else None
        )
        current_cost = quoted_cost if current_cost is None else current_cost
        costed.append(
            CostedLine(
                key=line["key"],
                description=line["description"],
                quantity=c.quantity,
                unit_price=Decimal(line["unit_price"]),
                quoted_cost=quoted_cost,
                current_cost=current_cost,
            )
        )
        lines.append(
            LineInput(
                product_id=product.id if product is not None else None,
                sku=line["sku"],
                description=line["description"],
                quantity=c.quantity,
                unit_price=Decimal(line["unit_price"]),
                unit_cost=current_cost,
                tax_code=tax_codes.get(line["tax_code"]),
                recurrence=Recurrence(line["recurrence"]),
                term_months=line["term_months"],
            )
        )
    check = margin_guard(costed, get_setting("quote_margin_floor_pct"))
    organization = quote.organization
    document = issue_document(
        organization=organization,
        contact=link.recipient,
        lines=lines,
        header=HeaderInput(
            ship_to_name=organization.name,
            address_line1=organization.address_line1,
            address_line2=organization.address_line2,
            city=organization.city,
            region=organization.region,
            postcode=organization.postcode,
            country=organization.country,
            shipping_method_name=snap["shipping_label"],
            shipping_charge=Decimal(snap["shipping_charge"]),
            payment_method=PaymentMethod(snap["payment_method"]),
            surcharge_pct=Decimal(snap["surcharge_pct"]),
            customer_po=decision.customer_po,
            note=f"Quote {quote.number} version {link.version.number}, "
            f"accepted by {decision.full_name}.",
        ),
        source=DocumentSource.QUOTE,
        idempotency_key=f"quote:{quote.id}:v{link.version.number}",
        actor=link.recipient,
        currency=snap["currency"],
        hold_reason=_hold_reason(quote, check),
    )
    record_margin_guard(
        document,
        check,
        snap["currency"],
        {c.key: c.line["sku"] for c in chosen},
        "the quote was sent",
    )
    return document


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


def _hold_reason(quote: Quote, check: MarginCheck) -> str:
    if not check.held:
        return ""
    return (
        f"margin guard: supplier costs rose since quote {quote.number} was sent; the margin "
        f"is now {check.current_margin_pct}%, below the {check.floor_pct.normalize():f}% floor"
    )


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


# --- the store: a cart becomes a quote request -------------------------------------------------


def _request_owner() -> User | None:
    for role in (Role.SALES, Role.ADMIN):
        owner = db.session.scalar(
            select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)
        )
        if owner is not None:
            return owner
    return None


def request_from_cart(user: User, note: str) -> Quote:
    """Turn the customer's cart into a draft quote for staff to review and send."""
    if user.organization is None:
        raise QuoteError("Only contacts of a client organization can ask for quotes.")
    if len(note) > 2000:
        raise QuoteError("Keep the note under 2,000 characters.")
    cart = get_cart(user)
    if cart is None or not cart.lines:
        raise QuoteError("Your cart is empty.")
    owner = _request_owner()
    if owner is None:
        raise QuoteError("We cannot take quote requests right now. Please call us.")
    cancel_checkout(user)
    quote = create_quote(
        organization=user.organization,
        owner=owner,
        actor=user,
        title=f"Quote request from {user.name}",
        source=QuoteSource.STORE,
        requested_by=user,
        request_note=note.strip(),
    )
    section = quote.sections[0]
    for cart_line in cart.lines:
        product = cart_line.product
        if product.obsolete:
            continue
        add_product_line(quote, section, product, cart_line.quantity, user)
    if not quote.lines:
        raise QuoteError("Nothing in your cart can be quoted any more.")
    cart.lines.clear()
    cart.revision += 1
    queue_email(
        to=owner.email,
        subject=f"Quote request {quote.number} from {user.name} ({user.organization.name})",
        template="quote_requested",
        topic=f"quote:{quote.id}",
        quote=quote,
        requester=user,
        quote_url=public_url("quotes_admin.detail", quote_id=quote.id),
    )
    db.session.flush()
    return quote


# --- scheduled work ----------------------------------------------------------------------------


def expire_due(on: date | None = None) -> list[int]:
    """Expire sent quotes whose date has passed; return their ids."""
    on = on or today()
    expired = []
    for quote in db.session.scalars(
        select(Quote).where(Quote.status == QuoteStatus.SENT, Quote.expires_on < on)
    ).all():
        try:
            with db.session.begin_nested():
                transition(quote, QuoteStatus.EXPIRED, None, f"expired on {quote.expires_on}")
        except QuoteChanged:
            continue  # decided a moment ago: that decision stands
        expired.append(quote.id)
    db.session.flush()
    return expired


def send_due_reminders(now: datetime | None = None) -> list[int]:
    """Email the approvers of each sent quote whose reminder is due; return reminder ids."""
    now = now or utcnow()
    done = []
    for reminder in db.session.scalars(
        select(QuoteReminder)
        .where(QuoteReminder.done_at.is_(None), QuoteReminder.due_at <= now)
        .order_by(QuoteReminder.due_at)
    ).all():
        # Claim it: of two overlapping runs, only one sends each reminder.
        claimed = db.session.execute(
            update(QuoteReminder)
            .where(QuoteReminder.id == reminder.id, QuoteReminder.done_at.is_(None))
            .values(done_at=now),
            execution_options={"synchronize_session": False},
        ).rowcount
        db.session.expire(reminder, ["done_at"])
        if not claimed:
            continue
        quote = reminder.quote
        version = quote.current_version
        # The version's own recipients, while they may still decide (see open_link).
        sent_to = {r["id"] for r in version.snapshot.get("recipients", [])} if version else set()
        users = [
            r.user
            for r in quote.recipients
            if r.user_id in sent_to and r.user.active and r.user.is_approver
        ]
        if quote.status is not QuoteStatus.SENT or version is None:
            reminder.outcome = f"skipped: the quote is {quote.status.label.lower()}"
        elif today() > quote.expires_on:
            reminder.outcome = "skipped: the quote has expired"
        elif not users:
            reminder.outcome = "skipped: none of its approvers may still accept it"
        else:
            for user in users:
                _email_link(quote, version, user, "quote_reminder", pdf=None)
            reminder.outcome = f"sent to {len(users)} approver(s)"
            record_quote_event(quote, "reminder.sent", f"Reminder {reminder.outcome}")
        done.append(reminder.id)
    db.session.flush()
    return done


def quote_count(status: QuoteStatus) -> int:
    return db.session.scalar(select(func.count()).select_from(Quote).where(Quote.status == status))
