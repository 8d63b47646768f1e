"""The approver's link: open it, log the view, accept (one sales document) or decline."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp import signals
from webapp.auth.models import User
from webapp.catalog.models import Product, TaxCode
from webapp.extensions import db
from webapp.mail.operations import public_url, queue_email
from webapp.models_base import utcnow
from webapp.organizations.models import address_of
from webapp.quotes.errors import QuoteChanged, QuoteError
from webapp.quotes.lifecycle import record_quote_event, today, transition
from webapp.quotes.margin import record_margin_guard
from webapp.quotes.models import (
    DecisionOutcome,
    Quote,
    QuoteDecision,
    QuoteStatus,
    QuoteVersion,
    QuoteView,
)
from webapp.quotes.selection import Chosen, as_record
from webapp.quotes.tokens import InvalidToken, read_token
from webapp.quotes.totals import CostedLine, MarginCheck, margin_guard
from webapp.sales.models import DocumentSource, PaymentMethod, Recurrence, SalesDocument
from webapp.sales.operations import HeaderInput, LineInput, issue_document
from webapp.settings.operations import get_setting


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
    signature_text: str = ""  # a typed signature
    signature_drawn: str = ""  # a drawn one: the canvas as a data:image/png;base64 URL


_PNG_URL = "data:image/png;base64,"
_MAX_SIGNATURE_BYTES = 200_000
_MAX_SIGNATURE_SIZE = (1600, 600)  # pixels


def _signature(form: Acceptance) -> tuple[str, bytes | None]:
    """The acceptance's signature, (typed text, None) or ("", drawn PNG): a drawn one when
    one was drawn, else the typed one. Refused with the reason when neither is usable."""
    drawn = form.signature_drawn.strip()
    if drawn:
        return "", _drawn_signature(drawn)
    typed = " ".join(form.signature_text.split())
    if not typed:
        raise QuoteError("Sign to accept: type your signature or draw it.")
    if len(typed) > 200:
        raise QuoteError("Your typed signature is too long (200 characters at most).")
    return typed, None


def _drawn_signature(data_url: str) -> bytes:
    unreadable = QuoteError("The drawn signature could not be read: clear it and sign again.")
    if not data_url.startswith(_PNG_URL) or len(data_url) > _MAX_SIGNATURE_BYTES * 4 // 3 + 64:
        raise unreadable
    try:
        png = base64.b64decode(data_url[len(_PNG_URL) :], validate=True)
        with Image.open(io.BytesIO(png)) as image:
            if (
                image.format != "PNG"
                or max(a - b for a, b in zip(image.size, _MAX_SIGNATURE_SIZE, strict=True)) > 0
            ):
                raise unreadable
            image.load()
            drawn_on = image.convert("LA").getchannel("A").getbbox()
    except (ValueError, OSError, Image.DecompressionBombError):
        raise unreadable from None
    if drawn_on is None:
        raise QuoteError("The signature box is empty: draw your signature or type it.")
    return png


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
    signature_text, signature_png = _signature(form)
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
        signature_text=signature_text,
        signature_png=signature_png,
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
            **address_of(organization),
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


def _hold_reason(quote: Quote, check: MarginCheck) -> str:
    if not check.held:
        return ""
    return (
        f"margin guard: supplier costs rose since quote {quote.number} was sent; the margin "
        f"is now {check.current_margin_pct}%, below the {check.floor_pct.normalize():f}% floor"
    )
