"""A quote line's cost of zero or less needs an explicit confirmation (issue 13), as a PO line's
and a receipt's zero cost do: a cost that rounded to $0 once ordered 100 laptops for nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import login
from tests.quotes.conftest import build_quote, drawn_revision
from webapp.extensions import db
from webapp.quotes import approval, building, errors
from webapp.quotes.models import Quote, QuoteLine, QuoteStatus

HX = {"HX-Request": "true"}


def _edit(client, quote, line, cost, **extra):
    return client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}",
        data={
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "unit_cost": cost,
            "recurrence": line.recurrence.value,
            "revision": drawn_revision(client, quote.id),
            **extra,
        },
        headers=HX,
    )


def _cost(line_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.get(QuoteLine, line_id).unit_cost


@pytest.mark.parametrize("cost", ["0", "-25"])
def test_a_cost_of_zero_or_less_without_confirmation_is_refused_saying_how(client, quoting, cost):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    line = quote.lines[0]
    login(client, store.sales)
    response = _edit(client, quote, line, cost)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "must be more than zero" in body and "tick Confirm the cost" in body
    assert _cost(line.id) == Decimal("700.0000")


@pytest.mark.parametrize("cost", ["0", "-25"])
def test_a_confirmed_cost_of_zero_or_less_is_kept_and_on_the_timeline(client, quoting, cost):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    line = quote.lines[0]
    login(client, store.sales)
    response = _edit(client, quote, line, cost, confirm_cost="y")
    assert response.status_code == 200
    assert _cost(line.id) == Decimal(cost)
    event = db.session.get(Quote, quote.id).events[-1]
    assert event.type == "line.cost_confirmed" and f"unit cost {Decimal(cost):.4f}" in event.message
    assert event.actor_id == store.sales.id


def test_an_unchanged_cost_needs_no_new_confirmation(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    line = quote.lines[0]
    login(client, store.sales)
    assert _edit(client, quote, line, "0", confirm_cost="y").status_code == 200
    # Changing the quantity of the line re-posts its cost of 0: no new tick is asked.
    line = db.session.get(QuoteLine, line.id)
    line_quantity = line.quantity
    response = client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}",
        data={
            "description": line.description,
            "quantity": str(line_quantity + 1),
            "unit_price": str(line.unit_price),
            "unit_cost": "0",
            "recurrence": "none",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(QuoteLine, line.id).quantity == line_quantity + 1


def test_a_custom_line_typed_at_zero_needs_the_confirmation_and_blank_does_not(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    section_id = quote.sections[0].id
    before = len(quote.lines)
    login(client, store.sales)

    def add(description, **extra):
        return client.post(
            f"/admin/quotes/{quote.id}/lines",
            data={
                "section_id": section_id,
                "product_type": "labour",
                "description": description,
                "quantity": "1",
                "unit_price": "120",
                "revision": drawn_revision(client, quote.id),
                **extra,
            },
            headers=HX,
        )

    refused = add("Typed zero", unit_cost="0")
    assert refused.status_code == 422
    assert "tick Confirm the cost" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Quote, quote.id).lines) == before

    assert add("Confirmed zero", unit_cost="0", confirm_cost="y").status_code == 200
    assert add("Our labour").status_code == 200  # no cost given: costs us nothing
    db.session.expire_all()
    saved = {line.description: line.unit_cost for line in db.session.get(Quote, quote.id).lines}
    assert saved["Confirmed zero"] == saved["Our labour"] == Decimal(0)
    assert "Typed zero" not in saved


def test_the_operation_refuses_an_unconfirmed_rebate_and_keeps_a_confirmed_one(quoting):
    store = quoting.store
    quote = build_quote(store)
    line = quote.lines[0]
    changes = building.LineChanges(
        **{
            **{name: getattr(line, name) for name in building.LineChanges.__dataclass_fields__},
            "unit_cost": Decimal("-5"),
        }
    )
    with pytest.raises(errors.QuoteError, match="tick Confirm the cost"):
        building.update_line(quote, line, changes, store.sales)
    assert line.unit_cost == Decimal("700")
    building.update_line(quote, line, changes, store.sales, cost_confirmed=True)
    assert line.unit_cost == Decimal("-5")


def test_the_builder_offers_the_confirmation_on_each_line_and_for_a_new_line(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    login(client, store.sales)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    for line in quote.lines:
        assert f'name="confirm_cost" value="y" id="confirm-cost-{line.id}"' in page
    custom_form = page.split('id="custom-line-form"')[1].split("</form>")[0]
    assert 'name="confirm_cost"' in custom_form


# --- sending re-checks the catalog lines' costs (a best cost of zero or less, no offer) ---------


def _zero_cost_products(store):
    from tests.factories import make_product

    promo = make_product(
        category=store.category, brand=store.brand, name="Promo mouse", cost="0.00"
    )
    unsourced = make_product(
        category=store.category, brand=store.brand, name="Unsourced dock", cost=None
    )
    db.session.commit()
    return promo, unsourced


def _add_product(client, quote, product):
    return client.post(
        f"/admin/quotes/{quote.id}/lines",
        data={
            "section_id": quote.sections[0].id,
            "product_id": product.id,
            "quantity": "100",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    )


def _send(client, quote):
    return client.post(
        f"/admin/quotes/{quote.id}/send",
        data={"revision": drawn_revision(client, quote.id)},
        headers=HX,
    )


def test_a_catalog_line_at_zero_cost_stops_sending_naming_it_until_confirmed(
    client, quoting, mailbox, run_jobs
):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    promo, unsourced = _zero_cost_products(store)
    login(client, store.sales)
    assert _add_product(client, quote, promo).status_code == 200
    assert _add_product(client, quote, unsourced).status_code == 200
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    lines = {line.description: line for line in quote.lines}
    added = [lines[f"{store.brand.name} Promo mouse"], lines[f"{store.brand.name} Unsourced dock"]]
    assert [line.unit_cost for line in added] == [Decimal(0), Decimal(0)]
    assert not any(line.cost_confirmed for line in added)

    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    problems = page.split('id="sending-problems"')[1].split("</ul>")[0]
    assert "Promo mouse" in problems and "Unsourced dock" in problems
    assert "tick Confirm the cost" in problems
    for line in added:
        assert f'id="cost-unconfirmed-{line.id}"' in page
    assert "ThinkPad E16" not in problems  # a line with a real cost is not named

    refused = _send(client, quote)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "not confirmed" in body and "Promo mouse" in body and "Unsourced dock" in body
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    assert quote.status is QuoteStatus.DRAFT and quote.versions == []
    run_jobs()
    assert mailbox.to(store.customer.email) == []

    # Ticking Confirm the cost on the line (the cost unchanged) confirms it, on the timeline.
    assert _edit(client, quote, added[0], "0", confirm_cost="y").status_code == 200
    still = _send(client, quote)
    assert still.status_code == 422 and "Unsourced dock" in still.get_data(as_text=True)
    assert "Promo mouse" not in still.get_data(as_text=True)
    assert _edit(client, quote, added[1], "0", confirm_cost="y").status_code == 200
    assert _send(client, quote).status_code == 200
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    assert quote.status is QuoteStatus.SENT
    confirmed = [e for e in quote.events if e.type == "line.cost_confirmed"]
    assert {e.data["line_id"] for e in confirmed} == {added[0].id, added[1].id}
    run_jobs()
    assert len(mailbox.to(store.customer.email)) == 1


def test_asking_for_approval_is_refused_too_and_a_real_cost_needs_no_tick(client, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    promo, _ = _zero_cost_products(store)
    line = building.add_product_line(quote, quote.sections[0], promo, 1, store.sales)
    db.session.commit()
    with pytest.raises(errors.QuoteError, match="Promo mouse"):
        approval.request_approval(quote, store.sales)
    login(client, store.sales)
    assert _edit(client, quote, line, "3.50").status_code == 200  # the real cost
    db.session.expire_all()
    assert approval.cost_problems(db.session.get(Quote, quote.id)) == []


def test_a_confirmed_cost_changed_and_back_to_zero_must_be_confirmed_again(quoting):
    store = quoting.store
    quote = build_quote(store)
    promo, _ = _zero_cost_products(store)
    line = building.add_product_line(
        quote, quote.sections[0], promo, 1, store.sales, cost_confirmed=True
    )
    assert line.cost_confirmed and approval.cost_problems(quote) == []
    fields = building.LineChanges.__dataclass_fields__

    def to(cost, **kw):
        current = {name: getattr(line, name) for name in fields}
        changes = building.LineChanges(**{**current, "unit_cost": Decimal(cost)})
        building.update_line(quote, line, changes, store.sales, **kw)

    to("4")
    with pytest.raises(errors.QuoteError, match="tick Confirm the cost"):
        to("0")
    to("0", cost_confirmed=True)
    assert line.cost_confirmed


def test_a_duplicate_keeps_the_confirmation_and_a_template_prices_catalog_lines_afresh(quoting):
    from webapp.quotes import arrangement, templating

    store = quoting.store
    quote = build_quote(store)
    promo, _ = _zero_cost_products(store)
    confirmed = building.add_product_line(
        quote, quote.sections[0], promo, 1, store.sales, cost_confirmed=True
    )
    unconfirmed = building.add_product_line(quote, quote.sections[0], promo, 2, store.sales)
    assert arrangement.duplicate_line(quote, confirmed, store.sales).cost_confirmed
    assert not arrangement.duplicate_line(quote, unconfirmed, store.sales).cost_confirmed
    template = templating.save_as_template(quote, "Mice", store.sales)
    fresh = building.create_quote(
        organization=store.org, owner=store.sales, actor=store.sales, template=template
    )
    # Today's catalog cost is checked again; free-text lines keep their typed cost.
    assert {(line.description, line.cost_unconfirmed) for line in fresh.lines} >= {
        (confirmed.description, True),
        ("Docking station", False),
    }
    assert "Promo mouse" in " ".join(approval.cost_problems(fresh))


def test_our_own_service_without_a_supplier_offer_is_sent_without_a_tick(quoting):
    from tests.factories import make_product
    from webapp.catalog.models import ProductType

    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    onsite = make_product(
        category=store.category,
        brand=store.brand,
        name="Onsite engineer",
        cost=None,
        product_type=ProductType.LABOUR,
    )
    line = building.add_product_line(quote, quote.sections[0], onsite, 3, store.sales)
    assert line.unit_cost == 0 and not line.cost_unconfirmed
    assert approval.cost_problems(quote) == []
