"""Staff set-up of prices: markup rules per price group, category and brand, and tax codes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from webapp import signals
from webapp.catalog.errors import CatalogError
from webapp.catalog.models import Brand, Category, PricingRule, TaxCode
from webapp.catalog.operations import catalog_changed
from webapp.extensions import db
from webapp.organizations.models import PriceGroup


def _rule_key_clause(model_column, value):
    # The unique constraint cannot see NULLs as equal, so "any category" is matched with IS NULL.
    return model_column.is_(None) if value is None else model_column == value


_DUPLICATE_RULE = (
    "There is already a rule for this price group, category and brand: edit that rule instead."
)


def save_pricing_rule(rule, *, price_group_id, category_id, brand_id, markup_pct, actor):
    """Create (rule None) or change a markup rule; one rule per group/category/brand."""
    markup = Decimal(markup_pct)
    if not markup.is_finite() or not Decimal("-50") <= markup <= Decimal("1000"):
        raise CatalogError("Enter a markup from -50% to 1,000%.", "markup_pct")
    for model, value, field, label in (
        (PriceGroup, price_group_id, "price_group_id", "price group"),
        (Category, category_id, "category_id", "category"),
        (Brand, brand_id, "brand_id", "brand"),
    ):
        if value is not None and db.session.get(model, value) is None:
            raise CatalogError(f"That {label} no longer exists.", field)
    clash = select(PricingRule).where(
        _rule_key_clause(PricingRule.price_group_id, price_group_id),
        _rule_key_clause(PricingRule.category_id, category_id),
        _rule_key_clause(PricingRule.brand_id, brand_id),
    )
    if rule is not None:
        clash = clash.where(PricingRule.id != rule.id)
    if db.session.scalar(clash.limit(1)) is not None:
        raise CatalogError(_DUPLICATE_RULE, "category_id")
    if rule is None:
        rule = PricingRule()
        db.session.add(rule)
    rule.price_group_id = price_group_id
    rule.category_id = category_id
    rule.brand_id = brand_id
    rule.markup_pct = markup.quantize(Decimal("0.001"))
    try:
        db.session.flush()
    except IntegrityError:
        # Another admin saved the same combination a moment ago.
        raise CatalogError(_DUPLICATE_RULE, "category_id") from None
    # The index keeps list prices (to sort and band by price): a rule reprices products.
    catalog_changed(None)
    signals.product_prices_changed.send(None, reason="pricing_rule")
    return rule


def delete_pricing_rule(rule, actor) -> None:
    db.session.delete(rule)
    db.session.flush()
    catalog_changed(None)
    signals.product_prices_changed.send(None, reason="pricing_rule")


def save_tax_code(tax_code, *, code: str, name: str, rate, is_default: bool, actor):
    """Create (tax_code None) or change a tax code; exactly one tax code is the default."""
    code = code.strip().upper()
    if not code:
        raise CatalogError("Enter a code.", "code")
    rate = Decimal(rate)
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        raise CatalogError("Enter a rate from 0% to 100%.", "rate")
    taken = select(TaxCode.id).where(func.upper(TaxCode.code) == code)
    if tax_code is not None:
        taken = taken.where(TaxCode.id != tax_code.id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise CatalogError(f"Tax code {code} already exists.", "code")
    has_default = db.session.scalar(select(TaxCode.id).where(TaxCode.is_default.is_(True)).limit(1))
    if tax_code is not None and tax_code.is_default and not is_default:
        raise CatalogError(
            f"{tax_code.code} is the default tax code: make another code the default instead.",
            "is_default",
        )
    if tax_code is None:
        tax_code = TaxCode()
        db.session.add(tax_code)
        # The first tax code is the default whatever the box said: there must be one.
        is_default = is_default or has_default is None
    tax_code.code = code
    tax_code.name = name.strip()
    tax_code.rate = rate.quantize(Decimal("0.001"))
    db.session.flush()
    if is_default:
        make_default_tax_code(tax_code, actor)
    return tax_code


def make_default_tax_code(tax_code, actor):
    """Make this the default tax code, and no other."""
    # Lock the (few) tax codes: two admins choosing different defaults at once must not
    # leave two defaults behind.
    db.session.execute(select(TaxCode.id).with_for_update())
    db.session.execute(
        update(TaxCode)
        .where(TaxCode.id != tax_code.id, TaxCode.is_default.is_(True))
        .values(is_default=False),
        execution_options={"synchronize_session": "fetch"},
    )
    tax_code.is_default = True
    db.session.flush()
    return tax_code
