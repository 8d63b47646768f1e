"""Demo quoting data: two templates, approval rules, and a quote sent to Contoso Dental."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from webapp.auth.models import User
from webapp.catalog.models import Category, Product, ProductType
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.quotes import approval, building, errors, sending
from webapp.quotes.models import (
    ApprovalRuleKind,
    QuoteApprovalRule,
    QuoteTemplate,
    QuoteTemplateLine,
    QuoteTemplateSection,
)
from webapp.sales.models import Recurrence

TERMS = (
    "Prices exclude tax unless shown. Hardware is invoiced on delivery; services are billed "
    "in advance for each period of the term. Quoted hardware prices depend on supplier "
    "stock and may change after the expiry date."
)


def _product(mpn: str) -> Product | None:
    return db.session.scalar(select(Product).where(Product.mpn == mpn))


def _line(position: int, product: Product, quantity: int = 1, **fields) -> QuoteTemplateLine:
    recurring = product.product_type is ProductType.RECURRING_SERVICE
    return QuoteTemplateLine(
        position=position,
        product_id=product.id,
        product_type=product.product_type,
        sku=product.mpn,
        description=product.name,
        quantity=quantity,
        recurrence=fields.pop("recurrence", Recurrence.MONTHLY if recurring else Recurrence.NONE),
        term_months=fields.pop("term_months", 12 if recurring else None),
        **fields,
    )


def seed_quotes(echo=print) -> None:
    """Add the quoting demo to a seeded database (after `webapp.demo.seed.seed`); the caller
    commits. Does nothing if templates exist already."""
    if db.session.scalar(select(QuoteTemplate.id).limit(1)) is not None:
        return
    laptops_category = db.session.scalar(select(Category).where(Category.name == "Laptops"))
    laptops = (
        list(
            db.session.scalars(
                select(Product)
                .where(
                    Product.category_id == laptops_category.id,
                    Product.obsolete.is_(False),
                    Product.best_cost.is_not(None),
                    Product.total_stock > 0,
                )
                .order_by(Product.name)
                .limit(2)
            )
        )
        if laptops_category
        else []
    )
    setup, onsite, remote = _product("SVC-SETUP"), _product("LAB-ONSITE"), _product("LAB-REMOTE")
    essential, premium, server = (
        _product("MS-ESSENTIAL"),
        _product("MS-PREMIUM"),
        _product("MS-SERVER"),
    )

    refresh = QuoteTemplate(
        name="Workstation refresh",
        description="A new laptop per person, set up and managed",
        intro="Thank you for the chance to quote. Pick the laptop that suits your team; "
        "the set-up and management are included for each device.",
        terms=TERMS,
        expiry_days=14,
    )
    if len(laptops) == 2:
        refresh.sections.append(
            QuoteTemplateSection(
                position=1,
                title="Laptop",
                choose_one=True,
                lines=[
                    _line(1, laptops[0], 5, qty_editable=True, min_qty=1, max_qty=20),
                    _line(2, laptops[1], 5, qty_editable=True, min_qty=1, max_qty=20),
                ],
            )
        )
    refresh.sections.append(
        QuoteTemplateSection(
            position=2,
            title="Set-up and support",
            lines=[
                _line(1, setup, 5),
                _line(2, onsite, 2, optional=True),
                _line(3, essential, 5, term_months=24),
            ],
        )
    )
    onboarding = QuoteTemplate(
        name="Managed services onboarding",
        description="Premium workstation management, servers optional",
        intro="Here is our proposal to look after your workstations and servers.",
        terms=TERMS,
        expiry_days=30,
    )
    onboarding.sections.append(
        QuoteTemplateSection(
            position=1,
            title="Managed services",
            lines=[
                _line(1, premium, 10, qty_editable=True, min_qty=1, max_qty=200, term_months=36),
                _line(2, server, 1, optional=True, term_months=36),
                _line(3, remote, 4),
            ],
        )
    )
    db.session.add_all([refresh, onboarding])
    db.session.add_all(
        [
            QuoteApprovalRule(kind=ApprovalRuleKind.TOTAL_ABOVE, threshold=Decimal("100000")),
            QuoteApprovalRule(kind=ApprovalRuleKind.LINE_MARGIN_BELOW, threshold=Decimal("5")),
        ]
    )
    db.session.flush()

    sales = db.session.scalar(select(User).where(User.email == "sales@msp.example"))
    contoso = db.session.scalar(select(Organization).where(Organization.name == "Contoso Dental"))
    if sales is None or contoso is None:
        return
    quote = building.create_quote(
        organization=contoso,
        owner=sales,
        actor=sales,
        template=refresh,
        title="Front desk laptops",
    )
    try:
        sending.send_quote(quote, sales)
    except errors.NeedsApproval:
        # A bigger demo catalog may price the laptops over a rule: approve it as the admin.
        admin = db.session.scalar(select(User).where(User.email == "admin@msp.example"))
        approval.request_approval(quote, sales)
        approval.approve(quote, admin, "demo")
        sending.send_quote(quote, sales)
    echo(f"  Quote {quote.number} sent to Contoso Dental's approver (SMTP sink prints its link)")
