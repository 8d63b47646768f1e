"""Admin-only screens for pricing rules and tax codes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.factories import login
from webapp.catalog.cache import catalog_version
from webapp.catalog.models import PricingRule, TaxCode
from webapp.extensions import db

HX = {"HX-Request": "true"}


def _rule(**changes) -> dict:
    data = {"price_group_id": "", "category_id": "", "brand_id": "", "markup_pct": "12.5"}
    data.update(changes)
    return data


# --- pricing rules ---------------------------------------------------------------------------


def test_pricing_page_lists_the_rules_and_the_default_markup(client, store):
    login(client, store.admin)
    html = client.get("/admin/catalog/pricing").get_data(as_text=True)
    assert "Laptops" in html
    assert "10%" in html
    assert "default markup</a> of 15%" in html


def test_admin_creates_a_brand_rule_for_a_price_group_and_the_catalog_cache_is_bumped(
    client, store
):
    version = catalog_version()
    login(client, store.admin)
    response = client.post(
        "/admin/catalog/pricing/new",
        data=_rule(price_group_id=str(store.price_group.id), brand_id=str(store.brand.id)),
    )
    assert response.status_code == 303
    rule = db.session.scalar(select(PricingRule).where(PricingRule.brand_id == store.brand.id))
    assert rule.price_group_id == store.price_group.id
    assert rule.category_id is None
    assert rule.markup_pct == Decimal("12.5")
    assert catalog_version() > version


def test_a_second_rule_for_the_same_group_category_and_brand_is_refused_with_a_clear_message(
    client, store
):
    login(client, store.admin)
    # The store already has the general Laptops rule (no group, no brand).
    response = client.post(
        "/admin/catalog/pricing/new", data=_rule(category_id=str(store.category.id))
    )
    assert response.status_code == 422
    assert (
        "There is already a rule for this price group, category and brand: edit that rule "
        "instead." in response.get_data(as_text=True)
    )
    assert len(db.session.scalars(select(PricingRule)).all()) == 1


def test_editing_a_rule_onto_another_rules_combination_is_refused(client, store):
    other = PricingRule(markup_pct=Decimal("20"))
    db.session.add(other)
    db.session.flush()
    login(client, store.admin)
    response = client.post(
        f"/admin/catalog/pricing/{other.id}/edit", data=_rule(category_id=str(store.category.id))
    )
    assert response.status_code == 422
    assert "There is already a rule" in response.get_data(as_text=True)


def test_editing_a_rule_changes_its_markup_and_the_store_price(app, client, store):
    rule = db.session.scalar(select(PricingRule))
    login(client, store.admin)
    response = client.post(
        f"/admin/catalog/pricing/{rule.id}/edit",
        data=_rule(category_id=str(store.category.id), markup_pct="20"),
    )
    assert response.status_code == 303
    assert db.session.get(PricingRule, rule.id).markup_pct == Decimal("20")
    customer = app.test_client()
    login(customer, store.customer)
    html = customer.get(f"/p/{store.products[0].id}").get_data(as_text=True)
    assert "$1,200.00" in html


def test_a_markup_out_of_range_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post("/admin/catalog/pricing/new", data=_rule(markup_pct="1500"))
    assert response.status_code == 422
    assert "Enter a value from -50% to 1,000%." in response.get_data(as_text=True)


def test_a_markup_that_is_not_a_number_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post("/admin/catalog/pricing/new", data=_rule(markup_pct="NaN"))
    assert response.status_code == 422
    assert "&#39;NaN&#39; is not a number." in response.get_data(as_text=True)


def test_a_missing_markup_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post("/admin/catalog/pricing/new", data=_rule(markup_pct=""))
    assert response.status_code == 422
    assert "Enter the markup." in response.get_data(as_text=True)


def test_deleting_a_rule_over_htmx_removes_its_row_and_bumps_the_cache(client, store):
    rule_id = db.session.scalar(select(PricingRule.id))
    version = catalog_version()
    login(client, store.admin)
    response = client.post(f"/admin/catalog/pricing/{rule_id}/delete", headers=HX)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ""
    assert db.session.get(PricingRule, rule_id) is None
    assert catalog_version() > version


def test_unknown_rule_is_404(client, store):
    login(client, store.admin)
    assert client.get("/admin/catalog/pricing/99999/edit").status_code == 404
    assert client.post("/admin/catalog/pricing/99999/delete").status_code == 404


def test_sales_cannot_see_or_edit_pricing_rules(client, store):
    login(client, store.sales)
    assert client.get("/admin/catalog/pricing").status_code == 403
    assert client.post("/admin/catalog/pricing/new", data=_rule()).status_code == 403
    rule = db.session.scalar(select(PricingRule))
    assert client.post(f"/admin/catalog/pricing/{rule.id}/delete").status_code == 403


def test_customer_gets_404_on_pricing_rules(client, store):
    login(client, store.customer)
    assert client.get("/admin/catalog/pricing").status_code == 404


# --- tax codes -------------------------------------------------------------------------------


def _tax(**changes) -> dict:
    data = {"code": "FRE", "name": "Tax free", "rate": "0"}
    data.update(changes)
    return data


def test_admin_creates_a_tax_code(client, store):
    login(client, store.admin)
    response = client.post("/admin/catalog/tax-codes/new", data=_tax())
    assert response.status_code == 303
    tax = db.session.scalar(select(TaxCode).where(TaxCode.code == "FRE"))
    assert (tax.rate, tax.is_default) == (Decimal("0"), False)


def test_making_a_new_tax_code_the_default_unsets_the_old_default(client, store):
    login(client, store.admin)
    client.post("/admin/catalog/tax-codes/new", data=_tax(is_default="y", rate="15"))
    defaults = db.session.scalars(select(TaxCode).where(TaxCode.is_default.is_(True))).all()
    assert [tax.code for tax in defaults] == ["FRE"]


def test_make_default_over_htmx_returns_the_table_with_one_default(client, store):
    other = TaxCode(code="FRE", name="Tax free", rate=Decimal("0"))
    db.session.add(other)
    db.session.flush()
    login(client, store.admin)
    response = client.post(f"/admin/catalog/tax-codes/{other.id}/default", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<table class="table align-middle mw-50rem" id="tax-codes"')
    assert html.count(">Default</span>") == 1
    assert db.session.get(TaxCode, store.tax.id).is_default is False
    assert db.session.get(TaxCode, other.id).is_default is True


def test_unticking_default_on_the_default_tax_code_is_refused(client, store):
    login(client, store.admin)
    response = client.post(
        f"/admin/catalog/tax-codes/{store.tax.id}/edit", data=_tax(code="GST", rate="10")
    )
    assert response.status_code == 422
    assert "GST is the default tax code: make another code the default instead." in (
        response.get_data(as_text=True)
    )
    assert db.session.get(TaxCode, store.tax.id).is_default is True


def test_a_tax_rate_above_100_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post("/admin/catalog/tax-codes/new", data=_tax(rate="150"))
    assert response.status_code == 422
    assert "Enter a value from 0% to 100%." in response.get_data(as_text=True)


def test_a_duplicate_tax_code_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post("/admin/catalog/tax-codes/new", data=_tax(code="gst"))
    assert response.status_code == 422
    assert "Tax code GST already exists." in response.get_data(as_text=True)


def test_editing_a_tax_code_changes_its_rate(client, store):
    login(client, store.admin)
    response = client.post(
        f"/admin/catalog/tax-codes/{store.tax.id}/edit",
        data=_tax(code="GST", name="GST", rate="12.5", is_default="y"),
    )
    assert response.status_code == 303
    assert db.session.get(TaxCode, store.tax.id).rate == Decimal("12.5")


def test_sales_cannot_see_tax_codes(client, store):
    login(client, store.sales)
    assert client.get("/admin/catalog/tax-codes").status_code == 403
    assert client.post("/admin/catalog/tax-codes/new", data=_tax()).status_code == 403
