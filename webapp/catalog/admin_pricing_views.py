"""Staff screens for pricing rules (markups by price group, category and brand) and tax codes."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp import htmx_responses
from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role
from webapp.catalog import pricing_setup, queries
from webapp.catalog.admin_common import bp, choices_of, get_or_404
from webapp.catalog.admin_forms import PricingRuleForm, TaxCodeForm
from webapp.catalog.errors import CatalogError
from webapp.catalog.models import PricingRule, TaxCode
from webapp.extensions import db, htmx
from webapp.organizations.models import PriceGroup

# --- pricing rules ---------------------------------------------------------------------------


def _rule_form(form: PricingRuleForm) -> PricingRuleForm:
    groups = db.session.scalars(select(PriceGroup).order_by(PriceGroup.name)).all()
    form.price_group_id.choices = choices_of(groups, "Every customer")
    form.category_id.choices = choices_of(queries.categories(), "Any category")
    form.brand_id.choices = choices_of(queries.brands(), "Any brand")
    return form


@bp.get("/pricing")
@staff_required(Role.ADMIN)
def pricing():
    from webapp.settings.operations import get_setting

    rules = db.session.scalars(
        select(PricingRule).options(
            joinedload(PricingRule.price_group),
            joinedload(PricingRule.category),
            joinedload(PricingRule.brand),
        )
    ).all()
    # Most general first, as the rules are read: group, then category, then brand.
    rules = sorted(
        rules,
        key=lambda r: (
            r.price_group.name.lower() if r.price_group else "",
            r.category.name.lower() if r.category else "",
            r.brand.name.lower() if r.brand else "",
        ),
    )
    return htmx_responses.render(
        "catalog_admin/pricing.html",
        "rules",
        rules=rules,
        default_markup=get_setting("default_markup_pct"),
    )


def _save_rule(rule: PricingRule | None):
    form = _rule_form(PricingRuleForm(obj=rule))
    if form.validate_on_submit():
        try:
            pricing_setup.save_pricing_rule(
                rule,
                price_group_id=form.price_group_id.data,
                category_id=form.category_id.data,
                brand_id=form.brand_id.data,
                markup_pct=form.markup_pct.data,
                actor=current_actor(),
            )
        except CatalogError as error:
            db.session.rollback()
            form[error.field or "markup_pct"].errors.append(str(error))
        else:
            db.session.commit()
            flash("Pricing rule saved: store prices follow straight away.", "success")
            return redirect(url_for(".pricing"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("catalog_admin/pricing_rule.html", form=form, rule=rule), status


@bp.route("/pricing/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def new_pricing_rule():
    return _save_rule(None)


@bp.route("/pricing/<int:rule_id>/edit", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def edit_pricing_rule(rule_id: int):
    return _save_rule(get_or_404(PricingRule, rule_id))


@bp.post("/pricing/<int:rule_id>/delete")
@staff_required(Role.ADMIN)
def delete_pricing_rule(rule_id: int):
    rule = get_or_404(PricingRule, rule_id)
    pricing_setup.delete_pricing_rule(rule, current_actor())
    db.session.commit()
    message = "Pricing rule deleted."
    if htmx:
        return htmx_responses.trigger("", toast=message)
    flash(message, "success")
    return redirect(url_for(".pricing"), 303)


# --- tax codes -------------------------------------------------------------------------------


@bp.get("/tax-codes")
@staff_required(Role.ADMIN)
def tax_codes():
    return htmx_responses.render(
        "catalog_admin/tax_codes.html",
        "table",
        tax_codes=db.session.scalars(select(TaxCode).order_by(TaxCode.code)).all(),
    )


def _save_tax_code(tax_code: TaxCode | None):
    form = TaxCodeForm(obj=tax_code)
    if form.validate_on_submit():
        try:
            saved = pricing_setup.save_tax_code(
                tax_code,
                code=form.code.data,
                name=form.name.data,
                rate=form.rate.data,
                is_default=form.is_default.data,
                actor=current_actor(),
            )
        except CatalogError as error:
            db.session.rollback()
            form[error.field or "code"].errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Tax code {saved.code} saved.", "success")
            return redirect(url_for(".tax_codes"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("catalog_admin/tax_code.html", form=form, tax_code=tax_code), status


@bp.route("/tax-codes/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def new_tax_code():
    return _save_tax_code(None)


@bp.route("/tax-codes/<int:tax_code_id>/edit", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def edit_tax_code(tax_code_id: int):
    return _save_tax_code(get_or_404(TaxCode, tax_code_id))


@bp.post("/tax-codes/<int:tax_code_id>/default")
@staff_required(Role.ADMIN)
def default_tax_code(tax_code_id: int):
    tax_code = get_or_404(TaxCode, tax_code_id)
    pricing_setup.make_default_tax_code(tax_code, current_actor())
    db.session.commit()
    message = f"{tax_code.code} is now the default tax code."
    if htmx:
        return htmx_responses.trigger(
            htmx_responses.render(
                "catalog_admin/tax_codes.html",
                "table",
                tax_codes=db.session.scalars(select(TaxCode).order_by(TaxCode.code)).all(),
            ),
            toast=message,
        )
    flash(message, "success")
    return redirect(url_for(".tax_codes"), 303)
