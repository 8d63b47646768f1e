"""Admins manage quote templates in place: sections, default lines, intro, terms, expiry."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import login
from tests.quotes.conftest import build_quote
from webapp.catalog.models import ProductType
from webapp.extensions import db
from webapp.quotes import approval, building, errors, lifecycle, templating
from webapp.quotes.models import (
    Quote,
    QuoteTemplate,
    QuoteTemplateLine,
    QuoteTemplateSection,
)
from webapp.sales.models import Recurrence

HX = {"HX-Request": "true"}


def _new_template(client, **overrides):
    data = {
        "name": "Office move",
        "description": "Move a small office",
        "expiry_days": "30",
        "intro": "Thank you for asking.",
        "terms": "Payment in 14 days.",
        "active": "y",
        **overrides,
    }
    return client.post("/admin/quotes/templates/new", data=data)


def _template(name: str = "Office move") -> QuoteTemplate:
    db.session.expire_all()
    return db.session.scalar(select(QuoteTemplate).where(QuoteTemplate.name == name))


def _line(template: QuoteTemplate, description: str) -> QuoteTemplateLine:
    return next(
        line
        for section in template.sections
        for line in section.lines
        if line.description == description
    )


def _line_form(line: QuoteTemplateLine, **changes) -> dict:
    form = {
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": "" if line.unit_price is None else str(line.unit_price),
        "unit_cost": "" if line.unit_cost is None else str(line.unit_cost),
        "recurrence": line.recurrence.value,
        "term_months": "" if line.term_months is None else str(line.term_months),
        "min_qty": "" if line.min_qty is None else str(line.min_qty),
        "max_qty": "" if line.max_qty is None else str(line.max_qty),
    }
    if line.optional:
        form["optional"] = "y"
    if line.qty_editable:
        form["qty_editable"] = "y"
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_an_admin_builds_a_template_from_scratch_in_place(client, quoting):
    store = quoting.store
    login(client, store.admin)
    listing = client.get("/admin/quotes/templates").get_data(as_text=True)
    assert "/admin/quotes/templates/new" in listing

    created = _new_template(client)
    assert created.status_code == 303
    template = _template()
    assert created.headers["Location"].endswith(f"/admin/quotes/templates/{template.id}")
    assert (template.expiry_days, template.intro, template.terms, template.active) == (
        30,
        "Thank you for asking.",
        "Payment in 14 days.",
        True,
    )
    assert [s.title for s in template.sections] == ["Items"]
    base = f"/admin/quotes/templates/{template.id}"

    # A "choose one" section, added in place: the answer is the editor fragment and a toast.
    added = client.post(f"{base}/sections", data={"title": "Laptop", "choose_one": "y"}, headers=HX)
    assert added.status_code == 200
    body = added.get_data(as_text=True)
    assert 'id="template-editor"' in body[:200] and "<html" not in body
    assert json.loads(added.headers["HX-Trigger"]) == {"toast": "Section added."}
    laptop = _template().sections[1]
    assert (laptop.title, laptop.choose_one) == ("Laptop", True)

    # Catalog search in place offers products that post to this template.
    found = client.get(
        f"{base}/catalog", query_string={"q": "ThinkPad T14", "section_id": laptop.id}
    ).get_data(as_text=True)
    assert "ThinkPad T14" in found and "$1,100.00" in found
    assert f'action="{base}/lines"' in found and 'hx-target="#template-editor"' in found
    assert f'name="section_id" value="{laptop.id}"' in found
    for product in store.products[:2]:
        response = client.post(
            f"{base}/lines",
            data={"product_id": product.id, "section_id": laptop.id, "quantity": "1"},
            headers=HX,
        )
        assert response.status_code == 200
        assert product.name in response.get_data(as_text=True)

    # A free-text service line, as a plain form post (no JavaScript).
    items = _template().sections[0]
    plain = client.post(
        f"{base}/lines",
        data={
            "section_id": items.id,
            "product_type": ProductType.RECURRING_SERVICE.value,
            "description": "Managed desktop",
            "sku": "MD-1",
            "quantity": "5",
            "unit_price": "40",
            "unit_cost": "15",
        },
    )
    assert plain.status_code == 303 and plain.headers["Location"].endswith(base)
    service = _line(_template(), "Managed desktop")
    assert (service.unit_price, service.unit_cost) == (Decimal("40.00"), Decimal("15.0000"))
    assert (service.recurrence, service.term_months) == (Recurrence.MONTHLY, 12)

    # Edit it: optional, customer-editable quantity 1..10, annual for 36 months.
    edited = client.post(
        f"{base}/lines/{service.id}",
        data=_line_form(
            service,
            optional="y",
            qty_editable="y",
            min_qty="1",
            max_qty="10",
            recurrence="annual",
            term_months="36",
        ),
        headers=HX,
    )
    assert edited.status_code == 200
    service = _line(_template(), "Managed desktop")
    assert (service.optional, service.qty_editable, service.min_qty, service.max_qty) == (
        True,
        True,
        1,
        10,
    )
    assert (service.recurrence, service.term_months) == (Recurrence.ANNUAL, 36)

    # A catalog line keeps the catalog price when its price is left blank, or gets a fixed one.
    t14 = _line(_template(), "Lenovo ThinkPad T14")
    assert (t14.unit_price, t14.unit_cost, t14.product_id) == (None, None, store.products[0].id)
    client.post(f"{base}/lines/{t14.id}", data=_line_form(t14, unit_price="999"), headers=HX)
    assert _line(_template(), "Lenovo ThinkPad T14").unit_price == Decimal("999.00")
    client.post(f"{base}/lines/{t14.id}", data=_line_form(t14, unit_price=""), headers=HX)
    assert _line(_template(), "Lenovo ThinkPad T14").unit_price is None

    # Rename a section in place.
    client.post(
        f"{base}/sections/{laptop.id}",
        data={"title": "Director's laptop", "choose_one": "y"},
        headers=HX,
    )
    assert _template().sections[1].title == "Director's laptop"

    # A quote made from it carries everything, priced for the organization today.
    login(client, store.sales)
    response = client.post(
        "/admin/quotes/new",
        data={"organization_id": store.org.id, "template_id": template.id, "title": ""},
    )
    assert response.status_code == 303
    quote = db.session.scalars(select(Quote)).one()
    assert (quote.title, quote.intro, quote.terms) == (
        "Office move",
        "Thank you for asking.",
        "Payment in 14 days.",
    )
    assert quote.expires_on == lifecycle.today() + timedelta(days=30)
    assert [(s.title, s.choose_one) for s in quote.sections] == [
        ("Items", False),
        ("Director's laptop", True),
    ]
    by_description = {line.description: line for line in quote.lines}
    t14 = by_description["Lenovo ThinkPad T14"]
    assert (t14.unit_price, t14.unit_cost) == (Decimal("1100.00"), Decimal("1000.0000"))
    desk = by_description["Managed desktop"]
    assert (desk.unit_price, desk.optional, desk.qty_editable, desk.max_qty) == (
        Decimal("40.00"),
        True,
        True,
        10,
    )
    assert (desk.recurrence, desk.term_months) == (Recurrence.ANNUAL, 36)
    assert approval.sending_problems(quote) == []


def test_bad_template_input_is_refused_with_a_message(client, quoting):
    store = quoting.store
    login(client, store.admin)
    assert _new_template(client).status_code == 303
    duplicate = _new_template(client)
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.get_data(as_text=True)
    nameless = _new_template(client, name=" ")
    assert nameless.status_code == 422
    long_expiry = _new_template(client, name="Other", expiry_days="400")
    assert long_expiry.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(QuoteTemplate)) == 1

    template = _template()
    base = f"/admin/quotes/templates/{template.id}"
    items = template.sections[0]
    client.post(
        f"{base}/lines",
        data={
            "section_id": items.id,
            "product_type": "labour",
            "description": "Install",
            "quantity": "2",
            "unit_price": "120",
        },
        headers=HX,
    )
    install = _line(_template(), "Install")
    assert install.unit_cost == Decimal("0")
    cases = [
        (
            {"section_id": items.id, "product_type": "labour", "description": "x", "quantity": "1"},
            "Unit price",
        ),
        ({"section_id": items.id, "product_id": store.products[0].id, "quantity": "0"}, "Quantity"),
        (
            {"section_id": "999999", "product_id": store.products[0].id, "quantity": "1"},
            "not part of this template",
        ),
        ({"section_id": items.id, "product_id": "999999", "quantity": "1"}, "does not exist"),
    ]
    huge = "9" * 20  # beyond PostgreSQL's integer: refused before any query
    cases += [
        ({"section_id": huge, "product_id": store.products[0].id, "quantity": "1"}, "valid id"),
        ({"section_id": items.id, "product_id": huge, "quantity": "1"}, "valid id"),
    ]
    for data, message in cases:
        response = client.post(f"{base}/lines", data=data, headers=HX)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    line_cases = [
        (_line_form(install, unit_price="-1"), "Unit price"),
        (_line_form(install, unit_price=""), "needs its own price"),
        (_line_form(install, quantity="5", qty_editable="y", min_qty="6"), "quantity range"),
        (_line_form(install, recurrence="monthly", term_months="121"), "1 to 120"),
        (_line_form(install, recurrence="weekly"), "Billing"),
        (_line_form(install, description=""), "Description"),
    ]
    for data, message in line_cases:
        response = client.post(f"{base}/lines/{install.id}", data=data, headers=HX)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    unchanged = _line(_template(), "Install")
    assert (unchanged.unit_price, unchanged.quantity, unchanged.recurrence) == (
        Decimal("120.00"),
        2,
        Recurrence.NONE,
    )

    # Another template's section and line, through this template's URLs.
    other = templating.create_template(templating.TemplateChanges("Other", "", "", "", 14, True))
    foreign_line = templating.add_template_custom_line(
        other.sections[0],
        description="Theirs",
        product_type=ProductType.SERVICE,
        quantity=1,
        unit_price=Decimal("10"),
        unit_cost=Decimal("0"),
        sku="",
    )
    db.session.commit()
    for url in (
        f"{base}/lines/{foreign_line.id}/delete",
        f"{base}/sections/{other.sections[0].id}/delete",
    ):
        response = client.post(url, headers=HX)
        assert response.status_code == 422
        assert "not part of this template" in response.get_data(as_text=True)
    assert db.session.get(QuoteTemplateLine, foreign_line.id) is not None
    # A template keeps at least one section.
    last = client.post(f"{base}/sections/{items.id}/delete", headers=HX)
    assert last.status_code == 422 and "at least one section" in last.get_data(as_text=True)
    assert db.session.get(QuoteTemplateSection, items.id) is not None
    # No CSRF token, no change.
    sneaky = client.post(f"{base}/sections", data={"title": "Sneaky"}, csrf=False)
    assert sneaky.status_code == 400
    assert [s.title for s in _template().sections] == ["Items"]


def test_only_admins_manage_templates(client, quoting):
    store = quoting.store
    template = templating.create_template(
        templating.TemplateChanges("Managed", "", "", "", 14, True)
    )
    db.session.commit()
    login(client, store.sales)
    assert client.get("/admin/quotes/templates/new").status_code == 403
    assert (
        client.post(
            f"/admin/quotes/templates/{template.id}/sections", data={"title": "x"}
        ).status_code
        == 403
    )
    customer = client.application.test_client()
    login(customer, store.customer)
    assert customer.get(f"/admin/quotes/templates/{template.id}").status_code == 404
    assert [s.title for s in _template("Managed").sections] == ["Items"]


def test_choose_one_sections_take_no_optional_lines(quoting):
    template = templating.create_template(templating.TemplateChanges("T", "", "", "", 14, True))
    section = template.sections[0]
    line = templating.add_template_custom_line(
        section,
        description="Backup",
        product_type=ProductType.SERVICE,
        quantity=1,
        unit_price=Decimal("10"),
        unit_cost=Decimal("1"),
        sku="",
    )
    line.optional = True
    templating.update_template_section(section, "Pick one", True)
    assert line.optional is False
    changes = templating.TemplateLineChanges(
        "Backup", 1, Decimal("10"), None, True, False, None, None, Recurrence.NONE, None
    )
    templating.update_template_line(line, changes)
    assert (line.optional, line.unit_cost) == (False, Decimal(0))


def test_a_used_template_is_retired_not_deleted(client, quoting):
    store = quoting.store
    login(client, store.admin)
    quote = build_quote(store)
    used = templating.save_as_template(quote, "Laptop refresh", store.admin)
    unused = templating.create_template(templating.TemplateChanges("Spare", "", "", "", 14, True))
    db.session.commit()
    quote = building.create_quote(
        organization=store.org, owner=store.sales, actor=store.sales, template=used
    )
    db.session.commit()
    refused = client.post(f"/admin/quotes/templates/{used.id}/delete")
    assert refused.status_code == 303
    assert "untick" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert db.session.get(QuoteTemplate, used.id) is not None
    unused_id = unused.id
    deleted = client.post(f"/admin/quotes/templates/{unused_id}/delete", headers=HX)
    assert deleted.status_code == 204
    assert deleted.headers["HX-Redirect"] == "/admin/quotes/templates"
    assert db.session.get(QuoteTemplate, unused_id) is None


def test_obsolete_catalog_lines_are_left_out_of_new_quotes(quoting):
    store = quoting.store
    template = templating.create_template(
        templating.TemplateChanges("Laptops", "", "", "", 14, True)
    )
    section = template.sections[0]
    templating.add_template_product_line(section, store.products[0], 1)
    templating.add_template_product_line(section, store.products[2], 2)
    store.products[0].obsolete = True
    db.session.commit()
    with pytest.raises(errors.QuoteError, match="obsolete"):
        templating.add_template_product_line(section, store.products[0], 1)
    quote = building.create_quote(
        organization=store.org, owner=store.sales, actor=store.sales, template=template
    )
    assert [line.description for line in quote.lines] == ["Lenovo ThinkPad E16"]
    assert [line.position for line in quote.lines] == [1]
    assert "left out as obsolete: Lenovo ThinkPad T14" in quote.events[0].message
